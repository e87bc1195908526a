"""What the container health check costs inside the measured API's cgroup.

Docker runs each container's HEALTHCHECK command as an exec inside the container, so its CPU is counted
with the API's during every phase (the stacks run it every `perflab:healthcheckInterval`, the same for
every API). Stopping it during a phase is not possible on a running container, so the lab measures it:
before the load starts, the API's own health command is exec'ed PROBES times exactly as Docker does, and
the cgroup's CPU counter over those probes, minus the same counter over an equally long idle window, is
the cost of one probe. A phase's share is then cost × (phase seconds / interval) over the API's CPU
seconds in that phase; results and the report show both.
"""
from __future__ import annotations

import dataclasses
import time

import docker
import docker.errors

from runner import sampler

PROBES = 20


@dataclasses.dataclass(frozen=True)
class ProbeCost:
    container: str
    interval_seconds: float
    cpu_seconds_per_probe: float
    probes: int

    def phase_cpu_seconds(self, duration_seconds: float) -> float:
        return self.cpu_seconds_per_probe * duration_seconds / self.interval_seconds


def _command(test: list[str]) -> list[str] | None:
    """Docker's Healthcheck.Test as an exec command (["CMD", ...] or ["CMD-SHELL", "..."])."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return test[1:]
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]]
    return None


def measure(client: docker.DockerClient, container: str, probes: int = PROBES) -> ProbeCost | None:
    """The CPU one health probe costs in `container`'s cgroup; None when it has no health check or cannot
    be read (the result then says the cost was not measured)."""
    try:
        attrs = client.api.inspect_container(container)
        check = attrs["Config"].get("Healthcheck") or {}
        command = _command(check.get("Test") or [])
        interval = (check.get("Interval") or 30_000_000_000) / 1e9  # Docker's default: 30 s
        if command is None:
            return None
        files = sampler.cgroup_files(attrs["State"]["Pid"])
    except (docker.errors.DockerException, sampler.CgroupGone, KeyError):
        return None
    try:
        start = files.read()
        began = time.monotonic()
        for _ in range(probes):
            exec_id = client.api.exec_create(container, command, stdout=False, stderr=False)["Id"]
            client.api.exec_start(exec_id)
        elapsed = time.monotonic() - began
        probed = files.read()
        time.sleep(elapsed)  # the idle baseline: the API's own background work over as long a window
        idle = files.read()
    except (docker.errors.DockerException, sampler.CgroupGone):
        return None
    finally:
        files.close()
    probe_ns = probed.cpu_total_ns - start.cpu_total_ns
    idle_ns = idle.cpu_total_ns - probed.cpu_total_ns
    per_probe = max(probe_ns - idle_ns, 0) / probes / 1e9
    return ProbeCost(container, interval, per_probe, probes)
