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

from pydantic import BaseModel, ConfigDict, Field, ValidationError
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
    memory_mb_per_request: float | None = Field(
        default=None, alias="memoryMBPerRequest", description="average API memory (MB) divided by throughput (req/s)")


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
    generator_saturated: bool | None = None
    host_saturated: bool | None = None


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
