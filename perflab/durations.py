"""Durations and times in one place.

Go durations are what the Docker provider stores (`"2m0s"`, `"1s"`, `"500ms"`): a program that sends
`"120s"` reads back `"2m0s"` from the provider's state and sees a change on every `pulumi up`. So the
program writes `go_duration(seconds)` and every reader parses with `parse_duration`.
"""
from __future__ import annotations

import datetime
import re
from decimal import Decimal

from perflab.errors import ConfigError

_UNITS_NS = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000,
             "us": 1_000, "µs": 1_000, "ns": 1}
_FRACTION = re.compile(r"T\d\d:\d\d:\d\d\.(\d+)")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")


def parse_duration(text: str | int | float) -> int:
    """A Go duration ("1s", "1m30s", "500ms") — or a number of seconds — in nanoseconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(Decimal(str(text)) * _UNITS_NS["s"])
    value = str(text).strip()
    parts = _PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ConfigError(f"cannot read duration {text!r} (use Go syntax such as 1s, 500ms, 2m0s)")
    return int(sum(Decimal(number) * _UNITS_NS[unit] for number, unit in parts))


def _fraction(value: int, unit_ns: int) -> str:
    whole, rest = divmod(value, unit_ns)
    if not rest:
        return str(whole)
    digits = f"{rest:0{len(str(unit_ns)) - 1}d}".rstrip("0")
    return f"{whole}.{digits}"


def go_duration(nanoseconds: int) -> str:
    """Go's `time.Duration.String()`: 120 s → "2m0s", 1 s → "1s", 0.5 s → "500ms", 0 → "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    value = abs(nanoseconds)
    if value < _UNITS_NS["s"]:
        for unit in ("ms", "µs", "ns"):
            if value >= _UNITS_NS[unit]:
                return sign + _fraction(value, _UNITS_NS[unit]) + unit
    hours, value = divmod(value, _UNITS_NS["h"])
    minutes, value = divmod(value, _UNITS_NS["m"])
    seconds = _fraction(value, _UNITS_NS["s"]) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def canonical_duration(text: str | int | float) -> str:
    """Any accepted duration in the provider's canonical form ("120s" → "2m0s")."""
    return go_duration(parse_duration(text))


def parse_time(text: str) -> datetime.datetime:
    """An RFC 3339 time, timezone-aware: as the lab writes it ("2026-11-28T04:15:00.120Z") or as Docker and
    Go write it, with nanoseconds ("2026-11-28T04:15:10.123456789Z"; kept to the microsecond)."""
    value = text.strip().replace("Z", "+00:00")
    match = _FRACTION.search(value)
    if match and len(match.group(1)) > 6:
        value = value[:match.start(1)] + match.group(1)[:6] + value[match.end(1):]
    return datetime.datetime.fromisoformat(value)


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
