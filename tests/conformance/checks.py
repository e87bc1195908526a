"""Assertions shared by the suite's test modules: what an answer and the database must show."""
from __future__ import annotations

import re

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Requests the REST API routes nowhere: (method, path, status, message).
UNKNOWN_ROUTES = [
    ("GET", "/api/v1/nothing-here", 404, "not found"),
    ("POST", "/api/v1/event", 404, "not found"),
    ("GET", "/", 404, "not found"),
    ("GET", "/api/v1/events", 405, "method not allowed"),
    ("DELETE", "/api/v1/events", 405, "method not allowed"),
    ("POST", "/api/v1/events/health", 405, "method not allowed"),
]


def assert_error_document(response, status: int, message: str) -> None:
    """A REST answer with `status` and the contract's error document {"error": message, "status": status}."""
    assert response.status_code == status, response.text
    assert response.json() == {"error": message, "status": status}


def assert_processed(outcome, doc, duplicate=False):
    assert outcome.status == 200, f"expected success, got {outcome.raw_code}: {outcome.message} {outcome.body}"
    body = outcome.body
    assert body["success"] is True
    assert body["message"] == ("duplicate event ignored" if duplicate else "event processed")
    assert body["eventUuid"] == doc["eventHeader"]["uuid"].lower()
    assert body["entityCount"] == len(doc["eventBody"]["entities"])
    assert body["duplicate"] is duplicate


def assert_nothing_written(db, doc):
    header = doc.get("eventHeader") if isinstance(doc, dict) else None
    if isinstance(header, dict) and isinstance(header.get("uuid"), str) and UUID_PATTERN.match(header["uuid"]):
        assert db.event(header["uuid"]) is None, "a rejected event was stored"
    body = doc.get("eventBody") if isinstance(doc, dict) else None
    for item in (body or {}).get("entities", []) if isinstance(body, dict) and isinstance(
            body.get("entities"), list) else []:
        if isinstance(item, dict) and isinstance(item.get("entityType"), str) and isinstance(
                item.get("entityId"), str) and "\x00" not in item["entityId"] + item["entityType"]:
            assert db.entity(item["entityType"], item["entityId"]) is None, "a rejected event wrote an entity"
