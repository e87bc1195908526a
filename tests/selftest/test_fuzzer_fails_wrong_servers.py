"""The fuzzer must be able to fail: run it against servers with known defects (fuzz_wrong_servers.py) and
require it to report each one: server errors, schema violations, writes by rejected requests, a crash."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import docker
import pytest

from perflab import settings as stack_config
from perflab.catalogue import ROOT, SUT_DATABASE
from runner import containers, database, fuzz, images, readiness

FUZZ_DB = dataclasses.replace(SUT_DATABASE, name="postgres-fuzz-selftest", port=18690)
PORTS = {"rest": 18691, "grpc": 18692, "grpcweb": 18693}
REQUESTS = 120
SEED = 20260101


@pytest.fixture(scope="module")
def fuzz_db():
    client = docker.from_env()
    cfg = stack_config.load("local")
    reference = images.prepare([FUZZ_DB], client, log=lambda *a: None)[FUZZ_DB.name]
    db = containers.start_database(client, FUZZ_DB, reference, cfg)
    yield db
    containers.remove(client, FUZZ_DB)


@pytest.fixture
def wrong_server(request, fuzz_db):
    kind = request.param
    database.reset(fuzz_db.dsn)
    port = PORTS[kind]
    process = subprocess.Popen([sys.executable, "-m", "tests.selftest.fuzz_wrong_servers", kind, str(port),
                                fuzz_db.dsn], cwd=ROOT)
    probe = {"rest": readiness.http_ready(f"http://127.0.0.1:{port}/api/v1/events/health"),
             "grpc": readiness.grpc_ready(f"127.0.0.1:{port}"),
             "grpcweb": readiness.grpcweb_ready(f"http://127.0.0.1:{port}")}[kind]
    try:
        readiness.wait(probe, timeout=30)
        yield kind, f"127.0.0.1:{port}" if kind == "grpc" else f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _fuzz(wrong_server, fuzz_db) -> fuzz.FuzzResult:
    kind, endpoint = wrong_server
    return fuzz.fuzz_api(f"wrong-{kind}", kind, endpoint, fuzz_db.dsn, requests_wanted=REQUESTS, seed=SEED,
                         time_limit=300)


@pytest.mark.parametrize("wrong_server", ["rest"], indirect=True)
def test_rest_server_errors_schema_violations_and_rejected_writes_are_reported(wrong_server, fuzz_db):
    result = _fuzz(wrong_server, fuzz_db)
    kinds = {finding.kind for finding in result.findings}
    assert result.requests == REQUESTS, result.problem
    assert result.server_errors > 0, "the bulk endpoint's 500s were not reported"
    assert result.violations > 0, "answers without `duplicate` passed the schema"
    assert result.rejected_writes > 0, "events written before a 400 went unnoticed"
    assert {fuzz.SERVER_ERROR, fuzz.VIOLATION, fuzz.REJECTED_WRITE} <= kinds
    assert not result.ok
    # The same run shows the fuzzer's judging is not simply broken: some answers passed every check.
    assert result.statuses["4xx"] > result.rejected_writes


@pytest.mark.parametrize("wrong_server", ["grpc"], indirect=True)
def test_grpc_unknown_status_bad_responses_and_rejected_writes_are_reported(wrong_server, fuzz_db):
    result = _fuzz(wrong_server, fuzz_db)
    assert result.requests == REQUESTS, result.problem
    assert result.statuses["UNKNOWN"] > 0, result.statuses
    assert result.server_errors >= result.statuses["UNKNOWN"]
    assert result.violations > 0, "OK with success=false passed"
    assert result.rejected_writes > 0, "events written before INVALID_ARGUMENT went unnoticed"
    assert result.healthy_after is True and not result.ok


@pytest.mark.parametrize("wrong_server", ["grpcweb"], indirect=True)
def test_grpcweb_server_errors_and_a_crash_are_reported(wrong_server, fuzz_db):
    result = _fuzz(wrong_server, fuzz_db)
    assert result.healthy_after is False, "the server's exit went unnoticed"
    assert "health" in result.problem
    assert any(finding.kind == fuzz.CRASH for finding in result.findings)
    assert result.requests < REQUESTS  # the run stopped at the crash
    assert not result.ok
