"""The short fuzz run of CI (scripts/test): `bench fuzz`'s job on every API of the deployed local stack, 100
requests each (`bench fuzz` sends 1,000 by default). A fixed seed, so every CI run sends the same inputs; a
failure shows its first findings, each with the exact input sent."""
from __future__ import annotations

import json
import pathlib

import pytest

from perflab import catalogue
from runner import fuzz, stack

REQUESTS = 100
SEED = 1


@pytest.fixture(scope="module")
def outputs():
    return stack.up("local", log=lambda line: None)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("fuzz-results")  # never the user's results/


@pytest.mark.parametrize("service", catalogue.APIS, ids=[service.name for service in catalogue.APIS])
def test_api_survives_fuzzing(service, outputs, results_dir):
    report = fuzz.run([service], outputs, results_dir, requests_wanted=REQUESTS, seed=SEED, log=lambda line: None)
    [result] = report.results
    findings = "\n".join(f"{f.kind}: {f.detail}\n  request: {f.request[:500]}\n  response: {f.response[:300]}"
                         for f in result.findings[:5])
    assert result.ok, f"{result.problem}\n{findings}"
    assert result.requests == REQUESTS
    assert result.server_errors == result.violations == result.rejected_writes == 0
    summary = json.loads(report.summary_path.read_text()) if report.summary_path else {}
    assert summary["apis"][0]["requests"] == REQUESTS and summary["ok"] is True
