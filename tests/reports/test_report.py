from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from reports import browser, cli, model, ranking, render
from tests.reports.conftest import FIXTURES, RUN_A, RUN_B, SMOKE_RUN, assert_golden

# What the tables show per row (ranking and functional check): each is a figure or a note saying why not.
RANKING_FIGURES = ("throughput", "p50Ms", "p95Ms", "p99Ms", "errorRate", "cpuSecondsPer1kRequests",
                   "memoryPeakBytes", "memoryMBPer1kRps")
CHECK_FIGURES = ("startupSeconds", "p50Ms", "maxMs", "apiCpuSeconds", "memoryPeakBytes")
DATABASE_FIGURES = ("eventInsertsPerEvent", "entityUpsertsPerEvent", "cacheHitRatio", "connections")


def _data():
    return render.build([model.load(FIXTURES / RUN_A)])


def _smoke():
    return render.build([model.load(FIXTURES / SMOKE_RUN)])


def _embedded_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match, "the HTML report embeds its data"
    return json.loads(match.group(1))


def test_markdown_report_matches_golden_file():
    assert_golden("report.md", render.markdown(_data()))
    assert_golden("report-smoke.md", render.markdown(_smoke()))


def test_html_report_data_matches_golden_file():
    html = render.html(_data())
    assert_golden("report-data.json", json.dumps(_embedded_data(html), indent=1, sort_keys=True) + "\n")


def test_html_is_self_contained():
    html = render.html(_data())
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must load nothing from the network"
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') >= 20


def test_unverified_and_never_ran_results_are_listed_but_not_ranked():
    tables = _data()["rankings"]
    default = {row["api"]: row for row in tables["default"]}
    assert [row["api"] for row in tables["default"] if row["rank"]] == ["rust-grpc", "rust-rest", "go-rest",
                                                                         "java-rest"]
    assert default["go-grpc"]["rank"] is None and default["go-grpc"]["verified"] is False
    assert tables["default"][-1]["api"] == "go-grpc", "unranked rows come after the ranked ones"
    never_ran = {row["api"]: row for row in tables["4k"]}["java-rest"]
    assert never_ran["rank"] is None and never_ran["throughput"] is None
    markdown = render.markdown(_data())
    assert "| – | go-grpc | grpc | ✘ **UNVERIFIED** |" in markdown


def test_warnings_name_saturated_generator_and_unverified_results():
    warnings = _data()["warnings"]
    assert any("rust-grpc" in w and "load generator saturated" in w for w in warnings)
    assert any("go-grpc" in w and "not verified" in w for w in warnings)
    assert any("java-rest (4k" in w and "never ran" in w for w in warnings)


def test_ranking_exports_as_csv_and_json():
    tables = _data()["rankings"]
    lines = ranking.to_csv(tables).splitlines()
    assert lines[0].split(",")[:4] == ["rank", "api", "language", "framework"]
    assert len(lines) == 1 + 5 + 5
    assert lines[1].startswith("1,rust-grpc,rust,tonic + sqlx,grpc,container,default,400,passed,True")
    exported = json.loads(ranking.to_json(tables))
    assert exported["tables"]["default"][0]["throughput"] == 891.0


def test_a_document_of_another_schema_is_refused_with_a_clear_message(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"schema": "perflab.results/0"}))
    with pytest.raises(model.ResultsError, match="expected 'perflab.results/1'"):
        model.load(tmp_path)


def test_runs_lists_stored_runs_with_key_figures_and_what_the_metrics_database_holds(results_dir, monkeypatch):
    from runner import cli_db, metricsdb

    monkeypatch.setattr(cli_db, "stack_dsn", lambda stack: f"postgresql://metrics-of-{stack}")
    monkeypatch.setattr(metricsdb, "stored_runs", lambda dsn: {RUN_A, SMOKE_RUN, "run-loaded-elsewhere"})
    result = CliRunner().invoke(cli.list_runs, ["--results-dir", str(results_dir)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "run                      started               mode   stack  commit      verified  in DB  best (default size)\n"
        f"{RUN_A}  2026-11-28T04:15:00Z  full   local  f09edc84b1  7/10      yes    rust-grpc 891 req/s p99 18.1 ms\n"
        f"{RUN_B}  2026-11-29T04:15:00Z  full   local  a71c3e9d0b  7/10      no     rust-grpc 874 req/s p99 17.2 ms\n"
        f"{SMOKE_RUN}  2026-11-30T04:15:00Z  smoke  local  886039b2e0  8/8       yes    functional check, not ranked\n"
        "metrics database (local stack): holds 3 runs; 2 of the 3 here (1 not loaded: `bench db load` loads them); "
        "1 not under this results directory\n")


def test_runs_says_when_the_metrics_database_cannot_be_asked(results_dir, monkeypatch):
    from runner import cli_db, stack

    def not_up(name):
        raise stack.StackError(f"the {name} stack is not up")
    monkeypatch.setattr(cli_db, "stack_dsn", not_up)
    result = CliRunner().invoke(cli.list_runs, ["--results-dir", str(results_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(line.split()[6] == "?" for line in lines[1:4])
    assert lines[-1] == "metrics database: not checked (the local stack is not up)"


def test_report_of_an_unknown_run_fails_with_a_message(results_dir):
    result = CliRunner().invoke(cli.report, ["nope", "--results-dir", str(results_dir), "--no-screenshot"])
    assert result.exit_code == 1
    assert "no run 'nope'" in result.output


@pytest.mark.parametrize("run_id", [RUN_A, SMOKE_RUN])
def test_report_renders_in_headless_chromium_with_charts_and_no_errors(results_dir, chromium, run_id):
    result = CliRunner().invoke(cli.report, [run_id, "--results-dir", str(results_dir)])
    assert result.exit_code == 0, result.output
    run_dir = results_dir / run_id
    for name in ("report.html", "report.md", "ranking.csv", "ranking.json", "report.png"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check = browser.check_page(run_dir / "report.html")
    assert check.console_errors == []
    assert check.failed_requests == []
    assert check.network_urls == []  # offline: nothing fetched
    # Every chart has data (an element of class "data" with a size, not just axes and a legend).
    assert check.empty_charts == []
    assert check.charts == (run_dir / "report.html").read_text().count('class="chart"')
    assert check.charts >= (30 if run_id == RUN_A else 10)
    # At 1280 px nothing runs wider than the page or its column, and no cell is squeezed to a word a line.
    assert check.overflow == []
    assert check.squeezed == []
    assert check.smoke_ranking == []
    assert check.ok, check.problems
    assert check.report_data == _embedded_data((run_dir / "report.html").read_text())


def test_browser_check_catches_console_errors_and_failed_requests(tmp_path, chromium):
    page = tmp_path / "broken.html"
    page.write_text('<html><body><svg class="chart" width="10" height="10"><rect class="data" width="5" height="5"/>'
                    '</svg><img src="missing.png"><script>console.error("boom")</script></body></html>')
    check = browser.check_page(page)
    assert any("boom" in e for e in check.console_errors)
    assert check.failed_requests
    assert not check.ok


def test_browser_check_catches_overflow_empty_charts_squeezed_cells_and_a_ranked_smoke_run(tmp_path, chromium):
    data = json.dumps({"functional": True, "runs": [{"mode": "smoke"}]})
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><body><main style="max-width: 600px">'
        '<h2>Ranking</h2><table class="ranking" style="width: 900px"><tr><td><span class="bar"></span>1</td>'
        '<td style="width: 30px">events persisted equal to acknowledged</td></tr></table>'
        '<h2>Resources</h2><svg class="chart" aria-label="CPU" width="200" height="100"><rect width="10" height="10"/>'
        '<text x="20" y="10">api</text></svg>'
        '<svg class="chart" aria-label="Throughput by phase" width="200" height="100">'
        '<circle class="data" cx="5" cy="5" r="3"/></svg>'
        f'</main><script type="application/json" id="report-data">{data}</script></body></html>')
    check = browser.check_page(page)
    assert check.charts == 1 and [c.split(" (")[0] for c in check.empty_charts] == ["CPU"]
    assert any("table.ranking" in o and "past its column" in o for o in check.overflow)
    assert check.squeezed and "events persisted" in check.squeezed[0]
    assert set(check.smoke_ranking) == {"a ranking table", "1 ranking bars", 'chart "Throughput by phase"'}
    assert not check.ok


def test_smoke_report_is_a_functional_check_never_ranked_and_draws_no_throughput():
    data = _smoke()
    assert data["functional"] is True
    rows = data["rankings"]["default"]
    assert len(rows) == 8 and all(row["rank"] is None and row["functionalCheck"] for row in rows)
    assert data["charts"] == {}, "no throughput, latency-by-phase or efficiency chart for five requests"
    markdown = render.markdown(data)
    assert "**Functional check — not a benchmark.**" in markdown
    assert "## Functional check — payload default (400 B)" in markdown and "Ranking" not in markdown
    assert "| go-rest | rest | ✔ yes | 5 / 5 |" in markdown
    html = render.html(data)
    assert 'id="functional-check"' in html
    assert 'class="ranking"' not in html and 'class="bar"' not in html
    assert "Throughput" not in "".join(re.findall(r'aria-label="([^"]*)"', html))
    exported = json.loads(ranking.to_json(data["rankings"]))["tables"]["default"]
    assert all(row["rank"] is None and row["functionalCheck"] for row in exported)


def test_a_smoke_run_is_never_ranked_beside_a_performance_run():
    data = render.build([model.load(FIXTURES / RUN_A), model.load(FIXTURES / SMOKE_RUN)])
    assert data["functional"] is False
    smoke_rows = [row for row in data["rankings"]["default"] if row["functionalCheck"]]
    assert len(smoke_rows) == 8 and all(row["rank"] is None for row in smoke_rows)
    assert [row["rank"] for row in data["rankings"]["default"] if row["rank"]] == [1, 2, 3, 4]
    assert "| – | go-rest | rest | smoke, not ranked |" in render.markdown(data)


@pytest.mark.parametrize("build", [_data, _smoke])
def test_every_figure_a_table_shows_is_computed_or_explained(build):
    data = build()
    figures = CHECK_FIGURES if data["functional"] else RANKING_FIGURES
    for size, rows in data["rankings"].items():
        for row in rows:
            for key in figures:
                if row[key] is None:
                    number = row["refs"][key]  # the cell carries a note number …
                    assert data["notes"][size][number - 1], (row["api"], key)  # … whose note says why
    for detail in data["results"]:
        if detail["database"]:
            for key in DATABASE_FIGURES:
                if detail["database"][key] is None:
                    assert detail["database"]["refs"][key]
    markdown = render.markdown(data)
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith(("| API", "| #", "|---", "|--")):
            # a bare "–" is only ever the rank or phase of a row that has none
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert all(c != "–" for c in cells[5:]), line


def test_missing_figures_of_a_smoke_run_say_why():
    data = _smoke()
    notes = data["notes"]["default"]
    rows = {row["api"]: row for row in data["rankings"]["default"]}
    go_rest = notes[rows["go-rest"]["refs"]["apiCpuSeconds"] - 1]
    assert go_rest == "no reading of the API fell inside the smoke phase: it was shorter than the 1.0 s between readings"
    assert notes[rows["rust-rest"]["refs"]["memoryPeakBytes"] - 1] == (
        "the API was read only once in this measurement, not before and after the smoke phase")
    assert rows["java-rest"]["memoryPeakBytes"] == 152_000_000 and "memoryPeakBytes" not in rows["java-rest"]["refs"]
    assert len(notes) == 3, "equal reasons share one note"
    assert "Why figures are missing:\n- ¹ the API was read only once" in render.markdown(data)


def test_memory_figure_is_megabytes_per_1k_requests_per_second():
    data = _data()
    row = next(r for r in data["rankings"]["default"] if r["api"] == "java-rest")
    run = model.load(FIXTURES / RUN_A)
    result = next(r for r in run.results if r["api"] == "java-rest" and r["payloadSize"] == "default")
    peak = next(p for p in result["phases"] if p["name"] == row["phase"])
    expected = peak["resources"]["api"]["memoryAvgBytes"] / 1e6 / (peak["throughput"] / 1000)
    assert row["memoryMBPer1kRps"] == pytest.approx(expected, abs=0.01)
    html = render.html(data)
    assert "MB / request" not in html and "MB per 1,000 req/s" in html


def test_a_document_written_before_the_rename_is_read_converted(tmp_path):
    document = json.loads((FIXTURES / RUN_A / "run.json").read_text())
    for result in document["results"]:
        for phase in result["phases"]:
            figure = phase["efficiency"].pop("memoryMBPer1kRps")
            phase["efficiency"]["memoryMBPerRequest"] = None if figure is None else figure / 1000
    (tmp_path / "run.json").write_text(json.dumps(document))
    old, new = model.load(tmp_path), model.load(FIXTURES / RUN_A)
    old_phase, new_phase = old.results[0]["phases"][0], new.results[0]["phases"][0]
    assert old_phase["efficiency"]["memoryMBPer1kRps"] == pytest.approx(new_phase["efficiency"]["memoryMBPer1kRps"])
    assert "memoryMBPerRequest" not in old_phase["efficiency"]


def test_resource_charts_draw_every_reading_and_their_text_matches():
    data = _smoke()
    svg = render._svgs(data)
    go_grpc = data["results"].index(next(d for d in data["results"] if d["api"] == "go-grpc"))
    cpu, memory = svg["results"][go_grpc]["svgs"]
    # One reading per container: a dot each, where the former charts drew axes and a legend only.
    assert cpu.count('<circle class="data"') == 3 and memory.count('<circle class="data"') == 3
    assert svg["results"][go_grpc]["single"] == ["api", "database", "loadgen"]
    html = render.html(data)
    assert "shaded bands are the phases" in html and "a dashed line marks" not in html
    # A phase too short to shade at the chart's scale is a dashed line, and the text says so.
    _, marks = render.charts.time_chart("CPU", [("api", "#000", [(0.0, 1.0), (100.0, 2.0)])],
                                        [("smoke", 50.0, 50.05)], y_label="%")
    assert marks == {"lines"}


def test_latency_distribution_from_the_raw_samples():
    data = _data()
    charts = data["latencyDistribution"]["default"]
    assert [c["title"] for c in charts] == ["Latency distribution — go-rest", "Latency distribution — go-grpc (unverified)",
                                            "Latency distribution — rust-grpc", "Latency distribution — rust-rest",
                                            "Latency distribution — java-rest"]
    samples = model.raw_samples(model.load(FIXTURES / RUN_A), model.load(FIXTURES / RUN_A).results[0])
    for series in charts[0]["series"]:
        xs, ys = zip(*series["points"])
        assert list(xs) == sorted(xs) and list(ys) == sorted(ys)
        assert xs[0] == pytest.approx(1, abs=0.01) and xs[-1] == pytest.approx(2 * series["requests"], rel=1e-3)
        assert ys[-1] == pytest.approx(max(samples.latency_ms[series["label"]]), abs=1e-3)
    smoke = _smoke()["latencyDistribution"]["default"]
    assert len(smoke) == 1 and len(smoke[0]["series"]) == 8
    assert all(len(s["points"]) == 5 for s in smoke[0]["series"]), "five requests: five dots"


def test_percentile_curve_places_rank_r_of_n_at_r_minus_half_over_n():
    assert render.percentile_curve([4.0, 1.0, 3.0, 2.0]) == [[1.143, 1.0], [1.6, 2.0], [2.667, 3.0], [8.0, 4.0]]
    assert render.percentile_curve([]) == []
    long = render.percentile_curve([float(i) for i in range(100_000)])
    assert len(long) <= render.CURVE_POINTS + 2 and long[-1] == [200_000.0, 99_999.0]


def test_throughput_against_latency_marks_each_knee_and_draws_no_reference_without_one():
    data = _data()
    knee = data["charts"]["default"]["knee"]
    assert knee["reference"] is None
    for curve in knee["curves"]:
        power = [x / y for x, y, _ in curve["points"]]
        assert curve["knee"] == power.index(max(power))
    assert render.knee([(100, 10, "a"), (500, 12, "b"), (600, 40, "c")]) == 1
    html, markdown = render.html(data), render.markdown(data)
    assert "Throughput against p95 latency" in html and "database limit" not in html
    assert "database's own limit" not in markdown and "| rust-grpc | peak | 891.0 | 14.02 |" in markdown
    assert render.build([model.load(FIXTURES / SMOKE_RUN)])["charts"] == {}, "smoke: no knee to show"


def test_the_database_limit_is_drawn_when_the_document_carries_it(tmp_path):
    document = json.loads((FIXTURES / RUN_A / "run.json").read_text())
    for result in document["results"]:
        for phase in result["phases"]:
            phase["reference"] = {"throughput": 950.0 + 100 * len(phase["name"]), "p95Ms": None, "tool": "pgbench"}
            if result["api"] != "go-rest":  # as runner/reference.py writes them; go-rest's reference is missing
                phase["referenceFraction"] = phase["throughput"] / phase["reference"]["throughput"]
    (tmp_path / "run.json").write_text(json.dumps(document))
    data = render.build([model.load(tmp_path)])
    assert data["charts"]["default"]["knee"]["reference"] == 1550.0
    assert data["charts"]["default"]["reference"] == [1350.0, 1550.0, 1350.0]
    html = render.html(data)
    assert 'class="data reference"' in html and "database limit 1,550 req/s" in html
    assert "The grey dashed line is the database's own limit" in html
    markdown = render.markdown(data)
    assert "the database's own limit: 1,550 req/s" in markdown
    # Each API's throughput as a fraction of the database's limit; a row without one says why.
    assert "| 1 | rust-grpc ⚠ saturated generator | grpc | ✔ yes | peak | 891.0 | 66 % |" in markdown
    go_rest = next(row for row in data["rankings"]["default"] if row["api"] == "go-rest")
    assert data["notes"]["default"][go_rest["refs"]["referenceFraction"] - 1] == (
        "no database reference was measured for phase peak")
    assert ">of DB limit</th>" in html
