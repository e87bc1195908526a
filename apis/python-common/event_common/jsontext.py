"""JSON text as the contract wants it read: exact numbers, strict RFC 8259, bounded nesting.

- Numbers are never turned into floats: the standard library's decoder hands every number's text to
  `orjson.Fragment`, which orjson writes back verbatim, so `12345678901234567890.5` or `1e131072` reach
  PostgreSQL with the digits they were sent with (orjson alone would parse them into a float or refuse
  integers beyond 64 bits).
- A number longer than MAX_NUMBER_LENGTH characters of JSON text is refused while parsing
  (`NumberTooLong`): the decoder hands over each number's text before anything is built from it.
- `NaN`, `Infinity`, `-Infinity` (which the standard library would accept) are not JSON.
- A lone UTF-16 surrogate escape (`"\\ud800"`) is not text PostgreSQL can store; it is malformed JSON,
  as in the Rust APIs.
- Nesting is measured before the (recursive) decoder runs, in one pass without recursion; a text deeper
  than the limit is then checked in full by a non-recursive scanner, so malformed JSON stays malformed at
  any depth and 200,000 `[` cost one pass, not a stack.
"""
from __future__ import annotations

import itertools
import json
import re
from typing import Any

import orjson

Fragment = orjson.Fragment

MAX_NUMBER_LENGTH = 100  # characters of JSON text: sign, digits, ".", exponent (contract: "Numbers")


class NotJSON(ValueError):
    """The text is not one complete RFC 8259 JSON value."""


class NumberTooLong(Exception):
    """The text holds a number longer than MAX_NUMBER_LENGTH characters. Not a NotJSON: whether the rest of
    the text is JSON is not known (parsing stopped at the number)."""


def _number(text: str) -> orjson.Fragment:
    # The decoder passes every number's whole JSON text ("-1.5e7"), integers and fractions alike.
    if len(text) > MAX_NUMBER_LENGTH:
        raise NumberTooLong(f"a number of {len(text)} characters")
    return Fragment(text)


def _reject_constant(name: str) -> Any:
    raise NotJSON(f"{name} is not JSON")


# One decoder for every call (json.loads would build a new one per call when given hooks).
_DECODER = json.JSONDecoder(parse_float=_number, parse_int=_number, parse_constant=_reject_constant)

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Escapes that may spell a surrogate (\ud800-\udfff) or U+0000: only then is a decoded value searched.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUL_ESCAPE = "\\u0000"


def loads(text: str) -> Any:
    """Decodes exactly one JSON value whose nesting is known to be small. Numbers become Fragments.

    Raises NotJSON for anything that is not one complete JSON value, or that holds a lone surrogate;
    NumberTooLong as soon as a number longer than MAX_NUMBER_LENGTH is met."""
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise NotJSON(str(exc)) from None
    if _SURROGATE_ESCAPE.search(text) is not None and any(
            _SURROGATE.search(s) is not None for s in strings_of(value)):
        raise NotJSON("lone surrogate")
    return value


def may_contain_nul(text: str) -> bool:
    """False when no string of the JSON text can hold U+0000: JSON spells it only as the escape \\u0000
    (a raw control character in a string is malformed). True may be a false alarm (an escaped backslash
    followed by "u0000"); `contains_nul` on the decoded value then decides."""
    return _NUL_ESCAPE in text


def nests_deeper(text: str, limit: int) -> bool:
    """Whether the JSON text nests objects and arrays deeper than `limit` levels (the outermost value is
    level 1). Brackets inside strings do not count. Exact for valid JSON; for malformed text it may be
    wrong, which the decoder or `scan` then reports as malformed. No recursion."""
    if text.count("[") + text.count("{") <= limit:
        return False
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, skeleton)), default=0) > limit


def strings_of(value: Any):
    """Every string of a decoded JSON value, object keys included, without recursion."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if type(item) is str:
            yield item
        elif type(item) is dict:
            for key, child in item.items():
                yield key
                push(child)
        elif type(item) is list:
            stack.extend(item)


def contains_nul(value: Any) -> bool:
    """Whether any string or key of a decoded JSON value contains U+0000."""
    return any("\x00" in s for s in strings_of(value))


# ----------------------------------------------------------------------------- non-recursive full scan

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_TOKEN = re.compile(r"""
    ([{\[])                                                     # 1 open
  | ([}\]])                                                     # 2 close
  | (,)                                                         # 3
  | (:)                                                         # 4
  | ("[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*")   # 5 string
  | (-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)      # 6 number
  | (true|false|null)                                           # 7 literal
""", re.X)
_OPEN, _CLOSE, _COMMA, _COLON, _STR, _NUM, _LIT = range(1, 8)
_VALUE, _VALUE_OR_END, _KEY, _KEY_OR_END, _AFTER_KEY, _AFTER_VALUE = range(6)
_CLOSING = {"{": "}", "[": "]"}


def scan(text: str) -> tuple[bool, bool]:
    """Checks that `text` is exactly one JSON value (RFC 8259, surrounding whitespace allowed) at any
    depth, without recursion: the open containers are a list. Returns (valid, nul): nul says a string or
    key holds U+0000. Used only for texts deeper than a limit, whose answer depends on their validity."""
    open_containers: list[str] = []
    state = _VALUE
    nul = False
    pos, end = 0, len(text)
    while True:
        pos = _end(_WHITESPACE.match(text, pos))
        if pos == end:
            return state == _AFTER_VALUE and not open_containers, nul
        if state == _AFTER_VALUE and not open_containers:
            return False, nul  # something follows the value
        token = _TOKEN.match(text, pos)
        if token is None:
            return False, nul
        kind, pos = token.lastindex, token.end()
        if kind == _STR:
            raw = token.group(_STR)
            if "\\u" in raw:
                try:
                    decoded = _DECODER.decode(raw)
                except ValueError:
                    return False, nul
                if _SURROGATE.search(decoded):
                    return False, nul
                nul = nul or "\x00" in decoded
        if state in (_VALUE_OR_END, _KEY_OR_END) and kind == _CLOSE:
            if token.group(_CLOSE) != _CLOSING[open_containers.pop()]:
                return False, nul
            state = _AFTER_VALUE
        elif state in (_VALUE, _VALUE_OR_END):
            if kind == _OPEN:
                bracket = token.group(_OPEN)
                open_containers.append(bracket)
                state = _KEY_OR_END if bracket == "{" else _VALUE_OR_END
            elif kind in (_STR, _NUM, _LIT):
                state = _AFTER_VALUE
            else:
                return False, nul
        elif state in (_KEY, _KEY_OR_END):
            if kind != _STR:
                return False, nul
            state = _AFTER_KEY
        elif state == _AFTER_KEY:
            if kind != _COLON:
                return False, nul
            state = _VALUE
        else:  # _AFTER_VALUE inside a container
            if kind == _COMMA:
                state = _KEY if open_containers[-1] == "{" else _VALUE
            elif kind == _CLOSE and token.group(_CLOSE) == _CLOSING[open_containers[-1]]:
                open_containers.pop()
            else:
                return False, nul


def _end(match: re.Match[str] | None) -> int:
    """The end of a match of a pattern that always matches (it may match nothing)."""
    assert match is not None
    return match.end()
