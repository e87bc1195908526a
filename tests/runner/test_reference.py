"""The database reference in `bench run` on the local stack: pgbench running the contract's transaction at
every phase's concurrency before the APIs, each phase's throughput as a fraction of it, and verification
still exact (the reference's rows and statements never reach an API's).

Brings the local stack up like tests/runner/test_bench_run.py (idempotent) and leaves it up; scripts/test
takes it down at the end.
"""
from __future__ import annotations

import json
import pathlib

import pytest
from click.testing import CliRunner

from runner import reference
from runner.cli import main
from runner.contract import S1


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    print(result.output)
    return result


def latest(results_dir: pathlib.Path) -> tuple[pathlib.Path, dict]:
    newest = max(results_dir.glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    return newest.parent, json.loads(newest.read_text())


def test_a_full_run_measures_the_database_reference_per_phase_and_stays_verified(outputs, results_dir):
    # full: the reference is on by default.
    result = invoke("run", "full", "--api", "go-rest", "--phase-scale", "0.04", "--warmup", "1",
                    "--results-dir", str(results_dir))
    assert result.exit_code == 0
    run_dir, document = latest(results_dir)
    references = document["references"]
    assert [(r["payloadSize"], r["name"], r["vus"]) for r in references] == [
        ("default", "10vus", 10), ("default", "50vus", 50), ("default", "100vus", 100), ("default", "200vus", 200)]
    for record in references:
        # Connections beyond the database's max_connections are capped, and said so.
        assert 1 <= record["clients"] <= record["vus"]
        assert record["transactions"] > 0 and record["tps"] > 0 and record["latencyMsAvg"] > 0
        assert record["failedTransactions"] == 0 and record["entitiesPerTransaction"] == 1
        assert record["command"].startswith("pgbench -n -M prepared -f /reference/pgbench.sql")
        assert reference.split_dsn(outputs["database"]["dsn"])[1] not in record["command"]
    assert [r["clients"] for r in references][:2] == [10, 50]
    assert (run_dir / "reference-default" / "pgbench.sql").exists()
    assert json.loads((run_dir / "reference-default" / "variables.json").read_text())["k"] == "0"
    assert (run_dir / "reference-default" / "10vus.txt").read_text().count("query mode: prepared") == 1

    (item,) = document["results"]
    assert item["status"] == "passed", item["problem"]
    for phase, record in zip(item["phases"], references, strict=True):
        assert phase["reference"] == {"throughput": record["tps"], "p95Ms": None, "tool": "pgbench"}
        assert phase["referenceFraction"] == pytest.approx(phase["throughput"] / record["tps"])
        assert 0 < phase["referenceFraction"]
    # Exact: only the API's own events and statements were counted (the reference ran before, then a reset).
    verification = item["verification"]
    assert verification["passed"] and verification["persisted"] == verification["acknowledged"] > 1000
    calls = verification["statements"]["eventInsertCalls"]
    assert verification["persisted"] <= calls <= verification["persisted"] + verification["ambiguous"]
    top = {s["query"]: s["calls"] for s in item["database"]["topStatements"]}
    assert top[S1] == calls
    assert "of DB limit" in result.output and "database reference (pgbench" in result.output


def test_smoke_runs_without_the_reference_unless_asked(outputs, results_dir):
    assert invoke("run", "smoke", "--api", "go-rest", "--results-dir", str(results_dir)).exit_code == 0
    assert latest(results_dir)[1]["references"] == []
    assert invoke("run", "smoke", "--api", "go-rest", "--reference", "--results-dir", str(results_dir)).exit_code == 0
    _, document = latest(results_dir)
    (record,) = document["references"]
    assert (record["name"], record["clients"], record["transactions"]) == ("smoke", 1, 5)
    (phase,) = document["results"][0]["phases"]
    assert phase["referenceFraction"] == pytest.approx(phase["throughput"] / record["tps"])
    assert document["results"][0]["verification"]["persisted"] == 5
