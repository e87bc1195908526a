"""Several load generators per measurement: `bench run MODE --generators N` on the local stack.

N generator containers (the same image, host network) split every phase exactly — `loadgen run
--segment K/N --start-at T`: VUs floor-partitioned, open-model arrivals i mod N, every phase starting at
the same wall-clock time on all of them. Together they get the budget of one generator: each is limited
to the loadgen class's CPUs / N and memory / N (nano-CPUs and memory pages floor-partitioned like VUs,
so the parts add up to the whole exactly). Each writes its summary and raw samples into its own
directory (`generator-K/`); `loadgen merge` (the host binary) folds the summaries into the one
`summary.json` the runner reads (counts summed, percentiles from the merged HDR histograms, windows
aligned), and the raw samples are concatenated into the measurement's one `samples.csv.gz` (one header,
every generator's rows in segment order; the per-generator files are removed once copied).

Per phase, each generator's CPU use is windowed from its own container's samples (over its own window of
the phase) and judged against its own limit: the phase's `generatorSaturated` is set when any generator
used more than 80 % of its limit. The wait for the agreed start (START_LEAD_*) is lab time: it shows in the
measurement's `overheadSeconds`.
"""
from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
import pathlib
import subprocess
from collections.abc import Iterable, Sequence

from perflab import settings as stack_config
from perflab.durations import parse_time, utc_now
from perflab.errors import LabError
from runner import sampler

SATURATION = 0.8  # a generator above 80 % of its CPU limit was the limit, not the API (as for one)
# The agreed start: far enough ahead for every container to be created, started and ready (probe, templates)
# before it; measured on the 2-core machine: ~0.4-1.0 s per container under load. A generator that starts
# after T exits 2 ("--start-at ... is in the past") and the measurement fails, saying so.
START_LEAD_SECONDS = 4.0
START_LEAD_PER_GENERATOR = 1.5
PAGE_BYTES = 4096  # memory limits are split in whole pages (the kernel's unit)
MIN_NANO_CPUS = 10_000_000  # Docker refuses less than 0.01 CPU
MIN_MEMORY_BYTES = 6 * 1024 ** 2  # Docker refuses less than 6 MiB
MAX_GENERATORS = 64


class GeneratorError(LabError):
    pass


@dataclasses.dataclass(frozen=True)
class Generator:
    """One generator container of a measurement: its part of every phase and its share of the budget."""
    k: int
    n: int
    nano_cpus: int
    memory_bytes: int
    cpuset: str | None = None  # the loadgen class's cores, shared by all N (perflab:limits.loadgen.cpuset)

    @property
    def segment(self) -> str:
        return f"{self.k}/{self.n}"

    @property
    def cpus(self) -> float:
        return self.nano_cpus / 1e9

    @property
    def limits(self) -> stack_config.Limits:
        return stack_config.Limits(self.cpus, str(self.memory_bytes), self.cpuset)

    @property
    def directory(self) -> str:
        """Its output directory inside the measurement's directory."""
        return f"generator-{self.k}"


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` shares that add up to it exactly (floor partition, as loadgen splits VUs)."""
    return [k * total // parts - (k - 1) * total // parts for k in range(1, parts + 1)]


def plan(limits: stack_config.Limits, count: int) -> list[Generator]:
    """The generators of one measurement: one with the class's limits, or N sharing them."""
    if count < 1 or count > MAX_GENERATORS:
        raise GeneratorError(f"--generators must be between 1 and {MAX_GENERATORS}, not {count}")
    if count == 1:
        return [Generator(1, 1, limits.nano_cpus, limits.memory_bytes, limits.cpuset)]
    cpus = split(limits.nano_cpus, count)
    pages, _ = divmod(limits.memory_bytes, PAGE_BYTES)
    memory = [p * PAGE_BYTES for p in split(pages, count)]
    if min(cpus) < MIN_NANO_CPUS or min(memory) < MIN_MEMORY_BYTES:
        raise GeneratorError(f"--generators {count}: the generator budget ({limits.cpus} CPUs, {limits.memory}) "
                             f"split {count} ways is below Docker's minimum per container (0.01 CPU, 6 MiB)")
    return [Generator(k, count, cpus[k - 1], memory[k - 1], limits.cpuset) for k in range(1, count + 1)]


def check_mode(count: int, requests_by_count: int | None, mode: str) -> None:
    """Several generators share a plan by time (one agreed start per phase): not a mode that ends by count."""
    if count > 1 and requests_by_count is not None:
        raise GeneratorError(f"--generators {count}: {mode} ends by count ({requests_by_count} requests), so it cannot "
                             f"be split by time between generators; use --generators 1 (the default)")


def start_lead_seconds(count: int) -> float:
    return START_LEAD_SECONDS + START_LEAD_PER_GENERATOR * count


def start_time(count: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """The agreed start of a measurement with `count` generators: now + the lead, to the millisecond."""
    moment = (now or utc_now()) + datetime.timedelta(seconds=start_lead_seconds(count))
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def merge_summaries(binary: str | pathlib.Path, inputs: Sequence[pathlib.Path], output: pathlib.Path) -> dict:
    """`loadgen merge --summary OUTPUT INPUTS...` with the host binary; the merged summary."""
    command = [str(binary), "merge", "--quiet", "--summary", str(output), *map(str, inputs)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GeneratorError(f"loadgen merge could not run ({binary}): {error}") from error
    if done.returncode != 0:
        raise GeneratorError(f"loadgen merge refused the generators' summaries (exit {done.returncode}): "
                             f"{(done.stderr or done.stdout).strip()[-800:]}")
    return json.loads(output.read_text())


def concatenate_samples(inputs: Iterable[pathlib.Path], output: pathlib.Path, remove: bool = True) -> int:
    """The generators' raw samples (gzip CSV) in one file with the one header; returns the rows copied.
    The parts are removed once copied (`remove`), so the disk holds each row once."""
    inputs = list(inputs)
    header: bytes | None = None
    rows = 0
    with gzip.open(output, "wb", compresslevel=6) as sink:
        for path in inputs:
            with gzip.open(path, "rb") as source:
                first = source.readline()
                if header is None:
                    header = first
                    sink.write(first)
                elif first != header:
                    raise GeneratorError(f"{path}: header {first!r} differs from the first generator's {header!r}")
                while chunk := source.read(1 << 20):
                    rows += chunk.count(b"\n")
                    sink.write(chunk)
    if remove:
        for path in inputs:
            path.unlink()
    return rows


def figures(phase: dict, summary: dict, samples: list[sampler.Sample],
            generators: Sequence[tuple[Generator, str]]) -> dict:
    """`phase` (phase_figures' result for one phase of the merged summary) with each generator's own share
    and CPU use in its own window of the phase, judged against its own limit; `generatorSaturated` when any
    one was above 80 % of its limit. `generators`: each generator and its container's name."""
    if len(generators) < 2:
        return phase
    own = {g.get("segment"): g for g in summary.get("generators") or []}
    uses = []
    for generator, container in generators:
        share: dict = next((p for p in (own.get(generator.segment) or {}).get("phases", [])
                            if p.get("name") == phase["name"]), {})
        # Its own window (the same start; its own end, before its drain): a generator that finished first may
        # have exited, its cgroup gone, before the merged window's end.
        start, end = parse_time(share.get("start") or phase["start"]), parse_time(share.get("end") or phase["end"])
        mine = [s for s in samples if s.role == "loadgen" and s.container == container]
        window = sampler.window(mine, "loadgen", start, end).as_dict(generator.cpus)
        average = window["cpuPercentAvg"]
        uses.append({"segment": generator.segment, "container": container, "requests": share.get("requests"),
                     "throughput": share.get("throughput"), "cpuSeconds": window["cpuSeconds"],
                     "cpuPercentAvg": average, "cpuPercentPeak": window["cpuPercentPeak"],
                     "memoryPeakBytes": window["memoryPeakBytes"], "cpuLimit": generator.cpus,
                     "saturated": bool(average is not None and average > SATURATION * 100 * generator.cpus)})
    measured = any(u["cpuPercentAvg"] is not None for u in uses)
    saturated = any(u["saturated"] for u in uses) if measured else phase.get("generatorSaturated")
    return {**phase, "generators": uses, "generatorSaturated": saturated}


def combined_progress(latest: dict[int, dict]) -> dict:
    """One progress line for N generators' own lines (loadgen --progress): their load added up, the worst
    p95, the first generator's phase and clock."""
    lines = [latest[k] for k in sorted(latest)]
    if not lines:
        return {}
    first = lines[0]

    def total(key: str) -> float:
        return sum(line.get(key) or 0 for line in lines)
    return {**first, "vus": int(total("vus")), "inFlight": int(total("inFlight")), "rps": total("rps"),
            "errors": int(total("errors")), "p95Ms": max((line.get("p95Ms") or 0) for line in lines),
            "generators": len(lines)}
