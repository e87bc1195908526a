"""Targets, database access and outage control for the black-box conformance suite.

Run against any implementation of `contract/CONTRACT.md`:

    pytest tests/conformance --dsn postgresql://bench:bench@127.0.0.1:5433/events \
        --rest-url http://127.0.0.1:9083 --grpc-target 127.0.0.1:9092 \
        --db-stop-cmd "docker stop perflab-postgres" --db-start-cmd "docker start perflab-postgres"

Options say how the targets run (auth, pool, acquire timeout); see README.md.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.extras
import pytest

from tests.conformance.clients import GrpcClient, RestClient, no_authorization
from tests.conformance.tokens import TokenIssuer

DEFAULT_MAX_BODY_BYTES = 1048576
DEFAULT_DB_POOL_MAX = 20
DEFAULT_DB_ACQUIRE_TIMEOUT_MS = 5000
# The runner hands the key over in the environment rather than on the command line (process listings, logs).
AUTH_KEY_VARIABLE = "PERFLAB_CONFORMANCE_AUTH_KEY"


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "event contract conformance targets")
    group.addoption("--rest-url", action="append", default=[], help="REST base URL (repeatable)")
    group.addoption("--grpc-target", action="append", default=[], help="gRPC host:port (repeatable)")
    group.addoption("--grpcweb-url", action="append", default=[], help="gRPC-Web base URL (repeatable)")
    group.addoption("--dsn", help="DSN of the database the targets write to")
    group.addoption("--db-stop-cmd", help="shell command that stops the database (outage tests)")
    group.addoption("--db-start-cmd", help="shell command that starts it again")
    group.addoption("--no-db-outage", action="store_true", help="deselect the database-outage tests")
    group.addoption("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                    help="MAX_BODY_BYTES the targets run with")
    group.addoption("--auth-key", default=os.environ.get(AUTH_KEY_VARIABLE) or None,
                    help="JWT_SECRET_KEY of targets running with AUTH_ENABLED on: every request carries a valid "
                         f"token and the authentication cases run (default: ${AUTH_KEY_VARIABLE}; without it they "
                         "are deselected)")
    group.addoption("--jwt-issuer", help="JWT_ISSUER the targets run with (tokens carry it; the iss cases run)")
    group.addoption("--jwt-audience", help="JWT_AUDIENCE the targets run with (tokens carry it; the aud cases run)")
    group.addoption("--db-pool-max", type=int, default=DEFAULT_DB_POOL_MAX, help="DB_POOL_MAX the targets run with")
    group.addoption("--db-acquire-timeout-ms", type=int, default=DEFAULT_DB_ACQUIRE_TIMEOUT_MS,
                    help="DB_ACQUIRE_TIMEOUT (ms) the targets run with")
    group.addoption("--serial-target", action="append", default=[],
                    help="a target (as given to --rest-url/--grpc-target/--grpcweb-url) that serves one request per "
                         "execution environment, e.g. a Lambda: the pool-saturation case is deselected for it")


def _targets(config) -> list[tuple[str, str]]:
    return ([("rest", url) for url in config.getoption("--rest-url")]
            + [("grpc", target) for target in config.getoption("--grpc-target")]
            + [("grpcweb", url) for url in config.getoption("--grpcweb-url")])


def _address(address: str) -> str:
    return address.rstrip("/")


def pytest_configure(config):
    config.addinivalue_line("markers", "kinds(*kinds): run only against targets of these kinds")
    config.addinivalue_line("markers", "outage: stops and restarts the database; runs last")
    config.addinivalue_line("markers", "auth: needs targets running with AUTH_ENABLED (--auth-key)")
    config.addinivalue_line("markers", "requires_option(name): deselected unless the option is given")
    config.addinivalue_line("markers", "unless_option(name): deselected when the option is given")
    config.addinivalue_line("markers", "concurrent: needs a target serving concurrent requests (not --serial-target)")


def pytest_generate_tests(metafunc):
    if "client" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("kinds")
    kinds = set(marker.args) if marker else {"rest", "grpc", "grpcweb"}
    targets = [t for t in _targets(metafunc.config) if t[0] in kinds]
    metafunc.parametrize("client", targets, ids=[f"{k}:{v}" for k, v in targets], indirect=True,
                         scope="session")


def pytest_collection_modifyitems(config, items):
    if not _targets(config):
        raise pytest.UsageError("give at least one target: --rest-url, --grpc-target or --grpcweb-url")
    if not config.getoption("--dsn"):
        raise pytest.UsageError("--dsn is required: the suite checks what each target wrote")
    outage_options = config.getoption("--db-stop-cmd") and config.getoption("--db-start-cmd")
    if not outage_options and not config.getoption("--no-db-outage"):
        raise pytest.UsageError("outage tests need --db-stop-cmd and --db-start-cmd "
                                "(or deselect them explicitly with --no-db-outage)")
    auth_key = config.getoption("--auth-key")
    if auth_key is not None and len(auth_key.encode()) < 32:
        raise pytest.UsageError("--auth-key: JWT_SECRET_KEY is at least 32 bytes (a target refuses a shorter one)")
    for name in ("--db-pool-max", "--db-acquire-timeout-ms"):
        if config.getoption(name) <= 0:
            raise pytest.UsageError(f"{name} must be a positive integer")
    targets = {_address(address) for _, address in _targets(config)}
    serial = {_address(address) for address in config.getoption("--serial-target")}
    if serial - targets:
        raise pytest.UsageError(f"--serial-target names no target: {', '.join(sorted(serial - targets))}")
    kept, deselected = [], []
    for item in items:
        applicable = True
        if "client" in item.fixturenames:
            skip = item.get_closest_marker("skip")
            applicable = not (skip and "empty parameter set" in str(skip.kwargs.get("reason", "")))
            kinds = item.get_closest_marker("kinds")  # includes marks on individual parameters
            if applicable and kinds and hasattr(item, "callspec"):
                applicable = item.callspec.params["client"][0] in kinds.args
            if applicable and item.get_closest_marker("concurrent") and hasattr(item, "callspec"):
                applicable = _address(item.callspec.params["client"][1]) not in serial
        # Cases for settings the targets do not run with are deselected, never skipped: the summary counts
        # exactly what was executed.
        if item.get_closest_marker("auth") and auth_key is None:
            applicable = False
        if any(not config.getoption(mark.args[0]) for mark in item.iter_markers("requires_option")):
            applicable = False
        if any(config.getoption(mark.args[0]) for mark in item.iter_markers("unless_option")):
            applicable = False
        if not applicable or (config.getoption("--no-db-outage") and item.get_closest_marker("outage")):
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    # Outage tests restart the database: run them after everything else.
    kept.sort(key=lambda item: bool(item.get_closest_marker("outage")))
    items[:] = kept


_clients: dict[tuple[str, str], Any] = {}


@pytest.fixture(scope="session", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for made in _clients.values():
        made.close()
    _clients.clear()


@pytest.fixture(scope="session")
def max_body_bytes(pytestconfig) -> int:
    return pytestconfig.getoption("--max-body-bytes")


@pytest.fixture(scope="session")
def tokens(pytestconfig) -> TokenIssuer | None:
    """The token maker of targets running with auth, or None when they run without."""
    key = pytestconfig.getoption("--auth-key")
    if key is None:
        return None
    return TokenIssuer(key, pytestconfig.getoption("--jwt-issuer"), pytestconfig.getoption("--jwt-audience"))


@pytest.fixture(scope="session")
def db_pool_max(pytestconfig) -> int:
    return pytestconfig.getoption("--db-pool-max")


@pytest.fixture(scope="session")
def db_acquire_timeout(pytestconfig) -> float:
    """DB_ACQUIRE_TIMEOUT in seconds."""
    return pytestconfig.getoption("--db-acquire-timeout-ms") / 1000


@pytest.fixture(scope="session")
def client(request, max_body_bytes, tokens):
    kind, address = request.param
    # With auth on, every request of every case carries a valid, fresh token.
    authorization = tokens.bearer if tokens is not None else no_authorization
    if (kind, address) not in _clients:
        if kind == "rest":
            _clients[(kind, address)] = RestClient(address, authorization)
        elif kind == "grpc":
            _clients[(kind, address)] = GrpcClient(address, max_body_bytes, authorization)
        else:
            from tests.conformance.grpcweb_client import GrpcWebClient
            _clients[(kind, address)] = GrpcWebClient(address, max_body_bytes, authorization=authorization)
    return _clients[(kind, address)]


class Database:
    """Read access to what the target wrote."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn = None

    def _cursor(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.dsn, connect_timeout=5)
            self.conn.autocommit = True
        return self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)

    def query(self, sql: str, *params) -> list[dict[str, Any]]:
        for attempt in range(2):
            try:
                with self._cursor() as cursor:
                    cursor.execute(sql, params)
                    return list(cursor.fetchall()) if cursor.description else []
            except psycopg2.OperationalError:
                self.conn = None  # reconnect once, e.g. after an outage test restarted the server
                if attempt:
                    raise
        return []

    def event(self, event_uuid: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM events WHERE uuid = %s::uuid", event_uuid)
        return rows[0] if rows else None

    def entity(self, entity_type: str, entity_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM entities WHERE entity_type = %s AND entity_id = %s",
                          entity_type, entity_id)
        return rows[0] if rows else None

    def waiting_for(self, backend_pid: int) -> int:
        """How many sessions wait, directly or in the lock's queue, for a lock the session `backend_pid` holds.
        (Waiters of one row queue behind the first: PostgreSQL names the first waiter as the later ones' blocker.)"""
        rows = self.query("WITH RECURSIVE waiting(pid) AS ("
                          " SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
                          " UNION SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY(pg_blocking_pids(a.pid))"
                          ") SELECT count(*) AS n FROM waiting", backend_pid)
        return rows[0]["n"]

    @contextlib.contextmanager
    def row_lock(self, entity_type: str, entity_id: str) -> Iterator[int]:
        """Hold the row lock of an existing entity (SELECT ... FOR UPDATE in an open transaction) on a
        connection of its own; yields that session's pid. The lock is always released on exit."""
        conn = psycopg2.connect(self.dsn, connect_timeout=5)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET lock_timeout = '10s'")
                # Should the suite itself hang, PostgreSQL ends the transaction and frees the row.
                cursor.execute("SET idle_in_transaction_session_timeout = '120s'")
                cursor.execute("SELECT 1 FROM entities WHERE entity_type = %s AND entity_id = %s FOR UPDATE",
                               (entity_type, entity_id))
                if cursor.fetchone() is None:
                    raise AssertionError(f"no entity {entity_type}/{entity_id} to lock")
                cursor.execute("SELECT pg_backend_pid()")
                row = cursor.fetchone()
                assert row is not None
            yield row[0]
        finally:
            conn.rollback()
            conn.close()

    def statement_stats(self) -> dict[str, tuple[int, int]]:
        """query text -> (calls, rows), summed over entries of this database."""
        rows = self.query("SELECT s.query, sum(s.calls)::bigint AS calls, sum(s.rows)::bigint AS rows "
                          "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                          "WHERE d.datname = current_database() GROUP BY s.query")
        return {row["query"]: (row["calls"], row["rows"]) for row in rows}


@pytest.fixture(scope="session")
def db(pytestconfig) -> Database:
    database = Database(pytestconfig.getoption("--dsn"))
    database.query("SELECT 1 FROM events LIMIT 1")
    return database


class DatabaseControl:
    def __init__(self, stop_cmd: str, start_cmd: str, db: Database):
        self.stop_cmd, self.start_cmd, self.db = stop_cmd, start_cmd, db

    def stop(self) -> None:
        subprocess.run(self.stop_cmd, shell=True, check=True, timeout=120)

    def start(self) -> None:
        subprocess.run(self.start_cmd, shell=True, check=True, timeout=120)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.db.query("SELECT 1")
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@pytest.fixture(scope="session")
def db_control(pytestconfig, db) -> DatabaseControl:
    return DatabaseControl(pytestconfig.getoption("--db-stop-cmd"), pytestconfig.getoption("--db-start-cmd"), db)
