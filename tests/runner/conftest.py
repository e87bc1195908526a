"""Fixtures of the `bench run` end-to-end tests: the deployed local stack and a results directory per module."""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import psycopg2
import pytest

from runner import stack


@pytest.fixture(scope="module")
def outputs():
    return stack.up("local", log=lambda line: None)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> pathlib.Path:
    # Never the user's results/: `bench runs` and `bench report latest` must not see test runs.
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="session", autouse=True)
def runs_of_these_tests_leave_the_run_history(tmp_path_factory) -> Iterator[None]:
    """`bench run` loads every run into the stack's metrics database, whose volume outlives `bench down`:
    the user's run history. At the end, the runs of these tests leave it again (when the stack is up)."""
    yield
    run_ids = [path.parent.name for path in tmp_path_factory.getbasetemp().glob("results*/*/run.json")]
    dsn = (stack.outputs("local").get("metricsDatabase") or {}).get("dsn")
    if not run_ids or not dsn:
        return
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("DELETE FROM runs WHERE run_id = ANY(%s)", (run_ids,))
    except psycopg2.Error:  # never migrated: nothing was loaded
        pass
    finally:
        conn.close()
