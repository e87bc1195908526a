"""The gRPC surface of the contract on grpc.aio: com.example.grpc.EventService and the standard
grpc.health.v1.Health service, both answered from the shared validation and repository (event_common),
and the interceptor that asks ProcessEvent calls for a token when AUTH_ENABLED is on. The generated modules
(event_service_pb2, event_service_pb2_grpc) come from proto/event_service.proto at build time (build.sh)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import event_service_pb2 as pb
import event_service_pb2_grpc as pb_grpc
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from event_common.auth import Authenticator, Unauthenticated
from event_common.completion import RunToCompletion
from event_common.event import MSG_UNSTORABLE, ValidationError, event_from_proto
from event_common.store import DatabaseUnavailable, Unstorable

SERVICE_NAME = "com.example.grpc.EventService"
# The calls that need a token with auth on; health (legacy HealthCheck, grpc.health.v1) stays open.
PROTECTED_METHODS = frozenset({f"/{SERVICE_NAME}/ProcessEvent"})
MSG_UNAVAILABLE = "database unavailable"
MSG_INTERNAL = "internal error"
MSG_PROCESSED = "event processed"
MSG_DUPLICATE = "duplicate event ignored"
MSG_HEALTHY = "healthy"

# How often a Watch stream asks the database (as rust-grpc).
WATCH_INTERVAL = 1.0

log = logging.getLogger("perflab.api")


class EventStore(Protocol):
    async def save_event(self, event) -> bool: ...

    async def ping(self) -> None: ...


class EventService(pb_grpc.EventServiceServicer):
    """ProcessEvent never answers OK with success=false: a failure is a status (INVALID_ARGUMENT,
    UNAVAILABLE or INTERNAL); a value the database cannot store is INVALID_ARGUMENT."""

    def __init__(self, store: EventStore, work: RunToCompletion | None = None):
        self.store = store
        self.work = work or RunToCompletion()

    async def ProcessEvent(self, request: pb.EventRequest, context: grpc.aio.ServicerContext) -> pb.EventResponse:
        try:
            event = event_from_proto(request)
            # The write is detached from the call: a client that gives up or a deadline that expires
            # (cancelling this handler) does not abort the transaction; it commits or rolls back on its own.
            duplicate = await self.work.run(self.store.save_event(event))
        except Exception as exc:
            code, message = self.status(exc)
            await context.abort(code, message)
        return pb.EventResponse(success=True, message=MSG_DUPLICATE if duplicate else MSG_PROCESSED,
                                event_uuid=event.normalized_uuid, entity_count=len(event.entities),
                                duplicate=duplicate)

    async def HealthCheck(self, request: pb.HealthRequest, context: grpc.aio.ServicerContext) -> pb.HealthResponse:
        """The legacy health call of the original lab."""
        try:
            await self.store.ping()
        except Exception as exc:
            log.debug("health check failed: %r", exc.__cause__ or exc)
            return pb.HealthResponse(healthy=False, message=MSG_UNAVAILABLE)
        return pb.HealthResponse(healthy=True, message=MSG_HEALTHY)

    @staticmethod
    def status(exc: Exception) -> tuple[grpc.StatusCode, str]:
        """The status of a failure; internals go to the log, never to the client."""
        if isinstance(exc, ValidationError):
            return grpc.StatusCode.INVALID_ARGUMENT, exc.message
        if isinstance(exc, Unstorable):
            log.debug("value rejected by the database: %r", exc.__cause__)
            return grpc.StatusCode.INVALID_ARGUMENT, MSG_UNSTORABLE
        if isinstance(exc, DatabaseUnavailable):
            log.debug("database unavailable: %r", exc.__cause__)
            return grpc.StatusCode.UNAVAILABLE, MSG_UNAVAILABLE
        log.error("request failed", exc_info=exc)
        return grpc.StatusCode.INTERNAL, MSG_INTERNAL


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """AUTH_ENABLED on gRPC: a PROTECTED_METHODS call without a valid token in the metadata `authorization`
    (`Bearer <token>`, as the REST header) is answered UNAUTHENTICATED with the REST message, before its
    message is decoded; every other call passes."""

    def __init__(self, authenticator: Authenticator):
        self.authenticator = authenticator

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
            handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        if handler_call_details.method in PROTECTED_METHODS:
            authorization = next((value for key, value in handler_call_details.invocation_metadata or ()
                                  if key == "authorization"), None)
            try:
                self.authenticator.check(authorization if isinstance(authorization, str) else None)
            except Unauthenticated as refused:
                return _refusal(refused.message)
        return await continuation(handler_call_details)


def _refusal(message: str) -> grpc.RpcMethodHandler:
    """A handler that answers UNAUTHENTICATED; the request stays undecoded bytes (no deserializer)."""
    async def refuse(_request: bytes, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(refuse)


class HealthService(health_pb2_grpc.HealthServicer):
    """grpc.health.v1.Health asking the database on every Check (within the store's 2 s), so it reports
    NOT_SERVING while the database does not answer. Known names: "" (the server) and EventService."""

    def __init__(self, store: EventStore, stopping: asyncio.Event):
        self.store = store
        self.stopping = stopping  # set at shutdown: Watch streams end instead of holding the drain up

    async def _status(self) -> Any:
        try:
            await self.store.ping()
        except Exception:
            return health_pb2.HealthCheckResponse.NOT_SERVING
        return health_pb2.HealthCheckResponse.SERVING

    async def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext):
        if request.service not in ("", SERVICE_NAME):
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=await self._status())

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext):
        if request.service not in ("", SERVICE_NAME):
            # The protocol keeps the call open for an unknown service; it stays unknown here.
            yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
            await self.stopping.wait()
            return
        last = None
        while not self.stopping.is_set():
            status = await self._status()
            if status != last:
                yield health_pb2.HealthCheckResponse(status=status)
                last = status
            try:
                await asyncio.wait_for(self.stopping.wait(), WATCH_INTERVAL)
            except TimeoutError:
                pass
