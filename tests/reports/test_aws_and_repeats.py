"""The report's AWS sections (CloudWatch per phase, cost per million events) and its repeatability figures
(CV, 95 % t-intervals, "not significant" ranking differences, the CV warning)."""
from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from reports import browser, cli, model, ranking, render, spread
from tests.reports.conftest import FIXTURES, RUN_A, SMOKE_RUN, assert_golden
from tests.reports.fixtures.generate import AWS_RUN

AWS_SECTIONS = ("CloudWatch", "Cost (AWS)", "$ / M events", "cold starts")


def _aws():
    return render.build([model.load(FIXTURES / AWS_RUN)])


def _with_repeats(tmp_path: pathlib.Path, peaks: dict[str, list[float]], name: str = "repeats") -> model.Run:
    """RUN_A's default-size results, each repeated len(peaks[api]) times; the peak phase's throughput of
    each repeat set to the given values, the other phases scaled alike, p95 varied a little."""
    document = json.loads((FIXTURES / RUN_A / "run.json").read_text())
    results = []
    for result in document["results"]:
        if result["payloadSize"] != "default" or result["api"] not in peaks:
            continue
        peak = next(p["throughput"] for p in result["phases"] if p["name"] == "peak")
        for k, value in enumerate(peaks[result["api"]], 1):
            copy = json.loads(json.dumps(result))
            copy["repeat"] = k
            for phase in copy["phases"]:
                phase["throughput"] = round(phase["throughput"] * value / peak, 1)
                phase["latencyMs"]["p95"] = round(phase["latencyMs"]["p95"] * (1 + 0.01 * (k - 2)), 2)
            results.append(copy)
    document.update(results=results, runId=name, command="bench run full --repeat 3")
    document["config"].update(repeat=max(len(v) for v in peaks.values()), payloadSizes=["default"])
    target = tmp_path / name
    target.mkdir()
    (target / "run.json").write_text(json.dumps(document))
    return model.load(target)


# --- AWS ------------------------------------------------------------------------------------------------------

def test_aws_report_matches_golden_files():
    data = _aws()
    assert_golden("report-aws.md", render.markdown(data))
    html = render.html(data)
    embedded = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert_golden("report-aws-data.json", json.dumps(embedded, indent=1, sort_keys=True) + "\n")


def test_aws_report_shows_cloudwatch_per_api_and_phase_and_cost_next_to_throughput():
    data = _aws()
    metrics = {(m["api"], m["phase"]): m for m in data["cloudwatch"]}
    assert len(metrics) == 9
    assert metrics[("go-rest", "peak")]["ecs"]["cpuUtilizationAvg"] == 74.0 and metrics[("go-rest", "peak")]["lambda"] is None
    lam = metrics[("lambda-go-rest", "warm")]
    assert lam["lambda"]["coldStarts"] == 3 and lam["lambda"]["warmInvocations"] == lam["lambda"]["invocations"] - 3
    assert lam["apiGateway"]["count"] == lam["lambda"]["invocations"] and lam["ecs"] is None
    assert all(m["rds"]["instance"] == "perflab-db" for m in data["cloudwatch"])
    rows = {row["api"]: row for row in data["rankings"]["default"]}
    # by hand: a 60 s window of 1 API task and 1 generator task (1 vCPU, 2 GB each) and the RDS instance
    usd = 2 * (0.04048 + 2 * 0.004445) / 60 + 0.168 / 60
    assert rows["rust-rest"]["usdPerMillionEvents"] == pytest.approx(usd / 814 * 1e6, abs=1e-3)
    assert data["cost"]["pricesDates"] == ["2026-11-01"] and data["cost"]["pricesRegions"] == ["eu-west-1"]
    markdown, html = render.markdown(data), render.html(data)
    assert "| # | API | protocol | verified | phase | throughput (req/s) | $ / M events |" in markdown
    assert "| 1 | rust-rest | rest | ✔ yes | peak | 814.0 | $5.46 |" in markdown
    assert "prices (2026-11-01, eu-west-1)" in markdown and "RDS db.m7g.large instance-hours (pro-rated)" in markdown
    for section in ("ECS services", "Lambda functions", "API Gateway", "RDS (the database)"):
        assert section in markdown and section in html
    # the Lambda's warm phase lacks Duration Sum: its cost is not made up
    assert "| lambda-go-rest | default | warm | 112.0 | 112 | 60.0 | – | – |" in markdown
    assert ">$ / M events</th>" in html and 'id="cloudwatch"' in html and 'id="cost"' in html
    assert data["notes"]["default"] == ["a Lambda API has no container to sample: see its CloudWatch figures"]


@pytest.mark.parametrize("run_id", [RUN_A, SMOKE_RUN])
def test_local_reports_show_no_aws_sections(run_id):
    data = render.build([model.load(FIXTURES / run_id)])
    assert data["cloudwatch"] == [] and data["cost"] is None
    assert all(row["usdPerMillionEvents"] is None and "usdPerMillionEvents" not in row["missing"]
               for rows in data["rankings"].values() for row in rows)
    markdown, html = render.markdown(data), render.html(data)
    for text in AWS_SECTIONS:
        assert text not in markdown and text not in html, text


def test_aws_report_renders_in_headless_chromium(results_dir, chromium):
    shutil.copytree(FIXTURES / AWS_RUN, results_dir / AWS_RUN)
    result = CliRunner().invoke(cli.report, [AWS_RUN, "--results-dir", str(results_dir)])
    assert result.exit_code == 0, result.output
    check = browser.check_page(results_dir / AWS_RUN / "report.html")
    assert check.console_errors == [] and check.network_urls == [] and check.failed_requests == []
    assert check.empty_charts == [] and check.charts >= 10
    assert check.overflow == [] and check.squeezed == []
    assert check.ok, check.problems


# --- repeatability: the statistics ----------------------------------------------------------------------------

def test_spread_is_cv_and_a_t_interval_of_the_mean():
    item = spread.spread([100.0, 110.0, 90.0])
    assert item is not None and item.n == 3 and item.mean == pytest.approx(100.0)
    assert item.sd == pytest.approx(10.0) and item.cv == pytest.approx(0.10)
    half = 4.302652729911275 * 10.0 / np.sqrt(3)  # t(0.975, 2)
    assert (item.ci_low, item.ci_high) == (pytest.approx(100 - half), pytest.approx(100 + half))
    assert spread.spread([100.0]) is None and spread.spread([]) is None


def test_a_real_ten_percent_difference_with_low_noise_is_significant():
    rng = np.random.default_rng(5)
    fast = 1000 * (1 + 0.01 * rng.standard_normal(3))
    slow = 900 * (1 + 0.01 * rng.standard_normal(3))
    difference = spread.welch(list(fast), list(slow))
    assert difference.significant is True and difference.p_value is not None and difference.p_value < 0.01


def test_identical_distributions_are_not_significant():
    assert spread.welch([1000.0, 1010.0, 990.0], [1010.0, 990.0, 1000.0]).significant is False
    rng = np.random.default_rng(7)
    trials = [spread.welch(list(1000 * (1 + 0.05 * rng.standard_normal(3))),
                           list(1000 * (1 + 0.05 * rng.standard_normal(3)))) for _ in range(400)]
    flagged = sum(bool(t.significant) for t in trials)
    assert flagged <= 0.08 * len(trials), flagged  # about 5 % of true nulls, never far more
    assert spread.welch([1000.0], [900.0, 910.0]).significant is None, "one repeat: not tested"


def test_a_cv_above_five_percent_warns():
    assert spread.cv_too_high(spread.spread([900.0, 1000.0, 1100.0]))
    assert not spread.cv_too_high(spread.spread([990.0, 1000.0, 1010.0]))
    assert not spread.cv_too_high(None)


# --- repeatability: the report -------------------------------------------------------------------------------

PEAKS = {"rust-grpc": [890.0, 900.0, 910.0],          # rust-grpc and rust-rest overlap: not significant
         "rust-rest": [860.0, 905.0, 950.0],          # CV about 5 %: warned
         "go-rest": [560.0, 565.0, 570.0],            # far below: significant
         "java-rest": [398.0, 401.0, 395.0]}


def test_repeats_give_each_phase_its_spread_and_mark_not_significant_rankings(tmp_path):
    data = render.build([_with_repeats(tmp_path, PEAKS)])
    rows = [row for row in data["rankings"]["default"] if row["rank"]]
    assert [row["api"] for row in rows] == ["rust-rest", "rust-grpc", "go-rest", "java-rest"]
    assert rows[0]["vsAbove"] is None and rows[0]["repeats"] == 3
    assert rows[1]["vsAbove"] == "not significant"
    assert rows[2]["vsAbove"] == "significant" and rows[3]["vsAbove"] == "significant"
    assert rows[0]["throughputCv"] == pytest.approx(0.0497, abs=1e-3)
    assert rows[0]["throughputCiLow"] < 905 < rows[0]["throughputCiHigh"]
    spreads = {(r["api"], r["phase"]): r for r in data["repeatability"]["sizes"]["default"]}
    assert len(spreads) == 4 * 3 and all(r["repeats"] == 3 for r in spreads.values())
    assert spreads[("go-rest", "peak")]["throughput"]["mean"] == pytest.approx(565.0)
    assert spreads[("go-rest", "peak")]["p95"]["cv"] == pytest.approx(0.01, abs=2e-3)
    assert not any(r["cvWarning"] for r in spreads.values()), "CV 4.97 % is under the 5 % limit"
    markdown, html = render.markdown(data), render.html(data)
    assert "Welch's t-test on the repeats' throughput" in markdown and "Welch's t-test" in html
    assert ("| 2 | rust-grpc ⚠ saturated generator | grpc | ✔ yes | peak | 900.0 | 875.2 – 924.8 | 1.1 % "
            "| not significant (p = 0.867) |") in markdown
    assert "| 3 | go-rest | rest | ✔ yes | peak | 565.0 | 552.6 – 577.4 | 0.9 % | significant (p < 0.001) |" in markdown
    assert "not significant vs #1" in html
    assert "needs `bench run --repeat N`" not in markdown
    assert_golden("report-repeats.md", markdown)
    exported = ranking.to_csv(data["rankings"]).splitlines()
    assert "throughputCv" in exported[0] and "vsAbove" in exported[0]


def test_a_phase_whose_throughput_varies_more_than_five_percent_is_warned_about(tmp_path):
    noisy = dict(PEAKS, **{"rust-rest": [820.0, 905.0, 990.0]})
    data = render.build([_with_repeats(tmp_path, noisy)])
    warned = [w for w in data["warnings"] if "varies by CV" in w]
    assert {w.split(",")[0] for w in warned} == {"rust-rest (default)"} and len(warned) == 3
    assert "CV 9.4 % over 3 repeats (above 5 %)" in warned[0]
    assert "⚠" in render.markdown(data).split("## Repeatability")[1].split("## Database")[0]


def test_a_single_repeat_shows_no_spread_and_says_it_needs_repeats():
    data = render.build([model.load(FIXTURES / RUN_A)])
    assert data["repeatability"]["repeats"] == 1 and data["repeatability"]["sizes"] == {}
    assert all(row["throughputCv"] is None and row["vsAbove"] is None
               for rows in data["rankings"].values() for row in rows)
    markdown, html = render.markdown(data), render.html(data)
    assert "spread needs" not in markdown  # the wording below, once
    assert "need `bench run --repeat N` with N ≥ 2" in markdown and "with N ≥ 2" in html
    assert "95 % CI" not in markdown and "not significant" not in markdown.split("## Repeatability")[0]
    assert not any("varies by CV" in w for w in data["warnings"])


def test_repeats_report_renders_in_headless_chromium(tmp_path, chromium):
    run = _with_repeats(tmp_path, dict(PEAKS, **{"rust-rest": [820.0, 905.0, 990.0]}))
    result = CliRunner().invoke(cli.report, [str(run.directory), "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    check = browser.check_page(run.directory / "report.html")
    assert check.overflow == [] and check.squeezed == [] and check.empty_charts == []
    assert check.ok, check.problems
