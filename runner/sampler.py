"""Resource sampling from `docker stats`, running in the background while the load runs.

The original lab's sampler blocked and ran before the load generator started, so it never saw load. Here
one thread per container follows Docker's stats stream (one sample a second) for the whole run, and every
sample carries its absolute time so it can be windowed by phase afterwards.
"""
from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections.abc import Iterable

import docker

from perflab.durations import parse_time


@dataclasses.dataclass(frozen=True)
class Sample:
    role: str  # "api", "database", "loadgen"
    time: datetime.datetime  # UTC, when Docker read the counters
    cpu_total_ns: int  # cumulative CPU time of the container
    cpu_percent: float  # of one core, over the interval since the previous sample
    memory_bytes: int  # usage without page cache
    container: str = ""  # one role may span several containers (a Lambda: emulators and gateway)


def parse(role: str, stats: dict) -> Sample | None:
    cpu, precpu = stats.get("cpu_stats", {}), stats.get("precpu_stats", {})
    total = cpu.get("cpu_usage", {}).get("total_usage")
    if total is None or not stats.get("read") or stats["read"].startswith("0001-"):
        return None  # the container stopped: Docker sends an empty final sample
    cpu_delta = total - precpu.get("cpu_usage", {}).get("total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - precpu.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    percent = cpu_delta / system_delta * online * 100.0 if system_delta > 0 and precpu else 0.0
    memory = stats.get("memory_stats", {})
    usage = memory.get("usage", 0)
    detail = memory.get("stats", {})
    cache = detail.get("total_inactive_file", detail.get("inactive_file", detail.get("cache", 0)))
    return Sample(role, parse_time(stats["read"]), total, percent, max(usage - cache, 0), stats.get("name", ""))


class Sampler:
    """Follow the stats streams of `containers` ({role: container name}) until `stop()`."""

    def __init__(self, containers: dict[str, str], client: docker.DockerClient | None = None):
        self.client = client or docker.from_env()
        self.containers = containers
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._streams: list = []

    def _follow(self, role: str, name: str) -> None:
        try:
            container = self.client.containers.get(name)
            stream = container.stats(stream=True, decode=True)
        except docker.errors.DockerException:
            return
        with self._lock:
            self._streams.append(stream)
        try:
            for stats in stream:
                if self._stop.is_set():
                    break
                sample = parse(role, stats)
                if sample:
                    sample = dataclasses.replace(sample, container=name)
                    with self._lock:
                        self.samples.append(sample)
        except Exception:  # noqa: BLE001 — the stream ends with an error when its container is removed
            if not self._stop.is_set():
                raise

    def start(self) -> Sampler:
        for role, name in self.containers.items():
            thread = threading.Thread(target=self._follow, args=(role, name), daemon=True,
                                      name=f"sampler-{role}")
            thread.start()
            self._threads.append(thread)
        return self

    def add(self, role: str, name: str) -> None:
        """Follow one more container (e.g. the load generator, started after the API)."""
        thread = threading.Thread(target=self._follow, args=(role, name), daemon=True, name=f"sampler-{role}")
        thread.start()
        self._threads.append(thread)

    def wait_past(self, moment: datetime.datetime, timeout: float = 3.0) -> None:
        """Keep sampling until every followed container has a sample after `moment` (the end of the last
        phase), so the counter can be interpolated at that edge; give up after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                names = {s.container for s in self.samples}
                late = {s.container for s in self.samples if s.time > moment}
            if names and names <= late:
                return
            time.sleep(0.1)

    def stop(self) -> list[Sample]:
        self._stop.set()
        with self._lock:
            for stream in self._streams:
                close = getattr(stream, "close", None)
                if close:
                    try:
                        close()
                    except Exception:  # noqa: BLE001 — closing a finished stream is harmless
                        pass
        for thread in self._threads:
            thread.join(timeout=3)
        with self._lock:
            return sorted(self.samples, key=lambda s: (s.time, s.role))


@dataclasses.dataclass(frozen=True)
class WindowFigures:
    samples: int
    cpu_seconds: float | None
    cpu_percent_avg: float | None
    cpu_percent_peak: float | None
    memory_avg_bytes: float | None
    memory_peak_bytes: int | None

    def as_dict(self, cpu_limit: float | None) -> dict:
        return {"samples": self.samples, "cpuSeconds": self.cpu_seconds, "cpuPercentAvg": self.cpu_percent_avg,
                "cpuPercentPeak": self.cpu_percent_peak, "memoryAvgBytes": self.memory_avg_bytes,
                "memoryPeakBytes": self.memory_peak_bytes, "cpuLimit": cpu_limit}


def window(samples: Iterable[Sample], role: str, start: datetime.datetime,
           end: datetime.datetime) -> WindowFigures:
    """Figures of one role inside [start, end]: per container, then summed over the role's containers."""
    mine = [s for s in samples if s.role == role]
    parts = [_container_window([s for s in mine if s.container == name], start, end)
             for name in sorted({s.container for s in mine})]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return WindowFigures(0, None, None, None, None, None)

    def total(values):
        values = [v for v in values if v is not None]
        return sum(values) if values else None
    return WindowFigures(samples=sum(p.samples for p in parts), cpu_seconds=total(p.cpu_seconds for p in parts),
                         cpu_percent_avg=total(p.cpu_percent_avg for p in parts),
                         cpu_percent_peak=total(p.cpu_percent_peak for p in parts),
                         memory_avg_bytes=total(p.memory_avg_bytes for p in parts),
                         memory_peak_bytes=total(p.memory_peak_bytes for p in parts))


def _counter_at(mine: list[Sample], moment: datetime.datetime) -> float | None:
    """The cumulative CPU counter (ns) at `moment`, interpolated between the samples around it."""
    for left, right in zip(mine, mine[1:]):
        if left.time <= moment <= right.time:
            span = (right.time - left.time).total_seconds()
            share = (moment - left.time).total_seconds() / span if span else 0.0
            return left.cpu_total_ns + (right.cpu_total_ns - left.cpu_total_ns) * share
    return None


def _container_window(mine: list[Sample], start: datetime.datetime, end: datetime.datetime) -> WindowFigures:
    """Figures of one container inside [start, end], by absolute time.

    CPU seconds are the cumulative counter interpolated at `end` minus the same at `start`. A window with no
    sample inside it is shorter than the sampling interval: its figures are absent, not guessed.
    """
    mine = sorted(mine, key=lambda s: s.time)
    inside = [s for s in mine if start <= s.time <= end]
    cpu_seconds = None
    at_start, at_end = _counter_at(mine, start), _counter_at(mine, end)
    if inside and at_start is not None and at_end is not None:
        cpu_seconds = (at_end - at_start) / 1e9
    if not inside:
        return WindowFigures(0, cpu_seconds, None, None, None, None)
    return WindowFigures(
        samples=len(inside), cpu_seconds=cpu_seconds,
        cpu_percent_avg=sum(s.cpu_percent for s in inside) / len(inside),
        cpu_percent_peak=max(s.cpu_percent for s in inside),
        memory_avg_bytes=sum(s.memory_bytes for s in inside) / len(inside),
        memory_peak_bytes=max(s.memory_bytes for s in inside))
