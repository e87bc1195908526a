"""Resource figures are windowed by absolute time and integrate the cumulative CPU counter."""
from __future__ import annotations

import datetime

import pytest

from runner import sampler

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def samples(role="api", cpu_per_second=0.5, memory=100):
    # One sample a second for 10 s; the container uses `cpu_per_second` cores throughout.
    return [sampler.Sample(role, at(i), int(i * cpu_per_second * 1e9), cpu_per_second * 100, memory + i)
            for i in range(11)]


def test_window_integrates_cpu_between_samples():
    figures = sampler.window(samples(), "api", at(2), at(6))
    assert figures.cpu_seconds == pytest.approx(2.0)
    assert figures.samples == 5
    assert figures.cpu_percent_avg == pytest.approx(50.0)
    assert figures.memory_peak_bytes == 106


def test_window_shorter_than_the_sampling_interval_has_no_figures():
    figures = sampler.window(samples(cpu_per_second=1.0), "api", at(3.25), at(3.75))
    assert figures.samples == 0
    assert figures.cpu_seconds is None and figures.cpu_percent_avg is None  # absent, not invented


def test_busy_phase_between_idle_periods_is_not_smeared():
    # Idle until 2 s, one full core from 2 s to 6 s, idle after: the phase [2, 6] used exactly 4 CPU-s.
    def counter(t):
        return 0 if t <= 2 else (t - 2) * 1e9 if t <= 6 else 4e9
    busy = [sampler.Sample("api", at(i), int(counter(i)), 0.0, 1) for i in range(11)]
    assert sampler.window(busy, "api", at(2), at(6)).cpu_seconds == pytest.approx(4.0)
    # A window that starts between samples interpolates the counter at its edges.
    assert sampler.window(busy, "api", at(2.5), at(6)).cpu_seconds == pytest.approx(3.5)


def test_window_ignores_other_roles():
    mixed = samples("api", 0.5) + samples("database", 1.0)
    assert sampler.window(mixed, "database", at(0), at(10)).cpu_seconds == pytest.approx(10.0)


def test_parse_docker_stats_sample():
    stats = {"read": "2026-11-28T04:15:10.123456789Z",
             "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000}, "system_cpu_usage": 20_000_000_000,
                           "online_cpus": 2},
             "precpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "system_cpu_usage": 18_000_000_000},
             "memory_stats": {"usage": 50_000_000, "stats": {"total_inactive_file": 10_000_000}}}
    sample = sampler.parse("api", stats)
    assert sample.time == datetime.datetime(2026, 11, 28, 4, 15, 10, 123456, tzinfo=datetime.UTC)
    assert sample.cpu_percent == pytest.approx(100.0)  # 1 s of CPU over 2 s of two cores' time = 1 core
    assert sample.memory_bytes == 40_000_000


def test_parse_skips_the_empty_sample_of_a_stopped_container():
    assert sampler.parse("api", {"read": "0001-01-01T00:00:00Z", "cpu_stats": {"cpu_usage": {"total_usage": 0}}}) is None


def test_a_role_spanning_several_containers_sums_them():
    emulators = [sampler.Sample("api", at(i), int(i * 0.25 * 1e9), 25.0, 10, "emulator-0") for i in range(11)]
    emulators += [sampler.Sample("api", at(i), int(i * 0.5 * 1e9), 50.0, 20, "emulator-1") for i in range(11)]
    figures = sampler.window(emulators, "api", at(0), at(10))
    assert figures.cpu_seconds == pytest.approx(7.5)
    assert figures.cpu_percent_avg == pytest.approx(75.0)
    assert figures.memory_avg_bytes == pytest.approx(30)
