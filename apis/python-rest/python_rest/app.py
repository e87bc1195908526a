"""The REST contract on Starlette: three routes, JSON 404/405/500, content type (415) and body limit (413)
before anything is parsed. No middleware beyond Starlette's own error handling; nothing is logged per
request."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from python_rest.service import (
    BULK_PATH,
    EVENTS_PATH,
    HEALTH_PATH,
    MSG_INTERNAL,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    EventStore,
    Service,
    error,
)

log = logging.getLogger("perflab.api")
JSON = "application/json"


def _respond(answer: tuple[int, bytes]) -> Response:
    status, body = answer
    return Response(body, status, media_type=JSON)


StoreT = TypeVar("StoreT", bound=EventStore)


def create_app(open_store: Callable[[], Awaitable[StoreT]], close_store: Callable[[StoreT], Awaitable[None]],
               max_body_bytes: int) -> Starlette:
    """The ASGI application. The store is opened at start-up (lifespan) and closed at shutdown, after
    the server has finished the requests in flight."""
    service: Service | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal service
        store = await open_store()
        service = Service(store, max_body_bytes)
        try:
            yield
        finally:
            await close_store(store)

    def running() -> Service:
        if service is None:  # Starlette runs the lifespan before it serves a request
            raise RuntimeError("request before start-up")
        return service

    async def read_body(request: Request) -> bytes | Response:
        """The body, at most MAX_BODY_BYTES; or the 415/413 answer."""
        service = running()
        refused = service.check_post(request.headers.get("content-type"), request.headers.get("content-length"))
        if refused is not None:
            return _respond(refused)
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > service.max_body_bytes:
                return _respond(service.too_large)
            chunks.append(chunk)
        return b"".join(chunks)

    async def post_event(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        return _respond(await running().post_event(body))

    async def post_bulk(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        return _respond(await running().post_bulk(body))

    async def health(_request: Request) -> Response:
        return _respond(await running().health())

    async def http_error(_request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            return _respond(error(405, MSG_METHOD_NOT_ALLOWED))
        return _respond(error(404, MSG_NOT_FOUND))

    async def internal_error(_request: Request, exc: Exception) -> Response:
        log.error("request failed", exc_info=exc)
        return _respond(error(500, MSG_INTERNAL))

    app = Starlette(
        routes=[
            Route(EVENTS_PATH, post_event, methods=["POST"]),
            Route(BULK_PATH, post_bulk, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
        ],
        exception_handlers={404: http_error, 405: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    # An unknown path is a 404, not a redirect to a path the client did not ask for.
    app.router.redirect_slashes = False
    return app
