"""python-rest: the lab's event API over HTTP/1.1 — Starlette on uvicorn (uvloop + httptools), asyncpg.
Settings come only from the environment contract (contract/CONTRACT.md), secrets from SECRETS_URL when set
(read before the server starts: an API without them exits 1). One process, one event loop (see README.md,
"Worker model"). On SIGTERM uvicorn stops accepting, finishes the requests in flight (at most 30 s), the
pool is closed, and the process exits 0."""
from __future__ import annotations

import asyncio
import signal
import sys

import uvicorn

from event_common.auth import authenticator_for
from event_common.config import DEFAULT_REST_PORT, Config, ConfigError
from event_common.secret_store import DB_PASSWORD, SecretStore, SecretUnavailable
from event_common.store import Store
from python_rest.app import create_app

SHUTDOWN_GRACE = 30  # seconds for in-flight requests after SIGTERM, as the Go and Rust APIs


def main() -> int:
    try:
        config = Config.from_env(DEFAULT_REST_PORT)
    except ConfigError as exc:
        print(f"python-rest: {exc}", file=sys.stderr)
        return 1
    log = config.configure_logging()
    secrets = SecretStore.for_config(config)
    secrets_note = ""
    if secrets is not None:
        try:
            took = asyncio.run(secrets.load())
        except SecretUnavailable as exc:
            print(f"python-rest: {exc}", file=sys.stderr)
            return 1
        secrets_note = f", secrets read in {took * 1000:.0f} ms"
    refreshing: asyncio.Task[None] | None = None

    async def open_store() -> Store:
        nonlocal refreshing
        store = await Store.open(config, secrets.getter(DB_PASSWORD) if secrets is not None else None)
        if secrets is not None:
            refreshing = secrets.start_refreshing(config.secrets_refresh_interval_ms / 1000)
        log.info("listening on %s:%d, dbPoolMax=%d, dbAcquireTimeoutMs=%d, maxBodyBytes=%d, auth=%s%s",
                 config.bind_address, config.port, config.db_pool_max, config.db_acquire_timeout_ms,
                 config.max_body_bytes, "on" if config.auth_enabled else "off", secrets_note)
        return store

    async def close_store(store: Store) -> None:
        log.info("shutting down")
        if refreshing is not None:
            refreshing.cancel()
        await store.close()

    app = create_app(open_store, close_store, config.max_body_bytes, authenticator_for(config, secrets))
    # uvicorn drains on SIGTERM, then re-raises the signal with the handler it found: make that an exit 0,
    # as the contract asks (a SIGTERM before the server runs exits 0 at once, nothing being in flight).
    signal.signal(signal.SIGTERM, _exit_zero)
    uvicorn.run(
        app, host=config.bind_address, port=config.port, loop="uvloop", http="httptools", lifespan="on",
        log_config=None, log_level=config.log_level, access_log=False, proxy_headers=False,
        server_header=False, timeout_keep_alive=120, timeout_graceful_shutdown=SHUTDOWN_GRACE)
    return 0


def _exit_zero(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
