"""The contract's RFC 3339 date-time: one pattern and one range check, the same in every language."""
from __future__ import annotations

import re

# [0-9], not \d: Python's \d also matches other scripts' digits. fullmatch, not $: $ allows a final "\n".
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?"
    r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))")
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date_time(text: str) -> bool:
    """True for exactly the contract's form (upper-case T and Z, at most nine fraction digits, Z or a
    numeric offset) naming an instant PostgreSQL's timestamptz stores: year 0001 to 9999, a day that
    exists, no leap second, offsets within ±15:59."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_hours, offset_minutes = match.groups()
    year, month, day = int(year), int(month), int(day)
    if not (year >= 1 and 1 <= month <= 12 and 1 <= day <= days_in(year, month)):
        return False
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return False
    return offset_hours is None or (int(offset_hours) <= 15 and int(offset_minutes) <= 59)


def days_in(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month]
