"""Validation of REST bodies with the contract's messages and order, and the canonical document."""
from __future__ import annotations

import copy
import json

import pytest

from event_common import event as ev
from event_common.event import ValidationError, event_from_json, parse_bulk, parse_event

UUID = "550e8400-e29b-41d4-a716-446655440000"


def doc(**header):
    head = {"uuid": UUID, "eventName": "LoanPaymentSubmitted", "eventType": "LoanPaymentSubmitted",
            "createdDate": "2024-01-15T10:30:00Z", "savedDate": "2024-01-15T10:30:05Z"}
    head.update(header)
    return {"eventHeader": head, "eventBody": {"entities": [
        {"entityType": "Loan", "entityId": "loan-12345", "updatedAttributes": {"balance": 24439.75}}]}}


def body(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def message_of(raw: bytes) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_event(raw)
    return caught.value.message


def test_valid_event_and_its_canonical_document():
    raw = (b'{"eventHeader": {"uuid": "550E8400-e29b-41d4-a716-446655440000", "eventName": "N", "eventType": "T",'
           b' "createdDate": "2024-01-15T10:30:00Z", "savedDate": "", "extra": 1},'
           b' "eventBody": {"entities": [{"entityType": "Loan", "entityId": "l-1", "extra": true,'
           b' "updatedAttributes": {"b": 12345678901234567890.5, "big": 123456789012345678901234567890,'
           b' "s": "\\u00e9\\"/<>&", "n": null, "l": [1.5e-7, {}]}}]}, "more": "dropped"}')
    event = parse_event(raw)
    assert (event.uuid, event.normalized_uuid, event.created_date, event.saved_date) == (
        "550E8400-e29b-41d4-a716-446655440000", UUID, "2024-01-15T10:30:00Z", None)
    assert event.entities == [("Loan", "l-1", b'{"b":12345678901234567890.5,"big":123456789012345678901234567890,'
                                              b'"s":"\xc3\xa9\\"/<>&","n":null,"l":[1.5e-7,{}]}')]
    assert json.loads(event.document()) == {
        "eventHeader": {"uuid": "550E8400-e29b-41d4-a716-446655440000", "eventName": "N", "eventType": "T",
                        "createdDate": "2024-01-15T10:30:00Z"},
        "eventBody": {"entities": [{"entityType": "Loan", "entityId": "l-1", "updatedAttributes": {
            "b": 12345678901234567890.5, "big": 123456789012345678901234567890, "s": 'é"/<>&', "n": None,
            "l": [1.5e-7, {}]}}]}}
    assert b"12345678901234567890.5" in event.document()  # the digits, not a float's


def test_null_and_absent_dates_are_absent_from_the_document():
    event = parse_event(body(doc(createdDate=None, savedDate="")))
    header = json.loads(event.document())["eventHeader"]
    assert (event.created_date, event.saved_date) == (None, None)
    assert "createdDate" not in header and "savedDate" not in header


def test_lock_order_is_a_stable_sort_by_type_then_id():
    value = doc()
    value["eventBody"]["entities"] = [
        {"entityType": t, "entityId": i, "updatedAttributes": {"n": n}}
        for n, (t, i) in enumerate([("Loan", "b"), ("Car", "z"), ("Loan", "a"), ("Car", "z"), ("Car", "é"),
                                    ("Car", "é2"), ("Car", "e")])]
    event = event_from_json(value)
    order = [(t, i, json.loads(a)["n"]) for t, i, a in event.entities_in_lock_order()]
    assert order == [("Car", "e", 6), ("Car", "z", 1), ("Car", "z", 3), ("Car", "é", 4), ("Car", "é2", 5),
                     ("Loan", "a", 2), ("Loan", "b", 0)]
    assert [i for _, i, _ in event.entities] == ["b", "z", "a", "z", "é", "é2", "e"]  # request order kept


def mutate(value, path, new):
    value = copy.deepcopy(value)
    *parents, last = path.split(".")
    target = value
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if new is DELETE:
        del target[int(last) if isinstance(target, list) else last]
    elif isinstance(target, list):
        target[int(last)] = new
    else:
        target[last] = new
    return value


DELETE = object()
ENTITY_TYPE_0 = ("eventBody.entities[0].entityType must be a name: a letter, then letters or digits, "
                 "at most 64 characters")


@pytest.mark.parametrize("path, value, message", [
    ("eventHeader", DELETE, ev.MSG_HEADER_OBJECT),
    ("eventHeader", [], ev.MSG_HEADER_OBJECT),
    ("eventHeader.uuid", DELETE, ev.MSG_UUID),
    ("eventHeader.uuid", 7, ev.MSG_UUID),
    ("eventHeader.uuid", UUID + "\n", ev.MSG_UUID),
    ("eventHeader.uuid", "{" + UUID + "}", ev.MSG_UUID),
    ("eventHeader.eventName", "", ev.MSG_EVENT_NAME),
    ("eventHeader.eventName", None, ev.MSG_EVENT_NAME),
    ("eventHeader.eventType", ["x"], ev.MSG_EVENT_TYPE),
    ("eventHeader.createdDate", 1705314600, ev.MSG_CREATED_DATE),
    ("eventHeader.createdDate", "2023-02-29T10:00:00Z", ev.MSG_CREATED_DATE),
    ("eventHeader.savedDate", "2024-01-15T10:30:00+16:00", ev.MSG_SAVED_DATE),
    ("eventBody", DELETE, ev.MSG_BODY_OBJECT),
    ("eventBody", "x", ev.MSG_BODY_OBJECT),
    ("eventBody.entities", {}, ev.MSG_ENTITIES_ARRAY),
    ("eventBody.entities", [], ev.MSG_ENTITIES_ARRAY),
    ("eventBody.entities", [{"entityType": "Car", "entityId": "c", "updatedAttributes": {}}] * 101,
     ev.MSG_ENTITIES_ARRAY),
    ("eventBody.entities.0", "car", "eventBody.entities[0] must be an object"),
    ("eventBody.entities.0.entityType", "Car\n", ENTITY_TYPE_0),
    ("eventBody.entities.0.entityType", "A" * 65, ENTITY_TYPE_0),
    ("eventBody.entities.0.entityType", "Cär", ENTITY_TYPE_0),
    ("eventBody.entities.0.entityType", "Car٣", ENTITY_TYPE_0),
    ("eventBody.entities.0.entityId", "", "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"),
    ("eventBody.entities.0.entityId", "é" * 256,
     "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"),
    ("eventBody.entities.0.updatedAttributes", None, "eventBody.entities[0].updatedAttributes must be a JSON object"),
    ("eventBody.entities.0.updatedAttributes", [1], "eventBody.entities[0].updatedAttributes must be a JSON object"),
    ("eventBody.entities.0.updatedAttributes", {"a": {"b": ["\x00"]}}, ev.MSG_NUL),
    ("eventBody.entities.0.entityId", "a\x00", ev.MSG_NUL),
    ("eventHeader.extra", "\x00", ev.MSG_NUL),  # unknown fields count for the NUL rule
])
def test_rules_and_messages(path, value, message):
    assert message_of(body(mutate(doc(), path, value))) == message


def test_first_broken_rule_wins_and_nul_comes_last():
    value = mutate(mutate(doc(), "eventHeader.uuid", "bad"), "eventBody.entities", [])
    assert message_of(body(value)) == ev.MSG_UUID
    value = mutate(mutate(doc(), "eventHeader.eventName", "a\x00"), "eventBody.entities.0.entityId", "")
    assert message_of(body(value)) == "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"


def test_boundaries_accepted():
    value = doc()
    value["eventBody"]["entities"] = [{"entityType": "A" * 64, "entityId": "é" * 255, "updatedAttributes": {}}] * 100
    assert len(event_from_json(json.loads(body(value))).entities) == 100


@pytest.mark.parametrize("raw, message", [
    (b'{"eventHeader": {"uuid": ', ev.MSG_MALFORMED_JSON),
    (b"", ev.MSG_MALFORMED_JSON),
    (b"{'a': 1}", ev.MSG_MALFORMED_JSON),
    (b'{"eventHeader": {}} trailing', ev.MSG_MALFORMED_JSON),
    (b'{"eventHeader": {"eventName": "\xff\xfe"}}', ev.MSG_MALFORMED_JSON),
    (b'{"a": "\xed\xa0\x80"}', ev.MSG_MALFORMED_JSON),  # an encoded surrogate is not UTF-8
    (b'{"a": "\\ud800"}', ev.MSG_MALFORMED_JSON),  # nor is a lone surrogate escape storable text
    (b"\xef\xbb\xbf{}", ev.MSG_MALFORMED_JSON),
    (b'{"a": NaN}', ev.MSG_MALFORMED_JSON),
    (b"[]", ev.MSG_NOT_OBJECT),
    (b'"event"', ev.MSG_NOT_OBJECT),
    (b"null", ev.MSG_NOT_OBJECT),
    (b"42", ev.MSG_NOT_OBJECT),
    (b"[" * 200_000 + b"]" * 200_000, ev.MSG_BODY_TOO_DEEP),
    (b"[" * 200_000, ev.MSG_MALFORMED_JSON),
    (b'{"a":' * 65 + b"1" + b"}" * 65, ev.MSG_BODY_TOO_DEEP),
])
def test_malformed_and_deep_bodies(raw, message):
    assert message_of(raw) == message


def test_nesting_limit_is_64_levels():
    def nested(levels):
        value = 1
        for _ in range(levels):
            value = {"a": value}
        return value
    assert parse_event(body(mutate(doc(), "eventBody.entities.0.updatedAttributes", {"deep": nested(59)})))
    too_deep = body(mutate(doc(), "eventBody.entities.0.updatedAttributes", {"deep": nested(60)}))
    assert message_of(too_deep) == ev.MSG_BODY_TOO_DEEP


def test_escaped_backslash_before_u0000_is_not_nul():
    value = mutate(doc(), "eventBody.entities.0.updatedAttributes", {"path": "C:\\u0000"})
    raw = body(value)
    assert b"\\\\u0000" in raw
    assert parse_event(raw).entities[0][2] == b'{"path":"C:\\\\u0000"}'


def test_bulk_items_are_validated_one_by_one():
    items, may_contain_nul = parse_bulk(body([doc(), {"x": 1}, doc(uuid="bad")]))
    assert len(items) == 3 and not may_contain_nul
    assert event_from_json(items[0], may_contain_nul).uuid == UUID
    with pytest.raises(ValidationError, match="eventHeader must be an object"):
        event_from_json(items[1], may_contain_nul)
    for raw in (b"{}", b"[]", b'"x"', b"null", body([doc()] * 1001)):
        with pytest.raises(ValidationError) as caught:
            parse_bulk(raw)
        assert caught.value.message == ev.MSG_BULK_NOT_ARRAY
    with pytest.raises(ValidationError, match="malformed JSON"):
        parse_bulk(b"[")


def test_a_number_longer_than_100_characters_anywhere_in_the_body():
    at_limit, over = "1" * 100, "-" + "1" * 100
    event = parse_event(body(doc()).replace(b"24439.75", at_limit.encode()))
    assert at_limit.encode() in event.entities[0][2]
    assert message_of(body(doc()).replace(b"24439.75", over.encode())) == ev.MSG_NUMBER_TOO_LONG
    # Anywhere: an unknown field, the header (where a number is already invalid), nested values.
    unknown = doc()
    unknown["extra"] = {"deep": [0]}
    assert message_of(body(unknown).replace(b"[0]", f"[{over}]".encode())) == ev.MSG_NUMBER_TOO_LONG
    assert message_of(body(doc(eventName=0)).replace(b'"eventName": 0', f'"eventName": {over}'.encode())) == (
        ev.MSG_NUMBER_TOO_LONG)
    assert ev.MSG_NUMBER_TOO_LONG == "event contains a number longer than 100 characters"


def test_a_long_number_in_one_bulk_item_refuses_the_whole_request():
    items = [doc(), doc(), doc()]
    raw = body(items)
    last = raw.rindex(b"24439.75")
    raw = raw[:last] + ("9" * 101).encode() + raw[last + len(b"24439.75"):]
    with pytest.raises(ValidationError) as caught:
        parse_bulk(raw)
    assert caught.value.message == ev.MSG_NUMBER_TOO_LONG
