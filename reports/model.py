"""Loading and validating results documents, and reading their raw samples."""
from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
import pathlib
from typing import Any

from perflab import results
from perflab.durations import parse_time
from perflab.results import RUN_FILE, ResultsError, RunDocument

__all__ = ["RUN_FILE", "ResultsError", "Run", "Samples", "discover", "load", "parse_time", "raw_samples",
           "resolve"]

@dataclasses.dataclass
class Run:
    """A stored run: its validated document (perflab.results.RunDocument) and where it lives. Reports read
    `doc`, the document as written (JSON names), and `model` for typed access."""
    model: RunDocument
    path: pathlib.Path  # the run.json file

    @functools.cached_property
    def doc(self) -> dict[str, Any]:
        return self.model.to_dict()

    @property
    def id(self) -> str:
        return self.model.run_id

    @property
    def directory(self) -> pathlib.Path:
        return self.path.parent

    @functools.cached_property
    def results(self) -> list[dict[str, Any]]:
        """The results; one measured under an auth profile is its own entry, named `<api> (<profile>)`, so
        rankings, charts and comparisons put it beside the same API without auth (`baseApi` keeps the name)."""
        return [result if result.get("profile", DEFAULT_PROFILE) == DEFAULT_PROFILE
                else {**result, "api": profiled_name(result["api"], result["profile"]), "baseApi": result["api"]}
                for result in self.doc["results"]]


DEFAULT_PROFILE = "no-auth"


def profiled_name(api: str, profile: str) -> str:
    return api if profile == DEFAULT_PROFILE else f"{api} ({profile})"

def load(path: pathlib.Path | str) -> Run:
    """Load a run from its run.json or its directory (validated by the one results model)."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / RUN_FILE
    return Run(results.load(path), path)

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
        reader = csv.reader(handle)
        header = next(reader, [])
        expected = {"start_unix_ns", "latency_us", "phase", "code", "ok"}
        if not expected <= set(header):
            raise ResultsError(f"{path}: header must hold {', '.join(sorted(expected))}")
        start, latency, phase, ok = (header.index(column) for column in ("start_unix_ns", "latency_us", "phase", "ok"))
        for row in reader:
            name = row[phase]
            if name not in samples.start_s:
                samples.start_s[name], samples.latency_ms[name], samples.ok[name] = [], [], []
            samples.start_s[name].append(int(row[start]) / 1e9)
            samples.latency_ms[name].append(int(row[latency]) / 1000)
            samples.ok[name].append(row[ok] in ("1", "true", "True"))
    return samples
