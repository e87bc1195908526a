"""Fixtures of the `bench run` end-to-end tests: the deployed local stack and a results directory per module."""
from __future__ import annotations

import pathlib

import pytest

from runner import stack


@pytest.fixture(scope="module")
def outputs():
    return stack.up("local", log=lambda line: None)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> pathlib.Path:
    # Never the user's results/: `bench runs` and `bench report latest` must not see test runs.
    return tmp_path_factory.mktemp("results")
