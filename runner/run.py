"""`bench run`: the same load phases against every API, one at a time, verified, with resources sampled.

For each API × payload size × repeat: reset the database, start only that API, wait for real readiness,
run the load generator in its own container (warm-up excluded), sample docker stats of the API, the
database and the generator throughout, verify the database against what was acknowledged, stop the API.
Everything lands in one self-describing results document (docs/results-format.md).
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable

import docker
import docker.errors

from perflab import profiles
from perflab import results as results_model
from perflab import settings as stack_config
from perflab.catalogue import LOADGEN, ROOT, Service
from perflab.durations import iso, parse_time, utc_now
from perflab.errors import LabError
from runner import database, environment, generators, healthcost, images, reference, sampler, shapes, verify
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
    reference: bool = False  # measure the database's own limit first (runner/reference.py)
    generators: int = 1  # generator containers per measurement, sharing one generator's budget (runner/generators.py)
    # The auth/secrets profiles to measure every API under (perflab.profiles), in order; the stack is brought
    # up again under each one it does not already run.
    profiles: list[str] = dataclasses.field(default_factory=lambda: [profiles.DEFAULT])
    phases: str | None = None  # loadgen --phases ("VUS:HOLD,...") instead of the mode's own (bench chaos: one hold)


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


def loadgen_arguments(options: RunOptions, api: Service, endpoint: str, size: str, out: str,
                      segment: str | None = None, start_at: datetime.datetime | None = None,
                      auth: bool = False) -> list[str]:
    """`loadgen run`'s arguments; with `segment` ("K/N") and `start_at`, those of generator K of N, all of
    which start every phase at the same agreed time (runner/generators.py)."""
    target = endpoint.replace("http://", "") if api.protocol == "grpc" else endpoint
    shape = ["--phases", options.phases] if options.phases else ["--mode", options.mode]
    arguments = ["run", "--protocol", api.protocol, "--target", target, *shape,
                 "--phase-scale", str(options.phase_scale), "--payload-size", size,
                 "--entity-pool", str(options.entity_pool), "--think-time", f"{options.think_time_ms}ms",
                 "--warmup", f"{warmup_seconds(options)}s", "--summary", f"{out}/summary.json",
                 "--samples", f"{out}/samples.csv.gz", "--progress"]
    if options.rate:
        arguments += ["--rate", str(options.rate)]
    if segment is not None:
        arguments += ["--segment", segment]
    if start_at is not None:
        arguments += ["--start-at", iso(start_at)]
    if auth:
        arguments.append("--auth")  # the token comes in the container's JWT_TOKEN, never on the command line
    return arguments


def warmup_seconds(options: RunOptions) -> float:
    if options.warmup_seconds is not None:
        return options.warmup_seconds
    return run_shapes(options).mode(options.mode).warmup_seconds


PHASE_FIELDS = {field.alias or name for name, field in results_model.Phase.model_fields.items()}


def _health_check_share(phase: dict, health: dict) -> None:
    """The phase's health-check CPU (probes in the phase × measured cost) and its share of the API's CPU."""
    seconds = health["cpuSecondsPerProbe"] * phase["durationSeconds"] / health["intervalSeconds"]
    phase["healthCheckCpuSeconds"] = round(seconds, 4)
    api_cpu = (phase.get("resources", {}).get("api") or {}).get("cpuSeconds")
    phase["healthCheckCpuShare"] = round(seconds / api_cpu, 5) if api_cpu else None


def phase_figures(phase: dict, samples: list[sampler.Sample], limits: dict[str, float]) -> dict:
    """Add resources, efficiency and the generator-saturation flag to one phase of the generator's summary."""
    start, end = parse_time(phase["start"]), parse_time(phase["end"])
    # What the results model records of the generator's phase (the summary may carry more, e.g. histograms).
    phase = {key: value for key, value in phase.items() if key in PHASE_FIELDS}
    resources = {role: sampler.window(samples, role, start, end).as_dict(limits.get(role))
                 for role in ("api", "database", "loadgen")}
    requests = phase.get("requests") or 0
    api_cpu = resources["api"]["cpuSeconds"]
    efficiency = {"cpuSecondsPer1kRequests": None, "requestsPerCpuSecond": None, "memoryMBPer1kRps": None}
    if api_cpu is not None and api_cpu > 0 and requests:
        efficiency["cpuSecondsPer1kRequests"] = api_cpu / requests * 1000
        efficiency["requestsPerCpuSecond"] = requests / api_cpu
    if resources["api"]["memoryAvgBytes"] and phase.get("throughput"):
        # MB the API held per 1,000 requests/s it sustained (average memory / (throughput / 1000)).
        efficiency["memoryMBPer1kRps"] = resources["api"]["memoryAvgBytes"] / 1e6 / (phase["throughput"] / 1000)
    generator = resources["loadgen"]
    saturated = bool(generator["cpuPercentAvg"] is not None and limits.get("loadgen")
                     and generator["cpuPercentAvg"] > 80.0 * limits["loadgen"])
    # The limits may add up to more than the host has (2 cores here): flag phases where the lab's three
    # containers together kept ~all cores busy, whatever each one's own limit.
    used = [resources[role]["cpuPercentAvg"] for role in ("api", "database", "loadgen")]
    host_saturated = all(u is not None for u in used) and sum(used) >= 90.0 * (os.cpu_count() or 1)
    return {**phase, "resources": resources, "efficiency": efficiency, "generatorSaturated": saturated,
            "hostSaturated": host_saturated}


def store_results(document: dict, run_dir: pathlib.Path, metrics_dsn: str | None,
                  log: Callable[[str], None]) -> results_model.RunDocument:
    """Writes the run's results document, then loads it into the metrics database when there is one."""
    model = results_model.dump(document, run_dir / results_model.RUN_FILE)
    if metrics_dsn:
        from runner import metricsdb
        try:
            metricsdb.migrate(metrics_dsn)
            metricsdb.load(metrics_dsn, model)
        except Exception as error:  # noqa: BLE001 — run.json is the result; the database is a copy
            log(f"warning: results not loaded into the metrics database: {error}")
    return model


class Runner:
    container_prefix = "perflab-loadgen"  # generator containers: PREFIX-RUNID, or PREFIX-RUNID-K of several

    def __init__(self, options: RunOptions, outputs: dict, cfg: stack_config.StackConfig,
                 client: docker.DockerClient | None = None, on_progress: Callable[[dict], None] = lambda p: None,
                 log: Callable[[str], None] = print, bring_up: Callable[[str], dict] | None = None):
        self.options = options
        self.outputs = outputs
        self.cfg = cfg
        self.client = client or docker.from_env()
        self.on_progress = on_progress
        self.log = log
        self.run_id = new_run_id()
        self.run_dir = options.results_dir / self.run_id
        self.loadgen_containers: list = []  # the generator containers running now
        self.generator_runs: list[tuple[generators.Generator, str]] = []  # the measurement's: (generator, container)
        self.started_api: dict | None = None
        self.loadgen_version: str | None = None
        self.loadgen_image: str | None = None
        self.partial: dict | None = None  # the measurement Ctrl-C interrupted
        self.references: list[dict] = []  # the database reference's phases (runner/reference.py)
        self.bring_up = bring_up  # (profile) -> the stack's outputs once it runs that profile
        self.token: str | None = None  # the bearer token of the current profile, when it has auth

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
        """Run the measurement's generator container(s) to the end and return the summary: the generator's,
        or with --generators N the N generators' merged by `loadgen merge` (runner/generators.py)."""
        count = self.options.generators
        plans = generators.plan(self.cfg.limits(LOADGEN.resource_class), count)
        endpoint = self._api_output(api)["endpoint"]
        start_at = generators.start_time(count) if count > 1 else None
        self.generator_runs = []
        starting = 0
        try:
            for generator in plans:
                starting = generator.k
                out_dir = work_dir / generator.directory if count > 1 else work_dir
                out_dir.mkdir(parents=True, exist_ok=True)
                arguments = loadgen_arguments(self.options, api, endpoint, size, "/out",
                                              generator.segment if count > 1 else None, start_at,
                                              auth=self.token is not None)
                name = f"{self.container_prefix}-{self.run_id}" + (f"-{generator.k}" if count > 1 else "")
                container = self.client.containers.run(
                    self.loadgen_image, command=arguments, name=name, detach=True, network_mode="host",
                    environment={"JWT_TOKEN": self.token} if self.token else {},
                    nano_cpus=generator.nano_cpus, mem_limit=generator.memory_bytes, cpuset_cpus=generator.cpuset,
                    user=f"{os.getuid()}:{os.getgid()}", volumes={str(out_dir.resolve()): {"bind": "/out", "mode": "rw"}},
                    labels={"perflab.stack": self.options.stack, "perflab.role": "loadgen",
                            "perflab.segment": generator.segment})
                self.loadgen_containers.append(container)
                self.generator_runs.append((generator, name))
                verify_limits(container, generator.limits)
                sampling.add("loadgen", name)
        except (ContainerError, docker.errors.DockerException) as error:
            self._remove_generators()  # none may run on: the measurement did not start
            raise RunError(f"load generator {starting} of {count} did not start: {error}") from error
        if start_at is not None and utc_now() >= start_at:
            self.log(f"warning: the {count} generators took longer to start than the lead of "
                     f"{generators.start_lead_seconds(count):.1f} s; late ones exit with '--start-at ... in the past'")
        self._follow_progress()
        failures: list[tuple[int, str]] = []
        for (generator, _), container, exit_code in zip(self.generator_runs, list(self.loadgen_containers),
                                                        self._wait_generators(), strict=True):
            if exit_code != 0:
                lines = container.logs(stdout=True, stderr=True).decode(errors="replace").splitlines()
                logs = "\n".join(line for line in lines if not line.startswith("{"))  # not the progress lines
                if len(logs) > 800:  # a usage error's reason comes first, then the usage; a run's at the end
                    logs = f"{logs[:300]} […] {logs[-500:]}"
                failures.append((exit_code, f"load generator {generator.segment if count > 1 else ''}".rstrip()
                                 + f" exited {exit_code}: {logs}"))
        self._remove_generators()
        summary_path = work_dir / "summary.json"
        if failures:
            # The generators this runner stopped after another failed exit 130 (interrupted): name the cause.
            causes = [text for code, text in failures if code != 130] or [text for _, text in failures]
            raise RunError("; ".join(causes))
        if count > 1:
            parts = [work_dir / g.directory for g, _ in self.generator_runs]
            missing = [str(p / "summary.json") for p in parts if not (p / "summary.json").exists()]
            if missing:
                raise RunError(f"load generators wrote no summary: {', '.join(missing)}")
            try:
                generators.merge_summaries(shapes.binary_path(), [p / "summary.json" for p in parts], summary_path)
                generators.concatenate_samples([p / "samples.csv.gz" for p in parts], work_dir / "samples.csv.gz")
            except generators.GeneratorError as error:
                raise RunError(str(error)) from error
        if not summary_path.exists():
            raise RunError("load generator exited 0 but wrote no summary")
        summary = json.loads(summary_path.read_text())
        self.loadgen_version = summary.get("version")
        return summary

    def _wait_generators(self) -> list[int]:
        """Every generator's exit code. Several: waited for side by side, and when one fails the others are
        stopped at once (SIGINT), since the measurement no longer counts."""
        containers = list(self.loadgen_containers)
        if len(containers) == 1:
            return [containers[0].wait(timeout=24 * 3600)["StatusCode"]]
        ended: queue.Queue[tuple[int, int]] = queue.Queue()

        def wait(index: int, container) -> None:
            try:
                code = int(container.wait(timeout=24 * 3600)["StatusCode"])
            except Exception:  # noqa: BLE001 — reported as a failed generator
                code = -1
            ended.put((index, code))

        for index, container in enumerate(containers):
            threading.Thread(target=wait, args=(index, container), daemon=True, name=f"wait-{index + 1}").start()
        codes: dict[int, int] = {}
        while len(codes) < len(containers):
            try:
                index, code = ended.get(timeout=1.0)
            except queue.Empty:
                continue
            codes[index] = code
            if code != 0 and all(c == 0 for i, c in codes.items() if i != index):
                self._interrupt_loadgen()  # the others' run would not count: stop them now, not at their end
        return [codes[index] for index in range(len(containers))]

    def _follow_progress(self) -> None:
        """Progress lines (loadgen --progress, on stderr) to on_progress: one generator's as they come, in
        this thread (as before); several generators' combined, from one thread each."""
        if len(self.loadgen_containers) == 1:
            for line in self.loadgen_containers[0].logs(stream=True, follow=True, stdout=False, stderr=True):
                try:
                    self.on_progress(json.loads(line))
                except ValueError:
                    pass
            return
        latest: dict[int, dict] = {}
        lock = threading.Lock()

        def follow(k: int, container) -> None:
            try:
                for line in container.logs(stream=True, follow=True, stdout=False, stderr=True):
                    try:
                        progress = json.loads(line)
                    except ValueError:
                        continue
                    with lock:
                        latest[k] = progress
                        combined = generators.combined_progress(latest)
                    self.on_progress(combined)
            except docker.errors.DockerException:
                pass  # the container went away (removed after Ctrl-C)

        for (generator, _), container in zip(self.generator_runs, self.loadgen_containers, strict=True):
            threading.Thread(target=follow, args=(generator.k, container), daemon=True,
                             name=f"progress-{generator.segment}").start()

    def _partial_summary(self, work_dir: pathlib.Path) -> dict | None:
        """After Ctrl-C: what the generator(s) wrote before they stopped (several: merged), if anything."""
        summary_path = work_dir / "summary.json"
        parts = [work_dir / g.directory / "summary.json" for g, _ in self.generator_runs]
        if not summary_path.exists() and len(parts) > 1 and all(p.exists() for p in parts):
            try:
                generators.merge_summaries(shapes.binary_path(), parts, summary_path)
            except generators.GeneratorError as error:
                self.log(f"warning: the interrupted generators' summaries were not merged: {error}")
        return json.loads(summary_path.read_text()) if summary_path.exists() else None

    # -- one API × payload × repeat ------------------------------------------------------------------------
    def measure(self, api: Service, size: str, repeat: int) -> dict:
        cycle_start = time.monotonic()
        result = {"api": api.name, "language": api.language, "framework": api.framework, "protocol": api.protocol,
                  "deployment": api.deployment, "payloadSize": size, "payloadBytes": run_shapes(self.options).payload_bytes[size],
                  "repeat": repeat, "profile": self.profile, "status": "error", "problem": None, "startupSeconds": None,
                  "overheadSeconds": None, "verification": None, "phases": [], "resourceSamples": [],
                  "database": None, "rawSamples": None}
        work_dir = self.run_dir / self.measurement_directory(api, size, repeat)
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
            # Docker's health checks run inside the API's cgroup during every phase: measure what they cost.
            health = self._health_check_cost(api)
            result["healthCheck"] = health
            for name in deployed_containers(self._api_output(api)):
                sampling.add("api", name)
            summary = self._run_loadgen(api, size, work_dir, sampling)
            api_exit = self._api_exit(api)
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
            # Several generators: each one's share and CPU use, saturation judged per generator.
            phases = [generators.figures(phase, summary, samples, self.generator_runs) for phase in phases]
            if health:
                for phase in phases:
                    _health_check_share(phase, health)
            result["phases"] = phases
            result["resourceSamples"] = [{"t": iso(s.time), "role": s.role, "container": s.container,
                                          "cpuPercent": round(s.cpu_percent, 2), "memoryBytes": s.memory_bytes} for s in samples]
            totals = summary["totals"]
            check = self.verify_measurement(dsn, totals)
            result["verification"] = check.as_dict()
            result["database"] = database.snapshot(dsn)
            result["rawSamples"] = f"{work_dir.name}/samples.csv.gz"
            problems: list[str] = [api_exit] if api_exit else []
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
            partial = self._partial_summary(work_dir)
            if partial is not None:
                samples = sampling.stop()
                result["phases"] = [generators.figures(phase_figures(phase, samples, {}), partial, samples,
                                                       self.generator_runs) for phase in partial["phases"]]
            result["problem"] = "interrupted (Ctrl-C): partial, not verified"
            self.partial = result
            raise
        finally:
            sampling.stop()
            self._stop_api()
            result["overheadSeconds"] = round(time.monotonic() - cycle_start - loadgen_seconds, 3)

    def verify_measurement(self, dsn: str, totals: dict) -> verify.Verification:
        """The database against the generator's totals: every acknowledged event stored, nothing beyond the
        requests whose outcome is ambiguous (runner/verify.py)."""
        return verify.verify(dsn, totals["acknowledged"], totals.get("ambiguous", 0))

    def measurement_directory(self, api: Service, size: str, repeat: int) -> str:
        """One measurement's directory under the run's (raw samples, the generator's summary)."""
        return f"{api.name}-{size}-{repeat}"

    def _api_exit(self, api: Service) -> str | None:
        """Why the API is not running any more, when one of its containers exited while it was measured
        (crashed, killed, out of memory): its result then fails with this reason, whatever else it shows."""
        reasons = []
        for name in deployed_containers(self._api_output(api)):
            try:
                state = self.client.api.inspect_container(name)["State"]
            except docker.errors.NotFound:
                reasons.append(f"{name} was removed")
                continue
            if state.get("Status") in ("exited", "dead"):
                oom = ", out of memory" if state.get("OOMKilled") else ""
                reasons.append(f"{name} exited with code {state.get('ExitCode')}{oom} at {state.get('FinishedAt')}")
        return f"the API stopped during the measurement: {'; '.join(reasons)}" if reasons else None

    def _health_check_cost(self, api: Service) -> dict | None:
        costs = [healthcost.measure(self.client, name) for name in deployed_containers(self._api_output(api))]
        if not costs or any(cost is None for cost in costs):
            self.log(f"warning: {api.name}: the health check's cost could not be measured")
            return None
        measured = [cost for cost in costs if cost is not None]
        return {"intervalSeconds": measured[0].interval_seconds,
                "cpuSecondsPerProbe": round(sum(cost.cpu_seconds_per_probe for cost in measured), 6),
                "containers": [cost.container for cost in measured], "probes": measured[0].probes}

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
        """SIGINT to every generator still running (each writes what it sent), then wait for them to exit."""
        running = []
        for container in self.loadgen_containers:
            try:
                container.reload()
                if container.status == "running":
                    container.kill(signal="SIGINT")
                    running.append(container)
            except (docker.errors.DockerException, Exception):  # noqa: BLE001 — best effort; removal follows
                pass
        for container in running:
            try:
                container.wait(timeout=20)
            except (docker.errors.DockerException, Exception):  # noqa: BLE001 — best effort; removal follows
                pass

    def _remove_generators(self) -> None:
        for container in self.loadgen_containers:
            try:
                container.remove(force=True)
            except docker.errors.DockerException:
                pass
        self.loadgen_containers = []

    def abort(self) -> None:
        """Ctrl-C: stop the generators and the API this run started."""
        if self.loadgen_containers:
            self._interrupt_loadgen()
            self._remove_generators()
        self._stop_api()

    @property
    def profile(self) -> str:
        return str(self.outputs.get("profile") or profiles.DEFAULT)

    def _use_profile(self, name: str) -> None:
        """Make the stack run profile `name` (bring it up again when it runs another) and hold its token."""
        chosen = profiles.profile(name)
        if self.profile != chosen.name:
            if self.bring_up is None:
                raise RunError(f"the {self.options.stack} stack runs profile {self.profile}, not {chosen.name}: "
                               f"bring it up with `bench up {self.options.stack} --profile {chosen.name}`")
            self.log(f"bringing the {self.options.stack} stack up under profile {chosen.name}")
            try:
                self.outputs = self.bring_up(chosen.name)
            except LabError as error:
                raise RunError(f"profile {chosen.name}: the stack did not come up: {error}") from error
            stop_all_deployed(self.client, self.outputs)
        self.token = None
        if chosen.auth:
            auth = self.outputs.get("auth") or {}
            if not auth.get("key"):
                raise RunError(f"the stack runs profile {chosen.name} but publishes no JWT key (outputs.auth)")
            # Valid for the whole run: the longest a measurement could last, plus a margin.
            self.token = profiles.token(auth["key"], ttl_seconds=24 * 3600, issuer=auth.get("issuer"),
                                        audience=auth.get("audience"))

    # -- the whole run --------------------------------------------------------------------------------------
    def document(self, results: list[dict], started: datetime.datetime, interrupted: bool) -> dict:
        env = environment.describe(self.client, network_path=self.cfg.network_mode)
        env["versions"]["postgres"] = next((r["database"].get("serverVersion") for r in results if r.get("database")),
                                           None)
        env["versions"]["loadgen"] = self.loadgen_version
        limits = {name: self.cfg.limits(name).as_dict() for name in self.cfg.require("limits")}
        return {"schema": "perflab.results/1", "runId": self.run_id, "mode": self.options.mode,
                "stack": self.options.stack, "startedAt": iso(started), "finishedAt": iso(utc_now()),
                "interrupted": interrupted, "command": self.options.command, "environment": env,
                "config": {"payloadSizes": self.options.payload_sizes, "phaseScale": self.options.phase_scale,
                           "thinkTimeMs": self.options.think_time_ms, "rate": self.options.rate,
                           "entityPool": self.options.entity_pool, "warmupSeconds": warmup_seconds(self.options),
                           "repeat": self.options.repeat, "dbPoolMax": self.cfg.get("dbPoolMax"),
                           "maxBodyBytes": self.cfg.get("maxBodyBytes"), "limits": limits,
                           "thresholds": run_shapes(self.options).thresholds,
                           "generators": self.options.generators, "profiles": self.options.profiles},
                "results": results, "references": self.references}

    def run(self) -> dict:
        started = utc_now()
        generators.check_mode(self.options.generators, run_shapes(self.options).mode(self.options.mode).requests_by_count,
                              self.options.mode)
        generators.plan(self.cfg.limits(LOADGEN.resource_class), self.options.generators)  # refuse a split too fine
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log(f"run {self.run_id}: {check_disk(self.options, self.client)}")
        self.loadgen_image = images.prepare([LOADGEN], self.client, log=self.log)[LOADGEN.name]
        stop_all_deployed(self.client, self.outputs)
        results: list[dict] = []
        interrupted = False
        try:
            if self.options.reference:  # the database's own limit, before any API; the database is reset after it
                self.references = reference.measure(
                    self.client, reference.stack_target(self.client, self.outputs, self.cfg, self.run_id, self.options.stack),
                    self.options.payload_sizes, self.options.entity_pool, run_shapes(self.options).mode(self.options.mode),
                    self.run_dir, log=self.log)
            for profile_name in self.options.profiles:
                self._use_profile(profile_name)
                for repeat in range(1, self.options.repeat + 1):
                    for size in self.options.payload_sizes:
                        for api in self.options.apis:
                            self.log(f"{api.name} · payload {size} · repeat {repeat}"
                                     + (f" · profile {profile_name}" if len(self.options.profiles) > 1 else ""))
                            results.append(self.measure(api, size, repeat))
        except KeyboardInterrupt:
            interrupted = True
            self.abort()
            if self.partial is not None:
                results.append(self.partial)
        reference.apply(results, self.references)  # each phase's reference and referenceFraction
        document = self.document(results, started, interrupted)
        metrics_dsn = self.outputs.get("metricsDatabase", {}).get("dsn")
        document = store_results(document, self.run_dir, metrics_dsn, self.log).to_dict()
        if interrupted:
            raise KeyboardInterrupt
        return document
