from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from reports import browser, cli, model, ranking, render
from tests.reports.conftest import FIXTURES, RUN_A, RUN_B, assert_golden


def _data():
    return render.build([model.load(FIXTURES / RUN_A)])


def _embedded_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match, "the HTML report embeds its data"
    return json.loads(match.group(1))


def test_markdown_report_matches_golden_file():
    assert_golden("report.md", render.markdown(_data()))


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


def test_runs_lists_stored_runs_with_key_figures(results_dir):
    result = CliRunner().invoke(cli.list_runs, ["--results-dir", str(results_dir)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "run                      started               mode  stack  commit      verified  best (default size)\n"
        f"{RUN_A}  2026-11-28T04:15:00Z  full  local  f09edc84b1  7/10      rust-grpc 891 req/s p99 18.1 ms\n"
        f"{RUN_B}  2026-11-29T04:15:00Z  full  local  a71c3e9d0b  7/10      rust-grpc 874 req/s p99 17.2 ms\n")


def test_report_of_an_unknown_run_fails_with_a_message(results_dir):
    result = CliRunner().invoke(cli.report, ["nope", "--results-dir", str(results_dir), "--no-screenshot"])
    assert result.exit_code == 1
    assert "no run 'nope'" in result.output


def test_report_renders_in_headless_chromium_with_charts_and_no_errors(results_dir, chromium):
    result = CliRunner().invoke(cli.report, [RUN_A, "--results-dir", str(results_dir)])
    assert result.exit_code == 0, result.output
    run_dir = results_dir / RUN_A
    for name in ("report.html", "report.md", "ranking.csv", "ranking.json", "report.png"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check = browser.check_page(run_dir / "report.html")
    assert check.console_errors == []
    assert check.failed_requests == []
    assert check.network_urls == []
    assert check.charts == (run_dir / "report.html").read_text().count('class="chart"')
    assert check.charts >= 20
    assert check.report_data == _embedded_data((run_dir / "report.html").read_text())


def test_browser_check_catches_console_errors_and_failed_requests(tmp_path, chromium):
    page = tmp_path / "broken.html"
    page.write_text('<html><body><svg class="chart" width="10" height="10"><rect width="5" height="5"/></svg>'
                    '<img src="missing.png"><script>console.error("boom")</script></body></html>')
    check = browser.check_page(page)
    assert any("boom" in e for e in check.console_errors)
    assert check.failed_requests
    assert not check.ok
