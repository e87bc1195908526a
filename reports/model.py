"""Loading and validating results documents, and reading their raw samples."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import json
import pathlib
from typing import Any

SCHEMA = "perflab.results/1"
RUN_FILE = "run.json"


class ResultsError(Exception):
    """A results document that cannot be read or does not follow the format."""


@dataclasses.dataclass
class Run:
    doc: dict[str, Any]
    path: pathlib.Path  # the run.json file

    @property
    def id(self) -> str:
        return self.doc["runId"]

    @property
    def directory(self) -> pathlib.Path:
        return self.path.parent

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.doc["results"]


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


_REQUIRED_TOP = ("schema", "runId", "mode", "stack", "startedAt", "environment", "config", "results")
_REQUIRED_RESULT = ("api", "payloadSize", "repeat", "status", "phases")
_REQUIRED_PHASE = ("name", "start", "end", "durationSeconds", "requests", "failures", "throughput", "latencyMs")


def validate(doc: Any, source: str) -> None:
    if not isinstance(doc, dict):
        raise ResultsError(f"{source}: not a JSON object")
    if doc.get("schema") != SCHEMA:
        raise ResultsError(f"{source}: schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    missing = [key for key in _REQUIRED_TOP if key not in doc]
    if missing:
        raise ResultsError(f"{source}: missing {', '.join(missing)}")
    for i, result in enumerate(doc["results"]):
        where = f"{source}: results[{i}]"
        missing = [key for key in _REQUIRED_RESULT if key not in result]
        if missing:
            raise ResultsError(f"{where}: missing {', '.join(missing)}")
        if result["status"] not in ("passed", "failed", "error"):
            raise ResultsError(f"{where}: unknown status {result['status']!r}")
        for j, phase in enumerate(result["phases"]):
            missing = [key for key in _REQUIRED_PHASE if key not in phase]
            if missing:
                raise ResultsError(f"{where}.phases[{j}]: missing {', '.join(missing)}")


def load(path: pathlib.Path | str) -> Run:
    """Load a run from its run.json or its directory."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / RUN_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results document") from None
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: not valid JSON ({error})") from None
    validate(doc, str(path))
    return Run(doc, path)


def discover(results_dir: pathlib.Path) -> list[Run]:
    """Every run stored under `results_dir`, oldest first; unreadable documents are reported, not skipped."""
    runs = [load(path) for path in sorted(pathlib.Path(results_dir).glob(f"*/{RUN_FILE}"))]
    return sorted(runs, key=lambda run: (run.doc["startedAt"], run.id))


def resolve(ref: str, results_dir: pathlib.Path) -> Run:
    """A run named by id (under `results_dir`), by directory, or by run.json path; `latest` is the newest."""
    if ref == "latest":
        runs = discover(results_dir)
        if not runs:
            raise ResultsError(f"no runs under {results_dir}")
        return runs[-1]
    candidate = pathlib.Path(ref)
    if candidate.exists():
        return load(candidate)
    if (pathlib.Path(results_dir) / ref).is_dir():
        return load(pathlib.Path(results_dir) / ref)
    raise ResultsError(f"no run {ref!r}: neither a path nor a run id under {results_dir}")


@dataclasses.dataclass
class Samples:
    """Raw samples of one result: per phase, request start times (s since epoch) and latencies (ms)."""
    start_s: dict[str, list[float]]
    latency_ms: dict[str, list[float]]
    ok: dict[str, list[bool]]


def raw_samples(run: Run, result: dict[str, Any]) -> Samples | None:
    """The result's raw samples, or None when the run has none for it."""
    name = result.get("rawSamples")
    if not name:
        return None
    path = run.directory / name
    if not path.exists():
        return None
    samples = Samples({}, {}, {})
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        expected = {"start_unix_ns", "latency_us", "phase", "code", "ok"}
        if not expected <= set(reader.fieldnames or ()):
            raise ResultsError(f"{path}: header must hold {', '.join(sorted(expected))}")
        for row in reader:
            phase = row["phase"]
            samples.start_s.setdefault(phase, []).append(int(row["start_unix_ns"]) / 1e9)
            samples.latency_ms.setdefault(phase, []).append(int(row["latency_us"]) / 1000)
            samples.ok.setdefault(phase, []).append(row["ok"] in ("1", "true", "True"))
    return samples
