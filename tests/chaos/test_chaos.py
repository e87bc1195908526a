"""`bench chaos` on the local stack at a short scale: each scenario injects its fault into real containers
under the real load generator, and the figures of the results document are checked — the error window and
its codes, the recovery time, the connection slots held, the latency bound, the killed API's result, the
metrics database's history, what an interrupted `bench run` left behind — not only the exit status.

Like tests/runner, these use the deployed local stack (reused when it is up) and leave it up; scripts/test
takes it down at the end. Results go to a temporary directory, never the user's results/, and every
container a scenario starts is removed (or stopped, for the stack's own APIs) before it returns.
db-restart and db-connections run against every API the stack deployed (`--chaos-api NAME` narrows them).
"""
from __future__ import annotations

import json

import docker
import psycopg2
import pytest
from click.testing import CliRunner

from perflab import results as results_model
from perflab import settings as config
from perflab.durations import parse_time
from runner import chaos
from runner.cli import main

UNAVAILABLE = {"503", "UNAVAILABLE"}


def chaos_run(scenario: str, apis, outputs, results_dir) -> dict:
    options = chaos.ChaosOptions(scenarios=[scenario], apis=apis, results_dir=results_dir,
                                 command=f"bench chaos {scenario}")
    document = chaos.ChaosRunner(options, outputs, config.load("local"), log=print).run()
    results_model.validate(document)
    for result in document["results"]:
        figures = result["chaos"]
        window = figures["errorWindow"] or {}
        print(f"{scenario} {result['api']}: fault {(figures['fault'] or {}).get('seconds')} s, error window "
              f"{window.get('seconds')} s ({window.get('firstErrorAt')} to {window.get('lastErrorAt')}), "
              f"{window.get('byCode')}, slowest error {window.get('latencyMsMax')} ms, recovery "
              f"{figures['recoverySeconds']} s, connections {figures['connections']}")
    return document


def stored_runs(outputs) -> dict[str, int]:
    with psycopg2.connect(outputs["metricsDatabase"]["dsn"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT r.run_id, count(s.result_id) FROM runs r LEFT JOIN results s USING (run_id) "
                       "GROUP BY r.run_id")
        runs = dict(cursor.fetchall())
    conn.close()
    return runs


def within(moment: str, start: str, end: str) -> bool:
    return parse_time(start) <= parse_time(moment) <= parse_time(end)


def problems_under_database_fault(result: dict) -> list[str]:
    """What the contract's outage rule forbids, read from one measurement's figures."""
    figures, verification = result["chaos"], result["verification"] or {}
    fault, window, (hold,) = figures["fault"], figures["errorWindow"], result["phases"]
    problems = []
    if not (fault and fault["endedAt"] and within(fault["startedAt"], hold["start"], hold["end"])
            and within(fault["endedAt"], hold["start"], hold["end"])):
        problems.append(f"the fault was not inside the hold: {fault}")
    if window is None or not window["count"]:
        problems.append("no request failed during the fault")
    else:
        if set(window["byCode"]) - UNAVAILABLE:
            problems.append(f"answers other than 503 / UNAVAILABLE: {window['byCode']}")
        if fault and parse_time(window["firstErrorAt"]) < parse_time(fault["startedAt"]):
            problems.append(f"a failure before the fault: {window['firstErrorAt']}")
    if figures["recoverySeconds"] is None or figures["recoverySeconds"] > chaos.RECOVERY_LIMIT_SECONDS:
        problems.append(f"recovery {figures['recoverySeconds']} s")
    if not (verification.get("passed") and verification["persisted"] >= verification["acknowledged"] > 0):
        problems.append(f"verification: {verification.get('details')}")
    if result["status"] != "passed" or not figures["passed"]:
        problems.append(f"status {result['status']}: {result['problem']}")
    return problems


def test_db_restart_answers_503_and_recovers_within_10_s(outputs, apis, results_dir):
    document = chaos_run("db-restart", apis, outputs, results_dir)
    assert [r["api"] for r in document["results"]] == [api.name for api in apis]
    failures = {r["api"]: p for r in document["results"] if (p := problems_under_database_fault(r))}
    for result in document["results"]:
        fault = result["chaos"]["fault"]
        assert fault["target"] == outputs["database"]["container"] and fault["seconds"] >= 2.0  # the outage held
        # A 503 under the fault counts as possibly stored, never as acknowledged.
        unavailable = sum(n for code, n in (result["chaos"]["errorWindow"] or {}).get("byCode", {}).items()
                          if code in UNAVAILABLE)
        assert result["chaos"]["unavailableCountedAmbiguous"] == unavailable
    assert not failures, json.dumps(failures, indent=1)
    (scenario,) = document["chaos"]
    assert scenario["name"] == "db-restart" and scenario["passed"]


def test_db_connections_exhausted_answers_503_within_the_acquire_timeout(outputs, apis, results_dir):
    document = chaos_run("db-connections", apis, outputs, results_dir)
    failures = {}
    for result in document["results"]:
        problems = problems_under_database_fault(result)
        connections = result["chaos"]["connections"]
        if connections is None:
            problems.append("the connection slots were never all held")
        else:
            # Every slot the APIs could use: the superuser reserve too (the APIs connect as a superuser).
            if connections["connectionsHeld"] < connections["maxConnections"] - connections["superuserReservedConnections"]:
                problems.append(f"only {connections['connectionsHeld']} connections held: {connections}")
            if connections["apiConnectionsTerminated"] < 1:
                problems.append("the API held no connection to end")
            bound = chaos.ACQUIRE_TIMEOUT_MS + (chaos.HANG_MARGIN_SECONDS + connections["apiPausedSeconds"]) * 1000
            if connections["latencyMsMax"] is None or connections["latencyMsMax"] > bound:
                problems.append(f"a request took {connections['latencyMsMax']} ms under the fault (bound {bound} ms)")
            window = result["chaos"]["errorWindow"] or {}
            if window and not within(window["lastErrorAt"], connections["exhaustedAt"],
                                     "9999-12-31T00:00:00Z"):
                problems.append("no failure after every slot was held")
        if problems:
            failures[result["api"]] = problems
    assert not failures, json.dumps(failures, indent=1)


def test_api_kill_fails_that_api_runs_the_next_and_keeps_the_history(outputs, apis, results_dir):
    killed, following = apis[0], apis[1]
    before = stored_runs(outputs)
    result = CliRunner().invoke(main, ["chaos", "api-kill", "--api", killed.name, "--api", following.name,
                                       "--results-dir", str(results_dir)], catch_exceptions=False)
    print(result.output)
    assert result.exit_code == 0, result.output
    document = json.loads(max(results_dir.glob("*/run.json"), key=lambda p: p.stat().st_mtime).read_text())
    first, second = document["results"]
    assert (first["api"], first["status"]) == (killed.name, "failed")
    assert "the API stopped during the measurement" in first["problem"] and "exited with code 137" in first["problem"]
    assert first["chaos"]["apiExit"]["exitCode"] == 137
    assert within(first["chaos"]["fault"]["startedAt"], first["phases"][0]["start"], first["phases"][0]["end"])
    assert set(first["chaos"]["errorWindow"]["byCode"]) <= {"transport", "UNAVAILABLE"}  # nothing answers any more
    assert first["verification"]["passed"]  # what it acknowledged before it died is stored
    assert (second["api"], second["status"], second["chaos"]["fault"]) == (following.name, "passed", None)
    assert second["verification"]["persisted"] == second["verification"]["acknowledged"] > 0
    (scenario,) = document["chaos"]
    history = scenario["metricsDatabase"]
    assert scenario["passed"] and history["addedRuns"] == [document["runId"]]
    assert history["changedRuns"] == history["missingRuns"] == []
    after = stored_runs(outputs)
    assert {run: count for run, count in after.items() if run != document["runId"]} == before
    assert after[document["runId"]] == 2 and history["runsAfter"] == history["runsBefore"] + 1 == len(after)


def test_interrupt_tears_down_and_keeps_the_partial_results(outputs, apis, results_dir):
    document = chaos_run("interrupt", apis[:1], outputs, results_dir)
    (scenario,) = document["chaos"]
    figures = scenario["interrupt"]
    print(json.dumps(figures, indent=1))
    assert scenario["passed"], scenario["checks"]
    assert figures["signalAt"] and figures["exitCode"] not in (None, 0)
    assert figures["teardownSeconds"] < chaos.TEARDOWN_TIMEOUT_SECONDS
    assert figures["generatorContainers"] and figures["leftRunning"] == []
    client = docker.from_env()
    assert not client.containers.list(all=True, filters={"label": "perflab.role=loadgen"})
    for name in outputs["apis"][apis[0].name]["containers"]:
        assert client.containers.get(name).status != "running"
    interrupted = results_model.load(results_dir / document["runId"] / figures["resultsFile"])
    assert interrupted.interrupted and interrupted.run_id == figures["runId"]
    (partial,) = interrupted.results
    assert "interrupted" in (partial.problem or "") and partial.phases and partial.phases[0].requests > 0
    assert figures["partialRequests"] == sum(p.requests for p in partial.phases)
    assert figures["loadedInMetricsDatabase"] and figures["runId"] in stored_runs(outputs)


@pytest.fixture(autouse=True)
def no_container_left_behind(outputs):
    yield
    client = docker.from_env()
    assert not client.containers.list(all=True, filters={"label": "perflab.role=loadgen"})
    assert client.containers.get(outputs["database"]["container"]).status == "running"
