"""One container of the lab: its class's limits, 127.0.0.1 only, a real health check Pulumi waits for.

Every input is given in the Docker provider's canonical form (what it stores and reads back): CPUs as
"1" or "0.5", memory in whole MiB, durations as Go durations ("2m0s", "1s"). Anything else makes the real
engine see a difference on every `pulumi up` and replace the container (tests/stacks/test_program.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_docker as docker

from perflab.catalogue import Service
from perflab.durations import canonical_duration, go_duration
from perflab.errors import ConfigError
from perflab.names import LABEL, LOOPBACK, container_name
from perflab.settings import Limits

START_PERIOD_SECONDS = 120  # the slowest API (a JVM under 1 CPU) starts well within this
HEALTH_TIMEOUT = "3s"


def limits_output(limits: Limits) -> dict:
    """Limits as the stack's outputs give them (what `bench status`/`verify` compare Docker against)."""
    return {"cpus": limits.cpus, "memory": limits.memory, "nanoCpus": limits.nano_cpus,
            "memoryBytes": limits.memory_bytes}


def health_test(service: Service, database_name: str = "events", user: str = "bench") -> list[str]:
    """A real check from inside the container: a query-ready database, an HTTP or gRPC health call."""
    if service.protocol == "postgres":
        return ["CMD", "pg_isready", "-q", "-h", LOOPBACK, "-p", str(service.port), "-U", user, "-d",
                database_name]
    if service.protocol == "grpc":
        return ["CMD", "/usr/local/bin/healthprobe", "grpc", f"{LOOPBACK}:{service.port}"]
    return ["CMD", "/usr/local/bin/healthprobe", "http", f"http://{LOOPBACK}:{service.port}/api/v1/events/health"]


class ContainerService(pulumi.ComponentResource):
    container: docker.Container
    name: pulumi.Output[str]

    def __init__(self, name: str, service: Service, image_id: pulumi.Input[str], *,
                 limits: Limits, environment: pulumi.Input[Mapping[str, str]], stack: str,
                 network_mode: str, network: pulumi.Input[str] | None = None,
                 command: Sequence[str] | None = None, health_check: list[str],
                 volumes: Sequence[docker.ContainerVolumeArgs] = (),
                 healthcheck_interval: str = "1s", start_period_seconds: int = START_PERIOD_SECONDS,
                 wait_timeout: int = 180, depends_on: Sequence[pulumi.Resource] = (),
                 labels: Mapping[str, str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:ContainerService", name, None, opts)
        networking: dict
        if network_mode == "host":
            networking = dict(network_mode="host")
        elif network_mode == "bridge":
            if network is None:
                raise ConfigError("bridge networking needs the stack's network")
            # Published on the loopback address only; docker-proxy stays off the path when dockerd runs
            # with --userland-proxy=false (scripts/setup starts it so).
            networking = dict(
                network_mode="bridge",
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network, aliases=[service.name])],
                ports=[docker.ContainerPortArgs(internal=service.port, external=service.port, ip=LOOPBACK)])
        else:
            raise ConfigError(f"unknown network mode {network_mode!r}")
        envs = pulumi.Output.from_input(environment).apply(
            lambda values: [f"{key}={value}" for key, value in sorted(values.items())])
        self.container = docker.Container(
            name,
            name=container_name(service),
            image=image_id,
            envs=envs,
            command=list(command) if command else None,
            volumes=list(volumes) or None,
            cpus=limits.cpus_text,
            cpu_set=limits.cpuset,  # None unless perflab:limits pins the class to cores
            memory=limits.memory_mib,
            memory_swap=limits.memory_mib,  # no swap: the memory limit is the whole budget
            labels=[docker.ContainerLabelArgs(label=key, value=value) for key, value in {
                LABEL: stack, "perflab.service": service.name, "perflab.role": service.role,
                "perflab.resource-class": service.resource_class, **(labels or {})}.items()],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=health_check, interval=canonical_duration(healthcheck_interval), timeout=HEALTH_TIMEOUT,
                retries=3, start_period=go_duration(start_period_seconds * 1_000_000_000)),
            wait=True,
            wait_timeout=wait_timeout,
            must_run=True,
            restart="no",
            **networking,
            # The name is fixed (the runner and the other services find it by name), so a replacement
            # must remove the old container before it creates the new one.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on), delete_before_replace=True))
        self.name = self.container.name
        self.register_outputs({"name": self.name})
