"""The database-admin function's handler against a real PostgreSQL, laid out exactly as its zip.

The handler runs in a fresh Python process from a directory holding only what stacks/aws/admin.py puts
in the zip (handler.py, the runner's database and verify modules, perflab/catalogue.py, db/schema.sql;
psycopg2 comes from the test's environment instead of the Linux wheel), so a module missing from the zip
fails here. Its credentials come from a Secrets Manager secret on a moto server, as on AWS from the
RDS-managed one.

The database: --admin-dsn / PERFLAB_ADMIN_TEST_DSN (the test TRUNCATEs its tables and resets its
statistics), default postgresql://bench:perflab-admin-test@127.0.0.1:16433/events — run one with
  docker build -f db/postgres/Dockerfile -t hb/postgres .
  docker run -d --name hb-postgres --network host -e PGPORT=16433 -e LISTEN_ADDRESSES=127.0.0.1 \
    -e POSTGRES_USER=bench -e POSTGRES_DB=events -e POSTGRES_PASSWORD=perflab-admin-test -e INIT_SQL= hb/postgres
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.parse
import uuid

import boto3
import psycopg2
import pytest

from runner.contract import S1, S2
from stacks.aws import admin

# Invoke the handler once, then check every project module it loaded came from the zip's layout.
HANDLER_RUN = """
import json, sys, handler
answer = handler.handler(json.loads(sys.argv[1]), None)
ours = {name: module.__file__ for name, module in sys.modules.items()
        if name.split(".")[0] in ("runner", "perflab", "handler")}
assert "runner.verify" in ours and "runner.database" in ours, sorted(ours)
assert all(path.startswith(sys.argv[2]) for path in ours.values()), ours
print(json.dumps(answer))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("db-admin-zip")
    for path, source in admin.SOURCES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / path)
    return root


@pytest.fixture
def invoke(bundle, admin_dsn, aws_environment):
    url = urllib.parse.urlsplit(admin_dsn)
    try:
        psycopg2.connect(admin_dsn, connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        pytest.fail(f"no PostgreSQL for the admin handler test at {url.hostname}:{url.port} ({error}); "
                    f"start one as this module's docstring says, or set PERFLAB_ADMIN_TEST_DSN")
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=f"rds!db-{uuid.uuid4().hex[:8]}", SecretString=json.dumps(
        {"username": urllib.parse.unquote(url.username), "password": urllib.parse.unquote(url.password or "")}))["ARN"]
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PG"))},
                   **aws_environment, "DATABASE_SECRET_ARN": arn, "DB_HOST": url.hostname,
                   "DB_PORT": str(url.port or 5432), "DB_NAME": url.path.lstrip("/"),
                   "DB_SSLMODE": urllib.parse.parse_qs(url.query).get("sslmode", ["prefer"])[0],
                   # No site processing (-S): the project's editable install must not fill in what the zip
                   # lacks; third-party packages (psycopg2, boto3) come from site-packages explicitly.
                   "PYTHONPATH": os.pathsep.join([str(bundle), sysconfig.get_paths()["purelib"]])}

    def call(event: dict, **overrides: str) -> dict:
        done = subprocess.run([sys.executable, "-S", "-c", HANDLER_RUN, json.dumps(event), str(bundle)], cwd=bundle,
                              env={**environment, **overrides}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return call


def _store_events(dsn: str, count: int) -> None:
    """What an API does per event: the contract's two statements in one transaction."""
    event_sql, entity_sql = (re.sub(r"\$\d+", "%s", statement) for statement in (S1, S2))
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        for i in range(count):
            entity = {"entityType": "order", "entityId": f"o-{i}", "data": {"n": i}}
            event_id = str(uuid.uuid4())
            payload = {"eventHeader": {"uuid": event_id}, "eventBody": {"entities": [entity]}}
            cursor.execute(event_sql, (event_id, "created", "order", "2026-01-01T00:00:00Z",
                                       "2026-01-01T00:00:01Z", json.dumps(payload)))
            cursor.execute(entity_sql, ("order", f"o-{i}", json.dumps({"n": i})))
            conn.commit()
    conn.close()


def test_reset_counts_snapshot_and_verify_work_as_the_runner_does_locally(invoke, admin_dsn):
    assert invoke({"action": "schema"}) == {"action": "schema", "result": {"applied": True}}
    assert invoke({"action": "reset"})["result"] == {"reset": True}

    _store_events(admin_dsn, 3)
    # Verification first: the statistics must hold only the APIs' statements (the runner's order too).
    verified = invoke({"action": "verify", "acknowledged": 3})["result"]
    assert verified["passed"] is True, verified["details"]
    assert verified["statements"] == {"eventInsertCalls": 3, "entityUpsertCalls": 3, "otherStatementsOnTables": []}
    # A run that claims more than the database holds fails, as locally.
    short = invoke({"action": "verify", "acknowledged": 4})["result"]
    assert short["passed"] is False and "4 events acknowledged but 3 persisted" in short["details"]
    assert invoke({"action": "counts"})["result"] == {"events": 3, "entities": 3}
    snapshot = invoke({"action": "snapshot", "top": 20})["result"]
    assert S1 in [s["query"] for s in snapshot["topStatements"]]
    assert snapshot["serverVersion"].startswith("15")

    invoke({"action": "reset"})
    assert invoke({"action": "counts"})["result"] == {"events": 0, "entities": 0}
    assert S1 not in [s["query"] for s in invoke({"action": "snapshot"})["result"]["topStatements"]]


def test_bad_requests_and_failures_are_answered_without_secrets(invoke, admin_dsn):
    assert invoke({"action": "drop"}) == {
        "error": "unknown action 'drop'; one of schema, reset, counts, snapshot, verify"}
    assert invoke({"action": "verify", "acknowledged": -1}) == {
        "action": "verify", "error": "acknowledged must be a whole number >= 0, not -1"}
    password = urllib.parse.unquote(urllib.parse.urlsplit(admin_dsn).password or "")
    unreachable = invoke({"action": "counts"}, DB_PORT="1")  # nothing listens on port 1
    assert unreachable["error"].startswith("database: ") and password not in json.dumps(unreachable)
    missing = invoke({"action": "counts"}, DATABASE_SECRET_ARN="")
    assert missing == {"action": "counts", "error": "DATABASE_SECRET_ARN is not set"}
