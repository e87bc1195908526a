"""Turning runs into the report's data, and the data into Markdown and self-contained HTML (jinja2).

A smoke run is a functional check: its report says so, lists the APIs without ranking them and draws no
throughput chart. Every figure a table leaves empty carries a numbered note saying why.
"""
from __future__ import annotations

import json
import math
import statistics
from typing import Any

import jinja2

from reports import charts, spread
from reports.compare import Change
from reports.model import Run, parse_time, raw_samples
from reports.ranking import is_functional, is_verified, payload_sizes, rankings, warnings

_env = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"), autoescape=jinja2.select_autoescape(
    enabled_extensions=("html.j2",), default_for_string=False), trim_blocks=True, lstrip_blocks=True,
    keep_trailing_newline=True, undefined=jinja2.StrictUndefined)

PERFORMANCE_CURVE_MODES = ("full", "saturation")  # modes whose phases step up the load: a knee to show
CURVE_POINTS = 48  # points of a latency-distribution curve (plus the extremes)
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


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


def _usd(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if abs(value) >= 0.01 else f"${value:.6f}"


def _change(value: float | None) -> str:
    """A relative change, signed: +3.2 %."""
    return "–" if value is None else f"{value * 100:+.1f} %"


def _pct(value: float | None) -> str:
    """A figure that already is a percentage (CloudWatch utilisation)."""
    return "–" if value is None else f"{value:.1f} %"


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_env.filters.update(gib=lambda v: "–" if v is None else f"{v / 2**30:.0f} GiB", num=_num, percent=_percent, mb=_mb,
                    usd=_usd, pct=_pct, md=_md_cell, change=_change, tojson_pretty=lambda d: json.dumps(d, indent=1),
                    sup=lambda n: str(n).translate(SUPERSCRIPTS))


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


def _reference(phase: dict[str, Any]) -> float | None:
    return (phase.get("reference") or {}).get("throughput")


def number_notes(rows: list[dict[str, Any]], notes: list[str]) -> None:
    """Give each row's missing figures a note number (`refs`); equal reasons share one note."""
    for row in rows:
        row["refs"] = {}
        for column, why in (row.get("missing") or {}).items():
            if why not in notes:
                notes.append(why)
            row["refs"][column] = notes.index(why) + 1


def percentile_curve(latencies: list[float], points: int = CURVE_POINTS) -> list[list[float]]:
    """(1 / (1 - p), latency) pairs of an empirical distribution: the sample of rank r of n sits at
    p = (r - 0.5) / n, so the fastest is at about 1 and the slowest at 2n; ranks are picked evenly on the
    log axis."""
    values = sorted(latencies)
    n = len(values)
    if not n:
        return []
    ranks = {1, n}
    for k in range(points):
        x = (2 * n) ** (k / max(1, points - 1))
        ranks.add(min(n, max(1, round(n + 0.5 - n / x))))
    return [[float(f"{n / (n - r + 0.5):.4g}"), round(values[r - 1], 3)] for r in sorted(ranks)]


def knee(points: list[tuple[float, float, str]]) -> int | None:
    """The knee of a throughput-latency curve: the point of highest power, throughput / latency (Kleinrock):
    past it, more load buys less throughput than it costs in latency."""
    powered = [(x / y, i) for i, (x, y, _) in enumerate(points) if y and y > 0]
    return max(powered)[1] if powered else None


def build(runs: list[Run]) -> dict[str, Any]:
    """Everything the report shows, as plain data (embedded in the HTML, and what its golden test reads)."""
    tables = rankings(runs)
    sizes = payload_sizes(runs)
    all_results = [r for run in runs for r in run.results]
    performance = [run for run in runs if not is_functional(run)]
    colors = charts.colors_for([r["api"] for r in all_results])
    notes: dict[str, list[str]] = {}
    for size, rows in tables.items():
        if any(row["referenceFraction"] is not None for row in rows):
            for row in rows:
                if row["referenceFraction"] is None and row["throughput"] is not None:
                    row["missing"]["referenceFraction"] = f"no database reference was measured for phase {row['phase']}"
        if any(row["usdPerMillionEvents"] is not None for row in rows):
            for row in rows:
                if row["usdPerMillionEvents"] is None and row["throughput"] is not None:
                    row["missing"]["usdPerMillionEvents"] = _cost_reason(runs, row, size)
        notes[size] = []
        number_notes(rows, notes[size])
    per_size = {}
    for size in sizes:
        results = [r for run in performance for r in run.results if r["payloadSize"] == size and r["phases"]]
        if not results:
            continue
        phases = _phase_names(results)
        rows = [row for row in tables[size] if row["throughput"] is not None and not row["functionalCheck"]]
        apis = [row["api"] for row in rows]
        by_api = {api: [r for r in results if r["api"] == api] for api in apis}
        verified = {api: all(is_verified(r) for r in by_api[api]) for api in apis}

        def series(pick, apis=apis, by_api=by_api, verified=verified, phases=phases):
            return [{"api": api, "label": _label(api, verified[api]), "color": colors[api], "verified": verified[api],
                     "values": [_median_phase_value(by_api[api], phase, pick) for phase in phases]} for api in apis]

        reference = [_median_phase_value(results, phase, _reference) for phase in phases]

        def bars(key, rows=rows, size=size):
            return [{"label": _label(r["api"], r["verified"]), "color": colors[r["api"]], "value": r[key],
                     "phase": r["phase"], "note": r["refs"].get(key)} for r in rows]

        stepped = any(run.doc["mode"] in PERFORMANCE_CURVE_MODES for run in performance
                      if any(r["payloadSize"] == size for r in run.results))
        curves = []
        if stepped:
            for item in series(lambda p: p["throughput"]):
                p95 = next(s for s in series(lambda p: p["latencyMs"].get("p95")) if s["api"] == item["api"])
                points = [(x, y, phase) for x, y, phase in zip(item["values"], p95["values"], phases)
                          if x is not None and y is not None]
                curves.append({**item, "points": [list(p) for p in points], "knee": knee(points)})
        limit = max((v for v in reference if v is not None), default=None)
        per_size[size] = {
            "phases": phases,
            "throughput": series(lambda p: p["throughput"]),
            "latency": {q: series(lambda p, q=q: p["latencyMs"].get(q)) for q in ("p50", "p95", "p99")},
            "reference": reference if limit is not None else None,
            "efficiency": {"requestsPerCpuSecond": bars("requestsPerCpuSecond"),
                           "memoryPeakBytes": bars("memoryPeakBytes"), "memoryMBPer1kRps": bars("memoryMBPer1kRps")},
            "knee": {"curves": curves, "reference": limit} if curves else None,
        }
    # Scaling compares an API with itself across sizes, so only APIs verified at every size are drawn.
    scaling_apis = sorted({row["api"] for rows in tables.values() for row in rows if row["rank"]} - {
        row["api"] for rows in tables.values() for row in rows if row["throughput"] is not None and not row["rank"]})
    scaling = {metric: [{"api": api, "label": api, "color": colors[api], "verified": True,
                         "values": [next((row[metric] for row in tables[size] if row["api"] == api), None)
                                    for size in sizes]} for api in scaling_apis]
               for metric in ("throughput", "p99Ms")}
    details = [_result_detail(run, result) for run in runs for result in run.results]
    repeatability = _repeatability(performance, sizes)
    notes["database"] = []
    number_notes([d["database"] for d in details if d["database"]], notes["database"])
    return {
        "runs": [_run_summary(run) for run in runs],
        "functional": not performance,
        "warnings": warnings(runs) + _spread_warnings(repeatability),
        "payloadSizes": sizes,
        "payloadBytes": {size: next(r.get("payloadBytes") for r in all_results if r["payloadSize"] == size)
                         for size in sizes},
        "rankings": tables,
        "notes": notes,
        "charts": per_size,
        "scaling": scaling,
        "latencyDistribution": _distributions(runs, sizes, colors),
        "results": details,
        "repeatability": repeatability,
        "cloudwatch": _cloudwatch(runs),
        "cost": _cost(runs),
        "authOverhead": _auth_overhead(runs),
        "healthChecks": _health_checks(performance),
    }


def _health_checks(runs: list[Run]) -> list[dict[str, Any]]:
    """The measured cost of Docker's health checks inside each API's cgroup (runner/healthcost.py), and the
    largest share of the API's CPU it took in a phase: a figure the reader can subtract, not an unknown."""
    rows = []
    for run in runs:
        for result in run.results:
            health = result.get("healthCheck")
            if not health:
                continue
            shares = [p["healthCheckCpuShare"] for p in result["phases"] if p.get("healthCheckCpuShare") is not None]
            rows.append({"api": result["api"], "payloadSize": result["payloadSize"], "repeat": result["repeat"],
                         "cpuMsPerProbe": health["cpuSecondsPerProbe"] * 1000,
                         "intervalSeconds": health["intervalSeconds"], "containers": len(health["containers"]),
                         "maxShare": max(shares) if shares else None})
    return rows


def _auth_overhead(runs: list[Run]) -> list[dict[str, Any]]:
    """What auth (and secrets) cost each API: per phase, the medians over repeats of throughput and p95 under
    a profile beside the same API without auth, measured in the same run (bench run --profile no-auth,auth)."""
    rows = []
    for run in runs:
        plain: dict[tuple[str, str], list[dict[str, Any]]] = {}
        profiled: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for result in run.results:
            if not result["phases"] or not is_verified(result):
                continue
            if result.get("baseApi"):
                profiled.setdefault((result["baseApi"], result["profile"], result["payloadSize"]), []).append(result)
            else:
                plain.setdefault((result["api"], result["payloadSize"]), []).append(result)
        for (api, profile, size), results in profiled.items():
            baseline = plain.get((api, size))
            if not baseline:
                continue
            for phase in _phase_names(results):
                figures = {}
                for key, group in (("base", baseline), ("profile", results)):
                    figures[key] = (_median_phase_value(group, phase, lambda p: p["throughput"]),
                                    _median_phase_value(group, phase, lambda p: p["latencyMs"].get("p95")))
                (base_rps, base_p95), (rps, p95) = figures["base"], figures["profile"]
                rows.append({"runId": run.id, "api": api, "profile": profile, "payloadSize": size, "phase": phase,
                             "repeats": len(results), "throughputNoAuth": base_rps, "throughput": rps,
                             "throughputChange": rps / base_rps - 1 if rps is not None and base_rps else None,
                             "p95NoAuthMs": base_p95, "p95Ms": p95,
                             "p95Change": p95 / base_p95 - 1 if p95 is not None and base_p95 else None})
    return rows


def _cost_reason(runs: list[Run], row: dict[str, Any], size: str) -> str:
    """Why a ranking row shows no cost while another row of its table does."""
    for run in runs:
        for result in run.results:
            if result["api"] == row["api"] and result["payloadSize"] == size:
                for phase in result["phases"]:
                    if phase["name"] == row["phase"] and phase.get("cost"):
                        return (f"a metric the cost of phase {row['phase']} needs was not reported "
                                f"(see the cost section)")
    return f"no cost was computed for phase {row['phase']} (only runs on the AWS stack have one)"


def _repeatability(runs: list[Run], sizes: list[str]) -> dict[str, Any]:
    """Per payload size, API and phase: the spread of throughput and p95 over the repeats. With one repeat
    per API and size there is none (`repeats` is 1 and `sizes` empty): spread needs --repeat >= 2."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        for result in run.results:
            if result["phases"]:
                groups.setdefault((result["payloadSize"], result["api"]), []).append(result)
    repeats = max((len(group) for group in groups.values()), default=0)
    out: dict[str, list[dict[str, Any]]] = {}
    if repeats >= 2:
        for size in sizes:
            rows = []
            for (group_size, api), results in sorted(groups.items()):
                if group_size != size:
                    continue
                for name in _phase_names(results):
                    phases = [p for r in results for p in r["phases"] if p["name"] == name]
                    throughput = spread.spread([p["throughput"] for p in phases])
                    p95 = spread.spread([(p.get("latencyMs") or {}).get("p95") for p in phases])
                    rows.append({"api": api, "phase": name, "repeats": len(phases),
                                 "verified": all(is_verified(r) for r in results),
                                 "throughput": throughput.to_dict() if throughput else None,
                                 "p95": p95.to_dict() if p95 else None,
                                 "cvWarning": spread.cv_too_high(throughput)})
            if rows:
                out[size] = rows
    return {"repeats": repeats, "confidence": spread.CONFIDENCE, "cvLimit": spread.CV_WARNING,
            "method": spread.METHOD, "sizes": out}


def _spread_warnings(repeatability: dict[str, Any]) -> list[str]:
    return [f"{row['api']} ({size}), phase {row['phase']}: throughput varies by CV "
            f"{row['throughput']['cv'] * 100:.1f} % over {row['repeats']} repeats (above "
            f"{repeatability['cvLimit'] * 100:.0f} %) — differences smaller than that are noise"
            for size, rows in repeatability["sizes"].items() for row in rows if row["cvWarning"]]


def _cloudwatch(runs: list[Run]) -> list[dict[str, Any]]:
    """The CloudWatch metrics of every phase that carries them (AWS stack), per API, payload size and phase."""
    out = []
    for run in runs:
        for result in run.results:
            for phase in result["phases"]:
                metrics = phase.get("cloudwatch")
                if metrics:
                    out.append({"api": result["api"], "payloadSize": result["payloadSize"],
                                "repeat": result["repeat"], "phase": phase["name"],
                                "deployment": result.get("deployment"), **metrics})
    return out


def _cost(runs: list[Run]) -> dict[str, Any] | None:
    """The cost of every phase that carries one (AWS stack), with what it includes and the prices' date."""
    rows = []
    for run in runs:
        for result in run.results:
            for phase in result["phases"]:
                cost = phase.get("cost")
                if cost:
                    rows.append({"api": result["api"], "payloadSize": result["payloadSize"],
                                 "repeat": result["repeat"], "phase": phase["name"],
                                 "throughput": phase["throughput"], **cost})
    if not rows:
        return None
    return {"rows": rows,
            "included": sorted({item["name"] for row in rows for item in row["items"]}),
            "pricesDates": sorted({row["pricesDate"] for row in rows if row.get("pricesDate")}),
            "pricesRegions": sorted({row["pricesRegion"] for row in rows if row.get("pricesRegion")})}


def _distributions(runs: list[Run], sizes: list[str], colors: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Per payload size, latency-distribution charts from the raw samples: one per API with a curve per
    phase; when every API has a single phase (a smoke run), one chart with a curve per API."""
    out: dict[str, list[dict[str, Any]]] = {}
    for size in sizes:
        merged: dict[str, dict[str, list[float]]] = {}
        verified: dict[str, bool] = {}
        for run in runs:
            for result in run.results:
                if result["payloadSize"] != size or not result["phases"]:
                    continue
                samples = raw_samples(run, result)
                if samples is None:
                    continue
                verified[result["api"]] = verified.get(result["api"], True) and is_verified(result)
                for phase in result["phases"]:
                    latencies = [lat for lat, ok in zip(samples.latency_ms.get(phase["name"], []),
                                                        samples.ok.get(phase["name"], [])) if ok]
                    merged.setdefault(result["api"], {}).setdefault(phase["name"], []).extend(latencies)
        merged = {api: {phase: lat for phase, lat in phases.items() if lat} for api, phases in merged.items()}
        merged = {api: phases for api, phases in merged.items() if phases}
        if not merged:
            continue
        if all(len(phases) == 1 for phases in merged.values()):
            phase = next(iter(next(iter(merged.values()))))
            out[size] = [{"title": f"Latency distribution — {phase} phase", "series": [
                {"label": _label(api, verified[api]), "color": colors[api], "verified": verified[api],
                 "requests": len(lat), "points": percentile_curve(lat)}
                for api, phases in sorted(merged.items()) for lat in phases.values()]}]
        else:
            out[size] = [{"title": f"Latency distribution — {_label(api, verified[api])}", "series": [
                {"label": phase, "color": charts.PHASE_COLORS[i % len(charts.PHASE_COLORS)],
                 "verified": verified[api], "requests": len(lat), "points": percentile_curve(lat)}
                for i, (phase, lat) in enumerate(phases.items())]} for api, phases in merged.items()]
    return out


def _run_summary(run: Run) -> dict[str, Any]:
    doc = run.doc
    return {"runId": run.id, "mode": doc["mode"], "stack": doc["stack"], "startedAt": doc["startedAt"],
            "finishedAt": doc.get("finishedAt"), "command": doc.get("command"), "environment": doc["environment"],
            "config": doc["config"], "functional": is_functional(run)}


def _result_detail(run: Run, result: dict[str, Any]) -> dict[str, Any]:
    """Per result: verification, resource use over time with phase boundaries, database figures."""
    times = [parse_time(s["t"]).timestamp() for s in result.get("resourceSamples") or []]
    starts = [parse_time(p["start"]).timestamp() - 1 for p in result["phases"]]
    origin = min(times + starts, default=0.0)
    seconds = lambda text: round(parse_time(text).timestamp() - origin, 3)  # noqa: E731
    samples: dict[str, list[list[Any]]] = {}
    for sample in result.get("resourceSamples") or []:
        samples.setdefault(sample["role"], []).append(
            [seconds(sample["t"]), sample.get("cpuPercent"), sample.get("memoryBytes"), sample.get("container") or ""])
    verification = result.get("verification") or {}
    acknowledged = verification.get("acknowledged") or 0
    statements = verification.get("statements") or {}
    database = result.get("database") or {}
    detail: dict[str, Any] = {
        "runId": run.id, "api": result["api"], "payloadSize": result["payloadSize"], "repeat": result["repeat"],
        "status": result["status"], "verified": is_verified(result), "problem": result.get("problem"),
        "functional": is_functional(run), "verification": verification or None,
        "phases": [[p["name"], seconds(p["start"]), seconds(p["end"])] for p in result["phases"]],
        "resourceSamples": samples,
        "database": None,
    }
    if database:
        figures = {
            "topStatements": database.get("topStatements") or [],
            "cacheHitRatio": database.get("cacheHitRatio"),
            "connections": database.get("connections"),
            "eventInsertsPerEvent": round(statements["eventInsertCalls"] / acknowledged, 3)
            if acknowledged and statements.get("eventInsertCalls") is not None else None,
            "entityUpsertsPerEvent": round(statements["entityUpsertCalls"] / acknowledged, 3)
            if acknowledged and statements.get("entityUpsertCalls") is not None else None,
        }
        missing = {}
        for key in ("eventInsertsPerEvent", "entityUpsertsPerEvent"):
            if figures[key] is None:
                missing[key] = ("no event was acknowledged" if not acknowledged
                                else "pg_stat_statements held no count for the statement")
        if figures["cacheHitRatio"] is None:
            missing["cacheHitRatio"] = "the database read no block in this measurement"
        if not figures["connections"]:
            missing["connections"] = "connections were not recorded"
        if verification.get("persisted") is None:
            missing["persisted"] = "the database could not be counted after the run"
        figures["missing"] = missing
        detail["database"] = figures
    return detail


def _resource_charts(detail: dict[str, Any]) -> dict[str, Any] | None:
    """CPU and memory over time of one result, and what the text beside them must say."""
    roles = detail["resourceSamples"]
    if not roles:
        return None
    cpu, memory = [], []
    for role, points in roles.items():
        containers = sorted({p[3] for p in points})
        for k, container in enumerate(containers):
            mine = [p for p in points if p[3] == container]
            label = role if len(containers) == 1 else f"{role} {container.rsplit('-', 1)[-1]}"
            color = charts.ROLE_COLORS.get(role, "#666") if k == 0 else charts.PALETTE[(k + 4) % len(charts.PALETTE)]
            cpu.append((label, color, [(t, c) for t, c, _, _ in mine if c is not None]))
            memory.append((label, color, [(t, m / 1e6) for t, _, m, _ in mine if m is not None]))
    cpu_svg, cpu_marks = charts.time_chart("CPU", cpu, detail["phases"], y_label="% of one core")
    memory_svg, memory_marks = charts.time_chart("Memory", memory, detail["phases"], y_label="MB")
    single = sorted(label for label, _, points in cpu if len(points) == 1)
    return {"svgs": [cpu_svg, memory_svg], "marks": sorted(cpu_marks | memory_marks), "single": single,
            "absent": [role for role in ("api", "database", "loadgen") if role not in roles]}


def _svgs(data: dict[str, Any]) -> dict[str, Any]:
    """The SVG charts of the HTML report, drawn from the report data."""
    def lines(title, categories, series, unit, reference=None):
        drawn = [(s["label"], s["color"], s["values"], not s["verified"]) for s in series]
        if reference:
            drawn.append(("database limit", charts.REFERENCE_COLOR, reference, True))
        return charts.line_chart(title, categories, drawn, y_label=unit)

    def bars(title, items, unit, scale=1.0):
        shown = [(b["label"], b["color"], None if b["value"] is None else b["value"] * scale,
                  f"@ {b['phase']}" if b["value"] is not None else f"not measured (note {b['note']})")
                 for b in items]
        return charts.hbar_chart(title, shown, unit=unit) if any(b[2] is not None for b in shown) else None

    out: dict[str, Any] = {"sizes": {}, "results": [], "distributions": {}}
    for size, spec in data["charts"].items():
        efficiency = spec["efficiency"]
        knee = spec["knee"]
        reference = None
        if knee and knee["reference"] is not None:
            reference = (knee["reference"], f"database limit {knee['reference']:,.0f} req/s")
        out["sizes"][size] = {
            "throughput": lines("Throughput by phase", spec["phases"], spec["throughput"], "requests / s",
                                spec["reference"]),
            "latency": {q: lines(f"{q} latency by phase", spec["phases"], series, "ms")
                        for q, series in spec["latency"].items()},
            "efficiency": [chart for chart in (
                bars("Requests per API CPU-second (higher is better)", efficiency["requestsPerCpuSecond"],
                     "req / CPU-s"),
                bars("Peak API memory (lower is better)", efficiency["memoryPeakBytes"], "MB", 1e-6),
                bars("API memory per 1k req/s of throughput (lower is better)", efficiency["memoryMBPer1kRps"],
                     "MB per 1,000 req/s")) if chart],
            "knee": charts.xy_chart(
                "Throughput against p95 latency, phase by phase",
                [(c["label"], c["color"], [tuple(p) for p in c["points"]], not c["verified"], c["knee"])
                 for c in knee["curves"]], x_label="throughput (requests / s)", y_label="p95 latency (ms)",
                reference=reference) if knee else None,
        }
    for size, items in data["latencyDistribution"].items():
        out["distributions"][size] = [charts.percentile_chart(
            item["title"], [(s["label"], s["color"], [tuple(p) for p in s["points"]], not s["verified"])
                            for s in item["series"]]) for item in items]
    sizes = [f"{size} ({data['payloadBytes'][size]} B)" for size in data["payloadSizes"]]
    out["scaling"] = [lines("Throughput by payload size", sizes, data["scaling"]["throughput"], "requests / s"),
                      lines("p99 latency by payload size", sizes, data["scaling"]["p99Ms"], "ms")]
    out["results"] = [_resource_charts(detail) for detail in data["results"]]
    marks = {mark for item in out["results"] if item for mark in item["marks"]}
    out["phaseMarks"] = sorted(marks)
    return out


def markdown(data: dict[str, Any]) -> str:
    return _env.get_template("report.md.j2").render(data=data)


def html(data: dict[str, Any]) -> str:
    payload = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    return _env.get_template("report.html.j2").render(data=data, svg=_svgs(data), data_json=payload)


def _ci(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round((value - 1) * 100, 2)


def compare_data(run_a: Run, run_b: Run, changes: list[Change], threshold: float | None) -> dict[str, Any]:
    rows = [{"api": c.api, "payloadSize": c.payload_size, "phase": c.phase, "metric": c.metric, "a": c.a, "b": c.b,
             "ratio": round(c.ratio, 4), "percent": round(c.percent, 2),
             "ciLow": _ci(c.ci_low), "ciHigh": _ci(c.ci_high),
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
