"""Per-phase figures of `bench run`: thresholds, efficiency, generator saturation, the disk check."""
from __future__ import annotations

import collections
import datetime
import pathlib

import pytest

from perflab.catalogue import APIS
from runner import run, sampler

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def phase(**overrides):
    base = {"name": "50vus", "vus": 50, "start": run.iso(at(2)), "end": run.iso(at(8)), "requests": 6000,
            "failures": 0, "throughput": 1000.0, "latencyMs": {"p95": 12.0, "p99": 30.0}}
    return {**base, **overrides}


def constant(role, cores, memory=50_000_000):
    return [sampler.Sample(role, at(i), int(i * cores * 1e9), cores * 100, memory) for i in range(11)]


def test_efficiency_from_api_cpu_inside_the_phase_window():
    samples = constant("api", 0.5) + constant("database", 0.25) + constant("loadgen", 0.2)
    figures = run.phase_figures(phase(), samples, {"api": 1.0, "database": 1.0, "loadgen": 1.0})
    assert figures["resources"]["api"]["cpuSeconds"] == pytest.approx(3.0)  # 6 s at half a core
    assert figures["efficiency"]["cpuSecondsPer1kRequests"] == pytest.approx(0.5)
    assert figures["efficiency"]["requestsPerCpuSecond"] == pytest.approx(2000.0)
    assert figures["generatorSaturated"] is False


def test_memory_figure_is_megabytes_per_1k_requests_per_second():
    figures = run.phase_figures(phase(), constant("api", 0.5, memory=50_000_000), {"api": 1.0})
    # 50 MB held at 1,000 req/s: 50 MB per 1,000 req/s (not "0.05 MB per request")
    assert figures["efficiency"]["memoryMBPer1kRps"] == pytest.approx(50.0)
    assert "memoryMBPerRequest" not in figures["efficiency"]
    assert figures["resources"]["api"]["memoryPeakBytes"] == 50_000_000


def test_a_phase_shorter_than_the_reading_interval_still_gets_cpu_and_memory():
    # A smoke phase of 30 ms between two cgroup readings 100 ms apart; the API idles around it.
    readings = [sampler.Sample("api", at(2 + k / 10), int(max(0, min(k - 5, 1)) * 6e6), 0.0, 9_000_000 + k)
                for k in range(11)]
    smoke = phase(name="smoke", vus=1, start=run.iso(at(2.52)), end=run.iso(at(2.55)), requests=5, throughput=166.7)
    figures = run.phase_figures(smoke, readings, {"api": 1.0})
    api = figures["resources"]["api"]
    assert api["samples"] == 0 and api["cpuSeconds"] == pytest.approx(0.006)
    assert api["memoryPeakBytes"] == 9_000_006
    assert figures["efficiency"]["cpuSecondsPer1kRequests"] == pytest.approx(1.2)
    assert figures["efficiency"]["memoryMBPer1kRps"] == pytest.approx(9.0000055 / 0.1667, rel=1e-3)


def test_generator_above_80_percent_of_its_allotment_is_flagged():
    samples = constant("api", 0.5) + constant("loadgen", 0.85)
    figures = run.phase_figures(phase(), samples, {"api": 1.0, "database": 1.0, "loadgen": 1.0})
    assert figures["generatorSaturated"] is True
    half = run.phase_figures(phase(), constant("loadgen", 0.45), {"loadgen": 0.5})
    assert half["generatorSaturated"] is True  # 90 % of a half-core allotment


def test_disk_estimate_grows_with_mode_and_payload_but_not_with_apis_for_the_database():
    smoke = run.required_bytes(run.RunOptions(mode="smoke", apis=list(APIS), payload_sizes=["default"]))
    full = run.required_bytes(run.RunOptions(mode="full", apis=list(APIS), payload_sizes=["default", "64k"]))
    one_api = run.required_bytes(run.RunOptions(mode="full", apis=list(APIS)[:1], payload_sizes=["default", "64k"]))
    assert full["database"] > 1000 * smoke["database"]
    # The database is emptied between measurements: it holds the largest one, whatever the API count.
    assert full["database"] == one_api["database"]
    assert full["results"] == pytest.approx(len(APIS) * one_api["results"], rel=1e-6)


def test_run_refuses_when_disk_is_short(monkeypatch, tmp_path):
    class FakeDocker:
        def info(self):
            return {"DockerRootDir": str(tmp_path)}

    options = run.RunOptions(mode="saturation", apis=list(APIS), payload_sizes=["default"],
                             results_dir=pathlib.Path(tmp_path))
    free = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(run.shutil, "disk_usage", lambda path: free(10 ** 12, 0, 10 ** 12))
    assert run.check_disk(options, FakeDocker()).startswith("disk needed at most: ")
    assert run.human_bytes(500) == "500 B" and run.human_bytes(12_300) == "12 KB" and run.human_bytes(3.4e6) == "3.4 MB"
    monkeypatch.setattr(run.shutil, "disk_usage", lambda path: free(10 ** 12, 0, 10 ** 9))  # 1 GB free
    with pytest.raises(run.RunError, match="not enough free disk for the database"):
        run.check_disk(options, FakeDocker())
