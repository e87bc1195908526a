"""Ranking tables: one per payload size, built from the results of one or more runs.

An API's figure is its headline phase: the phase with the highest throughput whose thresholds all held
(the most it sustained within the service-level limits); if none held, its highest-throughput phase, and
the row says so. Repeats are combined by their median. Only verified results of performance runs (full,
saturation) are ranked: a smoke run is a functional check (five requests per API) and is never ranked.

With repeats (`bench run --repeat N`), each row also carries the spread of its throughput over the repeats
(CV and 95 % t-interval, reports/spread.py) and whether its difference from the row ranked above it is
significant (Welch's t-test on the two rows' repeats, 5 % level); with a single repeat these stay empty.

Every figure a row leaves empty has its reason in the row's `missing` ({column: why}), so a report can
say why where the figure would be.
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from typing import Any

from reports import spread
from reports.model import Run, parse_time

COLUMNS = ("rank", "api", "language", "framework", "protocol", "deployment", "payloadSize", "payloadBytes",
           "status", "verified", "problem", "repeats", "phase", "vus", "throughput", "p50Ms", "p95Ms", "p99Ms",
           "errorRate", "cpuSecondsPer1kRequests", "requestsPerCpuSecond", "memoryPeakBytes",
           "memoryMBPer1kRps", "referenceFraction", "usdPerMillionEvents", "generatorSaturated", "withinThresholds",
           "functionalCheck", "throughputCv", "throughputCiLow", "throughputCiHigh", "p95Cv", "vsAbove",
           "vsAbovePValue", "notes")
_NUMERIC = ("throughput", "p50Ms", "p95Ms", "p99Ms", "errorRate", "cpuSecondsPer1kRequests",
            "requestsPerCpuSecond", "memoryPeakBytes", "memoryMBPer1kRps", "referenceFraction",
            "usdPerMillionEvents")
# Figures only some runs carry (the database reference; the cost, on the AWS stack): their absence is only
# explained when another row of the table has them.
_OPTIONAL = ("referenceFraction", "usdPerMillionEvents")
FUNCTIONAL_MODES = ("smoke",)


def is_functional(run: Run) -> bool:
    """A smoke run checks that every API works; its figures describe a handful of requests."""
    return run.doc["mode"] in FUNCTIONAL_MODES


def is_verified(result: dict[str, Any]) -> bool:
    # Verified is about the work done, not about thresholds: a run that broke a threshold at 2000 VUs is
    # still a verified measurement (the broken threshold is its own warning).
    verification = result.get("verification") or {}
    return result["status"] != "error" and verification.get("passed") is True


def thresholds_held(phase: dict[str, Any]) -> bool:
    return all((phase.get("thresholds") or {}).values())


def headline_phase(result: dict[str, Any]) -> dict[str, Any] | None:
    phases = result["phases"]
    if not phases:
        return None
    held = [phase for phase in phases if thresholds_held(phase)]
    return max(held or phases, key=lambda phase: phase["throughput"])


def _api_resources(phase: dict[str, Any]) -> dict[str, Any]:
    return ((phase.get("resources") or {}).get("api")) or {}


def reading_interval(result: dict[str, Any], role: str = "api") -> float | None:
    """Seconds between the kept resource readings of one container of `role` (median), if there are two."""
    times: dict[str, list[float]] = {}
    for sample in result.get("resourceSamples") or []:
        if sample["role"] == role:
            times.setdefault(sample.get("container") or "", []).append(parse_time(sample["t"]).timestamp())
    gaps = [b - a for series in times.values() for a, b in zip(sorted(series), sorted(series)[1:]) if b > a]
    return statistics.median(gaps) if gaps else None


def resource_reason(result: dict[str, Any], phase: dict[str, Any], figure: str, role: str = "api") -> str:
    """Why `figure` ("cpuSeconds" or a memory field) of `role` is absent in `phase`."""
    who = {"api": "the API", "database": "the database", "loadgen": "the load generator"}.get(role, role)
    if not phase.get("resources") and result.get("deployment") == "lambda" and phase.get("cloudwatch"):
        return "a Lambda API has no container to sample: see its CloudWatch figures"
    if not phase.get("resources"):
        return f"no resource readings were recorded for phase {phase['name']} (the run was interrupted)"
    figures = (phase.get("resources") or {}).get(role) or {}
    if not figures:
        return f"{who}'s containers were not sampled"
    if figure == "cpuSeconds" and figures.get("cpuSeconds") == 0:
        return f"{who}'s CPU counter did not advance during phase {phase['name']}"
    if not figures.get("samples"):
        readings = sum(1 for s in result.get("resourceSamples") or [] if s["role"] == role)
        interval = reading_interval(result, role)
        if interval:
            return (f"no reading of {who} fell inside the {phase['name']} phase: it was shorter than the "
                    f"{interval:.1f} s between readings")
        if readings <= 1:
            return f"{who} was read only once in this measurement, not before and after the {phase['name']} phase"
        return f"{who} was not read both before and after the {phase['name']} phase"
    if figure == "cpuSeconds":
        return f"{who}'s CPU counter was not read on both sides of phase {phase['name']}"
    return f"no memory reading of {who} in phase {phase['name']}"


def _row(result: dict[str, Any], functional: bool = False) -> dict[str, Any]:
    phase = headline_phase(result)
    requests = sum(p["requests"] for p in result["phases"])
    failures = sum(p["failures"] for p in result["phases"])
    efficiency = (phase or {}).get("efficiency") or {}
    latency = (phase or {}).get("latencyMs") or {}
    peaks = [_api_resources(p).get("memoryPeakBytes") for p in result["phases"]]
    memory = [m for m in peaks if m is not None]
    row = {
        "rank": None, "api": result["api"], "language": result.get("language"),
        "framework": result.get("framework"), "protocol": result.get("protocol"),
        "deployment": result.get("deployment"), "payloadSize": result["payloadSize"],
        "payloadBytes": result.get("payloadBytes"), "status": result["status"], "verified": is_verified(result),
        "problem": result.get("problem"), "repeats": 1,
        "phase": phase["name"] if phase else None, "vus": phase.get("vus") if phase else None,
        "throughput": phase["throughput"] if phase else None,
        "p50Ms": latency.get("p50"), "p95Ms": latency.get("p95"), "p99Ms": latency.get("p99"),
        "errorRate": failures / requests if requests else None,
        "cpuSecondsPer1kRequests": efficiency.get("cpuSecondsPer1kRequests"),
        "requestsPerCpuSecond": efficiency.get("requestsPerCpuSecond"),
        "memoryPeakBytes": max(memory) if memory else None,
        "memoryMBPer1kRps": efficiency.get("memoryMBPer1kRps"),
        # throughput / the database's own limit at the same payload size and phase, when it was measured
        "referenceFraction": (phase or {}).get("referenceFraction"),
        # AWS stack: the phase's cost per million events acknowledged (perflab:prices)
        "usdPerMillionEvents": ((phase or {}).get("cost") or {}).get("usdPerMillionEvents"),
        "generatorSaturated": any(p.get("generatorSaturated") for p in result["phases"]),
        "withinThresholds": thresholds_held(phase) if phase else None,
        "functionalCheck": functional,
        # functional checks: what the five requests show
        "requests": requests, "failures": failures, "startupSeconds": result.get("startupSeconds"),
        "maxMs": latency.get("max"),
        "apiCpuSeconds": _api_resources(phase).get("cpuSeconds") if phase else None,
        # the headline figures of each repeat (one value per repeat), for the spread
        "throughputRepeats": [phase["throughput"]] if phase else [],
        "p95Repeats": [latency["p95"]] if latency.get("p95") is not None else [],
        "throughputCv": None, "throughputCiLow": None, "throughputCiHigh": None, "p95Cv": None,
        "vsAbove": None, "vsAbovePValue": None,
    }
    row["missing"] = _missing(result, phase, row)
    return row


def _missing(result: dict[str, Any], phase: dict[str, Any] | None, row: dict[str, Any]) -> dict[str, str]:
    """Why each absent figure of the row is absent."""
    if phase is None:
        why = f"never ran: {result.get('problem') or result['status']}"
        return {key: why for key in (*_NUMERIC, "maxMs", "apiCpuSeconds", "startupSeconds")
                if row[key] is None and key not in _OPTIONAL}
    missing: dict[str, str] = {}
    if row["errorRate"] is None:
        missing["errorRate"] = "no requests were sent"
    for key in ("p50Ms", "p95Ms", "p99Ms", "maxMs"):
        if row[key] is None:
            missing[key] = f"no latency was recorded in phase {phase['name']} (no request answered)"
    cpu_reason = None
    if not _api_resources(phase).get("cpuSeconds"):
        cpu_reason = resource_reason(result, phase, "cpuSeconds")
    elif not phase.get("requests"):
        cpu_reason = f"no requests in phase {phase['name']}"
    for key in ("cpuSecondsPer1kRequests", "requestsPerCpuSecond", "apiCpuSeconds"):
        if row[key] is None and cpu_reason:
            missing[key] = cpu_reason
    if row["memoryPeakBytes"] is None:
        missing["memoryPeakBytes"] = resource_reason(result, phase, "memoryPeakBytes")
    if row["memoryMBPer1kRps"] is None:
        missing["memoryMBPer1kRps"] = (resource_reason(result, phase, "memoryAvgBytes")
                                       if _api_resources(phase).get("memoryAvgBytes") is None
                                       else f"no throughput in phase {phase['name']}")
    if row["startupSeconds"] is None:
        missing["startupSeconds"] = "the start-up time was not recorded"
    return missing


def _combine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeats of one API and payload size: medians of the figures; verified only if every repeat was."""
    if len(rows) == 1:
        return rows[0]
    combined = dict(rows[0])
    combined["repeats"] = len(rows)
    combined["verified"] = all(row["verified"] for row in rows)
    combined["status"] = "passed" if all(row["status"] == "passed" for row in rows) else "failed"
    combined["problem"] = "; ".join(row["problem"] for row in rows if row["problem"]) or None
    combined["generatorSaturated"] = any(row["generatorSaturated"] for row in rows)
    combined["withinThresholds"] = all(row["withinThresholds"] for row in rows)
    combined["functionalCheck"] = any(row["functionalCheck"] for row in rows)
    combined["throughputRepeats"] = [v for row in rows for v in row["throughputRepeats"]]
    combined["p95Repeats"] = [v for row in rows for v in row["p95Repeats"]]
    combined["missing"] = {}
    for key in _NUMERIC:
        values = [row[key] for row in rows if row[key] is not None]
        combined[key] = statistics.median(values) if values else None
        if not values and any(key in row["missing"] for row in rows):
            combined["missing"][key] = next(row["missing"][key] for row in rows if key in row["missing"])
    return combined


def _add_spread(row: dict[str, Any]) -> None:
    """The spread of the row's headline throughput and p95 over its repeats (nothing with one repeat)."""
    throughput = spread.spread(row["throughputRepeats"])
    p95 = spread.spread(row["p95Repeats"])
    if throughput is not None:
        row["throughputCv"] = None if throughput.cv is None else round(throughput.cv, 4)
        row["throughputCiLow"], row["throughputCiHigh"] = round(throughput.ci_low, 1), round(throughput.ci_high, 1)
    if p95 is not None and p95.cv is not None:
        row["p95Cv"] = round(p95.cv, 4)


def payload_sizes(runs: list[Run]) -> list[str]:
    """Payload sizes in the order of their byte size."""
    sizes: dict[str, float] = {}
    for run in runs:
        for result in run.results:
            sizes.setdefault(result["payloadSize"], result.get("payloadBytes") or 0)
    return sorted(sizes, key=lambda size: (sizes[size], size))


def rankings(runs: list[Run]) -> dict[str, list[dict[str, Any]]]:
    """Per payload size: ranked rows by throughput, then the unranked rows (unverified, never ran, or from a
    smoke run: a functional check is never ranked)."""
    tables = {}
    for size in payload_sizes(runs):
        groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for run in runs:
            for result in run.results:
                if result["payloadSize"] == size:
                    groups.setdefault((result["api"], is_functional(run)), []).append(
                        _row(result, is_functional(run)))
        rows = [_combine(group) for group in groups.values()]
        ranked = sorted((r for r in rows if r["verified"] and r["throughput"] is not None and not r["functionalCheck"]),
                        key=lambda r: (-r["throughput"], r["api"]))
        for position, row in enumerate(ranked, 1):
            row["rank"] = position
        for row in rows:
            _add_spread(row)
        for above, row in zip(ranked, ranked[1:]):
            difference = spread.welch(above["throughputRepeats"], row["throughputRepeats"])
            if difference.significant is not None:
                row["vsAbove"] = "significant" if difference.significant else "not significant"
                row["vsAbovePValue"] = None if difference.p_value is None else round(difference.p_value, 4)
        unranked = sorted((r for r in rows if r["rank"] is None), key=lambda r: (r["functionalCheck"], r["api"]))
        tables[size] = ranked + unranked
    return tables


def _notes(row: dict[str, Any]) -> str:
    return "; ".join(f"{key}: {why}" for key, why in row.get("missing", {}).items())


def to_csv(tables: dict[str, list[dict[str, Any]]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rows in tables.values():
        for row in rows:
            values = {**row, "notes": _notes(row) or None}
            writer.writerow({key: "" if values[key] is None else values[key] for key in COLUMNS})
    return buffer.getvalue()


def to_json(tables: dict[str, list[dict[str, Any]]]) -> str:
    rows = {size: [{key: row[key] for key in COLUMNS if key != "notes"} | {"missing": row.get("missing", {})}
                   for row in table] for size, table in tables.items()}
    return json.dumps({"schema": "perflab.ranking/1", "tables": rows}, indent=2) + "\n"


def warnings(runs: list[Run]) -> list[str]:
    """What a reader must know before trusting the numbers."""
    found = []
    for run in runs:
        if run.doc["environment"].get("gitDirty"):
            found.append(f"{run.id}: measured from a work tree with uncommitted changes")
        for result in run.results:
            who = f"{result['api']} ({result['payloadSize']}, repeat {result['repeat']})"
            if result["status"] == "error":
                found.append(f"{who}: never ran — {result.get('problem') or 'no reason given'}")
            elif not is_verified(result):
                found.append(f"{who}: not verified, not ranked — {result.get('problem') or 'verification failed'}")
            for phase in result["phases"]:
                if phase.get("generatorSaturated"):
                    found.append(f"{who}, phase {phase['name']}: load generator saturated "
                                 f"(its CPU above 80 % of its limit) — the API may be faster than measured")
                if phase.get("hostSaturated"):
                    found.append(f"{who}, phase {phase['name']}: the host's cores were nearly all busy (API, "
                                 f"database and generator together) — the machine, not the API, may be the limit")
                broken = [name for name, held in (phase.get("thresholds") or {}).items() if not held]
                if broken:
                    found.append(f"{who}, phase {phase['name']}: threshold broken: {', '.join(broken)}")
    return found
