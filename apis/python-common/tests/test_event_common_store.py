"""The repository: the contract's statements byte for byte, error classification, and (with
TEST_DATABASE_URL=postgres://... pointing at a database with db/schema.sql applied) the writes."""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import uuid

import asyncpg
import pytest

from event_common.config import DEFAULT_REST_PORT, Config
from event_common.event import parse_event
from event_common.store import (
    INSERT_EVENT_SQL,
    UPSERT_ENTITY_SQL,
    DatabaseUnavailable,
    Store,
    Unstorable,
    classify,
    connection_lost,
    split_connect_timeout,
)

CONTRACT = pathlib.Path(__file__).resolve().parents[3] / "contract" / "CONTRACT.md"


def test_statements_are_the_contracts_byte_for_byte():
    text = CONTRACT.read_text()
    assert f"\n   {INSERT_EVENT_SQL}\n" in text
    assert f"\n   {UPSERT_ENTITY_SQL}\n" in text


@pytest.mark.parametrize("error, expected", [
    (asyncpg.exceptions.NumericValueOutOfRangeError("x"), Unstorable),  # 22003, e.g. 1e131072
    (asyncpg.exceptions.UntranslatableCharacterError("x"), Unstorable),  # 22P05
    (asyncpg.exceptions.ProgramLimitExceededError("x"), Unstorable),  # 54000
    (asyncpg.exceptions.AdminShutdownError("x"), DatabaseUnavailable),  # 57P01
    (asyncpg.exceptions.CannotConnectNowError("x"), DatabaseUnavailable),  # 57P03
    (asyncpg.exceptions.TooManyConnectionsError("x"), DatabaseUnavailable),  # 53300
    (asyncpg.exceptions.ConnectionDoesNotExistError("x"), DatabaseUnavailable),  # 08003
    (ConnectionRefusedError(), DatabaseUnavailable),
    (TimeoutError(), DatabaseUnavailable),
    (asyncpg.exceptions.InterfaceError("connection is closed"), DatabaseUnavailable),
    (asyncpg.exceptions.UniqueViolationError("x"), asyncpg.exceptions.UniqueViolationError),  # 23505: a bug
    (asyncpg.exceptions.DataError("x"), Unstorable),  # 22000
    # The client-side DataError: an argument the driver cannot encode (validation prevents it): a bug.
    (asyncpg.exceptions._base.DataError("invalid input for query argument $1: 'closed'"), ValueError),
    (ValueError("x"), ValueError),
])
def test_classification(error, expected):
    assert isinstance(classify(error), expected)


def test_connection_lost():
    assert connection_lost(asyncpg.exceptions.AdminShutdownError("x"))
    assert connection_lost(asyncpg.exceptions.ConnectionDoesNotExistError("x"))
    assert connection_lost(ConnectionResetError())
    assert not connection_lost(ConnectionRefusedError())  # never connected: pooled connections may be fine
    assert not connection_lost(asyncpg.exceptions.NumericValueOutOfRangeError("x"))


def test_connect_timeout_is_taken_out_of_the_url():
    assert split_connect_timeout("postgres://u:p@h:5432/db") == ("postgres://u:p@h:5432/db", 5.0)
    assert split_connect_timeout("postgres://u:p@h/db?sslmode=disable&connect_timeout=10") == (
        "postgres://u:p@h/db?sslmode=disable", 10.0)
    assert split_connect_timeout("postgres://u:p@h/db?connect_timeout=1") == ("postgres://u:p@h/db", 2.0)
    assert split_connect_timeout("postgres://u:p@h/db?connect_timeout=0") == ("postgres://u:p@h/db", 5.0)


def test_unreachable_database_is_unavailable_and_the_pool_opens_lazily():
    async def scenario():
        # Nothing listens on port 1: the pool still opens (an API starts while its database is down).
        store = await Store.open(Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": "postgres://u:p@127.0.0.1:1/db"}))
        try:
            with pytest.raises(DatabaseUnavailable):
                await store.ping()
            with pytest.raises(DatabaseUnavailable):
                await store.save_event(parse_event(_event_body("Car", "c-1", '{"a": 1}')))
        finally:
            await store.close()
    asyncio.run(scenario())


def _event_body(entity_type, entity_id, attributes, event_uuid=None, dates=""):
    return (f'{{"eventHeader": {{"uuid": "{event_uuid or uuid.uuid4()}", "eventName": "A", "eventType": "A"{dates}}},'
            f' "eventBody": {{"entities": [{{"entityType": "{entity_type}", "entityId": "{entity_id}",'
            f' "updatedAttributes": {attributes}}}]}}}}').encode()


DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
needs_database = pytest.mark.skipif(not DATABASE_URL, reason="TEST_DATABASE_URL is not set")


@needs_database
def test_save_merges_ignores_duplicates_and_refuses_unstorable_values():
    async def scenario():
        store = await Store.open(Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": DATABASE_URL, "DB_POOL_MAX": "2"}))
        conn = await asyncpg.connect(DATABASE_URL)
        try:
            entity_id = f"loan-{uuid.uuid4()}"
            first = parse_event(_event_body("Loan", entity_id, '{"a": 1, "b": 12345678901234567890.5}',
                                            dates=', "createdDate": "0001-01-01T00:00:00+15:00",'
                                                  ' "savedDate": "9999-12-31T23:59:59.9999999-15:59"'))
            assert await store.save_event(first) is False
            assert await store.save_event(parse_event(_event_body("Loan", entity_id, '{"c": "x", "a": {"n": true}}'))) is False
            data = await conn.fetchval("SELECT data::text FROM entities WHERE entity_type = 'Loan' AND entity_id = $1", entity_id)
            assert data == '{"a": {"n": true}, "b": 12345678901234567890.5, "c": "x"}'
            row = await conn.fetchrow("SELECT created_date::text AS c, saved_date::text AS s, payload::text AS p "
                                      "FROM events WHERE uuid = $1::uuid", first.uuid)
            assert (row["c"], row["s"]) == ("0001-12-31 09:00:00+00 BC", "10000-01-01 15:59:00+00")
            assert json.loads(row["p"])["eventHeader"]["createdDate"] == "0001-01-01T00:00:00+15:00"
            again = parse_event(_event_body("Loan", entity_id, '{"z": 0}', event_uuid=first.uuid.upper()))
            assert await store.save_event(again) is True
            with pytest.raises(Unstorable):
                await store.save_event(parse_event(_event_body("Loan", entity_id, '{"z": 1e131072}')))
            assert "z" not in json.loads(await conn.fetchval(
                "SELECT data::text FROM entities WHERE entity_type = 'Loan' AND entity_id = $1", entity_id))
            await store.ping()
        finally:
            await conn.close()
            await store.close()
    asyncio.run(scenario())


@needs_database
def test_a_request_waits_for_a_connection_at_most_db_acquire_timeout():
    """DB_POOL_MAX=1, its connection held by a write that waits on a row lock: the next write waits, and is
    DatabaseUnavailable after DB_ACQUIRE_TIMEOUT, having written nothing; one whose connection frees up
    within the timeout is written."""
    async def scenario():
        def config(timeout_ms):
            return Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": DATABASE_URL, "DB_POOL_MAX": "1",
                                                       "DB_ACQUIRE_TIMEOUT": str(timeout_ms)})
        blocker = await asyncpg.connect(DATABASE_URL)
        short, long = await Store.open(config(300)), await Store.open(config(5000))
        try:
            for store, released_after in ((short, None), (long, 0.5)):
                held = parse_event(_event_body("Car", "c-held", '{"a": 1}'))
                waiting = parse_event(_event_body("Car", "c-waiting", '{"a": 1}'))
                transaction = blocker.transaction()
                await transaction.start()
                # The same uuid, uncommitted: the store's S1 waits for this transaction on the unique index.
                await blocker.execute("INSERT INTO events (uuid, event_name, event_type, payload) "
                                      "VALUES ($1::uuid, 'x', 'x', '{}'::jsonb)", held.uuid)
                holding = asyncio.create_task(store.save_event(held))
                await asyncio.sleep(0.2)  # it has the pool's one connection now
                started = asyncio.get_running_loop().time()
                if released_after is None:
                    with pytest.raises(DatabaseUnavailable):
                        await store.save_event(waiting)
                    waited = asyncio.get_running_loop().time() - started
                    assert 0.29 <= waited < 1.5, waited
                    await transaction.rollback()
                    assert await holding is False
                    assert await blocker.fetchval("SELECT count(*) FROM events WHERE uuid = $1::uuid", waiting.uuid) == 0
                else:
                    writing = asyncio.create_task(store.save_event(waiting))
                    await asyncio.sleep(released_after)
                    assert not writing.done()  # waiting, not refused
                    await transaction.rollback()
                    assert await holding is False and await writing is False
                    assert await blocker.fetchval("SELECT count(*) FROM events WHERE uuid = $1::uuid", waiting.uuid) == 1
        finally:
            await blocker.close()
            await short.close()
            await long.close()
    asyncio.run(scenario())


@needs_database
def test_a_connection_killed_mid_write_is_unavailable_never_an_internal_error():
    """A database restart ends a connection while its transaction waits (here: on a row lock, then
    pg_terminate_backend): the write is DatabaseUnavailable (503 / UNAVAILABLE), whatever the driver raises while
    the broken transaction unwinds, and the store's next write works on a fresh connection."""
    async def scenario():
        store = await Store.open(Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": DATABASE_URL, "DB_POOL_MAX": "1"}))
        admin = await asyncpg.connect(DATABASE_URL)
        entity_id = f"loan-{uuid.uuid4()}"
        try:
            assert await store.save_event(parse_event(_event_body("Loan", entity_id, '{"a": 1}'))) is False
            lock = admin.transaction()
            await lock.start()
            await admin.execute("SELECT 1 FROM entities WHERE entity_type = 'Loan' AND entity_id = $1 FOR UPDATE",
                                entity_id)
            write = asyncio.ensure_future(store.save_event(parse_event(_event_body("Loan", entity_id, '{"a": 2}'))))
            for _ in range(100):  # until the write waits on the lock
                waiting = await admin.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting, "the write never waited on the row lock"
            await admin.execute("SELECT pg_terminate_backend($1)", waiting)
            with pytest.raises(DatabaseUnavailable):
                await asyncio.wait_for(write, 10)
            await lock.rollback()
            assert await store.save_event(parse_event(_event_body("Loan", entity_id, '{"a": 3}'))) is False
        finally:
            await admin.close()
            await store.close()
    asyncio.run(scenario())
