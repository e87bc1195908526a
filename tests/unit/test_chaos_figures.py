"""`bench chaos`'s figures from raw samples (runner/chaos.py), without a stack: the error window, the recovery,
the metrics database's history comparison, the scenarios' load shapes, and the results model's chaos fields.
The scenarios themselves run against the stack in tests/chaos/."""
from __future__ import annotations

import copy
import datetime
import gzip
import json
import pathlib

import pytest

from perflab import catalogue, results
from perflab.catalogue import ROOT
from perflab.durations import iso
from runner import chaos

T0 = datetime.datetime(2026, 11, 28, 4, 15, tzinfo=datetime.UTC)
FIXTURE = ROOT / "tests/reports/fixtures/20261128T041500Z-3f9c2a/run.json"


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def write_samples(path: pathlib.Path, rows: list[tuple[float, float, str, bool]]) -> pathlib.Path:
    """loadgen's raw samples: (send second, latency ms, code, ok), in no particular order (as loadgen writes)."""
    with gzip.open(path, "wt") as handle:
        handle.write("start_unix_ns,latency_us,phase,code,ok\n")
        for sent, latency_ms, code, ok in rows:
            handle.write(f"{int(at(sent).timestamp() * 1e9)},{int(latency_ms * 1000)},10vus,{code},{int(ok)}\n")
    return path


def outage(tmp_path: pathlib.Path) -> list[chaos.Answer]:
    """10 s of requests every 100 ms, 5 ms each; 503s answered from 3.0 s to 5.0 s, one slow 503 (800 ms)."""
    rows = []
    for k in range(100):
        sent = k / 10
        failed = 3.0 <= sent < 5.0
        rows.append((sent, 5.0, "503" if failed else "200", not failed))
    rows.append((4.5, 800.0, "503", False))
    return chaos.read_answers(write_samples(tmp_path / "samples.csv.gz", list(reversed(rows))))


def test_the_error_window_is_the_failed_answers_span_by_code(tmp_path):
    window = chaos.error_window(outage(tmp_path))
    assert window == {"firstErrorAt": iso(at(3.005)), "lastErrorAt": iso(at(5.3)), "seconds": 2.295, "count": 21,
                      "byCode": {"503": 21}, "latencyMsMin": 5.0, "latencyMsMax": 800.0}


def test_no_failure_no_window(tmp_path):
    answers = chaos.read_answers(write_samples(tmp_path / "s.csv.gz", [(0.1, 2.0, "200", True)]))
    assert chaos.error_window(answers) is None


def test_recovery_counts_from_the_fault_end_to_the_first_success_after_the_last_failure(tmp_path):
    answers = outage(tmp_path)
    # The fault ended at 4.9 s; the slow 503 came at 5.3 s; the first success after it was sent at 5.3 s.
    recovered, seconds = chaos.recovery(answers, at(4.9))
    assert recovered == at(5.305) and seconds == pytest.approx(0.405)
    # A fault that ended after every failure: the first success after its end.
    recovered, seconds = chaos.recovery(answers, at(7.0))
    assert recovered == at(7.005) and seconds == pytest.approx(0.005)


def test_no_success_after_the_fault_is_no_recovery(tmp_path):
    answers = chaos.read_answers(write_samples(tmp_path / "s.csv.gz", [(0.0, 1.0, "200", True),
                                                                      (1.0, 1.0, "503", False)]))
    assert chaos.recovery(answers, at(0.5)) == (None, None)


def test_the_history_comparison_names_added_changed_and_missing_runs():
    before = {"a": ("d1", 2, 8), "b": ("d2", 1, 4), "c": ("d3", 1, 1)}
    after = {"a": ("d1", 2, 8), "b": ("d2-changed", 1, 4), "new": ("d4", 2, 2)}
    figures = chaos.compare_history(before, after)
    assert figures == {"runsBefore": 3, "runsAfter": 3, "resultsBefore": 4, "resultsAfter": 5, "phasesBefore": 13,
                       "phasesAfter": 14, "addedRuns": ["new"], "changedRuns": ["b"], "missingRuns": ["c"]}


def test_each_scenario_holds_long_enough_for_its_fault_and_the_recovery_limit():
    options = chaos.ChaosOptions(scenarios=list(chaos.SCENARIOS), apis=[catalogue.api("go-rest")])
    for scenario in ("db-restart", "db-connections"):
        hold = options.hold_seconds_for(scenario)
        fault = options.outage_seconds if scenario == "db-restart" else options.exhaustion_seconds
        assert hold >= options.fault_after_seconds + fault + chaos.RECOVERY_LIMIT_SECONDS
    assert chaos.ChaosOptions(scenarios=["db-restart"], apis=[], hold_seconds=42).hold_seconds_for("db-restart") == 42


@pytest.mark.parametrize("scenarios, apis, message", [
    (["db-restart", "db-crash"], ["go-rest"], "unknown scenario db-crash"),
    ([], ["go-rest"], "unknown scenario"),
    (["api-kill"], ["go-rest"], "api-kill needs two APIs"),
    (["db-restart"], [], "no API"),
])
def test_options_that_cannot_run_are_refused(scenarios, apis, message):
    options = chaos.ChaosOptions(scenarios=scenarios, apis=[catalogue.api(name) for name in apis])
    with pytest.raises(chaos.ChaosError, match=message):
        options.check()


def test_the_results_model_holds_the_chaos_figures():
    document = json.loads(FIXTURE.read_text())
    document["mode"] = "chaos"
    check = {"name": "recovered within 10 s", "passed": True, "detail": "0.2 s"}
    document["results"][0]["chaos"] = {
        "scenario": "db-restart", "fault": {"action": "docker stop", "target": "perflab-postgres",
                                            "startedAt": iso(at(3)), "endedAt": iso(at(6)), "seconds": 3.0},
        "errorWindow": {"firstErrorAt": iso(at(3)), "lastErrorAt": iso(at(6)), "seconds": 3.0, "count": 5,
                        "byCode": {"503": 5}, "latencyMsMin": 1.0, "latencyMsMax": 2.0},
        "recoveredAt": iso(at(6.2)), "recoverySeconds": 0.2, "unavailableCountedAmbiguous": 5,
        "checks": [check], "passed": True}
    document["chaos"] = [{"name": "db-restart", "apis": ["go-rest"], "passed": True, "checks": [check]}]
    model = results.validate(document)
    assert model.results[0].chaos is not None and model.results[0].chaos.recovery_seconds == 0.2
    assert results.validate(model.to_dict()) == model
    broken = copy.deepcopy(document)
    broken["chaos"][0]["name"] = "db-crash"
    with pytest.raises(results.ResultsError, match="chaos.0.name"):
        results.validate(broken)
