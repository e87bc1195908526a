"""Run the Pulumi program in this process and realize its resources against the Docker Engine.

The semantics are written down in docs/engine.md; in short:

- The Pulumi SDK's mocks interface is the seam: `set_mocks` with our own monitor makes every resource
  registration of the program arrive here (in the SDK's worker threads, in dependency order: a resource
  is registered only once its inputs and `depends_on` resources are resolved). Each registration brings
  the resource's dependencies (depends_on and the resources its inputs came from); they are recorded.
- unchanged (same inputs as recorded, object present): reuse it; a container that exists but was stopped
  (the runner stops every API but the one under test) is started again and reported as started;
- changed or gone: replace it — delete first when the program says `delete_before_replace` (fixed names),
  else create the new object first and then delete the old one, as Pulumi does;
- new: fail if a Docker object of that name exists that this stack did not create, else create it — except
  a resource declared with `retain_on_delete` (the metrics database's volume): an object of its name that
  matches the declaration (same driver, the declared labels) is adopted, as the Docker provider adopts it
  (Docker's volume create returns the existing volume);
- after the program, resources recorded but no longer declared are deleted, dependents before what they
  depend on; `down` deletes everything in that order. A `retain_on_delete` resource is never deleted: it
  leaves the state and stays in Docker, as under Pulumi.

The state file is rewritten after every step (secrets encrypted), so `down` from another process removes
exactly what exists. Reading the state (`recorded_outputs`, `bench status`) changes nothing.
"""
from __future__ import annotations

import contextlib
import graphlib
import hashlib
import json
import os
import runpy
import threading
import time
from collections.abc import Callable, Iterator

import docker
import docker.errors
import yaml

from perflab.catalogue import ROOT
from runner.engine import docker_resources
from runner.engine.errors import EngineError
from runner.engine.state import State

PROJECT = "perflab"


def _digest(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def stack_config(stack: str) -> dict[str, str]:
    """`Pulumi.<stack>.yaml`'s config as the Pulumi runtime hands it to a program: every value as text,
    objects and lists as JSON (so the program reads exactly what it reads under the CLI)."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise EngineError(f"no stack configuration {path.name}")
    values = dict((yaml.safe_load(path.read_text()) or {}).get("config", {}) or {})
    config = {}
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value and len(value) == 1:
            raise EngineError(f"{path.name}: {key} is encrypted, and only the Pulumi CLI can decrypt it; "
                              f"without the CLI remove it (the DB password then comes from PERFLAB_DB_PASSWORD "
                              f"or .perflab/db-password)")
        if isinstance(value, str):
            config[key] = value
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        else:
            config[key] = json.dumps(value)
    return config


class Engine:
    def __init__(self, stack: str, client: docker.DockerClient, log: Callable[[str], None],
                 realizers: dict[str, docker_resources.Realizer] | None = None):
        self.stack = stack
        self.client = client
        self.log = log
        self.state = State(stack)
        self.realizers = realizers if realizers is not None else docker_resources.realizers(client, log)
        self.seen: set[str] = set()
        self.changes: dict[str, list[str]] = {"created": [], "replaced": [], "started": [], "unchanged": [],
                                              "adopted": []}
        self.kept: list[str] = []  # retain_on_delete resources that left the state but stay in Docker
        self.lock = threading.Lock()

    def _count(self, kind: str, urn: str) -> None:
        with self.lock:
            self.changes[kind].append(urn)

    # --- called from the monitor (SDK worker threads) ---------------------------------------------
    def register(self, urn: str, type_: str, name: str, inputs: dict, custom: bool,
                 dependencies: list[str] | None = None, delete_before_replace: bool = False,
                 retain_on_delete: bool = False) -> tuple[str, dict]:
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
        delete_inputs = {k: plain[k] for k in ("name", "mustRun", "removeVolumes", "destroyGraceSeconds",
                                               "keepLocally") if k in plain}
        entry: dict[str, object] = {"type": type_, "name": name, "inputsHash": digest, "deleteInputs": delete_inputs,
                                    "dependencies": sorted(dependencies or [])}
        if retain_on_delete:
            entry["retainOnDelete"] = True
        recorded = self.state.resources.get(urn)
        status = None
        if recorded and recorded["inputsHash"] == digest and not recorded.get("tainted"):
            status = realizer.status(recorded["id"], plain)
            if status == "ok":
                kept = {key: value for key, value in recorded.items() if key != "retainOnDelete"}
                self.state.record(urn, {**kept, "dependencies": entry["dependencies"],
                                        **({"retainOnDelete": True} if retain_on_delete else {})})
                self._count("unchanged", urn)
                return recorded["id"], {**inputs, **recorded.get("computed", {})}
            if status == "stopped":
                docker_resources.docker_call(f"starting {name}", realizer.start, recorded["id"], plain)
                self.log(f"started {name} (it was stopped)")
                self._count("started", urn)
                return recorded["id"], {**inputs, **recorded.get("computed", {})}
        if recorded:
            why = ("inputs changed" if recorded["inputsHash"] != digest
                   else "its creation failed" if recorded.get("tainted") else "it is gone")
            self.log(f"replacing {name} ({why})")
            if status == "gone" and recorded.get("retainOnDelete"):
                self.state.forget(urn)  # nothing to keep: it is gone
                resource_id, computed = self._create(urn, type_, name, plain, entry, realizer)
            elif delete_before_replace or status == "gone":
                self._delete(urn, recorded)
                resource_id, computed = self._create(urn, type_, name, plain, entry, realizer)
            else:
                old = dict(recorded)
                resource_id, computed = self._create(urn, type_, name, plain, entry, realizer)
                if old.get("retainOnDelete"):
                    self._keep(old)
                elif old["id"] != resource_id:
                    docker_resources.docker_call(f"removing the replaced {name}", realizer.delete, old["id"],
                                                 old.get("deleteInputs", {}))
            self._count("replaced", urn)
        else:
            resource_id, computed = self._create(urn, type_, name, plain, entry, realizer)
            if urn not in self.changes["adopted"]:
                self._count("created", urn)
        return resource_id, {**inputs, **computed}

    def _create(self, urn, type_, name, plain, entry, realizer) -> tuple[str, dict]:
        foreign = realizer.find_foreign(plain)
        ours = {r["id"] for r in self.state.resources.values()}
        if foreign and foreign not in ours and entry.get("retainOnDelete"):
            # What an earlier `down` left (retain_on_delete): taken back, as the Docker provider's create does.
            resource_id, computed = docker_resources.docker_call(
                f"adopting {type_.split(':')[-1]} {name}", realizer.adopt, foreign, plain)
            self.state.record(urn, {**entry, "id": resource_id, "computed": computed})
            self.log(f"adopted {type_.split(':')[-1].lower()} {plain.get('name')} (kept by an earlier down)")
            self._count("adopted", urn)
            return resource_id, computed
        if foreign and foreign not in ours:
            raise EngineError(
                f"{type_.split(':')[-1]} {plain.get('name')!r} already exists ({foreign[:12]}) and was not created "
                f"by stack {self.stack!r}; another job owns it. Remove it (docker rm -f / docker network rm) "
                f"once that job is done, then run `bench up {self.stack}` again")
        resource_id, computed = docker_resources.docker_call(
            f"creating {type_.split(':')[-1]} {name}", realizer.create, name, plain,
            lambda new_id: self.state.record(urn, {**entry, "id": new_id, "tainted": True}))
        self.state.record(urn, {**entry, "id": resource_id, "computed": computed})
        return resource_id, computed

    def _keep(self, entry: dict) -> None:
        name = entry.get("deleteInputs", {}).get("name") or entry["name"]
        self.log(f"retained {entry['type'].split(':')[-1].lower()} {name} (retain_on_delete: left in Docker, "
                 f"dropped from the state)")
        with self.lock:
            self.kept.append(name)

    def _delete(self, urn: str, entry: dict) -> bool:
        """Delete the object and forget it; a retain_on_delete object is only forgotten. True if deleted."""
        if entry.get("retainOnDelete"):
            self._keep(entry)
            self.state.forget(urn)
            return False
        realizer = self.realizers.get(entry["type"])
        if realizer is None:
            raise EngineError(f"state has {entry['type']} {entry['name']}, which this engine cannot remove")
        docker_resources.docker_call(f"removing {entry['name']}", realizer.delete, entry["id"],
                                     entry.get("deleteInputs", {}))
        self.state.forget(urn)
        return True

    # --- whole-stack operations ----------------------------------------------------------------------
    def deletion_order(self, urns) -> list[str]:
        """Dependents before what they depend on (reverse dependency order), as Pulumi deletes."""
        chosen = set(urns)
        graph = {urn: [d for d in self.state.resources[urn].get("dependencies", []) if d in chosen]
                 for urn in sorted(chosen, key=lambda u: self.state.resources[u].get("order", 0))}
        try:
            return list(reversed(list(graphlib.TopologicalSorter(graph).static_order())))
        except graphlib.CycleError as error:
            raise EngineError(f"the recorded dependencies form a cycle: {error.args[1]}") from error

    def remove(self, urns) -> list[str]:
        removed = []
        for urn in self.deletion_order(urns):
            entry = self.state.resources[urn]
            if self._delete(urn, entry):
                self.log(f"removed {entry['name']} ({entry['type'].split(':')[-1]})")
                removed.append(entry["name"])
        return removed


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """The program's host inputs (PERFLAB_APIS, PERFLAB_BASE_IMAGE_ID) for the duration of one run."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_program(engine: Engine, config: dict[str, str]) -> tuple[dict, list[str]]:
    import pulumi
    from pulumi.runtime import mocks
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.stack import Stack, run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from runner.engine.monitor import RealizingMonitor

    monitor = RealizingMonitor(engine)
    mocks.set_mocks(monitor.mocks, project=PROJECT, stack=engine.stack, preview=False, monitor=monitor)
    set_all_config(config, [])

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    if monitor.errors:
        raise monitor.errors[0]

    root = pulumi_settings.get_root_resource()
    if not isinstance(root, Stack):
        raise EngineError(f"the program left no root stack resource (found {root!r})")

    async def collect() -> tuple[dict, list[str]]:
        values, secret = {}, []
        for key, value in root.outputs.items():
            output = pulumi.Output.from_input(value)
            values[key] = await output.future()
            if await output.is_secret():
                secret.append(key)
        return values, secret

    return _sync_await(collect())


def _refuse_foreign_containers(engine: Engine) -> None:
    """Fail before anything starts when a lab container name is taken by something this stack did not
    create (the conformance job and other runs use the same `perflab-<service>` names; lambda/local.sh
    names a Lambda's emulators `perflab-<lambda>-<i>`, as the stack does)."""
    from perflab.catalogue import APIS, METRICS_DATABASE, SUT_DATABASE
    from perflab.names import container_name

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


def up(stack: str = "local", log: Callable[[str], None] = print, env: dict[str, str] | None = None) -> dict:
    client = docker.from_env(max_pool_size=32)
    engine = Engine(stack, client, log)
    config = stack_config(stack)
    _refuse_foreign_containers(engine)
    start = time.monotonic()
    try:
        with _environment(env or {}):
            outputs, secret = run_program(engine, config)
    finally:
        engine.state.save()
    stale = [urn for urn in engine.state.resources if urn not in engine.seen]
    removed = engine.remove(stale) if stale else []
    engine.state.set_outputs(outputs, secret)
    counts = {kind: len(urns) for kind, urns in engine.changes.items()}
    adopted = f", {counts['adopted']} adopted" if counts["adopted"] else ""
    log(f"stack {stack}: {counts['created']} created, {counts['replaced']} replaced, {counts['started']} started, "
        f"{counts['unchanged']} unchanged, {len(removed)} removed{adopted} in {time.monotonic() - start:.1f} s")
    return outputs


def down(stack: str = "local", log: Callable[[str], None] = print) -> list[str]:
    """Remove every recorded resource but those declared retain_on_delete (they stay in Docker); return
    the names really removed."""
    engine = Engine(stack, docker.from_env(), log)
    removed = engine.remove(list(engine.state.resources))
    engine.state.remove_file()
    return removed


def recorded_outputs(stack: str = "local") -> dict | None:
    state = State(stack)
    return state.outputs if state.exists() and state.resources else None


def recorded_resources(stack: str = "local") -> dict:
    return State(stack).resources
