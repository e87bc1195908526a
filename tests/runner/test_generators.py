"""`bench run --generators N` on the local stack: the same open-model load run by 1, 2 and 4 generator containers
against one real API gives the same result — the plan's requests exactly, the same latency — and every run
is verified.

Like test_bench_run.py, this brings the local stack up (reused when it is up already) and leaves it up;
`scripts/test` takes it down at the end. Results go to a temporary directory, never the user's results/.
The runs go through `run.Runner` (what `bench run` calls) rather than the command line, so the test does not
depend on the run command's other options (the database reference, on by default for full, is not measured).
"""
from __future__ import annotations

import gzip
import math

import pytest

from perflab import catalogue
from perflab import results as results_model
from perflab import settings as config
from runner import run

API = "go-rest"
RATE = 200.0  # arrivals/s: a small share of what go-rest sustains on the 2-core CI box, so latency is stable
PHASE_SCALE = 0.05  # full's holds of 2, 2, 2, 5 min become 6, 6, 6, 15 s: 1200, 1200, 1200, 3000 requests
WARMUP_SECONDS = 2.0
COUNTS = (1, 2, 4)


@pytest.fixture(scope="module")
def documents(outputs, results_dir) -> dict[int, dict]:
    """One run per generator count, the same load: full's shape at RATE arrivals/s on one API."""
    cfg = config.load("local")
    documents = {}
    for count in COUNTS:
        options = run.RunOptions(mode="full", apis=[catalogue.api(API)], payload_sizes=["default"],
                                 phase_scale=PHASE_SCALE, rate=RATE, warmup_seconds=WARMUP_SECONDS,
                                 results_dir=results_dir, generators=count,
                                 command=f"bench run full --api {API} --rate {RATE} --generators {count}")
        documents[count] = run.Runner(options, outputs, cfg, log=print).run()
    return documents


def planned_requests(document: dict) -> list[int]:
    """Requests each phase's plan holds: the rate times the hold, from the generator's own shapes."""
    shapes = run.run_shapes(run.RunOptions(mode="full", apis=[], payload_sizes=["default"], phase_scale=PHASE_SCALE,
                                           warmup_seconds=WARMUP_SECONDS))
    return [round(RATE * phase.hold_seconds) for phase in shapes.mode(document["mode"]).phases]


@pytest.mark.parametrize("count", COUNTS)
def test_every_run_is_verified_and_sends_the_plan_exactly(documents, results_dir, count):
    document = documents[count]
    results_model.validate(document)
    assert document["config"]["generators"] == count
    (item,) = document["results"]
    assert item["status"] == "passed", item["problem"]
    verification = item["verification"]
    assert verification["passed"] and verification["persisted"] == verification["acknowledged"]
    phases = item["phases"]
    for phase, planned in zip(phases, planned_requests(document), strict=True):
        # Open model: every scheduled arrival is sent, split i mod N; one request per generator of slack.
        assert abs(phase["requests"] - planned) <= count, (phase["name"], phase["requests"], planned)
        assert phase["failures"] == 0 and phase["rate"] == RATE
        latency = phase["latencyMs"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    # Every generator's rows are in the one raw samples file (warm-up and holds: every request sent).
    with gzip.open(results_dir / document["runId"] / item["rawSamples"], "rt") as handle:
        rows = sum(1 for _ in handle) - 1
    assert rows == verification["acknowledged"] + verification["ambiguous"]


@pytest.mark.parametrize("count", [c for c in COUNTS if c > 1])
def test_each_generator_gets_its_share_of_the_load_and_of_the_cpu(documents, count):
    (item,) = documents[count]["results"]
    limit = config.load("local").limits("loadgen").cpus
    for phase in item["phases"]:
        generators = phase["generators"]
        assert [g["segment"] for g in generators] == [f"{k}/{count}" for k in range(1, count + 1)]
        assert sum(g["requests"] for g in generators) == phase["requests"]
        for g in generators:
            assert abs(g["requests"] - phase["requests"] / count) <= 1
            assert g["cpuLimit"] == pytest.approx(limit / count)
            assert g["cpuPercentAvg"] is not None and g["cpuPercentAvg"] > 0
            assert g["saturated"] is False  # RATE / N arrivals/s are far below a generator's share
        assert phase["generatorSaturated"] is False
        assert {s["container"] for s in item["resourceSamples"] if s["role"] == "loadgen"} == \
            {g["container"] for g in generators}


@pytest.mark.parametrize("count", COUNTS)
def test_merged_percentiles_are_those_of_every_request(documents, results_dir, count):
    """The merge is exact: each phase's p50/p95/p99 from the merged histograms equal the percentiles of the
    union of every generator's requests (the raw samples), within the histograms' 3 significant digits.

    Whether N generators measure the same latency as one is a different question — one of noise on a shared
    host, not of the merge: the figures are printed here side by side (pytest -s) and reported from a quiet
    machine, not asserted (performance is checked by benchmarks that print figures, not by timed tests)."""
    document = documents[count]
    (item,) = document["results"]
    latencies: dict[str, list[float]] = {}
    with gzip.open(results_dir / document["runId"] / item["rawSamples"], "rt") as handle:
        next(handle)
        for line in handle:
            _start, latency_us, phase, _code, _ok = line.rstrip("\n").split(",")
            latencies.setdefault(phase, []).append(int(latency_us) / 1000)
    for phase in item["phases"]:
        values = sorted(latencies[phase["name"]])
        assert len(values) == phase["requests"]
        for name, quantile in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            exact = values[max(math.ceil(quantile * len(values)) - 1, 0)]
            merged = phase["latencyMs"][name]
            assert abs(merged - exact) <= 0.002 * exact + 0.002, (count, phase["name"], name, merged, exact)
    one = max(documents[1]["results"][0]["phases"], key=lambda p: p["requests"])
    many = max(item["phases"], key=lambda p: p["requests"])
    print(f"{count} generator(s), phase {many['name']}: p50 {many['latencyMs']['p50']} ms, "
          f"p95 {many['latencyMs']['p95']} ms (one generator: p50 {one['latencyMs']['p50']} ms, "
          f"p95 {one['latencyMs']['p95']} ms)")
