"""The runner's view of a stack: bring it up, take it down, say what runs — through the Pulumi CLI when it is
installed (Automation API), else through the in-process engine (runner/engine). One program either way.

`up` returns the stack's outputs (the runner's only source of endpoints, DSNs and container names) after
checking what Docker reports: every container healthy, its real limits equal to the configured ones, and
every endpoint answering a real health call from this machine.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable

import docker
import docker.errors
import psycopg2

from perflab import artifacts, catalogue, profiles
from perflab import settings as stack_config
from perflab.catalogue import ROOT
from perflab.catalogue import api as catalogue_api
from perflab.errors import LabError
from perflab.names import LABEL
from runner import images, readiness, statedir


class StackError(LabError):
    pass


def engine_kind() -> str:
    """`pulumi` (the CLI through the Automation API) or `in-process`; PERFLAB_ENGINE forces one."""
    forced = os.environ.get("PERFLAB_ENGINE")
    if forced:
        if forced not in ("pulumi", "in-process"):
            raise StackError(f"PERFLAB_ENGINE must be pulumi or in-process, not {forced!r}")
        return forced
    return "pulumi" if shutil.which("pulumi") else "in-process"


def _automation_stack(stack: str, env: dict[str, str] | None = None):
    from pulumi import automation

    options = automation.LocalWorkspaceOptions(env_vars=env or {})
    return automation.create_or_select_stack(stack_name=stack, work_dir=str(ROOT), opts=options)


def build(stack: str = "local", log: Callable[[str], None] = print, apis: list[str] | None = None) -> dict[str, str]:
    """Build every artifact and image the stack refers to (the program itself builds nothing)."""
    cfg = stack_config.load(stack)
    names = apis if apis is not None else cfg.deployed_api_names  # what the program will deploy
    try:
        services = catalogue.apis(names)
    except KeyError as error:
        raise StackError(str(error.args[0])) from error
    return images.prepare(images.stack_images(services), log=log)


def program_environment(apis: list[str] | None = None, profile: str | None = None) -> dict[str, str]:
    """What the program reads from the host besides its config: the base image's id (part of every image
    tag), a per-run API list and profile. Passed as environment variables, so no committed file is rewritten."""
    statedir.database_password()  # generated once, before the program reads it
    statedir.jwt_secret_key()  # likewise the key of the auth profiles
    env = {artifacts.BASE_IMAGE_ID_VARIABLE: images.base_image_id()}
    if apis is not None:
        env[stack_config.API_OVERRIDE_VARIABLE] = ",".join(apis)
    if profile is not None:
        env[profiles.PROFILE_VARIABLE] = profiles.profile(profile).name
    return env


def up(stack: str = "local", log: Callable[[str], None] = print, apis: list[str] | None = None,
       profile: str | None = None) -> dict:
    """Build, then apply the program; `apis` (names) narrows the stack's API list for this run, `profile`
    picks the auth/secrets profile (default: perflab:profile)."""
    start = time.monotonic()
    stack_config.load(stack).check_cpusets(os.cpu_count() or 1)
    build(stack, log, apis)
    env = program_environment(apis, profile)
    if engine_kind() == "pulumi":
        _automation_stack(stack, env).up(on_output=lambda line: log(line.rstrip()))
        result = outputs(stack)
    else:
        from runner import engine

        try:
            result = engine.up(stack, log, env)
        except engine.EngineError as error:
            raise StackError(str(error)) from error
    verify(result)
    log(f"stack {stack} up and verified in {time.monotonic() - start:.1f} s")
    return result


def down(stack: str = "local", log: Callable[[str], None] = print, purge: bool = False) -> list[str]:
    """Remove the stack; returns what was really removed (names from the engine, or Pulumi's own count).

    The metrics database's volume (declared retain_on_delete) stays, and with it the run history, under
    either engine; `purge` removes it too (and every other volume of the stack), after the containers."""
    from runner import engine

    if engine.recorded_resources(stack) or engine_kind() == "in-process":
        removed = engine.down(stack, log)
    else:
        destroyed = _automation_stack(stack).destroy(on_output=lambda line: log(line.rstrip()))
        count = int((destroyed.summary.resource_changes or {}).get("delete", 0))
        removed = [f"resource {i + 1}" for i in range(count)]
    leftovers = docker.from_env().containers.list(all=True, filters={"label": f"{LABEL}={stack}"})
    if leftovers:
        raise StackError(f"containers of stack {stack} still exist: {', '.join(c.name for c in leftovers)}")
    if purge:
        removed += purge_volumes(stack, log)
    return removed


def kept_volumes(stack: str = "local") -> list[str]:
    """The stack's volumes that outlive `down` (the metrics database's run history), by the stack's label."""
    client = docker.from_env()
    return sorted(volume.name for volume in client.volumes.list(filters={"label": f"{LABEL}={stack}"}))


def purge_volumes(stack: str = "local", log: Callable[[str], None] = print) -> list[str]:
    """Remove the volumes `down` keeps. The metrics database's history goes with them (results/ keeps the
    documents: `bench db load` reloads them)."""
    client = docker.from_env()
    removed = []
    for name in kept_volumes(stack):
        log(f"warning: removing volume {name}: the run history it holds (the metrics database) is deleted; the "
            f"results documents under results/ stay, and `bench db load` loads them again")
        try:
            client.volumes.get(name).remove()
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as error:
            raise StackError(f"volume {name} cannot be removed: {error.explanation or error}") from error
        removed.append(name)
    return removed


def engine_resources(stack: str = "local") -> dict:
    """What the in-process engine recorded for the stack (empty under the Pulumi CLI)."""
    from runner import engine

    return engine.recorded_resources(stack)


def outputs(stack: str = "local") -> dict:
    """The stack's outputs, secrets included (never print them); {} when the stack is not up."""
    from runner import engine

    recorded = engine.recorded_outputs(stack)
    if recorded is not None:
        return recorded
    if engine_kind() == "pulumi":
        return {key: item.value for key, item in _automation_stack(stack).outputs().items()}
    return {}


def _services(result: dict) -> list[dict]:
    """One row per container of the outputs: name, configured limits, how to probe it from the host."""
    cfg = stack_config.load(result.get("stack", "local"))
    rows = []
    for key in ("database", "metricsDatabase"):
        database = result[key]
        role = "database" if key == "database" else "metrics-database"
        rows.append({"container": database["container"], "role": role, "limits": cfg.limits(role),
                     "endpoint": f"{database['host']}:{database['port']}", "probe": ("postgres", database["dsn"])})
    for name, entry in result.get("apis", {}).items():
        limits = _limits(entry["limits"])
        gateway = entry.get("gateway")
        if gateway is None:
            rows.append({"container": entry["container"], "role": "api", "limits": limits,
                         "endpoint": entry["endpoint"], "probe": ("api", name)})
            continue
        # A Lambda: its emulators (Docker's health check is their Runtime API ping; a probe invocation
        # from here would only reach one of them), then its gateway, probed with a real health call.
        for emulator in entry["emulators"]:
            rows.append({"container": emulator["container"], "role": "lambda-function", "limits": limits,
                         "endpoint": emulator["endpoint"], "probe": None})
        rows.append({"container": gateway["container"], "role": "gateway", "limits": _limits(gateway["limits"]),
                     "endpoint": entry["endpoint"], "probe": ("api", name)})
    return rows


def _limits(entry: dict) -> stack_config.Limits:
    return stack_config.Limits(float(entry["cpus"]), str(entry["memory"]))


def verify(result: dict, timeout: float = 120.0) -> None:
    """Docker's own account of every container: running, healthy, limits as configured; then a real
    health call from this machine (the path the load generator will use)."""
    client = docker.from_env()
    problems = []
    for row in _services(result):
        try:
            attrs = client.api.inspect_container(row["container"])
        except docker.errors.NotFound:
            problems.append(f"{row['container']}: no such container")
            continue
        host_config = attrs["HostConfig"]
        actual = (host_config.get("NanoCpus"), host_config.get("Memory"))
        wanted = (row["limits"].nano_cpus, row["limits"].memory_bytes)
        if actual != wanted:
            problems.append(f"{row['container']}: Docker reports NanoCpus/Memory {actual}, configured {wanted}")
        health = (attrs["State"].get("Health") or {}).get("Status")
        if health != "healthy":
            problems.append(f"{row['container']}: health {health!r}")
        if row["probe"] is None:
            continue
        kind, detail = row["probe"]
        if kind == "postgres":
            probe = _postgres_ready(detail)
        else:
            probe = readiness.service_probe(catalogue_api(detail))
        try:
            readiness.wait(probe, timeout=timeout if not problems else 0)
        except TimeoutError:
            problems.append(f"{row['container']}: {row['endpoint']} does not answer a health call")
    if problems:
        raise StackError("stack not healthy:\n  " + "\n  ".join(problems))


def _postgres_ready(dsn: str):
    def probe() -> bool:
        try:
            with psycopg2.connect(dsn, connect_timeout=2) as conn, conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except psycopg2.Error:
            return False
    return probe


def status(stack: str = "local") -> list[dict]:
    """What runs: every container of the stack (from the outputs and Docker's labels), with its state,
    health, and the limits Docker applies next to the configured ones."""
    client = docker.from_env()
    result = outputs(stack)
    rows = []
    known = set()
    services = _services(result) if result else []
    for row in services:
        known.add(row["container"])
        try:
            attrs = client.api.inspect_container(row["container"])
        except docker.errors.NotFound:
            rows.append({"container": row["container"], "role": row["role"], "state": "missing", "health": "",
                         "cpus": "", "memory": "", "configured": _limits_text(row["limits"]),
                         "endpoint": row["endpoint"]})
            continue
        rows.append(_row(attrs, row["role"], _limits_text(row["limits"]), row["endpoint"]))
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}={stack}"}):
        if container.name not in known:
            rows.append(_row(container.attrs, container.labels.get("perflab.role", "?"), "", "(not in outputs)"))
    return rows


def _limits_text(limits: stack_config.Limits) -> str:
    return f"{limits.cpus:g} CPU / {limits.memory}"


# Exit codes of a container stopped on purpose (`docker stop`: SIGTERM, handled or not, then SIGKILL).
STOPPED_EXIT_CODES = (0, 130, 137, 143)


def container_state(state: dict) -> str:
    """running, stopped (by the lab: bench run/conformance run one API at a time), or failed (exit N)."""
    status = state.get("Status", "?")
    if status == "exited":
        code = state.get("ExitCode")
        return "stopped" if code in STOPPED_EXIT_CODES and not state.get("OOMKilled") else f"failed (exit {code})"
    return status


def _row(attrs: dict, role: str, configured: str, endpoint: str) -> dict:
    host_config = attrs["HostConfig"]
    state = attrs["State"]
    shown = container_state(state)
    return {"container": attrs["Name"].lstrip("/"), "role": role, "state": shown,
            "health": (state.get("Health") or {}).get("Status", "none") if shown == "running" else "-",
            "cpus": f"{(host_config.get('NanoCpus') or 0) / 1e9:g}",
            "memory": f"{(host_config.get('Memory') or 0) / 1024 ** 2:g} MiB",
            "configured": configured, "endpoint": endpoint}


def active_stack() -> str | None:
    """The stack that is up (recorded by the engine or the Pulumi CLI), for commands that default to it."""
    for name in ("local", "aws"):
        try:
            if outputs(name):
                return name
        except Exception:  # noqa: BLE001 — a stack that cannot be read is not the active one
            continue
    return None
