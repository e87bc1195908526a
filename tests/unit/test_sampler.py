"""Resource figures are windowed by absolute time and integrate the cumulative CPU counter."""
from __future__ import annotations

import dataclasses
import datetime
import time

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


def test_window_between_two_readings_takes_the_readings_around_it():
    # A phase shorter than the reading interval (a smoke phase): CPU between the readings around it (an
    # upper bound, exact when the container idles around the phase) and the larger memory reading.
    figures = sampler.window(samples(cpu_per_second=1.0), "api", at(3.25), at(3.75))
    assert figures.samples == 0
    assert figures.cpu_seconds == pytest.approx(1.0)
    assert figures.cpu_percent_avg == pytest.approx(100.0)
    assert figures.memory_peak_bytes == 104 and figures.memory_avg_bytes == pytest.approx(103.5)


def test_window_the_readings_do_not_reach_on_both_sides_has_no_figures():
    figures = sampler.window(samples(), "api", at(9.5), at(12))
    assert figures.cpu_seconds is None  # absent, not invented: the counter is unknown at 12 s
    assert figures.samples == 1 and figures.cpu_percent_avg == pytest.approx(50.0)  # the reading inside
    assert sampler.window(samples(), "api", at(20), at(21)) == sampler.WindowFigures(0, None, None, None, None, None)


def test_finer_readings_between_kept_samples_give_short_phases_their_figures():
    # Kept samples 1 s apart (what the results document keeps), readings every 100 ms in between: idle,
    # then a burst of 40 ms of CPU between 2.3 s and 2.4 s.
    def counter(t):
        return 0 if t <= 2.3 else 40e6 if t >= 2.4 else (t - 2.3) * 400e6
    readings = [sampler.Reading(at(k / 10), int(counter(k / 10)), 1000 + k) for k in range(0, 31)]
    kept = [sampler.Sample("api", r.time, r.cpu_total_ns, 0.0, r.memory_bytes, "c",
                           tuple(readings[k * 10 - 9:k * 10]) if k else ())
            for k, r in enumerate(readings[::10])]
    figures = sampler.window(kept, "api", at(2.3), at(2.4))
    assert figures.cpu_seconds == pytest.approx(0.04)
    assert figures.samples == 2 and figures.memory_peak_bytes == 1024
    assert sampler.window(kept, "api", at(2.3), at(2.35)).cpu_seconds == pytest.approx(0.02)
    # With the kept samples alone, the first half of the burst only gets the bound of the whole second.
    bare = [dataclasses.replace(s, readings=()) for s in kept]
    assert sampler.window(bare, "api", at(2.3), at(2.35)).cpu_seconds == pytest.approx(0.04)


def test_memory_average_is_a_whole_number_of_bytes():
    figures = sampler.WindowFigures(2, 1.0, 50.0, 60.0, 100.5, 101)
    assert figures.as_dict(1.0)["memoryAvgBytes"] == 100


def _cgroup_tree(tmp_path, version):
    """A fake /proc and cgroup hierarchy for process 4242 in container abc (cgroupfs driver)."""
    proc, fs = tmp_path / "proc", tmp_path / "fs"
    (proc / "4242").mkdir(parents=True)
    (proc / "self").mkdir()
    if version == 1:
        (proc / "4242" / "cgroup").write_text("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n")
        (proc / "self" / "mountinfo").write_text(
            f"32 31 0:29 / {fs}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
            f"35 31 0:32 / {fs}/memory rw,relatime - cgroup cgroup rw,memory\n"
            f"41 31 0:38 / {fs}/unified rw,relatime - cgroup2 cgroup2 rw\n")
        cpu, memory = fs / "cpu,cpuacct" / "docker" / "abc", fs / "memory" / "docker" / "abc"
        cpu.mkdir(parents=True), memory.mkdir(parents=True)
        (cpu / "cpuacct.usage").write_text("2500000000\n")
        (memory / "memory.usage_in_bytes").write_text("50000000\n")
        (memory / "memory.stat").write_text("cache 0\ninactive_file 7\ntotal_cache 0\ntotal_inactive_file 10000000\n")
    else:
        (proc / "4242" / "cgroup").write_text("0::/system.slice/docker-abc.scope\n")
        (proc / "self" / "mountinfo").write_text(f"31 23 0:28 / {fs} rw,relatime - cgroup2 cgroup2 rw\n")
        directory = fs / "system.slice" / "docker-abc.scope"
        directory.mkdir(parents=True)
        (directory / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
        (directory / "memory.current").write_text("50000000\n")
        (directory / "memory.stat").write_text("anon 1\nfile 2\nactive_file 3\ninactive_file 10000000\n")
    return proc


@pytest.mark.parametrize("version", [1, 2])
def test_cgroup_counters_are_read_from_the_containers_cgroup(tmp_path, version):
    files = sampler.cgroup_files(4242, proc=_cgroup_tree(tmp_path, version))
    try:
        assert files.version == version
        reading = files.read()
        assert reading.cpu_total_ns == 2_500_000_000
        assert reading.memory_bytes == 40_000_000  # usage without inactive page cache, as docker stats
        # the files stay open and are read again from the start
        files.cpu.write_text("3500000000\n" if version == 1 else "usage_usec 3500000\n")
        assert files.read().cpu_total_ns == 3_500_000_000
    finally:
        files.close()


def test_a_process_without_a_cgroup_is_refused(tmp_path):
    with pytest.raises(sampler.CgroupGone):
        sampler.cgroup_files(0, proc=tmp_path)
    with pytest.raises(sampler.CgroupGone):
        sampler.cgroup_files(99, proc=tmp_path)


class FakeFiles:
    """Counters of a container using a quarter of a core; gone after `lifetime` reads."""

    def __init__(self, lifetime=10**9):
        self.reads, self.lifetime, self.start = 0, lifetime, datetime.datetime.now(datetime.UTC)

    def read(self):
        self.reads += 1
        if self.reads > self.lifetime:
            raise sampler.CgroupGone("removed")
        now = datetime.datetime.now(datetime.UTC)
        return sampler.Reading(now, int((now - self.start).total_seconds() * 0.25e9), 1000 + self.reads)

    def close(self):
        pass


class FakeClient:
    class api:  # noqa: N801 — docker's client.api
        @staticmethod
        def inspect_container(name):
            return {"State": {"Pid": 4242}}


def test_the_cgroup_sampler_reads_often_and_keeps_a_sample_a_second(monkeypatch):
    monkeypatch.setattr(sampler, "READ_INTERVAL", 0.01)
    monkeypatch.setattr(sampler, "EMIT_INTERVAL", 0.1)
    monkeypatch.setattr(sampler, "cgroup_files", lambda pid: FakeFiles())
    sampling = sampler.Sampler({"api": "perflab-go-rest"}, FakeClient(), source="cgroup").start()
    began = datetime.datetime.now(datetime.UTC)
    sampling.add("loadgen", "perflab-loadgen-x")
    time.sleep(0.45)
    ended = datetime.datetime.now(datetime.UTC)
    sampling.wait_past(ended, timeout=1)
    kept = sampling.stop()
    api = [s for s in kept if s.role == "api"]
    assert 3 <= len(api) <= 7, [s.time for s in api]  # about one every EMIT_INTERVAL, plus the last one
    assert all((b.time - a.time).total_seconds() >= 0.09 for a, b in zip(api[:-2], api[1:-1]))
    assert sum(len(s.readings) for s in api) >= 10, "the finer readings travel with the kept samples"
    assert all(s.container == "perflab-go-rest" for s in api)
    figures = sampler.window(kept, "api", began, ended)
    assert figures.cpu_seconds == pytest.approx(0.25 * (ended - began).total_seconds(), rel=0.1)
    assert figures.cpu_percent_avg == pytest.approx(25.0, rel=0.1)


def test_a_container_that_goes_away_keeps_its_last_reading_and_is_not_waited_for(monkeypatch):
    monkeypatch.setattr(sampler, "READ_INTERVAL", 0.01)
    monkeypatch.setattr(sampler, "cgroup_files", lambda pid: FakeFiles(lifetime=5))
    sampling = sampler.Sampler({}, FakeClient(), source="cgroup").start()
    sampling.add("loadgen", "perflab-loadgen-x")
    time.sleep(0.2)
    began = time.monotonic()
    sampling.wait_past(datetime.datetime.now(datetime.UTC), timeout=3)
    assert time.monotonic() - began < 0.5, "a removed container is not waited for"
    kept = sampling.stop()
    assert kept and sum(1 + len(s.readings) for s in kept) == 5


def test_a_container_whose_cgroup_cannot_be_read_falls_back_to_docker_stats(monkeypatch):
    def unreadable(pid):
        raise sampler.CgroupGone("no /sys/fs/cgroup here")
    followed = []
    monkeypatch.setattr(sampler, "cgroup_files", unreadable)
    monkeypatch.setattr(sampler.Sampler, "_follow_stats", lambda self, role, name: followed.append((role, name)))
    sampler.Sampler({"api": "perflab-go-rest"}, FakeClient()).start()
    assert followed == [("api", "perflab-go-rest")]
    with pytest.raises(ValueError, match="sampler source"):
        sampler.Sampler({}, FakeClient(), source="nope")


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
