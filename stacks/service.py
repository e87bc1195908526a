"""One container of the lab: its class's limits, 127.0.0.1 only, a real health check Pulumi waits for."""
from __future__ import annotations

from typing import Mapping, Sequence

import pulumi
import pulumi_docker as docker

from runner import config as stack_config
from runner.catalogue import Service
from runner.containers import LABEL, container_name

LOOPBACK = "127.0.0.1"


def memory_mib(limits: stack_config.Limits) -> int:
    """pulumi_docker takes memory in MiB; a limit that is not a whole number of MiB would be rounded."""
    mib, rest = divmod(limits.memory_bytes, 1024 ** 2)
    if rest or mib <= 0:
        raise stack_config.ConfigError(f"memory limit {limits.memory!r} is not a whole number of MiB")
    return mib


def limits_output(limits: stack_config.Limits) -> dict:
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

    def __init__(self, name: str, service: Service, image_name: pulumi.Input[str], *,
                 limits: stack_config.Limits, environment: pulumi.Input[Mapping[str, str]], stack: str,
                 network_mode: str, network: pulumi.Input[str] | None = None,
                 command: Sequence[str] | None = None, health_check: list[str],
                 healthcheck_interval: str = "1s", start_period: str = "120s", wait_timeout: int = 180,
                 depends_on: Sequence[pulumi.Resource] = (), labels: Mapping[str, str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:ContainerService", name, None, opts)
        if network_mode == "host":
            networking = dict(network_mode="host")
        elif network_mode == "bridge":
            if network is None:
                raise stack_config.ConfigError("bridge networking needs the stack's network")
            # Published on the loopback address only; docker-proxy stays off the path when dockerd runs
            # with --userland-proxy=false (scripts/setup starts it so).
            networking = dict(
                network_mode="bridge",
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network, aliases=[service.name])],
                ports=[docker.ContainerPortArgs(internal=service.port, external=service.port, ip=LOOPBACK)])
        else:
            raise stack_config.ConfigError(f"unknown network mode {network_mode!r}")
        envs = pulumi.Output.from_input(environment).apply(
            lambda values: [f"{key}={value}" for key, value in sorted(values.items())])
        self.container = docker.Container(
            name,
            name=container_name(service),
            image=image_name,
            envs=envs,
            command=list(command) if command else None,
            cpus=f"{limits.cpus:g}",
            memory=memory_mib(limits),
            memory_swap=memory_mib(limits),  # no swap: the memory limit is the whole budget
            labels=[docker.ContainerLabelArgs(label=key, value=value) for key, value in {
                LABEL: stack, "perflab.service": service.name, "perflab.role": service.role,
                "perflab.resource-class": service.resource_class, **(labels or {})}.items()],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=health_check, interval=healthcheck_interval, timeout="3s", retries=3,
                start_period=start_period),
            wait=True,
            wait_timeout=wait_timeout,
            must_run=True,
            restart="no",
            **networking,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))
        self.name = self.container.name
        self.register_outputs({"name": self.name})
