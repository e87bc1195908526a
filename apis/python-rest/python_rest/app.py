"""The REST contract on Starlette: three routes, JSON 404/405/500, the token (401, auth on), content type
(415) and body limit (413) before anything is read or parsed. Once the body is in, the work runs to the
end even if the client goes away (event_common.completion). No middleware beyond Starlette's own error
handling; nothing is logged per request."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from event_common.auth import Authenticator
from event_common.completion import RunToCompletion
from python_rest.service import (
    BULK_PATH,
    EVENTS_PATH,
    HEALTH_PATH,
    MSG_INTERNAL,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    UNAUTHORIZED_HEADERS,
    EventStore,
    Service,
    error,
)

log = logging.getLogger("perflab.api")
JSON = "application/json"


def _respond(answer: tuple[int, bytes]) -> Response:
    status, body = answer
    return Response(body, status, headers=UNAUTHORIZED_HEADERS if status == 401 else None, media_type=JSON)


StoreT = TypeVar("StoreT", bound=EventStore)


def create_app(open_store: Callable[[], Awaitable[StoreT]], close_store: Callable[[StoreT], Awaitable[None]],
               max_body_bytes: int, authenticator: Authenticator | None = None) -> Starlette:
    """The ASGI application. The store is opened at start-up (lifespan) and closed at shutdown, after
    the server has finished the requests in flight and the work of requests whose clients went away has
    ended. `authenticator`: AUTH_ENABLED's token check, None when off."""
    service: Service | None = None
    work = RunToCompletion()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal service
        store = await open_store()
        service = Service(store, max_body_bytes, authenticator)
        try:
            yield
        finally:
            await work.drain()
            await close_store(store)

    def running() -> Service:
        if service is None:  # Starlette runs the lifespan before it serves a request
            raise RuntimeError("request before start-up")
        return service

    async def read_body(request: Request) -> bytes | Response:
        """The body, at most MAX_BODY_BYTES; or the 401/415/413 answer, the body left unread."""
        service = running()
        headers = request.headers
        refused = service.check_post(headers.get("authorization"), headers.get("content-type"),
                                     headers.get("content-length"))
        if refused is not None:
            return _respond(refused)
        chunks = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > service.max_body_bytes:
                    return _respond(service.too_large)
                chunks.append(chunk)
        except ClientDisconnect:
            # The body did not arrive in full: nothing is written, and nobody is left to answer.
            return Response(status_code=400)
        return b"".join(chunks)

    async def post_event(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        return _respond(await work.run(running().post_event(body)))

    async def post_bulk(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        return _respond(await work.run(running().post_bulk(body)))

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
