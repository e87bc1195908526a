"""The gRPC surface of the contract on grpc.aio: com.example.grpc.EventService and the standard
grpc.health.v1.Health service, both answered from the shared validation and repository (event_common).
The generated modules (event_service_pb2, event_service_pb2_grpc) come from proto/event_service.proto at
build time (build.sh)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import event_service_pb2 as pb
import event_service_pb2_grpc as pb_grpc
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from event_common.event import MSG_UNSTORABLE, ValidationError, event_from_proto
from event_common.store import DatabaseUnavailable, Unstorable

SERVICE_NAME = "com.example.grpc.EventService"
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

    def __init__(self, store: EventStore):
        self.store = store

    async def ProcessEvent(self, request: pb.EventRequest, context: grpc.aio.ServicerContext) -> pb.EventResponse:
        try:
            event = event_from_proto(request)
            # The write is detached from the call: a client that gives up (cancelling this handler) does not
            # abort a transaction half-way; it still commits or rolls back on its own.
            write = asyncio.ensure_future(self.store.save_event(event))
            write.add_done_callback(_retrieve)
            duplicate = await asyncio.shield(write)
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


def _retrieve(write: asyncio.Future) -> None:
    """Reads the outcome of a write whose call was cancelled, so asyncio does not report it as lost."""
    if not write.cancelled():
        write.exception()


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
