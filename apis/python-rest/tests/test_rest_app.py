"""The REST surface over a fake store: routes, status codes and JSON documents of the contract."""
from __future__ import annotations

import json
import uuid
import warnings

import asyncpg
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette prefers httpx2 to httpx (the lab's .venv has httpx)
    from starlette.testclient import TestClient

from event_common.store import DatabaseUnavailable, Unstorable
from python_rest.app import create_app

MAX_BODY_BYTES = 4096


class FakeStore:
    def __init__(self):
        self.saved: list = []
        self.fail_with: Exception | None = None
        self.fail_on_uuid: str | None = None
        self.healthy = True
        self.closed = False

    async def save_event(self, event) -> bool:
        if self.fail_with is not None and self.fail_on_uuid in (None, event.uuid):
            raise self.fail_with
        duplicate = any(saved.normalized_uuid == event.normalized_uuid for saved in self.saved)
        if not duplicate:
            self.saved.append(event)
        return duplicate

    async def ping(self) -> None:
        if not self.healthy:
            raise DatabaseUnavailable("database unavailable")


@pytest.fixture
def store():
    return FakeStore()


@pytest.fixture
def client(store):
    async def open_store():
        return store

    async def close_store(opened):
        opened.closed = True

    with TestClient(create_app(open_store, close_store, MAX_BODY_BYTES), raise_server_exceptions=False) as test_client:
        yield test_client
    assert store.closed, "the store is closed at shutdown"


def event(event_uuid=None, entity_id="car-1", **attributes):
    return {"eventHeader": {"uuid": event_uuid or str(uuid.uuid4()), "eventName": "CarCreated", "eventType": "CarCreated"},
            "eventBody": {"entities": [{"entityType": "Car", "entityId": entity_id,
                                        "updatedAttributes": attributes or {"model": "Civic"}}]}}


def post(client, path, value, content_type="application/json"):
    headers = {"content-type": content_type} if content_type else {}
    return client.post(path, content=json.dumps(value).encode(), headers=headers)


def assert_error(response, status, message):
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": message, "status": status}


def test_event_processed_then_duplicate(client, store):
    doc = event(str(uuid.uuid4()).upper())
    response = post(client, "/api/v1/events", doc)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json() == {"success": True, "message": "event processed",
                               "eventUuid": doc["eventHeader"]["uuid"].lower(), "entityCount": 1, "duplicate": False}
    again = post(client, "/api/v1/events", doc).json()
    assert (again["message"], again["duplicate"]) == ("duplicate event ignored", True)
    assert len(store.saved) == 1


def test_validation_error_is_400_with_the_rules_message(client, store):
    doc = event()
    doc["eventHeader"]["uuid"] = "nope"
    assert_error(post(client, "/api/v1/events", doc), 400, "eventHeader.uuid must be a UUID")
    assert_error(client.post("/api/v1/events", content=b"{", headers={"content-type": "application/json"}),
                 400, "malformed JSON")
    assert not store.saved


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/jsonx", "application/xml"])
def test_wrong_content_type_is_415(client, content_type):
    assert_error(post(client, "/api/v1/events", event(), content_type), 415,
                 "unsupported content type: use application/json")


def test_content_type_parameters_and_case_accepted(client):
    assert post(client, "/api/v1/events", event(), "Application/JSON; charset=utf-8").status_code == 200


def test_body_over_the_limit_is_413_declared_or_streamed(client, store):
    big = event(blob="x" * MAX_BODY_BYTES)
    assert_error(post(client, "/api/v1/events", big), 413, f"request body exceeds {MAX_BODY_BYTES} bytes")
    chunks = iter([b'{"a": "', b"x" * MAX_BODY_BYTES, b'"}'])  # chunked: no Content-Length
    response = client.post("/api/v1/events", content=chunks, headers={"content-type": "application/json"})
    assert_error(response, 413, f"request body exceeds {MAX_BODY_BYTES} bytes")
    assert not store.saved


def test_unstorable_value_is_400_unavailable_503_anything_else_500(client, store):
    store.fail_with = Unstorable("event contains a value the database cannot store")
    assert_error(post(client, "/api/v1/events", event()), 400, "event contains a value the database cannot store")
    store.fail_with = DatabaseUnavailable("database unavailable")
    assert_error(post(client, "/api/v1/events", event()), 503, "database unavailable")
    store.fail_with = asyncpg.exceptions.UniqueViolationError("secret internals")
    response = post(client, "/api/v1/events", event())
    assert_error(response, 500, "internal error")
    assert "secret" not in response.text


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/api/v1/nothing-here", 404, "not found"),
    ("POST", "/api/v1/event", 404, "not found"),
    ("GET", "/", 404, "not found"),
    ("POST", "/api/v1/events/", 404, "not found"),  # no redirect to the path without the slash
    ("GET", "/api/v1/events", 405, "method not allowed"),
    ("DELETE", "/api/v1/events", 405, "method not allowed"),
    ("GET", "/api/v1/events/bulk", 405, "method not allowed"),
    ("POST", "/api/v1/events/health", 405, "method not allowed"),
])
def test_unknown_route_and_method(client, method, path, status, message):
    response = client.request(method, path, content=b"{}", headers={"content-type": "application/json"},
                              follow_redirects=False)
    assert_error(response, status, message)


def test_health(client, store):
    response = client.get("/api/v1/events/health")
    assert response.status_code == 200 and response.json() == {"status": "healthy"}
    store.healthy = False
    assert_error(client.get("/api/v1/events/health"), 503, "database unavailable")


def test_bulk_mixed_items(client, store):
    good = [event() for _ in range(3)]
    bad = event()
    bad["eventBody"]["entities"] = []
    unstorable = event()
    store.fail_with = Unstorable("x")
    store.fail_on_uuid = unstorable["eventHeader"]["uuid"]
    response = post(client, "/api/v1/events/bulk", [good[0], bad, good[1], good[0], unstorable, good[2]])
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body.pop("processingTimeMs"), int)
    uuid.UUID(body.pop("batchId"))
    assert body == {"success": False, "message": "batch processed", "processedCount": 3, "duplicateCount": 1,
                    "failedCount": 2, "errors": [
                        {"index": 1, "error": "eventBody.entities must be an array of 1 to 100 entities", "status": 400},
                        {"index": 4, "error": "event contains a value the database cannot store", "status": 400}]}


def test_bulk_all_valid_and_whole_batch_failures(client, store):
    body = post(client, "/api/v1/events/bulk", [event() for _ in range(5)]).json()
    assert (body["success"], body["processedCount"], body["errors"]) == (True, 5, [])
    for payload in ({}, [], "x", None):
        assert_error(post(client, "/api/v1/events/bulk", payload), 400,
                     "request body must be a JSON array of 1 to 1000 events")
    store.fail_with = DatabaseUnavailable("database unavailable")
    assert_error(post(client, "/api/v1/events/bulk", [event()]), 503, "database unavailable")
    assert_error(post(client, "/api/v1/events/bulk", [event()], "text/plain"), 415,
                 "unsupported content type: use application/json")
