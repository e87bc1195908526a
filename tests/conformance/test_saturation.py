"""Saturation (contract/CONTRACT.md, "Saturation"): waiting for a connection, and a client that goes away.

Both cases hold the row lock of an entity the suite created (a transaction of the suite's own, `SELECT ...
FOR UPDATE`), so the target's S2 on that entity waits inside its transaction with its connection taken,
for exactly as long as the suite wants. Every wait is bounded, and the lock is always released.
"""
from __future__ import annotations

import concurrent.futures
import time

import grpc
import pytest

from tests.conformance.checks import assert_nothing_written, assert_processed
from tests.conformance.clients import wait_until
from tests.conformance.events import entity, event, unique_id

REACH_DATABASE_SECONDS = 30  # time for requests to arrive and wait on the lock
STORED_AFTER_SECONDS = 15  # time for an abandoned request to commit once the lock is gone
LATE_TOLERANCE_SECONDS = 3.0  # the 503 may come this much after DB_ACQUIRE_TIMEOUT, not later


def locked_entity(client) -> tuple[str, str]:
    """An entity created through the target (so it exists to be locked)."""
    entity_id = unique_id("locked")
    seed = event(entity("Car", entity_id, seed=True))
    assert_processed(client.send(seed), seed)
    return "Car", entity_id


def stored_count(db, docs) -> int:
    return db.query("SELECT count(*) AS n FROM events WHERE uuid = ANY(%s::uuid[])",
                    [doc["eventHeader"]["uuid"] for doc in docs])[0]["n"]


@pytest.mark.concurrent
def test_request_beyond_the_pool_waits_the_acquire_timeout_then_503(client, db, db_pool_max, db_acquire_timeout):
    entity_type, entity_id = locked_entity(client)
    held = [event(entity(entity_type, entity_id, **{f"k{i}": i})) for i in range(db_pool_max)]
    extra = event(entity("Loan"))  # another entity: it waits for a connection, not for the lock
    request_timeout = db_acquire_timeout + 60
    earliest = db_acquire_timeout - max(0.25, 0.1 * db_acquire_timeout)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=db_pool_max)
    futures: list[concurrent.futures.Future] = []
    try:
        with db.row_lock(entity_type, entity_id) as lock_pid:
            futures = [pool.submit(client.send, doc, request_timeout) for doc in held]
            # Each held request has its connection and waits on the lock: the target's pool is all in use.
            reached = wait_until(lambda: db.waiting_for(lock_pid) >= db_pool_max, REACH_DATABASE_SECONDS, 0.1)
            waiting = db.waiting_for(lock_pid)
            assert reached, (f"only {waiting} of {db_pool_max} requests reached the database within "
                             f"{REACH_DATABASE_SECONDS} s (is --db-pool-max the target's DB_POOL_MAX?)")
            started = time.monotonic()
            outcome = client.send(extra, request_timeout)
            elapsed = time.monotonic() - started
            assert outcome.status == 503, (f"expected 503/UNAVAILABLE for a request beyond DB_POOL_MAX, got "
                                           f"{outcome.raw_code}: {outcome.message} after {elapsed:.2f} s")
            assert outcome.message == "database unavailable"
            if client.kind == "rest":
                assert outcome.body == {"error": "database unavailable", "status": 503}
            assert earliest <= elapsed <= db_acquire_timeout + LATE_TOLERANCE_SECONDS, (
                f"answered after {elapsed:.2f} s; DB_ACQUIRE_TIMEOUT is {db_acquire_timeout:.2f} s")
    finally:
        # The held requests end (the lock is released by now) before anything else runs, even on a failure.
        concurrent.futures.wait(futures, timeout=request_timeout + 5)
        pool.shutdown(wait=False, cancel_futures=True)
    outcomes = [future.result(timeout=0) for future in futures]
    assert_nothing_written(db, extra)
    failures = [(o.raw_code, o.message) for o in outcomes if o.status != 200]
    assert not failures, f"{len(failures)} of {db_pool_max} held requests failed after the lock was released: {failures[:3]}"
    for outcome, doc in zip(outcomes, held, strict=True):
        assert_processed(outcome, doc)
    assert stored_count(db, held) == db_pool_max
    expected = {"seed": True, **{f"k{i}": i for i in range(db_pool_max)}}
    assert db.entity(entity_type, entity_id)["data"] == expected


# How the client goes away once the whole request is sent, per protocol.
DEPARTURES = [
    pytest.param("close", id="close", marks=pytest.mark.kinds("rest", "grpcweb")),
    pytest.param("reset", id="reset", marks=pytest.mark.kinds("rest", "grpcweb")),
    pytest.param("cancel", id="cancel", marks=pytest.mark.kinds("grpc")),
    pytest.param("deadline", id="deadline", marks=pytest.mark.kinds("grpc")),
]
GRPC_DEADLINE_SECONDS = 2.0


class Departure:
    """A complete request whose client leaves without its answer: it closes or resets the connection
    (HTTP), cancels the call or lets its deadline expire (gRPC)."""

    def __init__(self, client, doc, how: str):
        self.how = how
        if client.kind == "grpc":
            self.call = client.start(doc, timeout=GRPC_DEADLINE_SECONDS if how == "deadline" else 60)
        else:
            self.request = client.send_and_abandon(doc)

    def leave(self) -> None:
        if self.how == "deadline":
            with pytest.raises(grpc.RpcError) as expired:
                self.call.result(timeout=GRPC_DEADLINE_SECONDS + 10)
            assert expired.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        self.close()

    def close(self) -> None:
        """Idempotent: also the clean-up when the case fails before leaving."""
        if hasattr(self, "call"):
            self.call.cancel()
        else:
            self.request.drop(reset=self.how == "reset")


@pytest.mark.parametrize("departure", DEPARTURES)
def test_event_of_a_client_that_went_away_is_stored_once(client, db, departure):
    entity_type, entity_id = locked_entity(client)
    other = entity("Loan", balance=5)
    doc = event(entity(entity_type, entity_id, touched=departure), other)
    with db.row_lock(entity_type, entity_id) as lock_pid:
        request = Departure(client, doc, departure)
        try:
            reached = wait_until(lambda: db.waiting_for(lock_pid) >= 1, REACH_DATABASE_SECONDS, 0.05)
            assert reached, "the request never reached the database"
            request.leave()  # while its transaction waits on the lock
        finally:
            request.close()
        time.sleep(1.0)  # time for the target to notice the departure before its transaction can go on
    assert wait_until(lambda: db.event(doc["eventHeader"]["uuid"]) is not None, STORED_AFTER_SECONDS, 0.1), \
        f"the event was not stored after the client went away ({departure}): its transaction was interrupted"
    assert stored_count(db, [doc]) == 1
    assert db.entity(entity_type, entity_id)["data"] == {"seed": True, "touched": departure}
    assert db.entity("Loan", other["entityId"])["data"] == {"balance": 5}
    assert_processed(client.send(doc), doc, duplicate=True)
