"""Run shapes — modes, phases, warm-up, payload sizes, thresholds — as the load generator defines them.

They have one home, `tools/loadgen` (its plan, payload and stats packages); the runner asks it with
`loadgen describe --json` (format `perflab.loadgen.describe/1`) for the choices it offers, its disk
estimates and what it records in the results document. Nothing here restates a size, a threshold or a
duration.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import subprocess

from perflab.catalogue import LOADGEN
from perflab.errors import LabError

FORMAT = "perflab.loadgen.describe/1"


class ShapeError(LabError):
    pass


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    vus: int
    hold_seconds: float
    ramp_seconds: float
    iterations: int


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    description: str
    warmup_seconds: float
    planned_seconds: float  # warm-up + ramps + holds; 0 for a mode that ends by count (smoke)
    phases: tuple[Phase, ...]

    @property
    def requests_by_count(self) -> int | None:
        """Requests of a mode that ends by count (smoke: VUs x iterations), else None."""
        if self.phases and all(p.iterations > 0 for p in self.phases):
            return sum(p.vus * p.iterations for p in self.phases)
        return None


@dataclasses.dataclass(frozen=True)
class Shapes:
    document: dict  # the generator's own description, recorded in results documents
    modes: dict[str, Mode]
    payload_bytes: dict[str, int]
    payload_order: tuple[str, ...]
    payload_tolerance: float
    entity_pool: int
    thresholds: dict[str, float]
    version: str

    def mode(self, name: str) -> Mode:
        if name not in self.modes:
            raise ShapeError(f"unknown mode {name!r}; the load generator has: {', '.join(self.modes)}")
        return self.modes[name]


def parse(document: dict) -> Shapes:
    if document.get("format") != FORMAT:
        raise ShapeError(f"the load generator describes its shapes as {document.get('format')!r}; this runner "
                         f"reads {FORMAT!r}: rebuild it (tools/loadgen/build.sh)")
    modes = {m["name"]: Mode(m["name"], m.get("description", ""), float(m["warmupSeconds"]),
                             float(m["plannedSeconds"]),
                             tuple(Phase(p["name"], int(p["vus"]), float(p["holdSeconds"]), float(p["rampSeconds"]),
                                         int(p.get("iterations", 0))) for p in m["phases"]))
             for m in document["modes"]}
    return Shapes(document, modes, {k: int(v) for k, v in document["payloadSizes"].items()},
                  tuple(document["payloadSizeOrder"]), float(document["payloadTolerance"]),
                  int(document["entityPool"]), {k: float(v) for k, v in document["thresholds"].items()},
                  str(document.get("version", "")))


def binary_path() -> str:
    return str(LOADGEN.artifact_dir / "loadgen")


@functools.cache
def describe(phase_scale: float = 1.0, warmup_seconds: float | None = None) -> Shapes:
    """The generator's shapes at this phase scale (and warm-up, when given). Builds the generator first
    when it is missing or stale (its build script is incremental)."""
    from runner import images

    images.build_artifact(LOADGEN, log=lambda line: None)
    command = [binary_path(), "describe", "--json", "--phase-scale", repr(phase_scale)]
    if warmup_seconds is not None:
        command += ["--warmup", f"{warmup_seconds}s"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise ShapeError(f"`{' '.join(command)}` failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
    try:
        return parse(json.loads(result.stdout))
    except (ValueError, KeyError, TypeError) as error:
        raise ShapeError(f"cannot read `loadgen describe --json`: {error}") from error
