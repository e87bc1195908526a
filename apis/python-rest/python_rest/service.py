"""The REST surface of the contract without an HTTP framework: a request body in, a status and a JSON
document out (as the Go APIs' internal/httpapi). The Starlette routes in `app` only move bytes."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Protocol

import orjson

from event_common.auth import Authenticator, Unauthenticated
from event_common.event import MSG_UNSTORABLE, ValidationError, event_from_json, parse_bulk, parse_event
from event_common.store import DatabaseUnavailable, Unstorable

EVENTS_PATH = "/api/v1/events"
BULK_PATH = "/api/v1/events/bulk"
HEALTH_PATH = "/api/v1/events/health"

MSG_UNSUPPORTED_CONTENT_TYPE = "unsupported content type: use application/json"
MSG_NOT_FOUND = "not found"
MSG_METHOD_NOT_ALLOWED = "method not allowed"
MSG_UNAVAILABLE = "database unavailable"
MSG_INTERNAL = "internal error"

HEALTHY = orjson.dumps({"status": "healthy"})
# Every 401 says which scheme it wants (RFC 6750).
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}

log = logging.getLogger("perflab.api")


class EventStore(Protocol):
    async def save_event(self, event) -> bool: ...

    async def ping(self) -> None: ...


def error(status: int, message: str) -> tuple[int, bytes]:
    """Every error answer: {"error": "<message>", "status": <code>}."""
    return status, orjson.dumps({"error": message, "status": status})


def is_json_content_type(content_type: str | None) -> bool:
    """application/json with any parameters (charset...), case-insensitively."""
    if not content_type:
        return False
    media_type, _, _ = content_type.partition(";")
    return media_type.strip().lower() == "application/json"


class Service:
    """Answers the REST contract over a store, with the MAX_BODY_BYTES limit and, when `authenticator` is
    given (AUTH_ENABLED), a JWT on every event request."""

    def __init__(self, store: EventStore, max_body_bytes: int, authenticator: Authenticator | None = None):
        self.store = store
        self.max_body_bytes = max_body_bytes
        self.authenticator = authenticator
        self.unsupported_content_type = error(415, MSG_UNSUPPORTED_CONTENT_TYPE)
        self.too_large = error(413, f"request body exceeds {max_body_bytes} bytes")
        self.unavailable = error(503, MSG_UNAVAILABLE)

    def check_post(self, authorization: str | None, content_type: str | None,
                   content_length: str | None) -> tuple[int, bytes] | None:
        """The rules that come before the body is read, in the contract's order: the token (401, auth on),
        content type (415), then size (413) when the length is declared. None when the body may be read
        (at most MAX_BODY_BYTES). A 401 goes out with UNAUTHORIZED_HEADERS."""
        if self.authenticator is not None:
            try:
                self.authenticator.check(authorization)
            except Unauthenticated as refused:
                return error(401, refused.message)
        if not is_json_content_type(content_type):
            return self.unsupported_content_type
        if content_length is not None and content_length.isdigit() and int(content_length) > self.max_body_bytes:
            return self.too_large
        return None

    async def post_event(self, body: bytes) -> tuple[int, bytes]:
        try:
            event = parse_event(body)
            duplicate = await self.store.save_event(event)
        except Exception as exc:
            return self.failure(exc)
        return 200, orjson.dumps({
            "success": True, "message": "duplicate event ignored" if duplicate else "event processed",
            "eventUuid": event.normalized_uuid, "entityCount": len(event.entities), "duplicate": duplicate})

    async def post_bulk(self, body: bytes) -> tuple[int, bytes]:
        """Each item is validated and written on its own; the first database failure ends the batch (items
        already committed stay)."""
        started = time.monotonic()
        try:
            items, may_contain_nul = parse_bulk(body)
        except Exception as exc:
            return self.failure(exc)
        processed = duplicates = 0
        errors = []
        for index, item in enumerate(items):
            try:
                event = event_from_json(item, may_contain_nul)
            except ValidationError as invalid:
                errors.append({"index": index, "error": invalid.message, "status": 400})
                continue
            except Exception as exc:
                return self.failure(exc)
            try:
                duplicate = await self.store.save_event(event)
            except Unstorable:
                # Rejected by the database as data, rolled back: this item failed like an invalid one.
                errors.append({"index": index, "error": MSG_UNSTORABLE, "status": 400})
                continue
            except Exception as exc:
                return self.failure(exc)
            if duplicate:
                duplicates += 1
            else:
                processed += 1
        return 200, orjson.dumps({
            "success": not errors, "message": "batch processed", "batchId": str(uuid.uuid4()),
            "processedCount": processed, "duplicateCount": duplicates, "failedCount": len(errors),
            "errors": errors, "processingTimeMs": int((time.monotonic() - started) * 1000)})

    async def health(self) -> tuple[int, bytes]:
        try:
            await self.store.ping()
        except Exception as exc:
            log.debug("health check failed: %r", exc.__cause__ or exc)
            return self.unavailable
        return 200, HEALTHY

    def failure(self, exc: Exception) -> tuple[int, bytes]:
        """Validation and a value the database cannot store: 400; database unavailable: 503; anything else
        500 without details (those go to the log)."""
        if isinstance(exc, ValidationError):
            return error(400, exc.message)
        if isinstance(exc, Unstorable):
            log.debug("value rejected by the database: %r", exc.__cause__)
            return error(400, MSG_UNSTORABLE)
        if isinstance(exc, DatabaseUnavailable):
            log.debug("database unavailable: %r", exc.__cause__)
            return self.unavailable
        log.error("request failed", exc_info=exc)
        return error(500, MSG_INTERNAL)
