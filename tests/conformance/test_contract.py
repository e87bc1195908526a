"""The event contract (`contract/CONTRACT.md`), checked black-box against every target."""
from __future__ import annotations

import concurrent.futures
import datetime
import decimal
import json
import time
import uuid
from typing import Any

import pytest

from runner.contract import S1, S2
from tests.conformance.checks import UNKNOWN_ROUTES, assert_error_document, assert_nothing_written, assert_processed
from tests.conformance.events import DELETE, EVENT_TYPES, canonical, entity, event, mutate, unique_id

REST_ONLY = pytest.mark.kinds("rest")
PROTO_ONLY = pytest.mark.kinds("grpc", "grpcweb")


def as_json(value):
    """A JSONB value as psycopg2 returns it, compared with exact numbers."""
    return json.loads(json.dumps(value), parse_float=decimal.Decimal) if not isinstance(value, str) \
        else json.loads(value, parse_float=decimal.Decimal)


def exact(value):
    return json.loads(json.dumps(value), parse_float=decimal.Decimal)


def rfc3339(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------------------------- happy path

@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_event_type_persists_event_and_entity(client, db, event_type):
    item = entity(EVENT_TYPES[event_type], balance=24439.75, note="first", nested={"a": [1, 2, {"b": None}]})
    doc = event(item, event_type=event_type)
    outcome = client.send(doc)
    assert_processed(outcome, doc)

    row = db.event(doc["eventHeader"]["uuid"])
    assert row is not None, "acknowledged event not stored"
    assert row["event_name"] == event_type and row["event_type"] == event_type
    assert row["created_date"] == rfc3339("2024-01-15T10:30:00Z")
    assert row["saved_date"] == rfc3339("2024-01-15T10:30:05.123Z")
    assert exact(row["payload"]) == exact(canonical(doc))
    stored = db.entity(item["entityType"], item["entityId"])
    assert stored is not None
    assert exact(stored["data"]) == exact(item["updatedAttributes"])


@pytest.mark.parametrize("entity_type", ["ServiceRecord", "LoanPayment", "A" * 64, "x1"])
def test_documented_and_boundary_entity_types_accepted(client, db, entity_type):
    item = entity(entity_type, amount=1)
    doc = event(item)
    assert_processed(client.send(doc), doc)
    assert db.entity(entity_type, item["entityId"]) is not None


def test_update_merges_top_level_keys(client, db):
    entity_id = unique_id("loan")
    first = event(entity("Loan", entity_id, balance=100, currency="EUR", history={"n": 1}))
    second = event(entity("Loan", entity_id, balance=75.5, lastPaidDate="2024-02-01T00:00:00Z",
                          history={"m": 2}), event_type="LoanPaymentSubmitted")
    assert_processed(client.send(first), first)
    created = db.entity("Loan", entity_id)
    assert_processed(client.send(second), second)
    merged = db.entity("Loan", entity_id)
    # Top-level merge: keys replaced or added, untouched keys kept; nested objects replaced whole.
    assert exact(merged["data"]) == exact({"balance": 75.5, "currency": "EUR", "history": {"m": 2},
                                           "lastPaidDate": "2024-02-01T00:00:00Z"})
    assert merged["created_at"] == created["created_at"]
    assert merged["updated_at"] >= created["updated_at"]


def test_duplicate_uuid_is_applied_once(client, db):
    entity_id = unique_id("car")
    doc = event(entity("Car", entity_id, mileage=10))
    assert_processed(client.send(doc), doc)
    retry = mutate(doc, "eventBody.entities.0.updatedAttributes", {"mileage": 99999})
    assert_processed(client.send(retry), retry, duplicate=True)
    assert exact(db.entity("Car", entity_id)["data"]) == exact({"mileage": 10})
    assert exact(db.event(doc["eventHeader"]["uuid"])["payload"]) == exact(canonical(doc))


def test_uuid_is_case_insensitive_and_answered_lower_case(client, db):
    upper = str(uuid.uuid4()).upper()
    doc = event(entity("Car"), uuid=upper)
    assert_processed(client.send(doc), doc)
    lower = mutate(doc, "eventHeader.uuid", upper.lower())
    assert_processed(client.send(lower), lower, duplicate=True)
    assert db.event(upper.lower()) is not None


def test_several_entities_later_update_of_same_entity_wins(client, db):
    car_id, loan_id = unique_id("car"), unique_id("loan")
    doc = event(entity("Loan", loan_id, balance=5), entity("Car", car_id, colour="red", seats=4),
                entity("Car", car_id, colour="blue"))
    assert_processed(client.send(doc), doc)
    assert exact(db.entity("Car", car_id)["data"]) == exact({"colour": "blue", "seats": 4})
    assert exact(db.entity("Loan", loan_id)["data"]) == exact({"balance": 5})
    assert exact(db.event(doc["eventHeader"]["uuid"])["payload"]) == exact(canonical(doc))


def test_numbers_keep_their_digits(client, db):
    attributes = {"big": 123456789012345678901234567890, "price": 0.1, "balance": 24439.75,
                  "negative": -17, "tiny": 1.5e-7}
    item = entity("Loan", **attributes)
    doc = event(item)
    assert_processed(client.send(doc), doc)
    stored = db.entity("Loan", item["entityId"])["data"]
    assert stored["big"] == 123456789012345678901234567890
    assert decimal.Decimal(str(stored["price"])) == decimal.Decimal("0.1")
    assert decimal.Decimal(str(stored["balance"])) == decimal.Decimal("24439.75")
    assert stored["negative"] == -17
    assert decimal.Decimal(str(stored["tiny"])) == decimal.Decimal("1.5e-7")


def test_unicode_and_sql_metacharacters_stored_verbatim(client, db):
    entity_id = "car-'; DROP TABLE events; -- \\ \" % _ ünïcødé 🚗"
    attributes = {"name": "Zoë 😀 'quoted' \"double\" \\ backslash", "sql": "1); DELETE FROM entities; --",
                  "ключ": "значение", "emoji 🔑": ["∑", "𝄞"]}
    doc = event(entity("Car", entity_id, **attributes), eventName="Ünïcødé ✓ '--")
    assert_processed(client.send(doc), doc)
    assert exact(db.entity("Car", entity_id)["data"]) == exact(attributes)
    assert db.event(doc["eventHeader"]["uuid"])["event_name"] == "Ünïcødé ✓ '--"


def test_absent_dates_are_null_and_offsets_are_honoured(client, db):
    doc = event(entity("Car"))
    del doc["eventHeader"]["savedDate"]
    doc["eventHeader"]["createdDate"] = "2024-06-30T23:59:59.123456789+05:30"
    assert_processed(client.send(doc), doc)
    row = db.event(doc["eventHeader"]["uuid"])
    assert row["saved_date"] is None
    expected = datetime.datetime(2024, 6, 30, 18, 29, 59, 123457, tzinfo=datetime.UTC)
    assert row["created_date"] == expected  # PostgreSQL rounds to microseconds
    assert exact(row["payload"]) == exact(canonical(doc))


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999+15:59"])
def test_extreme_storable_dates_accepted(client, db, created):
    doc = event(entity("Car"), createdDate=created)
    assert_processed(client.send(doc), doc)
    assert db.event(doc["eventHeader"]["uuid"])["created_date"] == rfc3339(created)


@pytest.mark.parametrize("date", [None, ""])
def test_null_or_empty_date_counts_as_absent(client, db, date):
    doc = event(entity("Car"), createdDate=date, savedDate=date)
    assert_processed(client.send(doc), doc)
    row = db.event(doc["eventHeader"]["uuid"])
    assert row["created_date"] is None and row["saved_date"] is None
    assert "createdDate" not in row["payload"]["eventHeader"]


def test_boundaries_accepted_100_entities_255_code_point_id_leap_day(client, db):
    long_id = "é" * 255  # 255 code points, 510 bytes
    entities = [entity("Car", long_id, n=0)] + [entity("Loan", n=i) for i in range(1, 100)]
    doc = event(*entities, createdDate="2024-02-29T00:00:00-15:59", savedDate="2000-02-29T23:59:59.9Z")
    assert_processed(client.send(doc), doc)
    assert db.entity("Car", long_id) is not None
    assert len(db.event(doc["eventHeader"]["uuid"])["payload"]["eventBody"]["entities"]) == 100


@REST_ONLY
def test_unknown_fields_are_ignored_and_not_stored(client, db):
    doc = event(entity("Car"))
    doc["extra"] = {"x": 1}
    doc["eventHeader"]["extraHeader"] = "ignored"
    doc["eventBody"]["entities"][0]["extraEntityField"] = True
    assert_processed(client.send(doc), doc)
    assert exact(db.event(doc["eventHeader"]["uuid"])["payload"]) == exact(canonical(doc))


@REST_ONLY
def test_empty_attributes_object_accepted(client, db):
    item = entity("Car")
    item["updatedAttributes"] = {}
    doc = event(item)
    assert_processed(client.send(doc), doc)
    assert db.entity("Car", item["entityId"])["data"] == {}


def test_event_of_64_kib_accepted(client, db):
    item = entity("Car", blob="x" * 65536)
    doc = event(item)
    assert_processed(client.send(doc), doc)
    assert len(db.entity("Car", item["entityId"])["data"]["blob"]) == 65536


# ---------------------------------------------------------------------------------------------- validation

UUID_MSG = "eventHeader.uuid must be a UUID"
NAME_MSG = "eventHeader.eventName must be a non-empty string"
TYPE_MSG = "eventHeader.eventType must be a non-empty string"
CREATED_MSG = "eventHeader.createdDate must be an RFC 3339 date-time"
SAVED_MSG = "eventHeader.savedDate must be an RFC 3339 date-time"
ENTITIES_MSG = "eventBody.entities must be an array of 1 to 100 entities"
NUL_MSG = "event must not contain the NUL character (U+0000)"


def entity_type_msg(i):
    return f"eventBody.entities[{i}].entityType must be a name: a letter, then letters or digits, at most 64 characters"


def entity_id_msg(i):
    return f"eventBody.entities[{i}].entityId must be a non-empty string of at most 255 characters"


def attributes_msg(i):
    return f"eventBody.entities[{i}].updatedAttributes must be a JSON object"


# (case id, changes [(path, value)], expected message, kinds). Kinds None = every protocol.
INVALID = [
    ("uuid-missing", [("eventHeader.uuid", DELETE)], UUID_MSG, None),
    ("uuid-empty", [("eventHeader.uuid", "")], UUID_MSG, None),
    ("uuid-garbage", [("eventHeader.uuid", "not-a-uuid")], UUID_MSG, None),
    ("uuid-no-hyphens", [("eventHeader.uuid", "550e8400e29b41d4a716446655440000")], UUID_MSG, None),
    ("uuid-braces", [("eventHeader.uuid", "{550e8400-e29b-41d4-a716-446655440000}")], UUID_MSG, None),
    ("uuid-urn", [("eventHeader.uuid", "urn:uuid:550e8400-e29b-41d4-a716-446655440000")], UUID_MSG, None),
    ("uuid-bad-hex", [("eventHeader.uuid", "550e8400-e29b-41d4-a716-44665544000g")], UUID_MSG, None),
    ("uuid-number", [("eventHeader.uuid", 12345)], UUID_MSG, "rest"),
    ("name-missing", [("eventHeader.eventName", DELETE)], NAME_MSG, None),
    ("name-empty", [("eventHeader.eventName", "")], NAME_MSG, None),
    ("name-number", [("eventHeader.eventName", 42)], NAME_MSG, "rest"),
    ("name-null", [("eventHeader.eventName", None)], NAME_MSG, "rest"),
    ("type-missing", [("eventHeader.eventType", DELETE)], TYPE_MSG, None),
    ("type-empty", [("eventHeader.eventType", "")], TYPE_MSG, None),
    ("type-array", [("eventHeader.eventType", ["CarCreated"])], TYPE_MSG, "rest"),
    ("created-month-13", [("eventHeader.createdDate", "2024-13-01T00:00:00Z")], CREATED_MSG, None),
    ("created-feb-30", [("eventHeader.createdDate", "2024-02-30T10:00:00Z")], CREATED_MSG, None),
    ("created-feb-29-non-leap", [("eventHeader.createdDate", "2023-02-29T10:00:00Z")], CREATED_MSG, None),
    ("created-space-separator", [("eventHeader.createdDate", "2024-01-15 10:30:00Z")], CREATED_MSG, None),
    ("created-no-offset", [("eventHeader.createdDate", "2024-01-15T10:30:00")], CREATED_MSG, None),
    ("created-hour-24", [("eventHeader.createdDate", "2024-01-15T24:00:00Z")], CREATED_MSG, None),
    ("created-words", [("eventHeader.createdDate", "yesterday")], CREATED_MSG, None),
    ("created-date-only", [("eventHeader.createdDate", "2024-01-15")], CREATED_MSG, None),
    ("saved-leap-second", [("eventHeader.savedDate", "2024-01-15T10:30:60Z")], SAVED_MSG, None),
    ("saved-lower-case", [("eventHeader.savedDate", "2024-01-15t10:30:00z")], SAVED_MSG, None),
    ("saved-10-fraction-digits", [("eventHeader.savedDate", "2024-01-15T10:30:00.1234567890Z")], SAVED_MSG, None),
    ("saved-offset-hour-24", [("eventHeader.savedDate", "2024-01-15T10:30:00+24:00")], SAVED_MSG, None),
    ("saved-offset-beyond-postgres", [("eventHeader.savedDate", "2024-01-15T10:30:00+16:00")], SAVED_MSG, None),
    ("created-year-zero", [("eventHeader.createdDate", "0000-01-01T00:00:00Z")], CREATED_MSG, None),
    ("saved-number", [("eventHeader.savedDate", 1705314600)], SAVED_MSG, "rest"),
    ("header-missing", [("eventHeader", DELETE)], "eventHeader must be an object", None),
    ("header-string", [("eventHeader", "header")], "eventHeader must be an object", "rest"),
    ("body-missing", [("eventBody", DELETE)], "eventBody must be an object", None),
    ("body-array", [("eventBody", [])], "eventBody must be an object", "rest"),
    ("entities-missing", [("eventBody.entities", DELETE)], ENTITIES_MSG, None),
    ("entities-empty", [("eventBody.entities", [])], ENTITIES_MSG, None),
    ("entities-101", [("eventBody.entities", lambda: [entity("Car") for _ in range(101)])], ENTITIES_MSG, None),
    ("entities-object", [("eventBody.entities", {"entityType": "Car"})], ENTITIES_MSG, "rest"),
    ("entity-string", [("eventBody.entities.0", "car")], "eventBody.entities[0] must be an object", "rest"),
    ("entity-type-missing", [("eventBody.entities.0.entityType", DELETE)], entity_type_msg(0), None),
    ("entity-type-empty", [("eventBody.entities.0.entityType", "")], entity_type_msg(0), None),
    ("entity-type-leading-digit", [("eventBody.entities.0.entityType", "1Car")], entity_type_msg(0), None),
    ("entity-type-hyphen", [("eventBody.entities.0.entityType", "Car-Type")], entity_type_msg(0), None),
    ("entity-type-space", [("eventBody.entities.0.entityType", "Car ")], entity_type_msg(0), None),
    ("entity-type-65", [("eventBody.entities.0.entityType", "A" * 65)], entity_type_msg(0), None),
    ("entity-type-non-ascii", [("eventBody.entities.0.entityType", "Cär")], entity_type_msg(0), None),
    ("entity-type-number", [("eventBody.entities.0.entityType", 7)], entity_type_msg(0), "rest"),
    ("entity-id-missing", [("eventBody.entities.0.entityId", DELETE)], entity_id_msg(0), None),
    ("entity-id-empty", [("eventBody.entities.0.entityId", "")], entity_id_msg(0), None),
    ("entity-id-256", [("eventBody.entities.0.entityId", "é" * 256)], entity_id_msg(0), None),
    ("entity-id-number", [("eventBody.entities.0.entityId", 123)], entity_id_msg(0), "rest"),
    ("attributes-missing", [("eventBody.entities.0.updatedAttributes", DELETE)], attributes_msg(0), "rest"),
    ("attributes-null", [("eventBody.entities.0.updatedAttributes", None)], attributes_msg(0), "rest"),
    ("attributes-array", [("eventBody.entities.0.updatedAttributes", [1, 2])], attributes_msg(0), "rest"),
    ("attributes-string", [("eventBody.entities.0.updatedAttributes", "{\"a\":1}")], attributes_msg(0), "rest"),
    ("second-entity-invalid", [("eventBody.entities", lambda: [entity("Car"), entity("Loan", "")])], entity_id_msg(1),
     None),
    ("first-broken-rule-wins", [("eventHeader.uuid", "bad"), ("eventBody.entities", [])], UUID_MSG, None),
    ("nul-in-entity-id", [("eventBody.entities.0.entityId", "car\x00x")], NUL_MSG, None),
    ("nul-in-attribute-value", [("eventBody.entities.0.updatedAttributes", {"a": "x\x00y"})], NUL_MSG, None),
    ("nul-in-attribute-key", [("eventBody.entities.0.updatedAttributes", {"a\x00": "x"})], NUL_MSG, None),
    ("nul-in-event-name", [("eventHeader.eventName", "Car\x00Created")], NUL_MSG, None),
    ("nul-nested", [("eventBody.entities.0.updatedAttributes", {"a": {"b": ["\x00"]}})], NUL_MSG, "rest"),
]


def _invalid_params():
    for case_id, changes, message, kinds in INVALID:
        marks = [pytest.mark.kinds(kinds)] if kinds else []
        yield pytest.param(changes, message, id=case_id, marks=marks)


@pytest.mark.parametrize("changes, message", list(_invalid_params()))
def test_invalid_event_rejected_with_message_and_nothing_written(client, db, changes, message):
    doc = event(entity("Car"))
    for path, value in changes:
        doc = mutate(doc, path, value() if callable(value) else value)
    outcome = client.send(doc)
    assert outcome.status == 400, f"expected 400/INVALID_ARGUMENT, got {outcome.raw_code}: {outcome.message}"
    assert outcome.message == message
    if client.kind == "rest":
        assert outcome.body == {"error": message, "status": 400}
    assert_nothing_written(db, doc)


@REST_ONLY
@pytest.mark.parametrize("raw, message", [
    pytest.param(b'{"eventHeader": {"uuid": ', "malformed JSON", id="truncated"),
    pytest.param(b"", "malformed JSON", id="empty-body"),
    pytest.param(b"{'single': 'quotes'}", "malformed JSON", id="single-quotes"),
    pytest.param(b'{"eventHeader": {}} trailing', "malformed JSON", id="trailing-garbage"),
    pytest.param(b'{"eventHeader": {"eventName": "\xff\xfe"}}', "malformed JSON", id="invalid-utf8"),
    pytest.param(b"[]", "request body must be a JSON object", id="array"),
    pytest.param(b'"event"', "request body must be a JSON object", id="string"),
    pytest.param(b"null", "request body must be a JSON object", id="null"),
    pytest.param(b"42", "request body must be a JSON object", id="number"),
])
def test_malformed_body_rejected(client, db, raw, message):
    # These bodies carry no usable uuid, so "nothing written" is checked on the table sizes (the suite
    # is the only writer while it runs).
    count = "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM entities) AS n"
    before = db.query(count)[0]["n"]
    response = client.post_raw("/api/v1/events", raw)
    assert_error_document(response, 400, message)
    assert response.headers["content-type"].startswith("application/json")
    assert db.query(count)[0]["n"] == before


@REST_ONLY
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None,
                                          "application/xml"])
def test_wrong_content_type_is_415(client, db, content_type):
    doc = event(entity("Car"))
    response = client.post_raw("/api/v1/events", json.dumps(doc).encode(), content_type=content_type)
    assert_error_document(response, 415, "unsupported content type: use application/json")
    assert_nothing_written(db, doc)


@REST_ONLY
def test_content_type_parameters_and_case_accepted(client, db):
    doc = event(entity("Car"))
    response = client.post_raw("/api/v1/events", json.dumps(doc).encode(),
                               content_type="Application/JSON; charset=utf-8")
    assert response.status_code == 200, response.text
    assert db.event(doc["eventHeader"]["uuid"]) is not None


@REST_ONLY
def test_oversize_body_is_413(client, db, max_body_bytes):
    item = entity("Car", blob="x" * max_body_bytes)
    doc = event(item)
    response = client.post_raw("/api/v1/events", json.dumps(doc).encode())
    assert_error_document(response, 413, f"request body exceeds {max_body_bytes} bytes")
    assert_nothing_written(db, doc)


@PROTO_ONLY
def test_oversize_message_is_resource_exhausted(client, db, max_body_bytes):
    item = entity("Car", blob="x" * max_body_bytes)
    doc = event(item)
    outcome = client.send(doc)
    assert outcome.raw_code == "RESOURCE_EXHAUSTED"
    assert_nothing_written(db, doc)


@REST_ONLY
@pytest.mark.parametrize("method, path, status, message", UNKNOWN_ROUTES)
def test_unknown_route_and_method(client, method, path, status, message):
    response = client.post_raw(path, b"{}", method=method)
    assert_error_document(response, status, message)


# ---------------------------------------------------------------------------------------------- gRPC only

@PROTO_ONLY
def test_attribute_values_are_json_when_valid_json_text(client, db):
    pb_request = None
    from tests.conformance.clients import event_to_proto
    doc = event(entity("Car"))
    pb_request = event_to_proto(doc)
    raw = {"int": "12", "bool": "true", "object": '{"a": 1, "b": [true, null]}', "word": "abc",
           "two": "1 2", "empty": "", "quoted": '"abc"', "padded": " 5 ", "nan": "NaN", "null": "null"}
    attributes = pb_request.event_body.entities[0].updated_attributes
    attributes.clear()
    attributes.update(raw)
    outcome = client.send_request(pb_request)
    assert outcome.status == 200, outcome.message
    stored = db.entity("Car", doc["eventBody"]["entities"][0]["entityId"])["data"]
    assert stored == {"int": 12, "bool": True, "object": {"a": 1, "b": [True, None]}, "word": "abc",
                      "two": "1 2", "empty": "", "quoted": "abc", "padded": 5, "nan": "NaN", "null": None}


@pytest.mark.kinds("grpc")
def test_grpc_health_services_serving(client):
    serving, detail = client.healthy()
    assert serving, detail
    legacy = client.legacy_health()
    assert legacy.healthy is True and legacy.message == "healthy"


@pytest.mark.kinds("grpc")
def test_grpc_health_serves_the_event_service_name(client):
    from tests.conformance import protos
    pb = protos.health_pb2()
    response = client.health_stub.Check(pb.HealthCheckRequest(service="com.example.grpc.EventService"),
                                        timeout=5)
    assert response.status == pb.HealthCheckResponse.SERVING


# ---------------------------------------------------------------------------------------------- bulk

@REST_ONLY
def test_bulk_mixed_items(client, db):
    good = [event(entity("Car")) for _ in range(3)]
    duplicate = good[0]
    bad = mutate(event(entity("Car")), "eventHeader.uuid", "nope")
    bad_entities = mutate(event(entity("Car")), "eventBody.entities", [])
    batch = [good[0], bad, good[1], duplicate, bad_entities, good[2]]
    response = client.bulk(batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "batch processed"
    assert (body["processedCount"], body["duplicateCount"], body["failedCount"]) == (3, 1, 2)
    assert body["errors"] == [{"index": 1, "error": UUID_MSG, "status": 400},
                              {"index": 4, "error": ENTITIES_MSG, "status": 400}]
    uuid.UUID(body["batchId"])
    assert isinstance(body["processingTimeMs"], int) and body["processingTimeMs"] >= 0
    for doc in good:
        assert db.event(doc["eventHeader"]["uuid"]) is not None
    assert_nothing_written(db, bad_entities)


@REST_ONLY
def test_bulk_all_valid_is_success(client, db):
    batch = [event(entity("Loan", balance=i)) for i in range(20)]
    response = client.bulk(batch)
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    assert (body["processedCount"], body["duplicateCount"], body["failedCount"]) == (20, 0, 0)
    assert body["errors"] == []
    assert db.query("SELECT count(*) AS n FROM events WHERE uuid = ANY(%s::uuid[])",
                    [d["eventHeader"]["uuid"] for d in batch])[0]["n"] == 20


@REST_ONLY
@pytest.mark.parametrize("payload", [{}, [], "x", None], ids=["object", "empty", "string", "null"])
def test_bulk_requires_non_empty_array(client, payload):
    response = client.bulk(payload)
    assert_error_document(response, 400, "request body must be a JSON array of 1 to 1000 events")


@REST_ONLY
def test_bulk_over_1000_items_rejected_whole(client, db):
    batch = [event(entity("Car", n=1)) for _ in range(1001)]
    body = json.dumps(batch).encode()
    if len(body) > 1048576:  # keep under the default body limit so the 400 is about the count
        pytest.fail("test batch unexpectedly above 1 MiB")
    response = client.post_raw("/api/v1/events/bulk", body)
    assert response.status_code == 400
    assert_nothing_written(db, batch[0])


# ---------------------------------------------------------------------------------------------- concurrency

def test_50_concurrent_events_on_one_entity_merge_all(client, db):
    entity_id = unique_id("hot")
    docs = [event(entity("Car", entity_id, **{f"k{i}": i})) for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(client.send, docs))
    failures = [(o.raw_code, o.message) for o in outcomes if o.status != 200]
    assert not failures, f"{len(failures)} of 50 failed: {failures[:3]}"
    assert db.entity("Car", entity_id)["data"] == {f"k{i}": i for i in range(50)}
    assert db.query("SELECT count(*) AS n FROM events WHERE uuid = ANY(%s::uuid[])",
                    [d["eventHeader"]["uuid"] for d in docs])[0]["n"] == 50


def test_concurrent_retries_of_one_event_store_it_once(client, db):
    doc = event(entity("Car", mileage=1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(client.send, [doc] * 20))
    assert all(o.status == 200 for o in outcomes), [o.message for o in outcomes if o.status != 200]
    assert sum(1 for o in outcomes if o.body["duplicate"] is False) == 1
    assert db.query("SELECT count(*) AS n FROM events WHERE uuid = %s::uuid",
                    doc["eventHeader"]["uuid"])[0]["n"] == 1


def test_crossing_entity_orders_do_not_deadlock(client, db):
    a, b = unique_id("car"), unique_id("car")
    docs = []
    for i in range(30):
        pair = [entity("Car", a, n=i), entity("Car", b, n=i)]
        docs.append(event(*(pair if i % 2 else pair[::-1])))
    with concurrent.futures.ThreadPoolExecutor(max_workers=15) as pool:
        outcomes = list(pool.map(client.send, docs))
    assert all(o.status == 200 for o in outcomes), [(o.raw_code, o.message) for o in outcomes if o.status != 200]


# ---------------------------------------------------------------------------------------------- same SQL work

def _stats_delta(before, after):
    delta = {}
    for query, (calls, rows) in after.items():
        old_calls, old_rows = before.get(query, (0, 0))
        if calls - old_calls:
            delta[query] = (calls - old_calls, rows - old_rows)
    return delta


def _assert_contract_statements(delta, event_rows, entity_calls):
    table_statements = {q: v for q, v in delta.items()
                        if "events" in q.lower() or "entities" in q.lower()}
    expected = {S1: (1, event_rows)}
    if entity_calls:
        expected[S2] = (entity_calls, entity_calls)
    assert table_statements == expected, f"statements on the contract's tables: {table_statements}"


def test_one_event_runs_exactly_the_contract_statements(client, db):
    doc = event(entity("Car", colour="red"), entity("Loan", balance=1), entity("Service", cost=3))
    client.send(event(entity("Car")))  # warm any per-connection statement preparation
    time.sleep(0.2)
    before = db.statement_stats()
    assert_processed(client.send(doc), doc)
    time.sleep(0.2)
    delta = _stats_delta(before, db.statement_stats())
    _assert_contract_statements(delta, event_rows=1, entity_calls=3)
    begins = sum(calls for q, (calls, _) in delta.items()
                 if q.strip().lower().startswith(("begin", "start transaction")))
    commits = sum(calls for q, (calls, _) in delta.items() if q.strip().lower().startswith(("commit", "end")))
    assert (begins, commits) == (1, 1), f"one transaction per event expected, statements: {delta}"


def test_duplicate_runs_only_the_event_insert(client, db):
    doc = event(entity("Car"), entity("Loan"))
    assert_processed(client.send(doc), doc)
    time.sleep(0.2)
    before = db.statement_stats()
    assert_processed(client.send(doc), doc, duplicate=True)
    time.sleep(0.2)
    _assert_contract_statements(_stats_delta(before, db.statement_stats()), event_rows=0, entity_calls=0)


# ---------------------------------------------------------------------------------------------- outage

def _wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.outage
def test_database_outage_is_503_and_recovers(client, db, db_control):
    assert client.healthy()[0], "target not healthy before the outage"
    db_control.stop()
    try:
        assert _wait_until(lambda: not client.healthy()[0], 15), "health still positive with the database down"
        doc = event(entity("Car"))
        outcome = client.send(doc)
        assert outcome.status == 503, f"expected 503/UNAVAILABLE, got {outcome.raw_code}: {outcome.message}"
        assert outcome.message == "database unavailable"
        if client.kind == "rest":
            assert outcome.body == {"error": "database unavailable", "status": 503}
            response = client.http.get("/api/v1/events/health")
            assert_error_document(response, 503, "database unavailable")
        if client.kind == "grpc":
            legacy = client.legacy_health()
            assert legacy.healthy is False and legacy.message == "database unavailable"
    finally:
        db_control.start()
    assert _wait_until(lambda: client.healthy()[0], 60), "did not become healthy after the database returned"
    doc = event(entity("Car"))
    assert _wait_until(lambda: client.send(doc).status == 200, 30), "events still failing after recovery"
    assert db.event(doc["eventHeader"]["uuid"]) is not None


# ---------------------------------------------------------------------------------------------- limits

def nested(levels: int) -> int | dict[str, Any]:
    """A JSON value `levels` deep: {"a": {"a": ... {"a": 1}}}."""
    value: int | dict[str, Any] = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def test_nesting_up_to_64_levels_accepted(client, db):
    item = entity("Car", deep=nested(59))  # the attribute objects are level 5: 5 + 59 = 64
    doc = event(item)
    assert_processed(client.send(doc), doc)
    assert exact(db.entity("Car", item["entityId"])["data"]) == exact({"deep": nested(59)})


def test_nesting_beyond_64_levels_rejected(client, db):
    item = entity("Car", deep=nested(60))
    doc = event(item)
    outcome = client.send(doc)
    assert outcome.status == 400, f"expected 400/INVALID_ARGUMENT, got {outcome.raw_code}: {outcome.message}"
    expected = "request body nests deeper than 64 levels" if client.kind == "rest" else \
        "event nests deeper than 64 levels"
    assert outcome.message == expected
    assert_nothing_written(db, doc)


@REST_ONLY
def test_pathologically_deep_body_is_a_clean_400(client, max_body_bytes):
    depth = min(200_000, max_body_bytes // 2 - 10)
    response = client.post_raw("/api/v1/events", b"[" * depth + b"]" * depth)
    assert_error_document(response, 400, "request body nests deeper than 64 levels")
    assert client.healthy()[0], "the server did not survive a deeply nested body"


UNSTORABLE_MSG = "event contains a value the database cannot store"
# Valid JSON numbers (at most 100 characters) beyond PostgreSQL's numeric, which refuses each with "value
# overflows numeric format" (SQLSTATE 22003): exponents that fit in 32 bits and ones that do not. The contract
# limits a number's text to 100 characters, nothing else; its value is the database's to refuse.
NUMBERS_POSTGRES_REFUSES = ["1e131072", "1e2147483647", "1e2147483648", "0.1e-99999999999", "-1e99999999999",
                            "-9.99E-2147483649"]


@REST_ONLY
@pytest.mark.parametrize("number", NUMBERS_POSTGRES_REFUSES)
def test_number_beyond_postgres_numeric_is_400(client, db, number):
    doc = event(entity("Loan", balance=1))
    body = json.dumps(doc).replace('"balance": 1', f'"balance": {number}').encode()
    response = client.post_raw("/api/v1/events", body)
    assert_error_document(response, 400, UNSTORABLE_MSG)
    assert_nothing_written(db, doc)


@REST_ONLY
@pytest.mark.parametrize("number", NUMBERS_POSTGRES_REFUSES)
def test_number_beyond_postgres_numeric_fails_only_its_bulk_item(client, db, number):
    refused, stored = event(entity("Loan", balance=1)), event(entity("Loan", amount=1))
    body = json.dumps([refused, stored]).replace('"balance": 1', f'"balance": {number}').encode()
    response = client.post_raw("/api/v1/events/bulk", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["success"], answer["processedCount"], answer["duplicateCount"], answer["failedCount"]) \
        == (False, 1, 0, 1), answer
    assert answer["errors"] == [{"index": 0, "error": UNSTORABLE_MSG, "status": 400}]
    assert_nothing_written(db, refused)
    assert db.event(stored["eventHeader"]["uuid"]) is not None


@PROTO_ONLY
@pytest.mark.parametrize("number", NUMBERS_POSTGRES_REFUSES)
def test_attribute_number_beyond_postgres_numeric_is_invalid_argument(client, db, number):
    from tests.conformance.clients import event_to_proto
    doc = event(entity("Loan"))
    request = event_to_proto(doc)
    request.event_body.entities[0].updated_attributes["balance"] = number
    outcome = client.send_request(request)
    assert outcome.raw_code == "INVALID_ARGUMENT", f"{outcome.raw_code}: {outcome.message}"
    assert outcome.message == UNSTORABLE_MSG
    assert_nothing_written(db, doc)
