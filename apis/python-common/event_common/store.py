"""Writes events to PostgreSQL with the contract's two statements in one transaction (asyncpg pool), and
tells "database unavailable" and "a value the database cannot store" apart from every other failure."""
from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable

import asyncpg

from event_common.config import Config, database_url_has_password
from event_common.event import MSG_UNSTORABLE, Event

# The statements of the contract, byte for byte: pg_stat_statements groups them across APIs.
INSERT_EVENT_SQL = ("INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) "
                    "VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb) "
                    "ON CONFLICT (uuid) DO NOTHING")
UPSERT_ENTITY_SQL = ("INSERT INTO entities (entity_type, entity_id, data) VALUES ($1, $2, $3::jsonb) "
                     "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, "
                     "updated_at = now()")
HEALTH_SQL = "SELECT 1"

HEALTH_TIMEOUT = 2.0  # seconds, as the contract asks
# One event's transaction once it has its connection (the wait for one is DB_ACQUIRE_TIMEOUT); then 503.
WRITE_TIMEOUT = 30.0
# Opening one connection, unless DATABASE_URL sets connect_timeout: a database that does not answer turns
# into "database unavailable" instead of a hung request.
CONNECT_TIMEOUT = 5.0

log = logging.getLogger("perflab.store")


class DatabaseUnavailable(Exception):
    """The database could not be reached: connect, pool, timeout, connection lost (503 / UNAVAILABLE)."""


class Unstorable(Exception):
    """A valid event the database rejected as data (SQLSTATE class 22 data exception, e.g. a number beyond
    numeric's range, or class 54 program limit exceeded); its transaction was rolled back. The client's
    input, not a failure of the service: 400 / INVALID_ARGUMENT."""

    message = MSG_UNSTORABLE


class _Duplicate(Exception):
    """S1 stored nothing: roll the transaction back and write nothing else."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Dates go to PostgreSQL as the text that was validated (PostgreSQL parses it, rounding fractions to
    # microseconds): a Python datetime cannot hold every storable instant (0001-01-01T00:00:00+15:00 is
    # year 0 in UTC). jsonb goes in binary form, the version byte and the document orjson wrote, with no
    # bytes -> str -> bytes round trip.
    await conn.set_type_codec("timestamptz", schema="pg_catalog", encoder=str, decoder=str, format="text")
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=_jsonb_encode, decoder=_jsonb_decode,
                              format="binary")


def _jsonb_encode(document: bytes) -> bytes:
    return b"\x01" + document


def _jsonb_decode(data: bytes) -> bytes:
    return data[1:]


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's reset on release (SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL: one more round trip and statement per request). The APIs change no session state; an open
    transaction is still rolled back by the pool before this runs."""


class Store:
    """The event repository over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float):
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    @classmethod
    async def open(cls, config: Config, password: Callable[[], str] | None = None) -> Store:
        """Creates the pool (DATABASE_URL, DB_POOL_MAX). No connection is opened yet, so an API starts even
        while the database is down; connections open on demand, at most DB_POOL_MAX, each waited for at
        most DB_ACQUIRE_TIMEOUT. `password` (the secrets store's current db-password) is asked by every
        connection the pool opens, so a refreshed password serves the connections opened after it; a
        password in DATABASE_URL wins over it, and it wins over PGPASSWORD."""
        dsn, connect_timeout = split_connect_timeout(config.database_url)
        extra = {}
        if password is not None and not database_url_has_password(dsn):
            extra["password"] = password
        pool = asyncpg.create_pool(
            dsn, min_size=0, max_size=config.db_pool_max, init=_init_connection, reset=_keep_session,
            timeout=connect_timeout, max_inactive_connection_lifetime=300.0, **extra)
        await pool
        return cls(pool, config.db_acquire_timeout)

    async def close(self) -> None:
        """Waits for connections in use to be released, then closes them all."""
        await self._pool.close()

    async def ping(self) -> None:
        """SELECT 1 on the pool within HEALTH_TIMEOUT; raises DatabaseUnavailable otherwise."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                try:
                    await self._select_one()
                except Exception as exc:
                    if not await self._expire_if_connection_lost(exc):
                        raise
                    await self._select_one()  # on a fresh connection
        except Exception as exc:
            raise DatabaseUnavailable("database unavailable") from exc

    async def _select_one(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.fetchval(HEALTH_SQL)

    async def save_event(self, event: Event) -> bool:
        """Writes the event in one transaction: S1 once, then, unless the uuid is already stored, S2 for every
        entity in lock order. Returns True for a duplicate uuid (nothing written). Raises
        DatabaseUnavailable (no connection within DB_ACQUIRE_TIMEOUT included), Unstorable, or (anything
        else) the driver's error."""
        try:
            # Waiting behind DB_POOL_MAX busy connections, or for a new one to open, all within the timeout.
            conn = await self._pool.acquire(timeout=self._acquire_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # timeout, connecting failed (refused, authentication...), pool closing
            raise DatabaseUnavailable("database unavailable") from exc
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                try:
                    return await self._write(conn, event)
                except Exception as exc:
                    if conn.is_closed():
                        # The connection died under the write (a database restart): whatever the driver raised
                        # on the way out (a closed-connection error, or "cannot switch to state …" from the
                        # rollback of the broken transaction), the database is unavailable, and the pool's other
                        # connections are as dead.
                        await self._pool.expire_connections()
                        raise DatabaseUnavailable("database unavailable") from exc
                    raise
                finally:
                    await self._pool.release(conn)
        except DatabaseUnavailable:
            raise
        except TimeoutError as exc:
            raise DatabaseUnavailable("database unavailable") from exc
        except Exception as exc:
            await self._expire_if_connection_lost(exc)
            raise classify(exc) from exc

    @staticmethod
    async def _write(conn: asyncpg.Connection, event: Event) -> bool:
        try:
            async with conn.transaction():
                status = await conn.execute(
                    INSERT_EVENT_SQL, event.uuid, event.event_name, event.event_type, event.created_date,
                    event.saved_date, event.document())
                if status == "INSERT 0 0":
                    raise _Duplicate  # rolls back; nothing else to write
                for entity_type, entity_id, attributes in event.entities_in_lock_order():
                    await conn.execute(UPSERT_ENTITY_SQL, entity_type, entity_id, attributes)
        except _Duplicate:
            return True
        return False

    async def _expire_if_connection_lost(self, exc: BaseException) -> bool:
        """After a database restart every pooled connection is dead: when `exc` says an established
        connection died, mark them all for replacement. A write is never retried here; its client gets 503
        and may retry, which the duplicate rule makes safe."""
        if not connection_lost(exc):
            return False
        await self._pool.expire_connections()
        return True


def classify(exc: BaseException) -> BaseException:
    """DatabaseUnavailable when `exc` means the database could not be reached or the connection was lost,
    Unstorable when the database rejected a value as data; otherwise `exc` itself."""
    if isinstance(exc, (DatabaseUnavailable, Unstorable)):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        code = exc.sqlstate or ""
        if code.startswith(("22", "54")):
            return Unstorable(MSG_UNSTORABLE)
        if code.startswith(("08", "53", "57P")):  # connection exception, insufficient resources, shutdown
            return DatabaseUnavailable("database unavailable")
        return exc
    if isinstance(exc, (OSError, TimeoutError, EOFError)):
        return DatabaseUnavailable("database unavailable")
    # The connection or the pool went away ("connection is closed", "pool is closing"). The client-side
    # DataError (an argument that cannot be encoded) is an InterfaceError too, and a ValueError: not this.
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError) and (
            "closed" in str(exc) or "closing" in str(exc)):
        return DatabaseUnavailable("database unavailable")
    return exc


def connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        code = exc.sqlstate or ""
        return code.startswith("08") or code in ("57P01", "57P02")
    return isinstance(exc, (ConnectionResetError, BrokenPipeError, EOFError))


def split_connect_timeout(url: str) -> tuple[str, float]:
    """DATABASE_URL without its connect_timeout parameter (asyncpg would send it to the server as a
    setting) and the timeout in seconds (CONNECT_TIMEOUT when absent or not positive, as in libpq)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    timeout = CONNECT_TIMEOUT
    kept = []
    for key, value in query:
        if key == "connect_timeout":
            try:
                seconds = float(value)
            except ValueError:
                seconds = 0
            if seconds > 0:
                timeout = max(seconds, 2.0)  # libpq's minimum
        else:
            kept.append((key, value))
    if len(kept) == len(query):
        return url, timeout
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept))), timeout
