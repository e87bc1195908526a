"""Turning runs into the report's data, and the data into Markdown and self-contained HTML (jinja2)."""
from __future__ import annotations

import json
import statistics
from typing import Any

import jinja2

from reports import charts
from reports.compare import Change
from reports.model import Run, parse_time
from reports.ranking import is_verified, payload_sizes, rankings, warnings

_env = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"), autoescape=jinja2.select_autoescape(
    enabled_extensions=("html.j2",), default_for_string=False), trim_blocks=True, lstrip_blocks=True,
    keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:,.1f} MB"


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_env.filters.update(gib=lambda v: "–" if v is None else f"{v / 2**30:.0f} GiB", num=_num, percent=_percent, mb=_mb,
                    md=_md_cell, tojson_pretty=lambda d: json.dumps(d, indent=1))


def _phase_names(results: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for result in results:
        for phase in result["phases"]:
            if phase["name"] not in names:
                names.append(phase["name"])
    return names


def _median_phase_value(results: list[dict[str, Any]], phase: str, pick) -> float | None:
    values = [pick(p) for r in results for p in r["phases"] if p["name"] == phase and pick(p) is not None]
    return round(statistics.median(values), 3) if values else None


def _label(api: str, verified: bool) -> str:
    return api if verified else f"{api} (unverified)"


def build(runs: list[Run]) -> dict[str, Any]:
    """Everything the report shows, as plain data (embedded in the HTML, and what its golden test reads)."""
    tables = rankings(runs)
    sizes = payload_sizes(runs)
    all_results = [r for run in runs for r in run.results]
    colors = charts.colors_for([r["api"] for r in all_results])
    per_size = {}
    for size in sizes:
        results = [r for r in all_results if r["payloadSize"] == size and r["phases"]]
        phases = _phase_names(results)
        apis = [row["api"] for row in tables[size] if row["throughput"] is not None]
        by_api = {api: [r for r in results if r["api"] == api] for api in apis}
        verified = {api: all(is_verified(r) for r in by_api[api]) for api in apis}

        def series(pick, apis=apis, by_api=by_api, verified=verified, phases=phases):
            return [{"api": api, "label": _label(api, verified[api]), "color": colors[api], "verified": verified[api],
                     "values": [_median_phase_value(by_api[api], phase, pick) for phase in phases]} for api in apis]

        ranked = [row for row in tables[size] if row["throughput"] is not None]
        per_size[size] = {
            "phases": phases,
            "throughput": series(lambda p: p["throughput"]),
            "latency": {q: series(lambda p, q=q: p["latencyMs"].get(q)) for q in ("p50", "p95", "p99")},
            "efficiency": {
                "requestsPerCpuSecond": [{"label": _label(r["api"], r["verified"]), "color": colors[r["api"]],
                                          "value": r["requestsPerCpuSecond"], "phase": r["phase"]} for r in ranked],
                "memoryMBPerRequest": [{"label": _label(r["api"], r["verified"]), "color": colors[r["api"]],
                                        "value": r["memoryMBPerRequest"], "phase": r["phase"]} for r in ranked],
            },
        }
    # Scaling compares an API with itself across sizes, so only APIs verified at every size are drawn.
    scaling_apis = sorted({row["api"] for rows in tables.values() for row in rows if row["rank"]} - {
        row["api"] for rows in tables.values() for row in rows if row["throughput"] is not None and not row["rank"]})
    scaling = {metric: [{"api": api, "label": api, "color": colors[api], "verified": True,
                         "values": [next((row[metric] for row in tables[size] if row["api"] == api), None)
                                    for size in sizes]} for api in scaling_apis]
               for metric in ("throughput", "p99Ms")}
    return {
        "runs": [_run_summary(run) for run in runs],
        "warnings": warnings(runs),
        "payloadSizes": sizes,
        "payloadBytes": {size: next(r.get("payloadBytes") for r in all_results if r["payloadSize"] == size)
                         for size in sizes},
        "rankings": tables,
        "charts": per_size,
        "scaling": scaling,
        "results": [_result_detail(run, result) for run in runs for result in run.results],
    }


def _run_summary(run: Run) -> dict[str, Any]:
    doc = run.doc
    return {"runId": run.id, "mode": doc["mode"], "stack": doc["stack"], "startedAt": doc["startedAt"],
            "finishedAt": doc.get("finishedAt"), "command": doc.get("command"), "environment": doc["environment"],
            "config": doc["config"]}


def _result_detail(run: Run, result: dict[str, Any]) -> dict[str, Any]:
    """Per result: verification, resource use over time with phase boundaries, database figures."""
    origin = parse_time(result["phases"][0]["start"]).timestamp() - 1 if result["phases"] else 0
    seconds = lambda text: round(parse_time(text).timestamp() - origin, 3)  # noqa: E731
    samples: dict[str, list[list[float]]] = {}
    for sample in result.get("resourceSamples") or []:
        samples.setdefault(sample["role"], []).append(
            [seconds(sample["t"]), sample.get("cpuPercent"), sample.get("memoryBytes")])
    verification = result.get("verification") or {}
    acknowledged = verification.get("acknowledged") or 0
    statements = verification.get("statements") or {}
    database = result.get("database") or {}
    return {
        "runId": run.id, "api": result["api"], "payloadSize": result["payloadSize"], "repeat": result["repeat"],
        "status": result["status"], "verified": is_verified(result), "problem": result.get("problem"),
        "verification": verification or None,
        "phases": [[p["name"], seconds(p["start"]), seconds(p["end"])] for p in result["phases"]],
        "resourceSamples": samples,
        "database": {
            "topStatements": database.get("topStatements") or [],
            "cacheHitRatio": database.get("cacheHitRatio"),
            "connections": database.get("connections"),
            "eventInsertsPerEvent": round(statements["eventInsertCalls"] / acknowledged, 3)
            if acknowledged and "eventInsertCalls" in statements else None,
            "entityUpsertsPerEvent": round(statements["entityUpsertCalls"] / acknowledged, 3)
            if acknowledged and "entityUpsertCalls" in statements else None,
        } if database else None,
    }


def _svgs(data: dict[str, Any]) -> dict[str, Any]:
    """The SVG charts of the HTML report, drawn from the report data."""
    def lines(title, categories, series, unit):
        return charts.line_chart(title, categories, [(s["label"], s["color"], s["values"], not s["verified"]) for s in series],
                                 y_label=unit)

    out: dict[str, Any] = {"sizes": {}, "results": []}
    for size, spec in data["charts"].items():
        out["sizes"][size] = {
            "throughput": lines("Throughput by phase", spec["phases"], spec["throughput"], "requests / s"),
            "latency": {q: lines(f"{q} latency by phase", spec["phases"], series, "ms")
                        for q, series in spec["latency"].items()},
            "rps": charts.hbar_chart("Requests per API CPU-second (higher is better)",
                                     [(b["label"], b["color"], b["value"], f"@ {b['phase']}")
                                      for b in spec["efficiency"]["requestsPerCpuSecond"]], unit="req / CPU-s"),
            "mb": charts.hbar_chart("Peak API memory per request (lower is better)",
                                    [(b["label"], b["color"], b["value"], f"@ {b['phase']}")
                                     for b in spec["efficiency"]["memoryMBPerRequest"]], unit="MB / request"),
        }
    sizes = [f"{size} ({data['payloadBytes'][size]} B)" for size in data["payloadSizes"]]
    out["scaling"] = [lines("Throughput by payload size", sizes, data["scaling"]["throughput"], "requests / s"),
                      lines("p99 latency by payload size", sizes, data["scaling"]["p99Ms"], "ms")]
    for detail in data["results"]:
        roles = detail["resourceSamples"]
        if not roles:
            out["results"].append(None)
            continue
        colors = charts.ROLE_COLORS
        cpu = [(role, colors.get(role, "#666"), [(t, c) for t, c, _ in points if c is not None])
               for role, points in roles.items()]
        memory = [(role, colors.get(role, "#666"), [(t, m / 1e6) for t, _, m in points if m is not None])
                  for role, points in roles.items()]
        out["results"].append([charts.time_chart("CPU", cpu, detail["phases"], y_label="% of one core"),
                               charts.time_chart("Memory", memory, detail["phases"], y_label="MB")])
    return out


def markdown(data: dict[str, Any]) -> str:
    return _env.get_template("report.md.j2").render(data=data)


def html(data: dict[str, Any]) -> str:
    payload = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    return _env.get_template("report.html.j2").render(data=data, svg=_svgs(data), data_json=payload)


def compare_data(run_a: Run, run_b: Run, changes: list[Change], threshold: float | None) -> dict[str, Any]:
    rows = [{"api": c.api, "payloadSize": c.payload_size, "phase": c.phase, "metric": c.metric, "a": c.a, "b": c.b,
             "ratio": round(c.ratio, 4), "percent": round(c.percent, 2),
             "ciLow": None if c.ci_low is None else round((c.ci_low - 1) * 100, 2),
             "ciHigh": None if c.ci_high is None else round((c.ci_high - 1) * 100, 2),
             "pValue": None if c.p_value is None else round(c.p_value, 4), "method": c.method,
             "significant": c.significant, "better": c.better, "verdict": c.verdict, "verified": c.verified,
             "regression": c.is_regression(threshold or 0.0)} for c in changes]
    return {"a": _run_summary(run_a), "b": _run_summary(run_b), "threshold": threshold, "changes": rows,
            "regressions": sum(r["regression"] for r in rows),
            "improvements": sum(r["significant"] and r["better"] for r in rows),
            "notSignificant": sum(not r["significant"] for r in rows)}


def compare_markdown(data: dict[str, Any]) -> str:
    return _env.get_template("compare.md.j2").render(data=data)


def compare_html(data: dict[str, Any]) -> str:
    return _env.get_template("compare.html.j2").render(data=data)
