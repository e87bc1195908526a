"""Hostile inputs for `bench fuzz` (runner/fuzz.py), as Hypothesis strategies.

The REST APIs also get schemathesis's cases from contract/openapi.yaml; these strategies add what a
generator working from a JSON Schema never sends: bodies that are not JSON, JSON nested past the
contract's limit, numbers longer than its 100 characters, escaped NULs and lone surrogates, wrong content
types, bodies over MAX_BODY_BYTES. For gRPC and gRPC-Web they are the whole input: EventRequest messages
(valid ones, and ones with a few fields drawn from odd values), attribute values holding deep or numeric
JSON text, raw bytes as the message, and broken gRPC-Web frames.

Strategies are built once (module constants, or cached per MAX_BODY_BYTES): building them per draw costs
Hypothesis more than the requests themselves.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import json
import random
import struct
import uuid
from typing import Any

from hypothesis import strategies as st

from runner import grpcweb
from tests.conformance import protos
from tests.conformance.checks import UUID_PATTERN

# Strings that broke parsers and databases before: NUL, BOM, direction overrides, noncharacters, astral
# characters (four UTF-8 bytes, two UTF-16 units), SQL and format metacharacters, line separators.
ODD_STRINGS = ("", " ", "\x00", "a\x00b", "\ufeff", "\u202etxt", "\uffff", "\ufffd", "\U0001f600", "\U0010ffff",
               "e\u0301", "\u2028", "'; DROP TABLE events; --", "%s%n%x", "\\", '"', "\r\n", "null", "true", "{}",
               "\x7f\x1b[31m", "\u0130\u0131", "ß" * 3)
ENTITY_TYPES = ("Car", "Loan", "LoanPayment", "ServiceRecord", "Service")
# Date-times on and around the contract's edges (CONTRACT.md, "RFC 3339 date-time").
EDGE_DATES = ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00.123456789+15:59", "0001-01-01T00:00:00Z",
              "9999-12-31T23:59:59.999999999-15:59", "0000-01-01T00:00:00Z", "2023-02-29T00:00:00Z",
              "2024-02-29T12:00:00Z", "2024-01-15T24:00:00Z", "2016-12-31T23:59:60Z", "2024-01-15T10:30:00+16:00",
              "2024-01-15t10:30:00z", "2024-01-15 10:30:00Z", "2024-01-15T10:30:00.1234567890Z",
              "2024-01-15T10:30:00", "１２３４-01-15T10:30:00Z", "99999-01-01T00:00:00Z", "2024-13-01T00:00:00Z")
# JSON text that is not a plain value, or is one only some parsers accept.
ODD_JSON = ("", " ", "1 2", "tru", "nul", "[1,]", "{'a': 1}", "NaN", "Infinity", "-Infinity", "-", "01", "1.", ".5",
            "+1", "0x10", "1e", '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '{"\\u0000": 1}', '"\\x41"', "[", "]",
            '{"a":1,"a":2}', " 12 ", "\t[]\n", "-0", "-0.0", "1E400", "1e131072", "-1e131072", "1e-131072",
            "123456789012345678901234567890", "0.1e-99999999999", "[[[]]", "\ufeff{}")


# Proportions (which branch, how hostile, how often an outsized message) are drawn from 1,000 slots in a fixed
# shuffled order, at the sum of two drawn indices: Hypothesis draws integers unevenly (small ones, both ends,
# earlier choices again), right for values, wrong for proportions; the sum of two such draws is close to even.
SLOTS = 1000


def _slot(slots: list[Any], indices: tuple[int, int]) -> Any:
    return slots[sum(indices) % len(slots)]


def choose(weights: dict[Any, float]) -> st.SearchStrategy[Any]:
    """One of the keys, with about the given relative weights."""
    total = sum(weights.values())
    slots = [key for key in weights for _ in range(max(1, round(SLOTS * weights[key] / total)))]
    random.Random(len(slots)).shuffle(slots)  # fixed: the same order in every run
    index = st.integers(0, len(slots) - 1)
    return st.tuples(index, index).map(functools.partial(_slot, slots))


def chance(probability: float) -> st.SearchStrategy[bool]:
    """True with about `probability`."""
    return choose({False: 1 - probability, True: probability}) if 0 < probability < 1 else st.just(probability >= 1)


ONE_IN_THREE, ONE_IN_TEN, ONE_IN_A_HUNDRED = chance(1 / 3), chance(0.1), chance(0.01)
FOUR_WAYS = choose(dict.fromkeys(range(4), 1))
TEN_WAYS = choose(dict.fromkeys(range(10), 1))
# How many of a gRPC message's fields are broken: none in two messages of five.
HOSTILITY = choose({0.0: 2, 0.1: 1, 0.3: 1, 0.6: 1})


def weighted(*branches: tuple[st.SearchStrategy, float]) -> st.SearchStrategy:
    """A value from one of `branches`, chosen with the given weights."""
    strategies = [strategy for strategy, _ in branches]
    return choose({index: weight for index, (_, weight) in enumerate(branches)}).flatmap(strategies.__getitem__)


def _repeat(char: str, count: int) -> str:
    return char * count


# Text for any string field: Hypothesis's full unicode (valid UTF-8 only: protobuf strings must be), the odd
# strings above, and runs of one- to four-byte characters around the 64- and 255-code-point limits.
ODD_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(ODD_STRINGS),
    st.builds(_repeat, st.sampled_from(["x", "é", "\U0001f600", "\x00"]), st.sampled_from([64, 65, 254, 255, 256])),
)
# Text without NUL, for the fields of a valid event.
PLAIN_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30)


class _FreshUuids:
    """Hypothesis starts from the simplest uuids (the nil uuid first) and draws them again and again; an event
    whose uuid is already stored writes nothing even on a defective server, so a write by a rejected request
    would go unseen. Each uuid drawn a second time in this process is replaced by one derived from it and a
    counter (deterministic for a given draw order, so a seeded run stays reproducible)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, drawn: uuid.UUID) -> str:
        text, n = str(drawn), 0
        while text in self.seen:
            n += 1
            text = str(uuid.uuid5(drawn, str(n)))
        self.seen.add(text)
        return text


FRESH_UUIDS = _FreshUuids()
UUIDS = st.one_of(st.uuids().map(FRESH_UUIDS), st.uuids().map(FRESH_UUIDS).map(str.upper))


def rest_headers_with_uuid(body: Any) -> list[dict[str, Any]]:
    """The event headers of a REST body (an event, or each item of a bulk array) whose uuid is a string."""
    headers = []
    for item in body if isinstance(body, list) else [body]:
        header = item.get("eventHeader") if isinstance(item, dict) else None
        if isinstance(header, dict) and isinstance(header.get("uuid"), str):
            headers.append(header)
    return headers


def freshen_uuids(body: Any) -> None:
    """Gives each event of a schemathesis-built REST body a uuid not drawn before in this process, for the
    same reason as _FreshUuids: schemathesis repeats the nil uuid too. Only well-formed uuids are replaced
    (case kept), so a case that tests a malformed one stays as it was."""
    for header in rest_headers_with_uuid(body):
        drawn = header["uuid"]
        if UUID_PATTERN.match(drawn):
            fresh = FRESH_UUIDS(uuid.UUID(drawn))
            header["uuid"] = fresh.upper() if drawn.isupper() else fresh


@st.composite
def _long_number(draw, min_chars: int, max_chars: int) -> str:
    """JSON number text of a drawn length (sign, digits, fraction, exponent), around the 100-character rule."""
    length = draw(st.integers(min_chars, max_chars))
    sign = draw(st.sampled_from(["", "-"]))
    exponent = draw(st.sampled_from(["", "e5", "E-7", "e+308", "e131072"]))
    fraction_digits = draw(st.integers(0, length // 2))
    integer_digits = max(1, length - len(sign) - len(exponent) - (fraction_digits + 1 if fraction_digits else 0))
    integer = draw(st.sampled_from(["1", "9", "7"])) + "0" * (integer_digits - 1)
    return sign + integer + ("." + "5" * fraction_digits if fraction_digits else "") + exponent


@st.composite
def _extreme_exponent(draw) -> str:
    """A short number with an exponent far outside every float and decimal type (and PostgreSQL's numeric):
    within the 100-character rule, so it must be stored or refused as a value the database cannot store."""
    mantissa = draw(st.sampled_from(["1", "0.1", "-9.99", "0", "5E", "123456789.987654321"]))
    exponent = draw(st.one_of(st.sampled_from([131071, 131072, -16383, -16384, 2**31, -(2**31) - 1, 2**63,
                                               99999999999, -99999999999]),
                              st.integers(-(10**30), 10**30)))
    if mantissa.endswith("E"):
        return mantissa + str(exponent)
    return f"{mantissa}e{exponent:+d}" if draw(st.booleans()) else f"{mantissa}e{exponent}"


@functools.cache
def nested(depth: int, leaf: str = "1") -> str:
    """`depth` levels of arrays and objects (alternating) around a leaf."""
    opening = "".join('{"k":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return opening + leaf + closing


def _nul_leaf(depth: int) -> str:
    return nested(depth, '"\\u0000"')


def _lists_or_objects(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(PLAIN_TEXT, children, max_size=4))


def _dumps_unicode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# Attribute values of a valid event: JSON with no NUL anywhere.
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), PLAIN_TEXT),
    _lists_or_objects, max_leaves=10)
# JSON text for a hostile attribute value: numbers around the 100-character limit and far past it, nesting
# around the 64-level limit (59 inside a gRPC attribute) and far past it, NULs, odd near-JSON.
JSON_FRAGMENTS = st.one_of(
    JSON_VALUES.map(_dumps_unicode), JSON_VALUES.map(json.dumps), JSON_VALUES.map(json.dumps),
    _long_number(95, 105), _long_number(95, 105), _long_number(1000, 5000), _extreme_exponent(), _extreme_exponent(),
    st.sampled_from(ODD_JSON), st.sampled_from(ODD_JSON),
    st.integers(55, 70).map(nested), st.integers(55, 70).map(nested), st.integers(55, 66).map(_nul_leaf),
    st.sampled_from([1_000, 1_000, 5_000, 5_000, 5_000, 5_000, 5_000, 100_000]).map(nested),
)


# -- REST: raw bodies --------------------------------------------------------------------------------------

JSON_CONTENT_TYPES = ("application/json", "application/json; charset=utf-8", "Application/JSON",
                      "application/json;charset=UTF-8")
OTHER_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/xml",
                       "multipart/form-data; boundary=x", "application/grpc-web+proto", "")
SINGLE, BULK = "/api/v1/events", "/api/v1/events/bulk"


@dataclasses.dataclass(frozen=True)
class RawRest:
    """A request schemathesis would not build: the body as bytes, sent as is."""
    path: str
    body: bytes
    content_type: str | None
    what: str  # a short label for reports


def _event_text(uuid: str, attribute_text: str, name: str = "Fuzzed") -> str:
    """An otherwise valid event as JSON text, with `attribute_text` spliced in as one attribute's value."""
    return ('{"eventHeader": {"uuid": ' + json.dumps(uuid) + ', "eventName": ' + json.dumps(name)
            + ', "eventType": "Fuzzed"}, "eventBody": {"entities": [{"entityType": "Loan", "entityId": "fuzz-1", '
            '"updatedAttributes": {"value": ' + attribute_text + '}}]}}')


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@st.composite
def _spliced(draw) -> RawRest:
    fragment = draw(JSON_FRAGMENTS)
    text = _event_text(draw(UUIDS), fragment, draw(st.one_of(PLAIN_TEXT, ODD_TEXT)))
    what = f"event with attribute {fragment[:60]!r}" + (f"... ({len(fragment)} characters)" if len(fragment) > 60 else "")
    if draw(ONE_IN_THREE):
        others = [_event_text(draw(UUIDS), draw(JSON_FRAGMENTS)) for _ in range(draw(st.integers(0, 3)))]
        return RawRest(BULK, _utf8("[" + ", ".join([text, *others]) + "]"), "application/json",
                       f"bulk of {len(others) + 1}, first: {what}")
    return RawRest(SINGLE, _utf8(text), draw(st.sampled_from(JSON_CONTENT_TYPES)), what)


@st.composite
def _broken_bytes(draw) -> RawRest:
    path = draw(st.sampled_from([SINGLE, BULK]))
    choice = draw(FOUR_WAYS)
    if choice == 0:
        body, what = draw(st.binary(max_size=200)), "random bytes"
    elif choice == 1:
        event = _event_text(draw(UUIDS), "1").encode()
        cut = draw(st.integers(0, len(event) - 1))
        body, what = event[:cut], f"event truncated at byte {cut}"
    elif choice == 2:
        invalid = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\x1f"]))
        body = _event_text(draw(UUIDS), '"x"').encode().replace(b"Fuzzed", b"Fu" + invalid + b"zzed", 1)
        what = f"byte {invalid!r} inside a string"
    else:
        body, what = _utf8(draw(st.sampled_from(ODD_JSON))), "near-JSON body"
    return RawRest(path, body, "application/json", what)


@st.composite
def _wrong_content_type(draw) -> RawRest:
    content_type = draw(st.sampled_from(OTHER_CONTENT_TYPES + (None,)))
    body = _event_text(draw(UUIDS), "1").encode()
    return RawRest(draw(st.sampled_from([SINGLE, BULK])), body, content_type, f"content type {content_type!r}")


@st.composite
def _outsized(draw, max_body_bytes: int) -> RawRest:
    kind = draw(st.sampled_from(["over", "bulk-1001", "bulk-0", "entities-101"]))
    if kind == "over":
        body = _event_text(draw(UUIDS), json.dumps("x" * (max_body_bytes + 1))).encode()
        return RawRest(SINGLE, body, "application/json", f"body over MAX_BODY_BYTES ({len(body)} bytes)")
    if kind == "bulk-1001":
        item = _event_text(draw(UUIDS), "1")
        return RawRest(BULK, ("[" + ",".join([item] * 1001) + "]").encode(), "application/json", "bulk of 1001")
    if kind == "bulk-0":
        return RawRest(BULK, b"[]", "application/json", "empty bulk")
    entity = '{"entityType": "Loan", "entityId": "e", "updatedAttributes": {}}'
    body = ('{"eventHeader": {"uuid": ' + json.dumps(draw(UUIDS)) + ', "eventName": "n", "eventType": "t"}, '
            '"eventBody": {"entities": [' + ",".join([entity] * 101) + "]}}").encode()
    return RawRest(SINGLE, body, "application/json", "101 entities")


@functools.cache
def rest_raw(max_body_bytes: int) -> st.SearchStrategy[RawRest]:
    return weighted((_spliced(), 8), (_broken_bytes(), 4), (_wrong_content_type(), 2), (_outsized(max_body_bytes), 1))


# -- gRPC and gRPC-Web: messages and frames ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class GrpcInput:
    """One ProcessEvent request message, and a label for reports."""
    payload: bytes
    structured: bool  # built as an EventRequest (True) or raw bytes (False)
    what: str


def _without_dashes(uuid: str) -> str:
    return uuid.replace("-", "")


def _with_nul(text: str) -> str:
    return text + "\x00"


def _isoformat(moment: datetime.datetime) -> str:
    return moment.isoformat()


HOSTILE_UUIDS = st.one_of(ODD_TEXT, UUIDS.map(_without_dashes), UUIDS.map(_with_nul), st.just(""))
VALID_DATES = st.one_of(st.just(""), st.sampled_from(EDGE_DATES[:4]),
                        st.datetimes(timezones=st.just(datetime.UTC)).map(_isoformat))
HOSTILE_DATES = st.one_of(st.sampled_from(EDGE_DATES), ODD_TEXT,
                          st.datetimes(timezones=st.timezones()).map(_isoformat))
VALID_TYPES = st.one_of(st.sampled_from(ENTITY_TYPES), st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,63}", fullmatch=True))
HOSTILE_TYPES = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9]{64,70}", fullmatch=True), ODD_TEXT,
                          st.sampled_from(["1Loan", "Loan-1", "Loan\n", "Lоan"]))  # Cyrillic о
VALID_ATTRIBUTES = st.dictionaries(PLAIN_TEXT, st.one_of(JSON_VALUES.map(json.dumps), PLAIN_TEXT), max_size=4)
HOSTILE_ATTRIBUTES = st.dictionaries(st.one_of(PLAIN_TEXT, ODD_TEXT), st.one_of(JSON_FRAGMENTS, ODD_TEXT),
                                     min_size=1, max_size=3)


@st.composite
def _event_request(draw, max_message_bytes: int) -> GrpcInput:
    """An EventRequest: valid, or with each field broken with probability `hostility` (so usually one or two
    broken fields, and every validation rule is reached)."""
    hostility = draw(HOSTILITY)

    def field(valid: st.SearchStrategy, hostile: st.SearchStrategy):
        broken = draw(chance(hostility))
        return draw(hostile if broken else valid)

    pb = protos.event_pb2()
    request = pb.EventRequest()
    if not (hostility and draw(ONE_IN_TEN)):  # one hostile message in 10 has no header
        header = request.event_header
        header.SetInParent()
        header.uuid = field(UUIDS, HOSTILE_UUIDS)
        header.event_name = field(PLAIN_TEXT, ODD_TEXT)
        header.event_type = field(PLAIN_TEXT, ODD_TEXT)
        header.created_date = field(VALID_DATES, HOSTILE_DATES)
        header.saved_date = field(VALID_DATES, HOSTILE_DATES)
    if not (hostility and draw(ONE_IN_TEN)):  # and one in 10 no body
        request.event_body.SetInParent()
        count = field(st.integers(1, 4), st.sampled_from([0, 100, 101]))
        if count >= 100:  # the limit: many small valid entities
            for index in range(count):
                request.event_body.entities.add(entity_type="Loan", entity_id=f"e{index}").updated_attributes["i"] = "1"
        for _ in range(count if count < 100 else 0):
            entity = request.event_body.entities.add()
            entity.entity_type = field(VALID_TYPES, HOSTILE_TYPES)
            entity.entity_id = field(PLAIN_TEXT, ODD_TEXT)
            for key, value in field(VALID_ATTRIBUTES, HOSTILE_ATTRIBUTES).items():
                entity.updated_attributes[key] = value
    if draw(ONE_IN_A_HUNDRED):  # over MAX_BODY_BYTES
        entity = request.event_body.entities.add(entity_type="Loan", entity_id="big")
        entity.updated_attributes["blob"] = json.dumps("x" * max_message_bytes)
    payload = request.SerializeToString()
    label = "valid-looking" if hostility == 0 else f"hostile ({hostility:.0%} of fields)"
    return GrpcInput(payload, True, f"{label} EventRequest, {len(request.event_body.entities)} entities, "
                                    f"{len(payload)} bytes")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


# Hand-made protobuf wire that parsers treat differently: wrong wire types, invalid UTF-8 in a string,
# lengths past the end, 10-byte (negative) varints, unknown fields, groups nested deeper than parsers recurse.
WIRE_ODDITIES = (
    b"\x08\x01",  # field 1 (a message) as a varint
    b"\x0a\x03\x0a\x01\xff",  # header.uuid with invalid UTF-8
    b"\x0a\x05\x12\x03\xc3\x28\x41",  # header.event_name with invalid UTF-8
    b"\x0a\xff\xff\xff\xff\x0f",  # a length of 4 GiB
    b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a negative length (10-byte varint)
    b"\xfa\x06\x03abc",  # unknown field 111: valid, ignored
    b"\x0b" * 200 + b"\x0c" * 200,  # field 1 as 200 nested groups
    b"\x9b\x06" * 5000,  # unterminated nested unknown groups
    b"\x12\x02\x0a\x00",  # event_body with one empty entity
    b"\x0a\x00\x12\x00",  # empty header and empty body
)


@st.composite
def _raw_message(draw, max_message_bytes: int) -> GrpcInput:
    """Bytes as the ProcessEvent message: random, a valid message mutated, or odd wire."""
    choice = draw(FOUR_WAYS)
    if choice == 0:
        payload, what = draw(st.binary(max_size=300)), "random bytes"
    elif choice == 1:
        base = draw(_event_request(max_message_bytes)).payload[:4096]
        position = draw(st.integers(0, max(0, len(base) - 1)))
        mutation = draw(st.sampled_from(["flip", "truncate", "insert", "append"]))
        if mutation == "flip" and base:
            payload = base[:position] + bytes([base[position] ^ draw(st.integers(1, 255))]) + base[position + 1:]
        elif mutation == "truncate":
            payload = base[:position]
        elif mutation == "insert":
            payload = base[:position] + draw(st.binary(min_size=1, max_size=8)) + base[position:]
        else:
            payload = base + draw(st.binary(min_size=1, max_size=16))
        what = f"a message with a {mutation} at byte {position}"
    elif choice == 2:
        payload, what = draw(st.sampled_from(WIRE_ODDITIES)), "odd protobuf wire"
    else:
        tag, wire_type = draw(st.integers(1, 2**29 - 1)), draw(st.integers(0, 7))
        payload = _varint(tag << 3 | wire_type) + draw(st.binary(max_size=20))
        what = f"field {tag} with wire type {wire_type}"
    return GrpcInput(payload, False, f"raw bytes: {what} ({len(payload)} bytes)")


@functools.cache
def grpc_inputs(max_message_bytes: int) -> st.SearchStrategy[GrpcInput]:
    """Four EventRequest messages for every raw one."""
    return weighted((_event_request(max_message_bytes), 4), (_raw_message(max_message_bytes), 1))


# gRPC-Web content types: the four the protocol defines, in odd spellings, and some that are not gRPC-Web.
GRPCWEB_BINARY = ("application/grpc-web+proto", "application/grpc-web", "Application/GRPC-Web+Proto",
                  "application/grpc-web+proto; charset=utf-8")
GRPCWEB_TEXT = ("application/grpc-web-text", "application/grpc-web-text+proto")
GRPCWEB_TYPES = {"application/grpc-web", "application/grpc-web+proto", "application/grpc-web-text",
                 "application/grpc-web-text+proto"}
NOT_GRPCWEB = ("application/grpc", "application/json", "application/grpc-web+json", "text/plain", "")


@dataclasses.dataclass(frozen=True)
class GrpcWebInput:
    """One HTTP request to the gRPC-Web ProcessEvent path."""
    body: bytes
    content_type: str | None
    text: bool  # grpc-web-text: the answer is base64 too
    message: GrpcInput | None  # the message a correct server decodes from the body; None: broken framing
    what: str

    @property
    def is_grpcweb(self) -> bool:
        return self.content_type is not None and self.content_type.split(";")[0].strip().lower() in GRPCWEB_TYPES


@st.composite
def _grpcweb_input(draw, max_message_bytes: int) -> GrpcWebInput:
    """Well-framed messages (binary and text mode) from `grpc_inputs`, broken frames, wrong content types."""
    text = draw(chance(0.25))
    content_type = draw(st.sampled_from(GRPCWEB_TEXT if text else GRPCWEB_BINARY))
    message = draw(grpc_inputs(max_message_bytes))
    mode = " (text)" if text else ""

    def encode(body: bytes) -> bytes:
        return base64.b64encode(body) if text else body

    kind = draw(TEN_WAYS)
    if kind <= 5:
        return GrpcWebInput(encode(grpcweb.encode_frame(message.payload)), content_type, text, message,
                            f"{message.what}, one frame{mode}")
    payload = message.payload[:2048]
    if kind == 6:
        flags = draw(st.sampled_from([0x01, 0x02, 0x40, 0x80, 0x81, 0xFF]))
        return GrpcWebInput(encode(grpcweb.encode_frame(payload, flags)), content_type, text, None,
                            f"frame flags 0x{flags:02x}{mode}")
    if kind == 7:
        length = max(0, len(payload) + draw(st.sampled_from([-5, -1, 1, 7, 2**31, 2**32 - 1 - len(payload)])))
        return GrpcWebInput(encode(struct.pack(">BI", 0, length) + payload), content_type, text, None,
                            f"declared length {length} for {len(payload)} bytes{mode}")
    if kind == 8:
        frame = grpcweb.encode_frame(payload)
        variants = {"empty body": b"", "truncated header": frame[:draw(st.integers(1, 4))],
                    "two frames": frame + frame, "trailing garbage": frame + draw(st.binary(min_size=1, max_size=8)),
                    "a trailers frame after the message": frame + grpcweb.encode_frame(b"grpc-status:0\r\n", 0x80),
                    "random bytes": draw(st.binary(max_size=64))}
        what = draw(st.sampled_from(sorted(variants)))
        return GrpcWebInput(encode(variants[what]), content_type, text, None, what + mode)
    body = grpcweb.encode_frame(message.payload)
    if text:
        # Whitespace and separately padded segments are valid grpc-web-text; the others are not.
        variant = draw(st.sampled_from(["not base64", "unpadded", "whitespace", "two segments"]))
        encoded = base64.b64encode(body)
        mangled = {"not base64": b"!!" + encoded, "unpadded": encoded.rstrip(b"="),
                   "whitespace": b" \n".join([encoded[:4], encoded[4:]]),
                   "two segments": base64.b64encode(body[:3]) + base64.b64encode(body[3:])}[variant]
        valid = variant in ("whitespace", "two segments") or mangled == encoded  # nothing to unpad
        return GrpcWebInput(mangled, content_type, text, message if valid else None,
                            f"{message.what}, text mode, {variant}")
    wrong = draw(st.sampled_from(NOT_GRPCWEB + (None,)))
    return GrpcWebInput(body, wrong, False, message, f"{message.what}, content type {wrong!r}")


@functools.cache
def grpcweb_inputs(max_message_bytes: int) -> st.SearchStrategy[GrpcWebInput]:
    return _grpcweb_input(max_message_bytes)
