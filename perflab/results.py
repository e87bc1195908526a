"""The results document (`run.json`): one typed, versioned model that the runner writes, the reports read
and the metrics database loads. `docs/results-format.md` describes this model (its field table is
generated from it: `python -m perflab.results`, checked by a test).

Times are RFC 3339 UTC strings, durations seconds, latencies milliseconds, memory bytes. Absent values are
`null`, never made up. Every model refuses fields it does not know, so a typo in the writer fails at once.
"""
from __future__ import annotations

import json
import pathlib
import sys
import typing
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from perflab.errors import LabError

SCHEMA: Final = "perflab.results/1"
RUN_FILE = "run.json"


class ResultsError(LabError):
    """A results document that cannot be read or does not follow the format."""


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# --- the environment and the configuration a run measured with -------------------------------------------

class Host(Model):
    cpu_model: str | None = None
    cores: int | None = None
    memory_bytes: int | None = None
    kernel: str | None = None
    os: str | None = None


class Versions(Model):
    docker: str | None = None
    postgres: str | None = None
    loadgen: str | None = None
    python: str | None = None
    toolchains: dict[str, str | None] = Field(default_factory=dict)


class Environment(Model):
    git_commit: str | None = None
    git_dirty: bool | None = None
    host: Host = Field(default_factory=Host)
    versions: Versions = Field(default_factory=Versions)
    network_path: str | None = Field(None, description="host: no docker-proxy on the measured path")


class LimitsRecord(Model):
    cpus: Number
    memory: str
    cpuset: str | None = Field(None, description="the cores the class was pinned to (perflab:limits.<class>.cpuset)")


Number = int | float  # kept as written: 2000 stays 2000, 0.05 stays 0.05


class Thresholds(Model):
    p95_ms: Number
    p99_ms: Number
    error_rate: Number


class RunConfig(Model):
    payload_sizes: list[str]
    phase_scale: Number
    think_time_ms: int
    rate: Number | None
    entity_pool: int
    warmup_seconds: Number
    repeat: int
    db_pool_max: int | None
    max_body_bytes: int | None
    limits: dict[str, LimitsRecord]
    thresholds: Thresholds = Field(description="per phase, from the load generator (loadgen describe)")
    generators: int = Field(1, description="load generator instances per measurement")
    profiles: list[str] = Field(default_factory=lambda: ["no-auth"],
                                description="the auth/secrets profiles measured (bench run --profile), in order")


# --- one measurement: API x payload size x repeat --------------------------------------------------------

class Latency(Model):
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    mean: float | None = None


class PhaseThresholds(Model):
    p95: bool
    p99: bool
    error_rate: bool


class RoleResources(Model):
    samples: int
    cpu_seconds: float | None
    cpu_percent_avg: float | None
    cpu_percent_peak: float | None
    memory_avg_bytes: int | None
    memory_peak_bytes: int | None
    cpu_limit: float | None


class Efficiency(Model):
    # default= by keyword: type checkers read a field's default from that keyword only
    cpu_seconds_per1k_requests: float | None = Field(default=None, alias="cpuSecondsPer1kRequests")
    requests_per_cpu_second: float | None = None
    memory_mb_per1k_rps: float | None = Field(
        default=None, alias="memoryMBPer1kRps",
        description="average API memory (MB) per 1,000 requests/s of throughput: MB / (throughput / 1000)")

    @model_validator(mode="before")
    @classmethod
    def _renamed_memory_figure(cls, data: Any) -> Any:
        # Documents written before the rename hold memoryMBPerRequest, MB / (req/s): the same figure / 1000.
        if isinstance(data, dict) and "memoryMBPerRequest" in data:
            data = dict(data)
            old = data.pop("memoryMBPerRequest")
            data.setdefault("memoryMBPer1kRps", None if old is None else old * 1000)
        return data


class PhaseReference(Model):
    throughput: float = Field(description="events per second the database sustained without an API")
    p95_ms: float | None = None
    tool: str | None = Field(None, description="what drove the database, e.g. pgbench")


class ReferencePhase(Model):
    """One phase of the database reference (runner/reference.py): pgbench running the contract's
    transaction (S1, one S2 per entity, prepared) for the generator's events, no API in between."""
    payload_size: str
    name: str = Field(description="the run's phase it stands for (e.g. 10vus)")
    vus: int = Field(description="the phase's virtual users")
    clients: int = Field(description="pgbench connections: the phase's VUs, capped by the database's free connections")
    threads: int
    duration_seconds: float | None = Field(None, description="pgbench -T (whole seconds of the phase's hold)")
    transactions: int = Field(description="transactions (= events) pgbench completed")
    failed_transactions: int | None = None
    tps: float = Field(description="transactions per second, without pgbench's initial connection time")
    latency_ms_avg: float
    entities_per_transaction: int
    command: str = Field(description="the pgbench command; its -D variables (the events' texts) are in "
                                     "reference-<size>/variables.json beside run.json, its script in pgbench.sql")


# --- on the AWS stack only (runner/aws_run.py): CloudWatch per phase window, cost per million events -------

class CloudWatchWindow(Model):
    start: str = Field(description="the phase's start rounded down to the minute (CloudWatch's resolution)")
    end: str = Field(description="the phase's end rounded up to the minute")
    period_seconds: int = Field(description="one GetMetricData period covering the whole window (>= 60)")


class EcsMetrics(Model):
    service: str
    cpu_utilization_avg: float | None = Field(None, description="AWS/ECS CPUUtilization, % of the tasks' vCPUs")
    cpu_utilization_max: float | None = None
    memory_utilization_avg: float | None = Field(None, description="AWS/ECS MemoryUtilization, %")
    memory_utilization_max: float | None = None


class LambdaMetrics(Model):
    function_name: str
    invocations: float | None = None
    duration_p50_ms: float | None = None
    duration_p99_ms: float | None = None
    duration_sum_ms: float | None = None
    errors: float | None = None
    throttles: float | None = None
    concurrent_executions_max: float | None = None
    cold_starts: int | None = Field(None, description="REPORT log lines with an Init Duration in the window")
    warm_invocations: float | None = Field(None, description="invocations - coldStarts")
    init_duration_sum_ms: float | None = Field(None, description="the cold starts' Init Duration, summed")


class ApiGatewayMetrics(Model):
    api_id: str
    count: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    integration_latency_p50_ms: float | None = None
    integration_latency_p99_ms: float | None = None
    errors_4xx: float | None = Field(None, alias="errors4xx", description="HTTP API metric 4xx")
    errors_5xx: float | None = Field(None, alias="errors5xx", description="HTTP API metric 5xx")


class RdsMetrics(Model):
    instance: str
    cpu_utilization_avg: float | None = None
    cpu_utilization_max: float | None = None
    database_connections_avg: float | None = None
    database_connections_max: float | None = None
    commit_throughput_avg: float | None = Field(None, description="commits per second")


class CloudWatchPhase(Model):
    window: CloudWatchWindow
    ecs: EcsMetrics | None = Field(None, description="container APIs")
    lambda_: LambdaMetrics | None = Field(None, alias="lambda", description="Lambda APIs")
    api_gateway: ApiGatewayMetrics | None = Field(None, description="Lambda APIs: their HTTP API")
    rds: RdsMetrics | None = None


class CostItem(Model):
    name: str
    quantity: float | None = Field(description="null: the metric it needs was not reported")
    unit: str
    unit_price: float
    usd: float | None


class PhaseCost(Model):
    window_seconds: float
    events: int = Field(description="events acknowledged in the phase")
    generators: int
    prices_date: str
    prices_region: str
    items: list[CostItem]
    total_usd: float | None
    usd_per_million_events: float | None = Field(description="totalUsd / events x 1,000,000")


class GeneratorUse(Model):
    """One load generator instance of a split measurement (`bench run --generators N`), in one phase."""
    segment: str = Field(description="K/N: this generator's part of every phase (loadgen --segment)")
    container: str | None = None
    requests: int | None = Field(None, description="requests this generator sent in the phase")
    throughput: float | None = Field(None, description="its requests per second over its own window")
    cpu_seconds: float | None = None
    cpu_percent_avg: float | None = None
    cpu_percent_peak: float | None = None
    memory_peak_bytes: int | None = None
    cpu_limit: float | None = Field(None, description="its own CPU limit: the generator budget / N")
    saturated: bool = Field(description="its CPU above 80 % of its own limit")


class Phase(Model):
    name: str
    vus: int | None = None
    rate: float | None = None
    max_vus: int | None = None
    start: str
    end: str
    duration_seconds: float
    completed: bool | None = None
    requests: int
    failures: int
    errors_by_code: dict[str, int] = Field(default_factory=dict)
    throughput: float
    latency_ms: Latency
    latency_uncorrected_ms: Latency | None = Field(
        None, description="open model: latency from the actual send, beside the corrected latencyMs")
    latency_kind: str | None = Field(
        None, description="service-time (closed model) or response-time-corrected (open model)")
    thresholds: PhaseThresholds
    acknowledged: int | None = None
    rejected: int | None = None
    ambiguous: int | None = None
    resources: dict[str, RoleResources] = Field(default_factory=dict)
    efficiency: Efficiency = Field(default_factory=Efficiency)
    generator_saturated: bool | None = Field(
        None, description="the load generator used > 80 % of its CPU limit (with several: any one of them)")
    host_saturated: bool | None = None
    generators: list[GeneratorUse] | None = Field(
        None, description="per generator, when the measurement used several (bench run --generators N)")
    reference: PhaseReference | None = Field(
        None, description="the database's own limit: the contract's statements at this phase's concurrency")
    health_check_cpu_seconds: float | None = Field(
        None, description="CPU the API's container health checks took in this phase (measured cost per probe × "
                          "probes in the phase), counted in the API's CPU")
    health_check_cpu_share: float | None = Field(
        None, description="healthCheckCpuSeconds over the API's CPU seconds in the phase")
    reference_fraction: float | None = Field(
        None, description="throughput / the database reference's tps of the same payload size and phase")
    # AWS stack only (runner/aws_run.py):
    cloudwatch: CloudWatchPhase | None = Field(None, description="AWS: CloudWatch metrics over the phase window")
    cost: PhaseCost | None = Field(None, description="AWS: the phase's cost from perflab:prices")


class Statements(Model):
    event_insert_calls: int | None = None
    entity_upsert_calls: int | None = None
    other_statements_on_tables: list[Any] = Field(default_factory=list)


class Verification(Model):
    passed: bool
    acknowledged: int
    persisted: int | None = None
    ambiguous: int = 0
    statements: Statements | None = None
    details: str = ""


class ResourceSample(Model):
    t: str
    role: str
    container: str | None = None
    cpu_percent: float
    memory_bytes: int


# --- bench chaos (runner/chaos.py): a fault injected under load, and what the APIs did -------------------

ChaosScenarioName = Literal["db-restart", "api-kill", "db-connections", "interrupt"]


class ChaosCheck(Model):
    """One thing a chaos scenario requires, judged on the figures."""
    name: str
    passed: bool
    detail: str = ""


class Fault(Model):
    action: str = Field(description="what the runner did, e.g. stop perflab-postgres, wait 3 s, start it")
    target: str = Field(description="the container or database it was done to")
    started_at: str = Field(description="when the runner began it")
    ended_at: str | None = Field(
        None, description="when it was over: the database accepting connections again (db-restart), the connections "
                          "released (db-connections); null: not undone (api-kill) or never injected")
    seconds: float | None = Field(None, description="endedAt - startedAt")
    error: str | None = Field(None, description="why the runner could not inject or undo it")


class ErrorWindow(Model):
    """The failed requests of a measurement, by the time their answer came (send time + latency)."""
    first_error_at: str
    last_error_at: str
    seconds: float = Field(description="lastErrorAt - firstErrorAt")
    count: int
    by_code: dict[str, int] = Field(description="failed requests by HTTP status or gRPC code, as loadgen names them")
    latency_ms_min: float = Field(description="the quickest failed request, send to answer")
    latency_ms_max: float = Field(description="the slowest failed request, send to answer")


class ConnectionExhaustion(Model):
    """db-connections: the database's connection slots, all held by another client (the runner)."""
    max_connections: int
    superuser_reserved_connections: int = Field(
        description="slots only superusers may take; the APIs connect as the database's owner, a superuser, so the "
                    "runner holds these too")
    connections_held: int = Field(description="connections the runner opened, until the server refused one more")
    api_connections_terminated: int = Field(
        description="the API's pooled connections ended (pg_terminate_backend) so that it needs new ones")
    api_paused_seconds: float = Field(
        description="the API's containers were paused while its connections were ended and their slots taken")
    exhausted_at: str = Field(description="from here every slot was held and the API's database open to connections")
    acquire_timeout_ms: int = Field(description="DB_ACQUIRE_TIMEOUT the APIs run with (the contract's default)")
    latency_bound_ms: float = Field(
        description="no request may take longer: acquireTimeoutMs + the allowed margin (3 s) + apiPausedSeconds")
    latency_ms_max: float | None = Field(None, description="the slowest request sent while the slots were held")


class ApiExit(Model):
    container: str
    exit_code: int | None = None
    finished_at: str | None = None


class ChaosFigures(Model):
    """What one measurement under a fault showed (Result.chaos)."""
    scenario: ChaosScenarioName
    fault: Fault | None = Field(None, description="null: measured without a fault (api-kill: the API after the killed one)")
    error_window: ErrorWindow | None = Field(None, description="null: no request failed")
    recovered_at: str | None = Field(
        None, description="answer time of the first success after both the fault's end and the last error")
    recovery_seconds: float | None = Field(None, description="recoveredAt - fault.endedAt")
    unavailable_counted_ambiguous: int = Field(
        0, description="503 / UNAVAILABLE answers given under the fault, verified as ambiguous: a transaction cut by "
                       "the database going away may have run its statements, or even committed")
    connections: ConnectionExhaustion | None = None
    api_exit: ApiExit | None = Field(None, description="api-kill: the killed container's end, as Docker reports it")
    checks: list[ChaosCheck] = Field(default_factory=list)
    passed: bool = Field(description="every check passed")


class MetricsHistory(Model):
    """The metrics database before and after a chaos run: what it held must still be there, unchanged."""
    runs_before: int
    runs_after: int
    results_before: int
    results_after: int
    phases_before: int
    phases_after: int
    added_runs: list[str] = Field(description="run ids stored by this chaos run (its own, an interrupted run's)")
    changed_runs: list[str] = Field(description="runs held before whose document, results or phases differ now")
    missing_runs: list[str] = Field(description="runs held before and gone now")


class InterruptFigures(Model):
    """interrupt: SIGINT to a `bench run` process in the middle of a phase, and what it left behind."""
    command: str
    run_id: str | None = Field(None, description="the interrupted run")
    results_file: str | None = Field(None, description="its run.json, relative to this run's directory")
    signal_at: str | None = None
    exited_at: str | None = None
    teardown_seconds: float | None = Field(None, description="exitedAt - signalAt")
    exit_code: int | None = None
    generator_containers: list[str] = Field(default_factory=list, description="the run's load generators")
    left_running: list[str] = Field(
        default_factory=list, description="containers the run started that still existed (generators) or ran (API)")
    marked_interrupted: bool | None = Field(None, description="its document says interrupted: true")
    partial_phases: int = 0
    partial_requests: int = Field(0, description="requests the kept partial result counts")
    loaded_in_metrics_database: bool | None = None


class ChaosScenario(Model):
    """One scenario of `bench chaos`, judged: its own checks and those of its measurements."""
    name: ChaosScenarioName
    apis: list[str]
    phases: str | None = Field(None, description="the load of its measurements (loadgen --phases VUS:HOLD)")
    passed: bool
    checks: list[ChaosCheck] = Field(default_factory=list)
    metrics_database: MetricsHistory | None = Field(None, description="api-kill: the run history kept")
    interrupt: InterruptFigures | None = None


class HealthCheckCost(Model):
    interval_seconds: float = Field(description="how often Docker runs each container's health check")
    cpu_seconds_per_probe: float = Field(description="one probe of every container of the API together, measured "
                                                     "by exec'ing the health command before the load (runner/healthcost.py)")
    containers: list[str]
    probes: int = Field(description="probes per container the measurement took")


class Result(Model):
    api: str
    language: str | None = None
    framework: str | None = None
    protocol: str | None = None
    deployment: str | None = None
    payload_size: str
    payload_bytes: int | None = None
    repeat: int
    profile: str = Field("no-auth", description="the auth/secrets profile the API ran under (perflab.profiles): "
                                                "no-auth | auth | auth+secrets")
    status: Literal["passed", "failed", "error"] = Field(
        description="passed | failed (verification or threshold) | error (never ran)")
    problem: str | None = None
    startup_seconds: float | None = None
    overhead_seconds: float | None = None
    verification: Verification | None = None
    phases: list[Phase]
    resource_samples: list[ResourceSample] = Field(default_factory=list)
    database: dict[str, Any] | None = Field(None, description="pg_stat_statements and pg_stat snapshot")
    raw_samples: str | None = None
    health_check: HealthCheckCost | None = Field(
        None, description="the measured cost of the health checks Docker runs in the API's containers")
    chaos: ChaosFigures | None = Field(None, description="bench chaos: the fault and what the API did under it")


class RunDocument(Model):
    schema_: Literal["perflab.results/1"] = Field(SCHEMA, alias="schema")
    run_id: str
    mode: str
    stack: str
    started_at: str
    finished_at: str | None = None
    interrupted: bool = False
    command: str = ""
    environment: Environment
    config: RunConfig
    results: list[Result]
    references: list[ReferencePhase] = Field(
        default_factory=list, description="the database's own limit per payload size and phase (bench run --reference)")
    chaos: list[ChaosScenario] = Field(default_factory=list, description="bench chaos: each scenario, judged")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# --- reading and writing ---------------------------------------------------------------------------------

def validate(document: Any, source: str = "results document") -> RunDocument:
    if not isinstance(document, dict):
        raise ResultsError(f"{source}: not a JSON object")
    if document.get("schema") != SCHEMA:
        raise ResultsError(f"{source}: schema is {document.get('schema')!r}, expected {SCHEMA!r}")
    try:
        return RunDocument.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:8])
        raise ResultsError(f"{source}: {problems}") from None


def load(path: pathlib.Path | str) -> RunDocument:
    """A run from its run.json or its directory."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / RUN_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results document") from None
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: not valid JSON ({error})") from None
    return validate(document, str(path))


def dump(document: RunDocument | dict, path: pathlib.Path) -> RunDocument:
    """Validate, then write `run.json` (a document that does not follow the model is never written)."""
    model = document if isinstance(document, RunDocument) else validate(document)
    path.write_text(json.dumps(model.to_dict(), indent=1))
    return model


# --- the format document's field table, generated from the model -----------------------------------------

def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, __import__("types").UnionType):
        inner = " \\| ".join(_type_name(a) for a in args)
        return inner + " \\| null" if type(None) in typing.get_args(annotation) else inner
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map to {_type_name(args[1])}"
    if origin is Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            annotation.__name__, annotation.__name__)
    return "any"


def field_table() -> str:
    """Markdown: every model and its fields (JSON name, type, meaning)."""
    lines = []
    seen: list[type[Model]] = []

    def visit(model: type[Model]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for annotation in (field.annotation, *typing.get_args(field.annotation)):
                for candidate in (annotation, *typing.get_args(annotation)):
                    if isinstance(candidate, type) and issubclass(candidate, Model):
                        visit(candidate)

    visit(RunDocument)
    for model in seen:
        lines += [f"### {model.__name__}", "", "| field | type | meaning |", "|---|---|---|"]
        for name, field in model.model_fields.items():
            alias = field.alias or name
            lines.append(f"| `{alias}` | {_type_name(field.annotation)} | {field.description or ''} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(field_table())
