"""Shared fixtures of the report tests: the committed results documents and golden-file checks.

Golden files live in tests/reports/golden/; after an intended change, re-create them with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports` and review the diff.
"""
from __future__ import annotations

import os
import pathlib
import shutil

import pytest

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
RUN_A = "20261128T041500Z-3f9c2a"
RUN_B = "20261129T041500Z-8d1e07"  # go-rest 10 % slower than in RUN_A
SMOKE_RUN = "20261130T041500Z-5e0a11"  # every API of the catalogue, 5 requests, sampled once a second


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual)
    assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1"
    assert actual == path.read_text(), f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


@pytest.fixture
def results_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A writable copy of the committed runs, as `bench run` would have left them."""
    target = tmp_path / "results"
    for run_id in (RUN_A, RUN_B, SMOKE_RUN):
        shutil.copytree(FIXTURES / run_id, target / run_id)
    return target


@pytest.fixture
def chromium() -> str:
    """CI installs chromium (`apt-get install -y chromium`); without it these tests fail, never skip."""
    from reports import browser

    try:
        return browser.find_chromium()
    except browser.BrowserError as error:
        pytest.fail(str(error))
