"""python-grpc: the lab's event API over gRPC — grpcio's asyncio server (grpc.aio) on uvloop, asyncpg,
com.example.grpc.EventService and grpc.health.v1.Health. Settings come only from the environment contract
(contract/CONTRACT.md), secrets from SECRETS_URL when set (read before the server starts: an API without
them exits 1). One process, one event loop (see README.md, "Worker model"). On SIGTERM the server stops
accepting, finishes the calls in flight (at most 30 s), the pool is closed, and the process exits 0."""
from __future__ import annotations

import asyncio
import signal
import sys

import event_service_pb2_grpc as pb_grpc
import grpc
import uvloop
from grpc_health.v1 import health_pb2_grpc

from event_common.auth import authenticator_for
from event_common.completion import RunToCompletion
from event_common.config import DEFAULT_GRPC_PORT, Config, ConfigError
from event_common.secret_store import DB_PASSWORD, SecretStore, SecretUnavailable
from event_common.store import Store
from python_grpc.service import AuthInterceptor, EventService, HealthService

SHUTDOWN_GRACE = 30.0  # seconds for in-flight calls after SIGTERM, as the Go and Rust APIs


def listen_address(config: Config) -> str:
    """BIND_ADDRESS:PORT as gRPC wants it (IPv6 literals bracketed)."""
    host = config.bind_address
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{config.port}"


async def serve(config: Config) -> None:
    log = config.configure_logging()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    secrets = SecretStore.for_config(config)
    secrets_note = ""
    if secrets is not None:
        took = await secrets.load()  # SecretUnavailable: main exits 1
        secrets_note = f", secrets read in {took * 1000:.0f} ms"
    store = await Store.open(config, secrets.getter(DB_PASSWORD) if secrets is not None else None)
    refreshing = secrets.start_refreshing(config.secrets_refresh_interval_ms / 1000) if secrets is not None else None
    work = RunToCompletion()
    try:
        authenticator = authenticator_for(config, secrets)
        server = grpc.aio.server(
            interceptors=[AuthInterceptor(authenticator)] if authenticator is not None else None,
            options=[
                # A message over MAX_BODY_BYTES is refused by gRPC itself with RESOURCE_EXHAUSTED.
                ("grpc.max_receive_message_length", config.max_body_bytes),
                # Fail when the port is taken instead of silently sharing it.
                ("grpc.so_reuseport", 0),
            ])
        pb_grpc.add_EventServiceServicer_to_server(EventService(store, work), server)
        health_pb2_grpc.add_HealthServicer_to_server(HealthService(store, stopping), server)
        server.add_insecure_port(listen_address(config))
        await server.start()
        log.info("listening on %s, dbPoolMax=%d, dbAcquireTimeoutMs=%d, maxBodyBytes=%d, auth=%s%s",
                 listen_address(config), config.db_pool_max, config.db_acquire_timeout_ms, config.max_body_bytes,
                 "on" if config.auth_enabled else "off", secrets_note)
        await stopping.wait()
        log.info("shutting down")
        # Stops accepting at once; calls in flight may finish within the grace, then are cancelled (their
        # writes go on: they are drained before the pool closes).
        await server.stop(SHUTDOWN_GRACE)
        await work.drain()
    finally:
        if refreshing is not None:
            refreshing.cancel()
        await store.close()


def main() -> int:
    try:
        config = Config.from_env(DEFAULT_GRPC_PORT)
    except ConfigError as exc:
        print(f"python-grpc: {exc}", file=sys.stderr)
        return 1
    try:
        uvloop.run(serve(config))
    except (RuntimeError, SecretUnavailable) as exc:  # e.g. the port cannot be bound, a secret unreadable
        print(f"python-grpc: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
