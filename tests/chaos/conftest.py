"""Fixtures of the `bench chaos` tests: the deployed local stack, the APIs to fault, a temporary results directory."""
from __future__ import annotations

import pathlib

import pytest

from perflab import catalogue
from runner import stack


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("chaos").addoption(
        "--chaos-api", action="append", default=[],
        help="run db-restart and db-connections against this API only (repeatable; default: every API the stack "
             "deployed); api-kill uses the first two, interrupt the first")


@pytest.fixture(scope="session")
def outputs() -> dict:
    # scripts/test brings the stack up right before (bench up local): reused as it is; else brought up here.
    return stack.outputs("local") or stack.up("local", log=lambda line: None)


@pytest.fixture(scope="session")
def apis(outputs, request) -> list[catalogue.Service]:
    names = request.config.getoption("--chaos-api") or [s.name for s in catalogue.APIS if s.name in outputs["apis"]]
    return [catalogue.api(name) for name in names]


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory) -> pathlib.Path:
    # Never the user's results/: `bench runs` and `bench report latest` must not see test runs.
    return tmp_path_factory.mktemp("chaos-results")
