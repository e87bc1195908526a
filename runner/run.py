"""`bench run`: the same load phases against every API, one at a time, verified, with resources sampled.

For each API × payload size × repeat: reset the database, start only that API, wait for real readiness,
run the load generator in its own container (warm-up excluded), sample docker stats of the API, the
database and the generator throughout, verify the database against what was acknowledged, stop the API.
Everything lands in one self-describing results document (docs/results-format.md).
"""
from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
import os
import pathlib
import secrets
import shutil
import time
from collections.abc import Callable

import docker
import docker.errors

from perflab import results as results_model
from perflab import settings as stack_config
from perflab.catalogue import LOADGEN, ROOT, Service
from perflab.durations import iso, parse_time, utc_now
from perflab.errors import LabError
from runner import database, environment, images, sampler, shapes, verify
from runner.containers import (
    ContainerError,
    deployed_containers,
    start_deployed,
    stop_all_deployed,
    stop_deployed,
    verify_limits,
)

# Run shapes (modes, phases, warm-up, payload sizes, thresholds) are the load generator's: runner/shapes.py
# asks it. What follows is the runner's own disk model.
# Database growth per request, measured as table + index + WAL bytes per stored event, is about twice the
# payload; the original lab's estimates (up to 1.5 GB per API for saturation at 64k) agree. Safety margin 50 %.
GROWTH_FACTOR = 2.0
SAFETY_MARGIN = 1.5
# Requests a mode can send per API at most, for the disk estimate: its planned time at a generous 3k req/s.
ASSUMED_MAX_RATE = 3000
ASSUMED_MAX_INGEST_BYTES = 20e6  # ~ what PostgreSQL absorbs here for large events, WAL included
RAW_SAMPLE_BYTES = 12  # one gzip CSV row of raw samples, compressed


class RunError(LabError):
    pass


@dataclasses.dataclass
class RunOptions:
    mode: str
    apis: list[Service]
    payload_sizes: list[str]
    repeat: int = 1
    phase_scale: float = 1.0
    think_time_ms: int = 0
    rate: float | None = None
    entity_pool: int = 10000
    warmup_seconds: float | None = None  # None: the mode's own warm-up (loadgen describe)
    results_dir: pathlib.Path = ROOT / "results"
    stack: str = "local"
    command: str = ""


def new_run_id() -> str:
    return utc_now().strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def run_shapes(options: RunOptions) -> shapes.Shapes:
    return shapes.describe(options.phase_scale, options.warmup_seconds)


def _requests_per_measurement(options: RunOptions, size: str) -> float:
    described = run_shapes(options)
    mode = described.mode(options.mode)
    if mode.requests_by_count is not None:
        return mode.requests_by_count
    # Throughput is bounded by requests/s for small events and by bytes/s for large ones.
    rate = options.rate or min(ASSUMED_MAX_RATE, ASSUMED_MAX_INGEST_BYTES / described.payload_bytes[size])
    return mode.planned_seconds * rate


def human_bytes(count: float) -> str:
    """Sizes a person reads: 512 B, 12 KB, 3.4 MB, 1.2 GB (decimal units, as disk tools print)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}" if count < 10 * size else f"{count / size:.0f} {unit}"
    return f"{count:.0f} B"


def required_bytes(options: RunOptions) -> dict[str, int]:
    """Disk each place needs. The database is emptied before every measurement, so it must hold the
    largest single measurement; the results directory keeps every measurement's raw samples."""
    sizes = run_shapes(options).payload_bytes
    database_bytes = max(_requests_per_measurement(options, size) * sizes[size] * GROWTH_FACTOR
                         for size in options.payload_sizes)
    results_bytes = sum(_requests_per_measurement(options, size) for size in options.payload_sizes) \
        * RAW_SAMPLE_BYTES * len(options.apis) * options.repeat
    return {"database": int(database_bytes * SAFETY_MARGIN), "results": int(results_bytes * SAFETY_MARGIN)}


def check_disk(options: RunOptions, client: docker.DockerClient) -> str:
    needed = required_bytes(options)
    docker_root = pathlib.Path(client.info().get("DockerRootDir", "/"))
    for label, path in (("results", options.results_dir), ("database", docker_root)):
        probe = path if path.exists() else ROOT
        free = shutil.disk_usage(probe).free
        if free < needed[label]:
            raise RunError(f"not enough free disk for the {label} at {probe}: {human_bytes(free)} free, this run "
                           f"needs about {human_bytes(needed[label])} there (mode {options.mode}, payloads "
                           f"{', '.join(options.payload_sizes)}, {len(options.apis)} APIs, "
                           f"{options.repeat} repeats, 50 % margin)")
    return (f"disk needed at most: {human_bytes(needed['database'])} for the database, "
            f"{human_bytes(needed['results'])} for results")


def loadgen_arguments(options: RunOptions, api: Service, endpoint: str, size: str, out: str) -> list[str]:
    target = endpoint.replace("http://", "") if api.protocol == "grpc" else endpoint
    arguments = ["run", "--protocol", api.protocol, "--target", target, "--mode", options.mode,
                 "--phase-scale", str(options.phase_scale), "--payload-size", size,
                 "--entity-pool", str(options.entity_pool), "--think-time", f"{options.think_time_ms}ms",
                 "--warmup", f"{warmup_seconds(options)}s", "--summary", f"{out}/summary.json",
                 "--samples", f"{out}/samples.csv.gz", "--progress"]
    if options.rate:
        arguments += ["--rate", str(options.rate)]
    return arguments


def warmup_seconds(options: RunOptions) -> float:
    if options.warmup_seconds is not None:
        return options.warmup_seconds
    return run_shapes(options).mode(options.mode).warmup_seconds


PHASE_FIELDS = {field.alias or name for name, field in results_model.Phase.model_fields.items()}


def phase_figures(phase: dict, samples: list[sampler.Sample], limits: dict[str, float]) -> dict:
    """Add resources, efficiency and the generator-saturation flag to one phase of the generator's summary."""
    start, end = parse_time(phase["start"]), parse_time(phase["end"])
    # What the results model records of the generator's phase (the summary may carry more, e.g. histograms).
    phase = {key: value for key, value in phase.items() if key in PHASE_FIELDS}
    resources = {role: sampler.window(samples, role, start, end).as_dict(limits.get(role))
                 for role in ("api", "database", "loadgen")}
    requests = phase.get("requests") or 0
    api_cpu = resources["api"]["cpuSeconds"]
    efficiency = {"cpuSecondsPer1kRequests": None, "requestsPerCpuSecond": None, "memoryMBPerRequest": None}
    if api_cpu and requests:
        efficiency["cpuSecondsPer1kRequests"] = api_cpu / requests * 1000
        efficiency["requestsPerCpuSecond"] = requests / api_cpu
    if resources["api"]["memoryAvgBytes"] and phase.get("throughput"):
        # MB held per request/s of throughput: memory cost of the load the API sustained.
        efficiency["memoryMBPerRequest"] = resources["api"]["memoryAvgBytes"] / 1e6 / phase["throughput"]
    generator = resources["loadgen"]
    saturated = bool(generator["cpuPercentAvg"] is not None and limits.get("loadgen")
                     and generator["cpuPercentAvg"] > 80.0 * limits["loadgen"])
    # The limits may add up to more than the host has (2 cores here): flag phases where the lab's three
    # containers together kept ~all cores busy, whatever each one's own limit.
    used = [resources[role]["cpuPercentAvg"] for role in ("api", "database", "loadgen")]
    host_saturated = all(u is not None for u in used) and sum(used) >= 90.0 * (os.cpu_count() or 1)
    return {**phase, "resources": resources, "efficiency": efficiency, "generatorSaturated": saturated,
            "hostSaturated": host_saturated}


class Runner:
    def __init__(self, options: RunOptions, outputs: dict, cfg: stack_config.StackConfig,
                 client: docker.DockerClient | None = None, on_progress: Callable[[dict], None] = lambda p: None,
                 log: Callable[[str], None] = print):
        self.options = options
        self.outputs = outputs
        self.cfg = cfg
        self.client = client or docker.from_env()
        self.on_progress = on_progress
        self.log = log
        self.run_id = new_run_id()
        self.run_dir = options.results_dir / self.run_id
        self.loadgen_container = None
        self.started_api: dict | None = None
        self.loadgen_version: str | None = None
        self.loadgen_image: str | None = None
        self.partial: dict | None = None  # the measurement Ctrl-C interrupted

    # -- pieces -------------------------------------------------------------------------------------------
    def _api_output(self, api: Service) -> dict:
        try:
            return self.outputs["apis"][api.name]
        except KeyError as error:
            raise RunError(f"{api.name} is not deployed in the {self.options.stack} stack "
                           f"(perflab:apis in Pulumi.{self.options.stack}.yaml)") from error

    def _start_api(self, api: Service) -> float:
        entry = self._api_output(api)
        self.started_api = entry
        return start_deployed(self.client, api, entry, self.cfg)

    def _run_loadgen(self, api: Service, size: str, work_dir: pathlib.Path, sampling: sampler.Sampler) -> dict:
        image = self.loadgen_image
        limits = self.cfg.limits(LOADGEN.resource_class)
        arguments = loadgen_arguments(self.options, api, self._api_output(api)["endpoint"], size, "/out")
        name = f"perflab-loadgen-{self.run_id}"
        container = self.client.containers.run(
            image, command=arguments, name=name, detach=True, network_mode="host",
            nano_cpus=limits.nano_cpus, mem_limit=limits.memory_bytes, user=f"{os.getuid()}:{os.getgid()}",
            volumes={str(work_dir.resolve()): {"bind": "/out", "mode": "rw"}},
            labels={"perflab.stack": self.options.stack, "perflab.role": "loadgen"})
        self.loadgen_container = container
        verify_limits(container, limits)
        sampling.add("loadgen", name)
        for line in container.logs(stream=True, follow=True, stdout=False, stderr=True):
            try:
                self.on_progress(json.loads(line))
            except ValueError:
                pass
        exit_code = container.wait(timeout=24 * 3600)["StatusCode"]
        logs = container.logs(stdout=True, stderr=False).decode(errors="replace")
        container.remove(force=True)
        self.loadgen_container = None
        summary_path = work_dir / "summary.json"
        if exit_code != 0 or not summary_path.exists():
            raise RunError(f"load generator exited {exit_code}: {logs[-800:]}")
        summary = json.loads(summary_path.read_text())
        self.loadgen_version = summary.get("version")
        return summary

    # -- one API × payload × repeat ------------------------------------------------------------------------
    def measure(self, api: Service, size: str, repeat: int) -> dict:
        cycle_start = time.monotonic()
        result = {"api": api.name, "language": api.language, "framework": api.framework, "protocol": api.protocol,
                  "deployment": api.deployment, "payloadSize": size, "payloadBytes": run_shapes(self.options).payload_bytes[size],
                  "repeat": repeat, "status": "error", "problem": None, "startupSeconds": None,
                  "overheadSeconds": None, "verification": None, "phases": [], "resourceSamples": [],
                  "database": None, "rawSamples": None}
        work_dir = self.run_dir / f"{api.name}-{size}-{repeat}"
        work_dir.mkdir(parents=True, exist_ok=True)
        dsn = self.outputs["database"]["dsn"]
        database.reset(dsn)
        sampling = sampler.Sampler({"database": self.outputs["database"]["container"]}, self.client).start()
        loadgen_seconds = 0.0
        try:
            try:
                result["startupSeconds"] = self._start_api(api)
            except (ContainerError, docker.errors.APIError) as error:
                result["problem"] = f"never became healthy: {error}"
                return result
            for name in deployed_containers(self._api_output(api)):
                sampling.add("api", name)
            summary = self._run_loadgen(api, size, work_dir, sampling)
            if summary["phases"]:
                sampling.wait_past(max(parse_time(p["end"]) for p in summary["phases"]))
            samples = sampling.stop()
            windows = [parse_time(p["start"]) for p in summary["phases"]] + [parse_time(p["end"]) for p in summary["phases"]]
            if summary.get("warmup"):
                windows.append(parse_time(summary["warmup"]["start"]))
            loadgen_seconds = (max(windows) - min(windows)).total_seconds() if windows else 0.0
            limits = {"api": self._api_cpu_limit(api),
                      "database": self.cfg.limits("database").cpus, "loadgen": self.cfg.limits("loadgen").cpus}
            # Thresholds are the generator's verdicts (one home: tools/loadgen), per phase.
            phases = [phase_figures(phase, samples, limits) for phase in summary["phases"]]
            result["phases"] = phases
            result["resourceSamples"] = [{"t": iso(s.time), "role": s.role, "container": s.container,
                                          "cpuPercent": round(s.cpu_percent, 2), "memoryBytes": s.memory_bytes} for s in samples]
            totals = summary["totals"]
            check = verify.verify(dsn, totals["acknowledged"], totals.get("ambiguous", 0))
            result["verification"] = check.as_dict()
            result["database"] = database.snapshot(dsn)
            result["rawSamples"] = f"{work_dir.name}/samples.csv.gz"
            problems: list[str] = []
            if not check.passed:
                problems.append(f"verification failed: {check.details}")
            broken = [f"{p['name']} {k}" for p in phases for k, ok in p["thresholds"].items() if not ok]
            if broken:
                problems.append(f"thresholds broken: {', '.join(broken)}")
            result["status"] = "failed" if problems else "passed"
            result["problem"] = "; ".join(problems) or None
            return result
        except RunError as error:
            result["problem"] = str(error)
            return result
        except KeyboardInterrupt:
            # Ctrl-C: let the generator stop cleanly (SIGINT) so the requests already sent are accounted for.
            self._interrupt_loadgen()
            summary_path = work_dir / "summary.json"
            if summary_path.exists():
                summary = json.loads(summary_path.read_text())
                result["phases"] = [phase_figures(phase, sampling.stop(), {}) for phase in summary["phases"]]
            result["problem"] = "interrupted (Ctrl-C): partial, not verified"
            self.partial = result
            raise
        finally:
            sampling.stop()
            self._stop_api()
            result["overheadSeconds"] = round(time.monotonic() - cycle_start - loadgen_seconds, 3)

    def _stop_api(self) -> None:
        if self.started_api:
            stop_deployed(self.client, self.started_api)
            self.started_api = None

    def _api_cpu_limit(self, api: Service) -> float:
        """CPUs the API under test may use in all: a Lambda's emulators and its gateway together."""
        entry = self._api_output(api)
        cpus = self.cfg.limits(api.resource_class).cpus * int(entry.get("environments") or 1)
        if entry.get("gateway"):
            cpus += self.cfg.limits(entry["gateway"].get("resourceClass", "gateway")).cpus
        return cpus

    def _interrupt_loadgen(self) -> None:
        if self.loadgen_container is None:
            return
        try:
            self.loadgen_container.kill(signal="SIGINT")
            self.loadgen_container.wait(timeout=20)
        except (docker.errors.DockerException, Exception):  # noqa: BLE001 — best effort; removal follows
            pass

    def abort(self) -> None:
        """Ctrl-C: stop the generator and the API this run started."""
        if self.loadgen_container is not None:
            self._interrupt_loadgen()
            try:
                self.loadgen_container.remove(force=True)
            except docker.errors.DockerException:
                pass
            self.loadgen_container = None
        self._stop_api()

    # -- the whole run --------------------------------------------------------------------------------------
    def document(self, results: list[dict], started: datetime.datetime, interrupted: bool) -> dict:
        env = environment.describe(self.client, network_path=self.cfg.network_mode)
        env["versions"]["postgres"] = next((r["database"].get("serverVersion") for r in results if r.get("database")),
                                           None)
        env["versions"]["loadgen"] = self.loadgen_version
        limits = {name: dataclasses.asdict(self.cfg.limits(name)) for name in self.cfg.require("limits")}
        return {"schema": "perflab.results/1", "runId": self.run_id, "mode": self.options.mode,
                "stack": self.options.stack, "startedAt": iso(started), "finishedAt": iso(utc_now()),
                "interrupted": interrupted, "command": self.options.command, "environment": env,
                "config": {"payloadSizes": self.options.payload_sizes, "phaseScale": self.options.phase_scale,
                           "thinkTimeMs": self.options.think_time_ms, "rate": self.options.rate,
                           "entityPool": self.options.entity_pool, "warmupSeconds": warmup_seconds(self.options),
                           "repeat": self.options.repeat, "dbPoolMax": self.cfg.get("dbPoolMax"),
                           "maxBodyBytes": self.cfg.get("maxBodyBytes"), "limits": limits,
                           "thresholds": run_shapes(self.options).thresholds},
                "results": results}

    def run(self) -> dict:
        started = utc_now()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log(f"run {self.run_id}: {check_disk(self.options, self.client)}")
        self.loadgen_image = images.prepare([LOADGEN], self.client, log=self.log)[LOADGEN.name]
        stop_all_deployed(self.client, self.outputs)
        results: list[dict] = []
        interrupted = False
        try:
            for repeat in range(1, self.options.repeat + 1):
                for size in self.options.payload_sizes:
                    for api in self.options.apis:
                        self.log(f"{api.name} · payload {size} · repeat {repeat}")
                        results.append(self.measure(api, size, repeat))
        except KeyboardInterrupt:
            interrupted = True
            self.abort()
            if self.partial is not None:
                results.append(self.partial)
        document = self.document(results, started, interrupted)
        model = results_model.dump(document, self.run_dir / results_model.RUN_FILE)
        document = model.to_dict()
        metrics = self.outputs.get("metricsDatabase", {}).get("dsn")
        if metrics:
            from runner import metricsdb
            try:
                metricsdb.migrate(metrics)
                metricsdb.load(metrics, model)
            except Exception as error:  # noqa: BLE001 — run.json is the result; the database is a copy
                self.log(f"warning: results not loaded into the metrics database: {error}")
        if interrupted:
            raise KeyboardInterrupt
        return document


def read_samples(path: pathlib.Path) -> list[dict]:
    with gzip.open(path, "rt") as handle:
        header = handle.readline().strip().split(",")
        return [dict(zip(header, line.strip().split(","))) for line in handle if line.strip()]
