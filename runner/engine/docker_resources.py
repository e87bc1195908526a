"""How the in-process engine realizes pulumi_docker resources with the Docker SDK.

Each class handles one resource type token and accepts exactly the inputs listed in SUPPORTED; anything
else is an EngineError naming the input, so nothing the program asks for is silently dropped.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from perflab import durations
from perflab.errors import ConfigError
from runner.engine.errors import EngineError


def parse_duration(text: str) -> int:
    """A Go duration ("1s", "1m30s", "500ms") in nanoseconds, as the Docker provider reads it."""
    try:
        return durations.parse_duration(text)
    except ConfigError as error:
        raise EngineError(str(error)) from None


def docker_call(what: str, function, *args, **kwargs):
    """Run a Docker SDK call; its API errors become EngineErrors saying what was being done."""
    try:
        return function(*args, **kwargs)
    except docker.errors.APIError as error:
        raise EngineError(f"{what}: Docker said: {error.explanation or error}") from error


def _check_inputs(kind: str, inputs: dict, supported: set[str]) -> None:
    unknown = sorted(set(inputs) - supported)
    if unknown:
        raise EngineError(f"{kind}: input(s) {', '.join(unknown)} not supported by the in-process engine "
                          f"(supported: {', '.join(sorted(supported))}); install the Pulumi CLI to use them")


class Realizer:
    token = ""
    SUPPORTED: set[str] = set()

    def __init__(self, client: docker.DockerClient, log: Callable[[str], None]):
        self.client = client
        self.log = log

    def validate(self, inputs: dict) -> None:
        _check_inputs(self.token, inputs, self.SUPPORTED)

    def create(self, name: str, inputs: dict, created: Callable[[str], None]) -> tuple[str, dict]:
        """Make the object; call `created(id)` as soon as it exists (before waiting on it), so a failure
        later still leaves it in the state for `down`."""
        raise NotImplementedError

    def status(self, resource_id: str, inputs: dict) -> str:
        """"ok", "stopped" (a container that exists but does not run) or "gone". Only reads."""
        raise NotImplementedError

    def start(self, resource_id: str, inputs: dict) -> None:
        raise EngineError(f"{self.token}: cannot be started")

    def delete(self, resource_id: str, inputs: dict) -> None:
        raise NotImplementedError

    def find_foreign(self, inputs: dict) -> str | None:
        """The id of an existing object that would clash with this resource's fixed name, if any."""
        return None

    def adopt(self, resource_id: str, inputs: dict) -> tuple[str, dict]:
        """Take an existing object (`find_foreign`'s) as this resource, for one declared retain_on_delete that
        an earlier `down` left behind; refuse when it is not what the program declares."""
        raise EngineError(f"{self.token}: the in-process engine cannot adopt an existing object; remove "
                          f"{inputs.get('name')!r} or drop retain_on_delete")


class RemoteImageRealizer(Realizer):
    """`docker.RemoteImage(name=..., keep_locally=True)` over an image `bench build` made: found locally,
    never pulled (the lab is offline) and never deleted (it is the build cache), as the provider does with
    keep_locally."""
    token = "docker:index/remoteImage:RemoteImage"
    SUPPORTED = {"name", "keepLocally"}

    def validate(self, inputs: dict) -> None:
        super().validate(inputs)
        if inputs.get("keepLocally") is not True:
            raise EngineError(f"{self.token} {inputs.get('name')}: the in-process engine never deletes images; "
                              "set keep_locally=True")

    def create(self, name, inputs, created):
        reference = inputs["name"]
        try:
            image = self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            raise EngineError(f"{name}: image {reference} is not on this machine and the in-process engine never "
                              f"pulls; run `bench build` (bench up builds first)") from None
        return image.id, {"name": reference, "imageId": image.id, "repoDigest": image.id}

    def status(self, resource_id, inputs):
        try:
            return "ok" if self.client.images.get(inputs["name"]).id == resource_id else "gone"
        except docker.errors.ImageNotFound:
            return "gone"

    def delete(self, resource_id, inputs):
        return None  # keep_locally: the local image stays


class NetworkRealizer(Realizer):
    token = "docker:index/network:Network"
    SUPPORTED = {"name", "driver", "labels", "internal", "attachable"}

    def create(self, name, inputs, created):
        network = self.client.networks.create(
            inputs["name"], driver=inputs.get("driver", "bridge"), internal=bool(inputs.get("internal")),
            attachable=bool(inputs.get("attachable")), check_duplicate=True,
            labels={item["label"]: item["value"] for item in inputs.get("labels", [])})
        created(network.id)
        self.log(f"created network {inputs['name']}")
        return network.id, {}

    def status(self, resource_id, inputs):
        try:
            self.client.networks.get(resource_id)
            return "ok"
        except docker.errors.NotFound:
            return "gone"

    def delete(self, resource_id, inputs):
        try:
            self.client.networks.get(resource_id).remove()
        except docker.errors.NotFound:
            pass

    def find_foreign(self, inputs):
        found = self.client.networks.list(names=[inputs["name"]])
        return next((n.id for n in found if n.name == inputs["name"]), None)


class VolumeRealizer(Realizer):
    token = "docker:index/volume:Volume"
    SUPPORTED = {"name", "driver", "driverOpts", "labels"}

    def create(self, name, inputs, created):
        volume = self.client.volumes.create(
            name=inputs.get("name"), driver=inputs.get("driver", "local"), driver_opts=inputs.get("driverOpts"),
            labels={item["label"]: item["value"] for item in inputs.get("labels", [])})
        created(volume.id)
        return volume.id, {"name": volume.name, "mountpoint": volume.attrs.get("Mountpoint")}

    def status(self, resource_id, inputs):
        try:
            self.client.volumes.get(resource_id)
            return "ok"
        except docker.errors.NotFound:
            return "gone"

    def delete(self, resource_id, inputs):
        try:
            self.client.volumes.get(resource_id).remove(force=True)
        except docker.errors.NotFound:
            pass

    def find_foreign(self, inputs):
        if not inputs.get("name"):
            return None
        try:
            return self.client.volumes.get(inputs["name"]).id
        except docker.errors.NotFound:
            return None

    def adopt(self, resource_id, inputs):
        """The provider's create adopts any volume of that name (Docker returns the existing one); the engine
        only one that matches the declaration, so a foreign volume is never taken for the lab's."""
        volume = self.client.volumes.get(resource_id)
        attrs = volume.attrs
        declared = {item["label"]: item["value"] for item in inputs.get("labels", [])}
        found = attrs.get("Labels") or {}
        problems = []
        if attrs.get("Driver") != inputs.get("driver", "local"):
            problems.append(f"driver {attrs.get('Driver')!r}, declared {inputs.get('driver', 'local')!r}")
        if {key: found.get(key) for key in declared} != declared:
            problems.append(f"labels {found}, declared {declared}")
        if inputs.get("driverOpts") and (attrs.get("Options") or {}) != inputs["driverOpts"]:
            problems.append(f"driver options {attrs.get('Options')}, declared {inputs['driverOpts']}")
        if problems:
            raise EngineError(f"volume {volume.name!r} exists but is not the one the program declares ("
                              f"{'; '.join(problems)}); it was not made by this stack. Remove or rename it "
                              f"(docker volume rm {volume.name}) and run `bench up` again")
        return volume.id, {"name": volume.name, "mountpoint": attrs.get("Mountpoint")}


class ContainerRealizer(Realizer):
    token = "docker:index/container:Container"
    SUPPORTED = {"name", "image", "envs", "command", "entrypoints", "cpus", "cpuSet", "memory", "memorySwap", "labels",
                 "healthcheck", "wait", "waitTimeout", "mustRun", "restart", "networkMode", "networksAdvanced",
                 "ports", "workingDir", "user", "removeVolumes", "destroyGraceSeconds", "volumes"}
    HEALTH_SUPPORTED = {"tests", "interval", "timeout", "retries", "startPeriod"}

    def validate(self, inputs):
        super().validate(inputs)
        if "healthcheck" in inputs:
            _check_inputs(f"{self.token} healthcheck", inputs["healthcheck"], self.HEALTH_SUPPORTED)
        for network in inputs.get("networksAdvanced", []):
            _check_inputs(f"{self.token} networksAdvanced", network, {"name", "aliases"})
        for port in inputs.get("ports", []):
            _check_inputs(f"{self.token} ports", port, {"internal", "external", "ip", "protocol"})
        for volume in inputs.get("volumes", []):
            _check_inputs(f"{self.token} volumes", volume,
                          {"containerPath", "hostPath", "volumeName", "readOnly"})
        if inputs.get("restart", "no") not in ("no", "on-failure", "always", "unless-stopped"):
            raise EngineError(f"{inputs.get('name')}: unknown restart policy {inputs['restart']!r}")

    def _host_config(self, inputs: dict) -> dict:
        api = self.client.api
        mib = 1024 ** 2
        ports = {}
        for port in inputs.get("ports", []):
            key = f"{int(port['internal'])}/{port.get('protocol', 'tcp')}"
            external = port.get("external")
            ports[key] = (port.get("ip", "0.0.0.0"), int(external) if external is not None else None)
        binds = []
        for volume in inputs.get("volumes", []):
            source = volume.get("hostPath") or volume.get("volumeName")
            binds.append(f"{source}:{volume['containerPath']}:{'ro' if volume.get('readOnly') else 'rw'}")
        networks = inputs.get("networksAdvanced", [])
        return api.create_host_config(
            nano_cpus=int(round(float(inputs["cpus"]) * 1e9)) if "cpus" in inputs else None,
            cpuset_cpus=inputs.get("cpuSet"),
            mem_limit=int(inputs["memory"]) * mib if "memory" in inputs else None,
            memswap_limit=int(inputs["memorySwap"]) * mib if "memorySwap" in inputs else None,
            network_mode=(networks[0]["name"] if networks and inputs.get("networkMode", "bridge") == "bridge"
                          else inputs.get("networkMode")),
            port_bindings=ports or None, binds=binds or None,
            restart_policy={"Name": inputs.get("restart", "no")})

    def create(self, name, inputs, created):
        api = self.client.api
        healthcheck = None
        if "healthcheck" in inputs:
            check = inputs["healthcheck"]
            healthcheck = {"test": check.get("tests"), "retries": int(check.get("retries", 0))}
            for key, docker_key in (("interval", "interval"), ("timeout", "timeout"), ("startPeriod", "start_period")):
                if key in check:
                    healthcheck[docker_key] = parse_duration(check[key])
        networks = inputs.get("networksAdvanced", [])
        networking = None
        if networks:
            if len(networks) > 1:
                raise EngineError(f"{inputs.get('name')}: the in-process engine attaches one network per container")
            networking = api.create_networking_config(
                {networks[0]["name"]: api.create_endpoint_config(aliases=networks[0].get("aliases"))})
        ports = [(int(p["internal"]), p.get("protocol", "tcp")) for p in inputs.get("ports", [])]
        response = api.create_container(
            inputs["image"], command=inputs.get("command"), entrypoint=inputs.get("entrypoints"),
            name=inputs.get("name"), environment=inputs.get("envs"), working_dir=inputs.get("workingDir"),
            user=inputs.get("user"), labels={item["label"]: item["value"] for item in inputs.get("labels", [])},
            healthcheck=healthcheck, ports=ports or None, host_config=self._host_config(inputs),
            networking_config=networking, detach=True)
        container_id = response["Id"]
        created(container_id)
        api.start(container_id)
        self.log(f"started container {inputs.get('name')}")
        if inputs.get("wait"):
            self._wait_healthy(container_id, inputs.get("name"), int(inputs.get("waitTimeout", 60)))
        elif inputs.get("mustRun", True):
            self._wait_running(container_id, inputs.get("name"))
        return container_id, {"id": container_id}

    def _failure(self, container_id: str, name: str, reason: str) -> EngineError:
        logs = self.client.api.logs(container_id, tail=30).decode(errors="replace")
        return EngineError(f"container {name} {reason}; its last log lines:\n{logs}")

    def _wait_running(self, container_id: str, name: str) -> None:
        state = self.client.api.inspect_container(container_id)["State"]
        if not state.get("Running"):
            raise self._failure(container_id, name, f"is not running (exit code {state.get('ExitCode')})")

    def _wait_healthy(self, container_id: str, name: str, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.client.api.inspect_container(container_id)["State"]
            health = (state.get("Health") or {}).get("Status")
            if health is None:
                raise EngineError(f"container {name}: wait=True needs a health check, and it has none")
            if health == "healthy":
                return
            if not state.get("Running"):
                raise self._failure(container_id, name, f"exited (code {state.get('ExitCode')}) before healthy")
            if time.monotonic() > deadline:
                raise self._failure(container_id, name, f"not healthy after {timeout} s (health: {health})")
            time.sleep(0.1)

    def status(self, resource_id, inputs):
        try:
            state = self.client.api.inspect_container(resource_id)["State"]
        except docker.errors.NotFound:
            return "gone"
        if state.get("Running") or not inputs.get("mustRun", True):
            return "ok"
        # Stopped, not gone: `bench run` and `bench conformance` stop every API but the one under test.
        return "stopped" if state.get("Status") in ("exited", "created") else "gone"

    def start(self, resource_id, inputs):
        """Same inputs, same container: `up` starts it again instead of recreating it."""
        self.client.api.start(resource_id)
        if inputs.get("wait"):
            self._wait_healthy(resource_id, inputs.get("name"), int(inputs.get("waitTimeout", 60)))
        else:
            self._wait_running(resource_id, inputs.get("name"))

    def delete(self, resource_id, inputs):
        try:
            if "destroyGraceSeconds" in inputs:
                self.client.api.stop(resource_id, timeout=int(inputs["destroyGraceSeconds"]))
            self.client.api.remove_container(resource_id, v=inputs.get("removeVolumes", True), force=True)
        except docker.errors.NotFound:
            pass

    def find_foreign(self, inputs):
        if not inputs.get("name"):
            return None
        try:
            return self.client.api.inspect_container(inputs["name"])["Id"]
        except docker.errors.NotFound:
            return None


REALIZERS = (RemoteImageRealizer, NetworkRealizer, VolumeRealizer, ContainerRealizer)


def realizers(client: docker.DockerClient, log) -> dict[str, Realizer]:
    return {cls.token: cls(client, log) for cls in REALIZERS}


def unwrap_secrets(value: Any) -> Any:
    """Inputs as the provider would see them: secret markers removed (the engine needs the values)."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value
