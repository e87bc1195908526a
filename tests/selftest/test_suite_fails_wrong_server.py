"""The conformance suite must be able to fail: run it against a server that skips validation."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import docker
import pytest

from perflab import settings as stack_config
from perflab.catalogue import ROOT, SUT_DATABASE
from runner import containers, database, images, readiness

SELFTEST_DB = dataclasses.replace(SUT_DATABASE, name="postgres-selftest", port=5439)
PORT = 18999
POOL_MAX = 4  # the wrong server's pool, and the --db-pool-max the suite is told
AUTH_KEY = "selftest-key-of-at-least-32-bytes-for-hs256"  # the wrong server ignores tokens: a defect under test
# One case of each newer rule, each of whose parametrizations must fail against the wrong server.
MUST_FAIL = {
    "authentication": "test_event_without_a_valid_token_is_401_and_writes_nothing",
    "connection wait (DB_ACQUIRE_TIMEOUT)": "test_request_beyond_the_pool_waits_the_acquire_timeout_then_503",
    "client disconnect": "test_event_of_a_client_that_went_away_is_stored_once",
    "number length": "test_number_of_101_characters_rejected",
}


@pytest.fixture(scope="module")
def selftest_db():
    client = docker.from_env()
    cfg = stack_config.load("local")
    reference = images.prepare([SELFTEST_DB], client, log=lambda *a: None)[SELFTEST_DB.name]
    db = containers.start_database(client, SELFTEST_DB, reference, cfg)
    database.reset(db.dsn)
    yield db
    containers.remove(client, SELFTEST_DB)


@pytest.fixture(scope="module")
def wrong_server(selftest_db):
    process = subprocess.Popen([sys.executable, "-m", "tests.selftest.wrong_server", str(PORT), selftest_db.dsn,
                                str(POOL_MAX)], cwd=ROOT)
    try:
        readiness.wait(readiness.http_ready(f"http://127.0.0.1:{PORT}/api/v1/events/health"), timeout=20)
        yield f"http://127.0.0.1:{PORT}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_suite_reports_the_missing_validation(wrong_server, selftest_db, tmp_path):
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "tests/conformance"), "-q", "-p",
                    "no:cacheprovider", "--dsn", selftest_db.dsn, "--rest-url", wrong_server, "--no-db-outage",
                    "--auth-key", AUTH_KEY, "--db-pool-max", str(POOL_MAX), "--db-acquire-timeout-ms", "1500",
                    f"--junitxml={junit}"], cwd=ROOT, capture_output=True, timeout=600)
    outcomes = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[case.get("name")] = "failed" if failed else "passed"
    validation = {name: outcome for name, outcome in outcomes.items()
                  if name.startswith("test_invalid_event_rejected")}
    assert len(validation) >= 30, f"too few validation cases collected: {len(validation)}"
    passed_validation = [name for name, outcome in validation.items() if outcome == "passed"]
    assert not passed_validation, f"the suite let a non-validating server pass: {passed_validation}"
    # The same run proves the suite is not simply broken: the server's correct parts pass.
    def outcome(test: str) -> str | None:
        return next((o for name, o in outcomes.items() if name.split("[")[0] == test), None)

    assert outcome("test_update_merges_top_level_keys") == "passed"
    assert outcome("test_duplicate_uuid_is_applied_once") == "passed"
    for rule, test in MUST_FAIL.items():
        cases = {name: o for name, o in outcomes.items() if name.split("[")[0] == test}
        assert cases, f"no {rule} case collected ({test})"
        passed = [name for name, o in cases.items() if o == "passed"]
        assert not passed, f"the suite let a server that breaks the {rule} rule pass: {passed}"
    # Tokens reach the server, and a 100-character number goes through: those cases can pass.
    assert outcome("test_event_with_a_valid_token_is_processed") == "passed"
    assert any(o == "passed" for name, o in outcomes.items()
               if name.startswith("test_number_of_100_characters_stored_with_its_digits") and "integer" in name)
