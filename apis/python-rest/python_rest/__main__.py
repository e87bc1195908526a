"""python-rest: the lab's event API over HTTP/1.1 — Starlette on uvicorn (uvloop + httptools), asyncpg.
Settings come only from the environment contract (contract/CONTRACT.md). One process, one event loop
(see README.md, "Worker model"). On SIGTERM uvicorn stops accepting, finishes the requests in flight
(at most 30 s), the pool is closed, and the process exits 0."""
from __future__ import annotations

import signal
import sys

import uvicorn

from event_common.config import DEFAULT_REST_PORT, Config, ConfigError
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

    async def open_store() -> Store:
        store = await Store.open(config)
        log.info("listening on %s:%d, dbPoolMax=%d, maxBodyBytes=%d", config.bind_address, config.port,
                 config.db_pool_max, config.max_body_bytes)
        return store

    async def close_store(store: Store) -> None:
        log.info("shutting down")
        await store.close()

    app = create_app(open_store, close_store, config.max_body_bytes)
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
