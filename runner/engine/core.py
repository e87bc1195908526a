"""Run the Pulumi program in this process and realize its resources against the Docker Engine.

The Pulumi SDK's mocks interface is the seam: `set_mocks` with our own monitor makes every resource
registration of the program arrive here (in the SDK's worker threads, in dependency order: a resource is
registered only once its inputs and `depends_on` resources are resolved). For each one:

- unchanged (same inputs as recorded, object still alive): reuse it, create nothing;
- changed or gone: remove the old object, create the new one (delete-before-replace: names are fixed);
- new: fail if a Docker object of that name exists that this stack did not create, else create it.

After the program, resources recorded but no longer declared are removed. The state file is rewritten
after every step, so `down` from another process removes exactly what exists.
"""
from __future__ import annotations

import hashlib
import json
import runpy
import threading
import time
from typing import Callable

import docker
import docker.errors
import yaml

from runner.catalogue import ROOT
from runner.engine import docker_resources
from runner.engine.errors import EngineError
from runner.engine.state import State

PROJECT = "perflab"
# Resource options the in-process engine cannot honour; a program that sets one gets an EngineError.
UNSUPPORTED_OPTIONS = ("protect", "ignoreChanges", "replaceOnChanges", "retainOnDelete", "importId",
                       "additionalSecretOutputs", "deletedWith", "remote", "aliasURNs", "aliases")


def _digest(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def stack_config(stack: str, overrides: dict | None = None) -> dict[str, str]:
    """`Pulumi.<stack>.yaml`'s config as the Pulumi runtime expects it: strings, objects as JSON."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise EngineError(f"no stack configuration {path.name}")
    values = dict((yaml.safe_load(path.read_text()) or {}).get("config", {}))
    for key, value in (overrides or {}).items():
        values[key if ":" in key else f"{PROJECT}:{key}"] = value
    config = {}
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value and len(value) == 1:
            raise EngineError(f"{path.name}: {key} is encrypted, and only the Pulumi CLI can decrypt it; "
                              f"without the CLI remove it (the DB password then comes from PERFLAB_DB_PASSWORD "
                              f"or .perflab/db-password)")
        config[key] = value if isinstance(value, str) else json.dumps(value)
    return config


class Engine:
    def __init__(self, stack: str, client: docker.DockerClient, log: Callable[[str], None]):
        self.stack = stack
        self.client = client
        self.log = log
        self.state = State(stack)
        self.realizers = docker_resources.realizers(client, log)
        self.seen: set[str] = set()
        self.created: list[str] = []
        self.unchanged: list[str] = []
        self.lock = threading.Lock()

    # --- called from the monitor (SDK worker threads) ---------------------------------------------
    def register(self, urn: str, type_: str, name: str, inputs: dict, custom: bool) -> tuple[str, dict]:
        with self.lock:
            self.seen.add(urn)
        if not custom:
            if not type_.startswith(f"{PROJECT}:"):
                raise EngineError(f"{type_}: only the lab's own component resources are supported")
            return "", {}
        realizer = self.realizers.get(type_)
        if realizer is None:
            raise EngineError(f"{name}: resource type {type_} is not supported by the in-process engine "
                              f"(supported: {', '.join(sorted(self.realizers))}); install the Pulumi CLI")
        plain = docker_resources.unwrap_secrets(inputs)
        realizer.validate(plain)
        digest = _digest(plain)
        recorded = self.state.resources.get(urn)
        if (recorded and recorded["inputsHash"] == digest and not recorded.get("tainted")
                and realizer.alive(recorded["id"], plain)):
            with self.lock:
                self.unchanged.append(urn)
            return recorded["id"], {**inputs, **recorded.get("computed", {})}
        if recorded:
            why = ("inputs changed" if recorded["inputsHash"] != digest
                   else "its creation failed" if recorded.get("tainted") else "it is gone or stopped")
            self.log(f"replacing {name} ({why})")
            realizer.delete(recorded["id"], recorded.get("deleteInputs", {}))
            self.state.forget(urn)
        foreign = realizer.find_foreign(plain)
        if foreign:
            raise EngineError(
                f"{type_.split(':')[-1]} {plain.get('name')!r} already exists ({foreign[:12]}) and was not created "
                f"by stack {self.stack!r}; another job owns it. Remove it (docker rm -f / docker network rm) "
                f"once that job is done, then run `bench up {self.stack}` again")
        delete_inputs = {k: plain[k] for k in ("imageName", "name", "mustRun", "removeVolumes",
                                               "destroyGraceSeconds") if k in plain}
        entry = {"type": type_, "name": name, "inputsHash": digest, "deleteInputs": delete_inputs}
        resource_id, computed = docker_resources.docker_call(
            f"creating {type_.split(':')[-1]} {name}", realizer.create, name, plain,
            lambda new_id: self.state.record(urn, {**entry, "id": new_id, "tainted": True}))
        self.state.record(urn, {**entry, "id": resource_id, "computed": computed})
        with self.lock:
            self.created.append(urn)
        return resource_id, {**inputs, **computed}

    # --- whole-stack operations ----------------------------------------------------------------------
    def remove(self, urns) -> list[str]:
        entries = sorted(((urn, self.state.resources[urn]) for urn in urns),
                         key=lambda item: (docker_resources.DELETE_ORDER.get(item[1]["type"], 9), -item[1]["order"]))
        removed = []
        for urn, entry in entries:
            realizer = self.realizers.get(entry["type"])
            if realizer is None:
                raise EngineError(f"state has {entry['type']} {entry['name']}, which this engine cannot remove")
            docker_resources.docker_call(f"removing {entry['name']}", realizer.delete, entry["id"],
                                         entry.get("deleteInputs", {}))
            if entry["type"] != docker_resources.ImageRealizer.token:
                self.log(f"removed {entry['name']} ({entry['type'].split(':')[-1]})")
            removed.append(entry["name"])
            self.state.forget(urn)
        return removed


def _run_program(engine: Engine, config: dict[str, str]) -> dict:
    import pulumi
    from pulumi.runtime import mocks, settings as pulumi_settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from runner.engine.monitor import RealizingMonitor

    monitor = RealizingMonitor(engine)
    mocks.set_mocks(monitor.mocks, project=PROJECT, stack=engine.stack, preview=False, monitor=monitor)
    set_all_config(config, [])
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")))
    if monitor.errors:
        raise monitor.errors[0]

    async def collect() -> tuple[dict, list[str]]:
        values, secret = {}, []
        for key, value in pulumi_settings.get_root_resource().outputs.items():
            output = pulumi.Output.from_input(value)
            values[key] = await output.future()
            if await output.is_secret():
                secret.append(key)
        return values, secret

    return _sync_await(collect())


def _refuse_foreign_containers(engine: Engine) -> None:
    """Fail before building anything when a lab container name is taken by something this stack did not
    create (the conformance job and other runs use the same `perflab-<service>` names; lambda/local.sh
    names a Lambda's emulators `perflab-<lambda>-<i>`, as the stack does)."""
    from runner.catalogue import APIS, METRICS_DATABASE, SUT_DATABASE
    from runner.containers import container_name

    ours = {entry["id"] for entry in engine.state.resources.values()}
    found: dict[str, str] = {}
    for service in (SUT_DATABASE, METRICS_DATABASE, *APIS):
        name = container_name(service)
        try:
            found[name] = engine.client.api.inspect_container(name)["Id"]
        except docker.errors.NotFound:
            pass
        if service.deployment == "lambda":
            for container in engine.client.api.containers(all=True, filters={"name": f"^/{name}-[0-9]+$"}):
                found[container["Names"][0].lstrip("/")] = container["Id"]
    for name, container_id in found.items():
        if container_id not in ours:
            raise EngineError(f"container {name!r} exists and was not created by stack {engine.stack!r}; another "
                              f"job owns it. Once that job is done, remove it (docker rm -f {name}) and run "
                              f"`bench up {engine.stack}` again")


def up(stack: str = "local", log: Callable[[str], None] = print, overrides: dict | None = None) -> dict:
    client = docker.from_env(max_pool_size=32)
    engine = Engine(stack, client, log)
    config = stack_config(stack, overrides)
    _refuse_foreign_containers(engine)
    start = time.monotonic()
    try:
        outputs, secret = _run_program(engine, config)
    finally:
        engine.state.save()
    stale = [urn for urn in engine.state.resources if urn not in engine.seen]
    if stale:
        engine.remove(stale)
    engine.state.outputs, engine.state.secret_outputs = outputs, secret
    engine.state.save()
    log(f"stack {stack}: {len(engine.created)} created, {len(engine.unchanged)} unchanged, "
        f"{len(stale)} removed in {time.monotonic() - start:.1f} s")
    return outputs


def down(stack: str = "local", log: Callable[[str], None] = print) -> list[str]:
    engine = Engine(stack, docker.from_env(), log)
    removed = engine.remove(list(engine.state.resources))
    engine.state.remove_file()
    return removed


def recorded_outputs(stack: str = "local") -> dict | None:
    state = State(stack)
    return state.outputs if state.path.exists() and state.resources else None


def recorded_resources(stack: str = "local") -> dict:
    return State(stack).resources
