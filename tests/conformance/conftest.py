"""Targets, database access and outage control for the black-box conformance suite.

Run against any implementation of `contract/CONTRACT.md`:

    pytest tests/conformance --dsn postgresql://bench:bench@127.0.0.1:5433/events \
        --rest-url http://127.0.0.1:9083 --grpc-target 127.0.0.1:9092 \
        --db-stop-cmd "docker stop perflab-postgres" --db-start-cmd "docker start perflab-postgres"
"""
from __future__ import annotations

import subprocess
import time
from typing import Any

import psycopg2
import psycopg2.extras
import pytest

from tests.conformance.clients import GrpcClient, RestClient

DEFAULT_MAX_BODY_BYTES = 1048576


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


def _targets(config) -> list[tuple[str, str]]:
    return ([("rest", url) for url in config.getoption("--rest-url")]
            + [("grpc", target) for target in config.getoption("--grpc-target")]
            + [("grpcweb", url) for url in config.getoption("--grpcweb-url")])


def pytest_configure(config):
    config.addinivalue_line("markers", "kinds(*kinds): run only against targets of these kinds")
    config.addinivalue_line("markers", "outage: stops and restarts the database; runs last")


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
    kept, deselected = [], []
    for item in items:
        applicable = True
        if "client" in item.fixturenames:
            skip = item.get_closest_marker("skip")
            applicable = not (skip and "empty parameter set" in str(skip.kwargs.get("reason", "")))
            kinds = item.get_closest_marker("kinds")  # includes marks on individual parameters
            if applicable and kinds and hasattr(item, "callspec"):
                applicable = item.callspec.params["client"][0] in kinds.args
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


@pytest.fixture(scope="session")
def max_body_bytes(pytestconfig) -> int:
    return pytestconfig.getoption("--max-body-bytes")


@pytest.fixture(scope="session")
def client(request, max_body_bytes):
    kind, address = request.param
    if (kind, address) not in _clients:
        if kind == "rest":
            _clients[(kind, address)] = RestClient(address)
        elif kind == "grpc":
            _clients[(kind, address)] = GrpcClient(address, max_body_bytes)
        else:
            from tests.conformance.grpcweb_client import GrpcWebClient
            _clients[(kind, address)] = GrpcWebClient(address, max_body_bytes)
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
