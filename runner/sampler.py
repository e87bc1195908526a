"""Resource sampling of the lab's containers while the load runs, windowed by phase afterwards.

Two sources give the same figures — a container's cumulative CPU time and its memory without inactive
page cache (what `docker stats` shows):

- `cgroup` (the default): the runner reads the containers' cgroup counters itself, every
  `READ_INTERVAL` (100 ms): cgroup v1 `cpuacct.usage` (ns), `memory.usage_in_bytes` and
  `memory.stat:total_inactive_file`; cgroup v2 `cpu.stat:usage_usec`, `memory.current` and
  `memory.stat:inactive_file`. A container's cgroup directory is found from its init process
  (`docker inspect` → `State.Pid` → `/proc/<pid>/cgroup`) and the cgroup mounts in
  `/proc/self/mountinfo`, so either cgroup driver (cgroupfs: `/docker/<id>`, systemd:
  `/system.slice/docker-<id>.scope`) and either cgroup version works. This machine: Docker 20.10,
  cgroupfs driver, cgroup v1 (hybrid: the v2 mount at /sys/fs/cgroup/unified holds no controllers). The
  files stay open and are re-read with `pread` at offset 0 (the kernel renders them anew).
- `docker`: Docker's stats stream, one sample a second per container (one thread each). Used for a
  container whose cgroup files cannot be read (e.g. a runner inside a container without the host's
  /sys/fs/cgroup), or for every container with PERFLAB_SAMPLER=docker.

Cost, measured on this 2-core VM (kernel 6.18, Docker 20.10.24) against probe containers
(`debian:bookworm-slim`, one a busy loop under `--cpus 0.2`); CPU from getrusage / process_time of the
sampling process and /proc/<pid>/stat of each container's containerd-shim:

| measurement | sampler process | containers' shims |
|---|---|---|
| 200 readings back to back, cgroup files (cpu, memory, memory.stat) | 9.8 µs / reading | 0 |
| the same, opening and closing the three files each time | 24 µs / reading | 0 |
| 200 samples of the stats stream (5 containers, 1/s each) | 590 µs / sample | 2,300 µs / sample |
| `Sampler`, 3 containers, steady state, cgroup every 1 s | 0.8-1.4 ms/s | 0 |
| `Sampler`, 3 containers, steady state, cgroup every 100 ms | 4.7-6.5 ms/s | 0 |
| `Sampler`, 3 containers, steady state, cgroup every 50 ms | 8.9 ms/s | 0 |
| `Sampler`, 3 containers, steady state, docker stats (1/s) | 2.5-3.2 ms/s | 7-8.5 ms/s |

Back to back, a cgroup reading costs 10 µs where a stats sample costs 2.9 ms (sampler and shim), and
dockerd and containerd do their share of every stats sample on top (not separable here: other work on the
machine keeps them at 0.1-0.4 of a core). In the running sampler every round of readings wakes a thread
and finds cold caches (0.45-0.6 ms per round of three containers on this VM, measured with thread_time),
so ten rounds a second cost 0.5-0.65 % of one core: less than the stats stream's one sample a second
(about 1 % with the shims, dockerd not counted), for ten times the resolution. Default: `cgroup`, 100 ms.

Every reading is kept in memory and used for the phase windows, so a phase of any length —
a smoke phase of five requests lasts some tens of milliseconds — gets CPU-seconds and memory. The run's
document keeps one sample a second per container (`Sample`, the `resourceSamples` of the results, for
charts); each carries the finer readings taken since the previous one in `readings` (not written out).
Memory peaks come from those readings: the kernel's own high-water marks (v1 `memory.max_usage_in_bytes`,
v2 `memory.peak`) count page cache and cover the container's whole life, not a phase.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import pathlib
import threading
import time
from collections.abc import Iterable

import docker

from perflab.durations import parse_time

READ_INTERVAL = 0.1  # seconds between cgroup readings
EMIT_INTERVAL = 1.0  # seconds between the samples a run keeps (charts)
SOURCES = ("cgroup", "docker")
DEFAULT_SOURCE = "cgroup"  # the cheaper one, measured (see above)


@dataclasses.dataclass(frozen=True)
class Reading:
    """One read of a container's counters."""
    time: datetime.datetime
    cpu_total_ns: int
    memory_bytes: int


@dataclasses.dataclass(frozen=True)
class Sample:
    role: str  # "api", "database", "loadgen"
    time: datetime.datetime  # UTC, when the counters were read
    cpu_total_ns: int  # cumulative CPU time of the container
    cpu_percent: float  # of one core, over the interval since the previous sample
    memory_bytes: int  # usage without inactive page cache
    container: str = ""  # one role may span several containers (a Lambda: emulators and gateway)
    # The finer readings since the previous sample of this container (cgroup source), oldest first.
    readings: tuple[Reading, ...] = dataclasses.field(default=(), repr=False, compare=False)


# --- docker stats -------------------------------------------------------------------------------------------

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


# --- cgroup files -------------------------------------------------------------------------------------------

class CgroupGone(Exception):
    """The container's cgroup is gone (the container stopped or was removed)."""


def _mounts(mountinfo: str) -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None]:
    """v1 controller → (mount root, mount point), and the v2 (mount root, mount point), from mountinfo."""
    v1: dict[str, tuple[str, str]] = {}
    v2 = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        after = line.split(" - ", 1)[1].split()
        fstype, options = after[0], after[2] if len(after) > 2 else ""
        root, point = fields[3], fields[4]
        if fstype == "cgroup2":
            v2 = (root, point)
        elif fstype == "cgroup":
            for option in options.split(","):
                v1.setdefault(option, (root, point))
    return v1, v2


def _join(mount: tuple[str, str], path: str) -> pathlib.Path:
    root, point = mount
    relative = path[len(root):] if root != "/" and path.startswith(root) else path
    return pathlib.Path(point) / relative.lstrip("/")


@dataclasses.dataclass
class CgroupFiles:
    """The counter files of one container's cgroup, kept open."""
    version: int
    cpu: pathlib.Path
    memory: pathlib.Path
    memory_stat: pathlib.Path
    _fds: list[int] = dataclasses.field(default_factory=list, repr=False)

    def open(self) -> CgroupFiles:
        self._fds = [os.open(path, os.O_RDONLY) for path in (self.cpu, self.memory, self.memory_stat)]
        return self

    def close(self) -> None:
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []

    def read(self) -> Reading:
        try:
            cpu, memory, stat = (os.pread(fd, 8192, 0) for fd in self._fds)
        except OSError as error:  # ENODEV/ENOENT: the cgroup was removed under us
            raise CgroupGone(str(error)) from error
        now = datetime.datetime.now(datetime.UTC)
        if not cpu:
            raise CgroupGone("empty counter")
        if self.version == 1:
            cpu_ns = int(cpu)
            key = b"total_inactive_file "
        else:
            cpu_ns = 1000 * int(cpu.split(b"\n", 1)[0].split()[1])  # usage_usec is cpu.stat's first line
            key = b"inactive_file "
        return Reading(now, cpu_ns, max(int(memory) - _stat_value(stat, key), 0))


def _stat_value(stat: bytes, key: bytes) -> int:
    """The value of `key` (with its trailing space) in a flat-keyed cgroup file such as memory.stat."""
    if stat.startswith(key):
        at = 0
    else:
        at = stat.find(b"\n" + key)
        if at < 0:
            return 0
        at += 1
    stop = stat.find(b"\n", at)
    return int(stat[at + len(key):stop if stop >= 0 else None])


def cgroup_files(pid: int, proc: pathlib.Path = pathlib.Path("/proc")) -> CgroupFiles:
    """The counter files of the cgroup process `pid` runs in (cgroup v1 or v2, either driver)."""
    if not pid:
        raise CgroupGone("the container is not running")
    try:
        membership = (proc / str(pid) / "cgroup").read_text()
        v1, v2 = _mounts((proc / "self" / "mountinfo").read_text())
    except OSError as error:
        raise CgroupGone(str(error)) from error
    paths: dict[str, str] = {}
    for line in membership.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    if "cpuacct" in paths and "memory" in paths and "cpuacct" in v1 and "memory" in v1:
        cpu_dir, memory_dir = _join(v1["cpuacct"], paths["cpuacct"]), _join(v1["memory"], paths["memory"])
        files = CgroupFiles(1, cpu_dir / "cpuacct.usage", memory_dir / "memory.usage_in_bytes",
                            memory_dir / "memory.stat")
    elif "" in paths and v2 is not None:
        directory = _join(v2, paths[""])
        files = CgroupFiles(2, directory / "cpu.stat", directory / "memory.current", directory / "memory.stat")
    else:
        raise CgroupGone(f"process {pid}: no cpuacct and memory cgroup found")
    try:
        return files.open()
    except OSError as error:
        files.close()
        raise CgroupGone(f"{files.cpu.parent}: {error}") from error


@dataclasses.dataclass
class _Followed:
    role: str
    name: str
    files: CgroupFiles
    pending: list[Reading] = dataclasses.field(default_factory=list)
    last: Sample | None = None
    gone: bool = False


def _emit(followed: _Followed, reading: Reading) -> Sample:
    """A kept sample: `reading`, with its CPU share since the previous kept sample (or the first reading)."""
    base = followed.last or (followed.pending[0] if followed.pending else None)
    percent = 0.0
    if base is not None:
        span = (reading.time - base.time).total_seconds()
        percent = (reading.cpu_total_ns - base.cpu_total_ns) / 1e9 / span * 100 if span > 0 else 0.0
    sample = Sample(followed.role, reading.time, reading.cpu_total_ns, max(percent, 0.0), reading.memory_bytes,
                    followed.name, tuple(followed.pending))
    followed.pending = []
    followed.last = sample
    return sample


class Sampler:
    """Follow the counters of `containers` ({role: container name}) until `stop()`."""

    def __init__(self, containers: dict[str, str], client: docker.DockerClient | None = None,
                 source: str | None = None):
        self.client = client or docker.from_env()
        self.source = source or os.environ.get("PERFLAB_SAMPLER") or DEFAULT_SOURCE
        if self.source not in SOURCES:
            raise ValueError(f"sampler source {self.source!r}: one of {', '.join(SOURCES)}")
        self.containers = containers
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._streams: list = []
        self._followed: list[_Followed] = []
        self._poller: threading.Thread | None = None
        self._ended: set[str] = set()  # docker stats streams that finished (their container went away)

    # -- docker stats --------------------------------------------------------------------------------------
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
        finally:
            with self._lock:
                self._ended.add(name)

    def _follow_stats(self, role: str, name: str) -> None:
        thread = threading.Thread(target=self._follow, args=(role, name), daemon=True, name=f"sampler-{role}")
        thread.start()
        self._threads.append(thread)

    # -- cgroup files --------------------------------------------------------------------------------------
    def _read(self, followed: _Followed, final: bool = False) -> None:
        """One reading of one container (under the lock); keep it as a sample once a second."""
        if followed.gone:
            return
        try:
            reading = followed.files.read()
        except (CgroupGone, ValueError):
            followed.gone = True
            followed.files.close()
            if followed.pending:  # the last reading before the container went away
                self.samples.append(_emit(followed, followed.pending.pop()))
            return
        since = (reading.time - followed.last.time).total_seconds() if followed.last else None
        if final or (since is None and followed.pending) or (since is not None and since >= EMIT_INTERVAL):
            self.samples.append(_emit(followed, reading))
        else:
            followed.pending.append(reading)

    def _poll(self) -> None:
        while not self._stop.wait(READ_INTERVAL):
            with self._lock:
                for followed in self._followed:
                    self._read(followed)

    def _follow_cgroup(self, role: str, name: str) -> bool:
        try:
            pid = self.client.api.inspect_container(name)["State"]["Pid"]
            files = cgroup_files(pid)
        except (docker.errors.DockerException, CgroupGone, KeyError):
            return False
        followed = _Followed(role, name, files)
        with self._lock:
            self._followed.append(followed)
            self._read(followed)  # the first reading: before anything this container is asked to do
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll, daemon=True, name="sampler-cgroup")
            self._poller.start()
        return True

    # -- the interface the runner uses ----------------------------------------------------------------------
    def start(self) -> Sampler:
        for role, name in self.containers.items():
            self.add(role, name)
        return self

    def add(self, role: str, name: str) -> None:
        """Follow one more container (e.g. the load generator, started after the API)."""
        if self.source == "cgroup" and self._follow_cgroup(role, name):
            return
        self._follow_stats(role, name)

    def wait_past(self, moment: datetime.datetime, timeout: float = 3.0) -> None:
        """Keep sampling until every followed container has a reading after `moment` (the end of the last
        phase), so the counter can be interpolated at that edge, or has gone away (the load generator's
        container is removed when it ends); give up after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                waiting = {f.name for f in self._followed if not f.gone and not (
                    f.pending and f.pending[-1].time > moment or f.last is not None and f.last.time > moment)}
                streamed = {s.container for s in self.samples} - {f.name for f in self._followed}
                waiting |= streamed - self._ended - {s.container for s in self.samples if s.time > moment}
            if not waiting:
                return
            time.sleep(0.05)

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=3)
        with self._lock:
            for followed in self._followed:
                self._read(followed, final=True)  # the last reading: after everything
                followed.gone = True
                followed.files.close()
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


# --- figures of a phase window ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class WindowFigures:
    samples: int
    cpu_seconds: float | None
    cpu_percent_avg: float | None
    cpu_percent_peak: float | None
    memory_avg_bytes: float | None
    memory_peak_bytes: int | None

    def as_dict(self, cpu_limit: float | None) -> dict:
        # memoryAvgBytes is a whole number of bytes in the results document
        average = None if self.memory_avg_bytes is None else round(self.memory_avg_bytes)
        return {"samples": self.samples, "cpuSeconds": self.cpu_seconds, "cpuPercentAvg": self.cpu_percent_avg,
                "cpuPercentPeak": self.cpu_percent_peak, "memoryAvgBytes": average,
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


def _readings(mine: list[Sample]) -> list[Reading]:
    """Every reading of one container, oldest first: the kept samples and the finer readings between them."""
    points: list[Reading] = []
    for sample in mine:
        points += sample.readings
        points.append(Reading(sample.time, sample.cpu_total_ns, sample.memory_bytes))
    return sorted(points, key=lambda r: r.time)


def _counter_at(points: list[Reading], moment: datetime.datetime) -> float | None:
    """The cumulative CPU counter (ns) at `moment`, interpolated between the readings around it."""
    for left, right in zip(points, points[1:]):
        if left.time <= moment <= right.time:
            span = (right.time - left.time).total_seconds()
            share = (moment - left.time).total_seconds() / span if span else 0.0
            return left.cpu_total_ns + (right.cpu_total_ns - left.cpu_total_ns) * share
    return None


def _container_window(mine: list[Sample], start: datetime.datetime, end: datetime.datetime) -> WindowFigures:
    """Figures of one container inside [start, end], by absolute time.

    CPU seconds are the cumulative counter interpolated at `end` minus the same at `start`; the average CPU
    share is that over the window's length. A window with no reading inside it (shorter than the reading
    interval) takes the two readings around it: their CPU difference (an upper bound, exact when the
    container idles around the window, as around a smoke phase) and the larger of their memory figures.
    A window the readings do not reach on both sides has no CPU figure: absent, not guessed.
    """
    mine = sorted(mine, key=lambda s: s.time)
    points = _readings(mine)
    inside = [r for r in points if start <= r.time <= end]
    at_start, at_end = _counter_at(points, start), _counter_at(points, end)
    seconds = (end - start).total_seconds()
    if not inside:
        before = [r for r in points if r.time < start]
        after = [r for r in points if r.time > end]
        if not before or not after:
            return WindowFigures(0, None, None, None, None, None)
        left, right = before[-1], after[0]
        span = (right.time - left.time).total_seconds()
        around = (right.cpu_total_ns - left.cpu_total_ns) / 1e9
        percent = around / span * 100 if span > 0 else None
        return WindowFigures(0, around, percent, percent, (left.memory_bytes + right.memory_bytes) / 2,
                             max(left.memory_bytes, right.memory_bytes))
    cpu_seconds: float | None = None
    if at_start is not None and at_end is not None:
        cpu_seconds = (at_end - at_start) / 1e9
    kept = [s for s in mine if start <= s.time <= end]
    if cpu_seconds is not None and seconds > 0:
        average: float | None = cpu_seconds / seconds * 100
    else:
        average = sum(s.cpu_percent for s in kept) / len(kept) if kept else None
    peak = max([s.cpu_percent for s in kept if s.time > (mine[0].time if mine else start)], default=None)
    if peak is None or (average is not None and average > peak):
        peak = average
    return WindowFigures(
        samples=len(inside), cpu_seconds=cpu_seconds, cpu_percent_avg=average, cpu_percent_peak=peak,
        memory_avg_bytes=sum(r.memory_bytes for r in inside) / len(inside),
        memory_peak_bytes=max(r.memory_bytes for r in inside))
