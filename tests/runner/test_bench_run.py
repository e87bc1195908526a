"""`bench run` end to end on the local stack: real APIs, the real load generator, real docker stats.

These tests bring the local stack up with every API of the catalogue (idempotent: a stack already up is
reused) and leave it up for the next test module; `scripts/test` takes it down at the end.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib

import docker
import psycopg2
import pytest
from click.testing import CliRunner

from perflab import catalogue
from perflab import settings as config
from runner import database, run, stack
from runner.cli import main


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    print(result.output)
    return result


def latest_document(results_dir: pathlib.Path) -> dict:
    newest = max(results_dir.glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(newest.read_text())


def test_smoke_on_every_api_is_verified(outputs, results_dir):
    result = invoke("run", "smoke", "--results-dir", str(results_dir))
    assert result.exit_code == 0
    document = latest_document(results_dir)
    assert [r["api"] for r in document["results"]] == [s.name for s in catalogue.APIS]
    for item in document["results"]:
        assert item["status"] == "passed", (item["api"], item["problem"])
        assert item["verification"]["passed"] and item["verification"]["acknowledged"] == 5
        assert item["verification"]["persisted"] == 5
        (phase,) = item["phases"]
        assert phase["name"] == "smoke" and phase["requests"] == 5 and phase["failures"] == 0
        assert 0 < phase["latencyMs"]["p50"] <= phase["latencyMs"]["p99"]
        # The lab's own cost per API (everything but the generator's iterations), warm machine.
        assert item["overheadSeconds"] is not None
    assert document["environment"]["networkPath"] == "host"
    # The same results are in the metrics database, percentiles included (the original lab stored NULL).
    with psycopg2.connect(outputs["metricsDatabase"]["dsn"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), count(p.p95_ms) FROM results r JOIN phases p USING (result_id) "
                       "WHERE r.run_id = %s", (document["runId"],))
        assert cursor.fetchone() == (len(catalogue.APIS), len(catalogue.APIS))
    conn.close()
    assert document["environment"]["versions"]["postgres"].startswith("15.")


def test_report_of_the_smoke_run_renders_offline(outputs, results_dir):
    run_dir = max(results_dir.glob("*/run.json"), key=lambda p: p.stat().st_mtime).parent
    result = invoke("report", str(run_dir))
    assert result.exit_code == 0
    for name in ("report.html", "report.md", "ranking.csv", "ranking.json", "report.png"):
        assert (run_dir / name).stat().st_size > 0, name


@pytest.mark.parametrize("api", ["go-rest", "go-grpc"])
def test_full_mode_shape_gives_per_phase_figures_inside_windows(outputs, results_dir, api):
    result = invoke("run", "full", "--api", api, "--phase-scale", "0.04", "--warmup", "1",
                    "--results-dir", str(results_dir))
    assert result.exit_code == 0
    (item,) = latest_document(results_dir)["results"]
    assert item["status"] == "passed", item["problem"]
    assert [p["name"] for p in item["phases"]] == ["10vus", "50vus", "100vus", "200vus"]
    assert [p["vus"] for p in item["phases"]] == [10, 50, 100, 200]
    for phase in item["phases"]:
        latency = phase["latencyMs"]
        assert phase["requests"] > 0 and phase["throughput"] > 0
        assert latency["p50"] <= latency["p90"] <= latency["p95"] <= latency["p99"] <= latency["p999"] <= latency["max"]
        start, end = run.parse_time(phase["start"]), run.parse_time(phase["end"])
        inside = [s for s in item["resourceSamples"] if start <= run.parse_time(s["t"]) <= end]
        # Holds last 4.8 s and 12 s here: docker stats (one sample a second) must have seen each of them.
        assert {s["role"] for s in inside} >= {"api", "database", "loadgen"}, phase["name"]
        assert phase["resources"]["api"]["cpuSeconds"] > 0
        assert phase["efficiency"]["cpuSecondsPer1kRequests"] > 0
        # The health checks' cost inside the API's cgroup: measured, counted per phase, a small share.
        assert 0 < phase["healthCheckCpuSeconds"] and 0 < phase["healthCheckCpuShare"] < 0.5, phase["name"]
    health = item["healthCheck"]
    assert health["containers"] == [f"perflab-{api}"] and health["probes"] > 0
    assert 0 < health["cpuSecondsPerProbe"] < 0.5 and health["intervalSeconds"] > 0
    verification = item["verification"]
    assert verification["passed"] and verification["persisted"] == verification["acknowledged"] > 1000


def test_verification_catches_an_api_that_acknowledges_without_persisting(outputs, results_dir):
    """go-rest pointed at another database: every answer is a 200, nothing lands where it is verified."""
    client = docker.from_env()
    dsn = outputs["database"]["dsn"]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with conn.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS elsewhere")
        cursor.execute("CREATE DATABASE elsewhere")
    conn.close()
    elsewhere = dsn.rsplit("/", 1)[0] + "/elsewhere"
    database.reset(elsewhere)
    liar = dataclasses.replace(catalogue.api("go-rest"), port=19990)
    image = outputs["apis"]["go-rest"]["image"]
    cfg = config.load("local")
    limits = cfg.limits("api")
    name = "perflab-test-liar"
    try:
        client.containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass
    client.containers.create(image, name=name, network_mode="host", nano_cpus=limits.nano_cpus,
                             mem_limit=limits.memory_bytes,
                             environment={**cfg.api_environment(), "PORT": str(liar.port), "BIND_ADDRESS": "127.0.0.1",
                                          "DATABASE_URL": elsewhere.replace("postgresql://", "postgres://")})
    try:
        fake_outputs = {**outputs, "apis": {"go-rest": {"container": name, "endpoint": f"http://127.0.0.1:{liar.port}"}},
                        "metricsDatabase": {}}
        options = run.RunOptions(mode="smoke", apis=[liar], payload_sizes=["default"], results_dir=results_dir)
        document = run.Runner(options, fake_outputs, cfg, client, log=lambda line: None).run()
    finally:
        client.containers.get(name).remove(force=True)
    (item,) = document["results"]
    assert item["status"] == "failed"
    assert item["verification"]["passed"] is False
    assert item["verification"]["acknowledged"] == 5 and item["verification"]["persisted"] == 0
    assert "5 events acknowledged but 0 persisted" in item["problem"]


def test_the_readme_main_job_with_ephemeral_stack(results_dir):
    """README's main command: `bench run smoke --ephemeral` brings the stack up, measures, takes it down.

    Runs last in this module: it leaves no stack behind."""
    result = invoke("run", "smoke", "--api", "go-rest", "--ephemeral", "--results-dir", str(results_dir))
    assert result.exit_code == 0
    assert latest_document(results_dir)["results"][0]["status"] == "passed"
    assert stack.outputs("local") == {}
    assert not docker.from_env().containers.list(all=True, filters={"label": "perflab.stack=local"})
