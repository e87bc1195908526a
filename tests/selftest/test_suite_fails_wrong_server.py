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
    process = subprocess.Popen([sys.executable, "-m", "tests.selftest.wrong_server", str(PORT), selftest_db.dsn],
                               cwd=ROOT)
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
