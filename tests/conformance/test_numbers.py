"""The number rule (contract/CONTRACT.md, "Validation" and "Saturation"): at most 100 characters of JSON text
per number, anywhere in a REST body (checked while parsing) and in a gRPC attribute value that is JSON text.

Numbers go out as exact JSON text (no serializer would write a 101-digit float), and come back from
PostgreSQL as text, compared as decimals: a 100-character number must be stored with all its digits.
"""
from __future__ import annotations

import copy
import decimal
import json
from typing import Any

import pytest

from tests.conformance.checks import assert_error_document, assert_nothing_written, assert_processed
from tests.conformance.clients import event_to_proto
from tests.conformance.events import entity, event

NUMBER_MSG = "event contains a number longer than 100 characters"
REST_ONLY = pytest.mark.kinds("rest")
PROTO_ONLY = pytest.mark.kinds("grpc", "grpcweb")


def placeholder(name: str) -> str:
    return f"@@json-text-{name}@@"


def send_json_text_attributes(client, doc: dict[str, Any], texts: dict[str, str]):
    """Send `doc` with the first entity's attributes `texts` (name -> JSON text) written verbatim: in the
    REST body as they are, over gRPC as the attribute strings (JSON text, so parsed by the target)."""
    attributes = doc["eventBody"]["entities"][0]["updatedAttributes"]
    for name in texts:
        attributes[name] = placeholder(name)
    if client.kind == "rest":
        return client.send_body(raw_body(doc, texts))
    request = event_to_proto(doc)
    for name, text in texts.items():
        request.event_body.entities[0].updated_attributes[name] = text
    return client.send_request(request)


def raw_body(value: Any, texts: dict[str, str]) -> bytes:
    body = json.dumps(value)
    for name, text in texts.items():
        quoted = json.dumps(placeholder(name))
        assert quoted in body
        body = body.replace(quoted, text)
    return body.encode()


def stored_number(db, doc: dict[str, Any], path: list[str]) -> tuple[decimal.Decimal, decimal.Decimal]:
    """The number at `path` in the first entity's stored data and in the stored event, as decimals."""
    item = doc["eventBody"]["entities"][0]
    data = db.query("SELECT jsonb_typeof(data #> %s) AS type, data #>> %s AS text FROM entities "
                    "WHERE entity_type = %s AND entity_id = %s", path, path, item["entityType"], item["entityId"])
    assert data and data[0]["type"] == "number", f"not stored as a number: {data}"
    payload_path = ["eventBody", "entities", "0", "updatedAttributes", *path]
    payload = db.query("SELECT jsonb_typeof(payload #> %s) AS type, payload #>> %s AS text FROM events "
                       "WHERE uuid = %s::uuid", payload_path, payload_path, doc["eventHeader"]["uuid"])
    assert payload and payload[0]["type"] == "number", f"not in the event document as a number: {payload}"
    return decimal.Decimal(data[0]["text"]), decimal.Decimal(payload[0]["text"])


NUMBERS_OF_100 = {
    "integer": "1234567890" * 10,
    "negative": "-" + "9" * 99,
    "fraction": "-" + "1" * 49 + "." + "2" * 49,
    "exponent": "1." + "5" * 94 + "e+10",
    "negative-exponent": "9." + "8" * 93 + "E-300",
}

NUMBERS_OF_101 = {
    "integer": "1" * 101,
    "negative": "-" + "9" * 100,
    "fraction": "0." + "0" * 98 + "1",
    "exponent": "1." + "5" * 95 + "e+10",
}


@pytest.mark.parametrize("text", NUMBERS_OF_100.values(), ids=NUMBERS_OF_100.keys())
def test_number_of_100_characters_stored_with_its_digits(client, db, text):
    assert len(text) == 100
    doc = event(entity("Loan", balance=1))
    assert_processed(send_json_text_attributes(client, doc, {"amount": text}), doc)
    assert stored_number(db, doc, ["amount"]) == (decimal.Decimal(text), decimal.Decimal(text))


def test_nested_number_of_100_characters_stored_with_its_digits(client, db):
    text = "7" * 100
    doc = event(entity("Loan", balance=1))
    assert_processed(send_json_text_attributes(client, doc, {"schedule": f'{{"due": [1, {text}]}}'}), doc)
    assert stored_number(db, doc, ["schedule", "due", "1"]) == (decimal.Decimal(text), decimal.Decimal(text))


def test_string_of_101_digits_is_a_string_not_a_number(client, db):
    digits = "1" * 101
    item = entity("Loan", reference=digits)
    doc = event(item)
    assert_processed(client.send(doc), doc)
    assert db.entity("Loan", item["entityId"])["data"] == {"reference": digits}


def assert_number_rejected(outcome, db, doc) -> None:
    assert outcome.status == 400, f"expected 400/INVALID_ARGUMENT, got {outcome.raw_code}: {outcome.message}"
    assert outcome.message == NUMBER_MSG
    if outcome.raw_code == "400":
        assert outcome.body == {"error": NUMBER_MSG, "status": 400}
    else:
        assert outcome.raw_code == "INVALID_ARGUMENT"
    assert_nothing_written(db, doc)


@pytest.mark.parametrize("text", NUMBERS_OF_101.values(), ids=NUMBERS_OF_101.keys())
def test_number_of_101_characters_rejected(client, db, text):
    assert len(text) == 101
    doc = event(entity("Loan", balance=1), entity("Car"))
    assert_number_rejected(send_json_text_attributes(client, doc, {"amount": text}), db, doc)


@pytest.mark.parametrize("text", [f'{{"due": [1, {"2" * 101}]}}', f'[{{"a": {{"b": -{"3" * 100}}}}}]'],
                         ids=["in-object", "in-array"])
def test_nested_number_of_101_characters_rejected(client, db, text):
    doc = event(entity("Loan", balance=1))
    assert_number_rejected(send_json_text_attributes(client, doc, {"schedule": text}), db, doc)


def test_number_rule_applies_to_every_entity(client, db):
    doc = event(entity("Car"), entity("Loan", balance=1))
    doc["eventBody"]["entities"][1]["updatedAttributes"]["amount"] = placeholder("amount")
    text = "5" * 101
    if client.kind == "rest":
        outcome = client.send_body(raw_body(doc, {"amount": text}))
    else:
        request = event_to_proto(doc)
        request.event_body.entities[1].updated_attributes["amount"] = text
        outcome = client.send_request(request)
    assert_number_rejected(outcome, db, doc)


@PROTO_ONLY
def test_grpc_json_text_with_surrounding_whitespace_is_still_a_number(client, db):
    doc = event(entity("Loan", balance=1))
    assert_number_rejected(send_json_text_attributes(client, doc, {"amount": f" {'4' * 101}\n"}), db, doc)


@PROTO_ONLY
def test_grpc_long_digits_in_a_value_that_is_not_json_text_are_a_string(client, db):
    value = "1" * 101 + " apples"  # not JSON text: stored as a JSON string, no number in it
    doc = event(entity("Loan", balance=1))
    outcome = send_json_text_attributes(client, doc, {"note": value})
    assert_processed(outcome, doc)
    item = doc["eventBody"]["entities"][0]
    assert db.entity("Loan", item["entityId"])["data"] == {"balance": 1, "note": value}


# REST: the rule holds anywhere in the body, while parsing, before any other validation.
@REST_ONLY
@pytest.mark.parametrize("place", ["unknown-top-level-field", "unknown-header-field", "uuid", "entity-id"])
def test_rest_number_of_101_characters_anywhere_in_the_body_rejected(client, db, place):
    doc = event(entity("Loan", balance=1))
    sent = copy.deepcopy(doc)
    marker = placeholder("n")
    if place == "unknown-top-level-field":
        sent["extra"] = marker
    elif place == "unknown-header-field":
        sent["eventHeader"]["extra"] = {"nested": [marker]}
    elif place == "uuid":  # the number rule comes before the header rules: not `eventHeader.uuid must be a UUID`
        sent["eventHeader"]["uuid"] = marker
    else:  # and before the entity rules
        sent["eventBody"]["entities"][0]["entityId"] = marker
    outcome = client.send_body(raw_body(sent, {"n": "6" * 101}))
    assert outcome.status == 400, f"expected 400, got {outcome.raw_code}: {outcome.message}"
    assert outcome.body == {"error": NUMBER_MSG, "status": 400}
    assert_nothing_written(db, doc)


@REST_ONLY
def test_rest_body_that_is_a_long_number_rejected(client, db):
    count = "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM entities) AS n"
    before = db.query(count)[0]["n"]
    outcome = client.send_body(b"8" * 101)
    assert outcome.status == 400
    assert outcome.body == {"error": NUMBER_MSG, "status": 400}
    assert db.query(count)[0]["n"] == before


@REST_ONLY
@pytest.mark.parametrize("where", ["attribute", "unknown-field"])
def test_rest_bulk_with_a_long_number_rejected_whole(client, db, where):
    batch = [event(entity("Car")) for _ in range(3)]
    if where == "attribute":
        batch[1]["eventBody"]["entities"][0]["updatedAttributes"]["amount"] = placeholder("n")
    else:
        batch[2]["extra"] = {"values": [placeholder("n")]}
    response = client.post_raw("/api/v1/events/bulk", raw_body(batch, {"n": "9" * 101}))
    assert_error_document(response, 400, NUMBER_MSG)
    for doc in batch:
        assert_nothing_written(db, doc)


@REST_ONLY
def test_rest_bulk_with_numbers_of_100_characters_processed(client, db):
    batch = [event(entity("Loan", balance=1)) for _ in range(2)]
    for doc in batch:
        doc["eventBody"]["entities"][0]["updatedAttributes"]["amount"] = placeholder("n")
    response = client.post_raw("/api/v1/events/bulk", raw_body(batch, {"n": "9" * 100}))
    assert response.status_code == 200, response.text
    assert response.json()["processedCount"] == 2
    for doc in batch:
        assert stored_number(db, doc, ["amount"])[0] == decimal.Decimal("9" * 100)
