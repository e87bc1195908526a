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


class Result(Model):
    api: str
    language: str | None = None
    framework: str | None = None
    protocol: str | None = None
    deployment: str | None = None
    payload_size: str
    payload_bytes: int | None = None
    repeat: int
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
