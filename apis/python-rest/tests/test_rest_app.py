"""The REST surface over a fake store: routes, status codes and JSON documents of the contract."""
from __future__ import annotations

import asyncio
import json
import uuid
import warnings

import asyncpg
import pytest
from api_testing import KEY, FakeStore, GatedStore, token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette prefers httpx2 to httpx (the lab's .venv has httpx)
    from starlette.testclient import TestClient

from event_common.auth import Authenticator
from event_common.store import DatabaseUnavailable, Unstorable
from python_rest.app import create_app

MAX_BODY_BYTES = 4096


@pytest.fixture
def store():
    return FakeStore()


def app_over(store, authenticator=None):
    async def open_store():
        return store

    async def close_store(opened):
        opened.closed = True

    return create_app(open_store, close_store, MAX_BODY_BYTES, authenticator)


@pytest.fixture
def client(store):
    with TestClient(app_over(store), raise_server_exceptions=False) as test_client:
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


# ------------------------------------------------------------------------------------------ auth

@pytest.fixture
def auth_client(store):
    with TestClient(app_over(store, Authenticator(lambda: KEY)), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_401(response, message):
    assert_error(response, 401, message)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/bulk"])
def test_auth_on_every_event_request_needs_a_valid_token(auth_client, store, path):
    value = event() if path.endswith("events") else [event()]
    assert_401(post(auth_client, path, value), "missing bearer token")
    for authorization in ("Basic abc", "Bearer ", "bearer"):
        response = auth_client.post(path, content=json.dumps(value), headers={
            "content-type": "application/json", "authorization": authorization})
        assert_401(response, "missing bearer token")
    for bad in ("x.y.z", token(exp_in=-60), token(key=KEY + "!")):
        response = auth_client.post(path, content=json.dumps(value), headers={
            "content-type": "application/json", "authorization": f"Bearer {bad}"})
        assert_401(response, "invalid token")
    assert not store.saved
    response = auth_client.post(path, content=json.dumps(value), headers={
        "content-type": "application/json", "authorization": f"BEARER {token()}"})
    assert response.status_code == 200 and len(store.saved) == 1


def test_auth_comes_before_content_type_and_size_and_health_stays_open(auth_client, store):
    headers = {"content-type": "text/plain", "authorization": "Bearer nope"}
    assert_401(auth_client.post("/api/v1/events", content=b"{", headers=headers), "invalid token")
    assert_401(auth_client.post("/api/v1/events", content=b"x" * (MAX_BODY_BYTES * 2),
                                headers={"content-type": "application/json"}), "missing bearer token")
    headers = {"content-type": "text/plain", "authorization": f"Bearer {token()}"}
    assert_error(auth_client.post("/api/v1/events", content=b"{", headers=headers), 415,
                 "unsupported content type: use application/json")
    assert auth_client.get("/api/v1/events/health").status_code == 200
    assert_error(auth_client.get("/api/v1/events"), 405, "method not allowed")  # routing first, as without auth
    assert_error(auth_client.post("/api/v1/nothing"), 404, "not found")


def run_asgi(app, scenario):
    """Runs `scenario()` inside the app's lifespan, without an HTTP server: the test drives the ASGI calls
    (and may cancel them as a server does)."""
    async def main():
        messages: asyncio.Queue = asyncio.Queue()
        started = asyncio.Event()
        await messages.put({"type": "lifespan.startup"})

        async def send(message):
            if message["type"] == "lifespan.startup.complete":
                started.set()

        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, send))
        await started.wait()
        try:
            await scenario()
        finally:
            await messages.put({"type": "lifespan.shutdown"})
            await asyncio.wait_for(lifespan, 10)
    asyncio.run(main())


def http_scope(path, headers):
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80)}


def test_a_refused_token_reads_nothing_of_the_body(store):
    reads = []

    async def receive():
        reads.append(1)
        return {"type": "http.request", "body": json.dumps(event()).encode(), "more_body": False}

    async def scenario():
        answers = []

        async def send(message):
            answers.append(message)
        scope = http_scope("/api/v1/events", {"content-type": "application/json", "authorization": "Bearer x.y.z"})
        await app({**scope}, receive, send)
        assert answers[0]["status"] == 401 and (b"www-authenticate", b"Bearer") in answers[0]["headers"]
        assert not reads

    app = app_over(store, Authenticator(lambda: KEY))
    run_asgi(app, scenario)
    assert not store.saved


# ------------------------------------------------------------------------------- run to completion


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/bulk"])
def test_a_client_that_goes_away_does_not_interrupt_the_write(path):
    store = GatedStore()
    value = event() if path.endswith("events") else [event(), event()]

    async def receive():
        return {"type": "http.request", "body": json.dumps(value).encode(), "more_body": False}

    async def send(_message):
        pass

    async def scenario():
        request = asyncio.create_task(app(http_scope(path, {"content-type": "application/json"}), receive, send))
        await asyncio.wait_for(store.writing.wait(), 5)
        request.cancel()  # what a server does when its client is gone (uvicorn: at the end of its grace)
        with pytest.raises(asyncio.CancelledError):
            await request
        await asyncio.sleep(0.05)
        assert not store.saved and not store.closed
        # Shutdown (the lifespan's end) waits for the write before the store closes.
        asyncio.get_running_loop().call_later(0.2, store.gate.set)

    app = app_over(store)
    run_asgi(app, scenario)
    assert len(store.saved) == (len(value) if isinstance(value, list) else 1)
    assert store.closed
