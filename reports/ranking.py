"""Ranking tables: one per payload size, built from the results of one or more runs.

An API's figure is its headline phase: the phase with the highest throughput whose thresholds all held
(the most it sustained within the service-level limits); if none held, its highest-throughput phase, and
the row says so. Repeats are combined by their median. Only verified results are ranked.
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from typing import Any

from reports.model import Run

COLUMNS = ("rank", "api", "language", "framework", "protocol", "deployment", "payloadSize", "payloadBytes",
           "status", "verified", "problem", "repeats", "phase", "vus", "throughput", "p50Ms", "p95Ms", "p99Ms",
           "errorRate", "cpuSecondsPer1kRequests", "requestsPerCpuSecond", "memoryPeakBytes",
           "memoryMBPerRequest", "generatorSaturated", "withinThresholds")
_NUMERIC = ("throughput", "p50Ms", "p95Ms", "p99Ms", "errorRate", "cpuSecondsPer1kRequests",
            "requestsPerCpuSecond", "memoryPeakBytes", "memoryMBPerRequest")


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


def _row(result: dict[str, Any]) -> dict[str, Any]:
    phase = headline_phase(result)
    requests = sum(p["requests"] for p in result["phases"])
    failures = sum(p["failures"] for p in result["phases"])
    efficiency = (phase or {}).get("efficiency") or {}
    latency = (phase or {}).get("latencyMs") or {}
    peaks = [_api_resources(p).get("memoryPeakBytes") for p in result["phases"]]
    memory = [m for m in peaks if m is not None]
    return {
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
        "memoryMBPerRequest": efficiency.get("memoryMBPerRequest"),
        "generatorSaturated": any(p.get("generatorSaturated") for p in result["phases"]),
        "withinThresholds": thresholds_held(phase) if phase else None,
    }


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
    for key in _NUMERIC:
        values = [row[key] for row in rows if row[key] is not None]
        combined[key] = statistics.median(values) if values else None
    return combined


def payload_sizes(runs: list[Run]) -> list[str]:
    """Payload sizes in the order of their byte size."""
    sizes: dict[str, float] = {}
    for run in runs:
        for result in run.results:
            sizes.setdefault(result["payloadSize"], result.get("payloadBytes") or 0)
    return sorted(sizes, key=lambda size: (sizes[size], size))


def rankings(runs: list[Run]) -> dict[str, list[dict[str, Any]]]:
    """Per payload size: ranked rows by throughput, then the unranked (unverified or never ran) rows."""
    tables = {}
    for size in payload_sizes(runs):
        groups: dict[str, list[dict[str, Any]]] = {}
        for run in runs:
            for result in run.results:
                if result["payloadSize"] == size:
                    groups.setdefault(result["api"], []).append(_row(result))
        rows = [_combine(group) for group in groups.values()]
        ranked = sorted((r for r in rows if r["verified"] and r["throughput"] is not None),
                        key=lambda r: (-r["throughput"], r["api"]))
        for position, row in enumerate(ranked, 1):
            row["rank"] = position
        unranked = sorted((r for r in rows if r["rank"] is None), key=lambda r: r["api"])
        tables[size] = ranked + unranked
    return tables


def to_csv(tables: dict[str, list[dict[str, Any]]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rows in tables.values():
        for row in rows:
            writer.writerow({key: "" if row[key] is None else row[key] for key in COLUMNS})
    return buffer.getvalue()


def to_json(tables: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps({"schema": "perflab.ranking/1", "tables": tables}, indent=2) + "\n"


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
