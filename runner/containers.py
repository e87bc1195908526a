"""Containers of the lab on the local Docker engine: start with the stack's limits, wait for real health."""
from __future__ import annotations

import time

import docker
import docker.errors
from docker.models.containers import Container

from perflab import settings as stack_config
from perflab.catalogue import Service
from perflab.errors import LabError
from perflab.names import LABEL, Database, container_name
from runner import readiness, statedir

__all__ = ["LABEL", "ContainerError", "Database", "container_name", "run", "verify_limits", "wait_ready",
           "start_database", "remove", "deployed_containers", "start_deployed", "stop_deployed",
           "stop_all_deployed"]


class ContainerError(LabError):
    pass


def _remove(client: docker.DockerClient, name: str) -> None:
    try:
        client.containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def run(client: docker.DockerClient, service: Service, image: str, cfg: stack_config.StackConfig,
        environment: dict[str, str], command: list[str] | None = None) -> Container:
    """Start `service` fresh with its class's limits, bound to 127.0.0.1 on the host network."""
    if cfg.network_mode != "host":
        raise ContainerError("only networkMode: host is supported by the local runner so far")
    limits = cfg.limits(service.resource_class)
    name = container_name(service)
    _remove(client, name)
    return client.containers.run(
        image, command=command, name=name, detach=True, network_mode="host", environment=environment,
        nano_cpus=limits.nano_cpus, mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
        cpuset_cpus=limits.cpuset, labels={LABEL: cfg.stack, "perflab.service": service.name, "perflab.role": service.role})


def verify_limits(container: Container, limits: stack_config.Limits) -> None:
    """Read the limits back from Docker: the original lab's limits were silently ignored."""
    container.reload()
    host_config = container.attrs["HostConfig"]
    actual = (host_config.get("NanoCpus"), host_config.get("Memory"))
    if actual != (limits.nano_cpus, limits.memory_bytes):
        raise ContainerError(f"{container.name}: Docker reports NanoCpus/Memory {actual}, "
                             f"configured {(limits.nano_cpus, limits.memory_bytes)}")
    if (host_config.get("CpusetCpus") or None) != limits.cpuset:
        raise ContainerError(f"{container.name}: Docker reports cpuset {host_config.get('CpusetCpus')!r}, "
                             f"configured {limits.cpuset!r}")


def wait_ready(container: Container, probe, timeout: float = 90.0) -> float:
    """Poll a real health call (see `readiness`) until it passes; fail early if the container exits."""
    def exited() -> str | None:
        container.reload()
        state = container.attrs["State"]
        if state["Status"] in ("exited", "dead"):
            logs = container.logs(tail=30).decode(errors="replace")
            return f"{container.name} exited (code {state.get('ExitCode')}):\n{logs}"
        return None
    try:
        return readiness.wait(probe, timeout, alive=exited)
    except TimeoutError as error:
        logs = container.logs(tail=30).decode(errors="replace")
        raise ContainerError(f"{container.name}: {error}\n{logs}") from error


def start_database(client: docker.DockerClient, service: Service, image: str,
                   cfg: stack_config.StackConfig) -> Database:
    password = statedir.database_password()
    database = Database(container_name(service), "127.0.0.1", service.port, "bench", password, "events")
    environment = {"POSTGRES_PASSWORD": password, "PGPORT": str(service.port), "POSTGRES_USER": database.user,
                   "POSTGRES_DB": database.name, "LISTEN_ADDRESSES": "127.0.0.1"}
    container = run(client, service, image, cfg, environment, command=cfg.postgres_args())
    verify_limits(container, cfg.limits(service.resource_class))
    wait_ready(container, readiness.database_ready(database.dsn), timeout=120)
    return database


def remove(client: docker.DockerClient, service: Service) -> None:
    _remove(client, container_name(service))


# -- APIs deployed by a stack: the runner starts exactly one at a time -------------------------------------

def deployed_containers(entry: dict) -> list[str]:
    """Every container that makes up one deployed API (a Lambda: its emulators, then its gateway)."""
    return list(entry.get("containers") or [entry["container"]])


def start_deployed(client: docker.DockerClient, service: Service, entry: dict, cfg: stack_config.StackConfig,
                   timeout: float = 120.0) -> float:
    """Start a deployed API's containers and wait for a real health answer; return the seconds it took."""
    names = deployed_containers(entry)
    handles = [client.containers.get(name) for name in names]
    # The API's own containers carry its class's limits (a Lambda's gateway has a class of its own).
    for handle in handles[:-1] if len(handles) > 1 else handles:
        verify_limits(handle, cfg.limits(service.resource_class))
    started = time.monotonic()
    for handle in handles:
        handle.start()

    def died() -> str | None:
        for handle in handles:
            handle.reload()
            if handle.status in ("exited", "dead"):
                logs = handle.logs(tail=20).decode(errors="replace")
                return f"{handle.name} exited (code {handle.attrs['State'].get('ExitCode')}):\n{logs}"
        return None

    try:
        readiness.wait(readiness.service_probe(service), timeout, alive=died)
    except TimeoutError as error:
        raise ContainerError(f"{service.name} never became healthy: {error}") from error
    return time.monotonic() - started


def stop_deployed(client: docker.DockerClient, entry: dict) -> None:
    for name in reversed(deployed_containers(entry)):
        try:
            handle = client.containers.get(name)
            if handle.status != "exited":
                handle.stop(timeout=10)
        except docker.errors.NotFound:
            pass


def stop_all_deployed(client: docker.DockerClient, outputs: dict) -> None:
    """Only the API under test may run: stop every deployed API first."""
    for entry in outputs.get("apis", {}).values():
        stop_deployed(client, entry)
