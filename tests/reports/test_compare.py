from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from reports import cli, compare, model, render
from tests.reports.conftest import FIXTURES, RUN_A, RUN_B, assert_golden
from tests.reports.fixtures.generate import APIS, write_run

GO_REST = [api for api in APIS if api[0] == "go-rest"]


def test_a_real_ten_percent_shift_is_significant(tmp_path):
    a = model.load(write_run(tmp_path / "a", "a", seed=11))
    b = model.load(write_run(tmp_path / "b", "b", seed=12, slowdown={"go-rest": 1.10}, day=1))
    changes = [c for c in compare.compare(a, b) if c.api == "go-rest" and c.phase in ("steady", "peak")]
    throughput_and_median = [c for c in changes if c.metric in ("throughput", "p50")]
    assert throughput_and_median and all(c.significant and not c.better for c in throughput_and_median), [
        (c.payload_size, c.phase, c.metric, c.verdict) for c in throughput_and_median]
    for change in throughput_and_median:
        assert 1.04 < change.factor < 1.18
        assert change.verdict.endswith("× worse")


def test_identical_distributions_are_not_significant(tmp_path):
    a = model.load(write_run(tmp_path / "a", "a", seed=21))
    b = model.load(write_run(tmp_path / "b", "b", seed=22, day=1))
    changes = compare.compare(a, b)
    assert len(changes) == 9 * 3 * 4
    flagged = [c for c in changes if c.significant]
    # At 95 % confidence about 5 % of true nulls are flagged; a test that overreacts would flag far more.
    assert len(flagged) <= 0.08 * len(changes), [(c.api, c.phase, c.metric, c.verdict) for c in flagged]
    assert sum(c.verdict == "not significant" for c in changes) == len(changes) - len(flagged)


def test_repeats_are_compared_when_both_runs_have_them(tmp_path):
    import json

    def with_repeats(source, target):
        doc = json.loads(source.read_text())
        doc["results"] = [dict(r, repeat=k) for r in doc["results"] if r["phases"] for k in (1, 2, 3)]
        for k, result in enumerate(doc["results"]):
            for phase in result["phases"]:
                phase["throughput"] = round(phase["throughput"] * (1 + 0.01 * (k % 3)), 1)
        target.mkdir()
        (target / "run.json").write_text(json.dumps(doc))
        return model.load(target)

    a = with_repeats(FIXTURES / RUN_A / "run.json", tmp_path / "a")
    b = with_repeats(FIXTURES / RUN_B / "run.json", tmp_path / "b")
    changes = compare.compare(a, b)
    assert {c.method for c in changes} == {"repeats"}
    peak = next(c for c in changes if (c.api, c.payload_size, c.phase, c.metric) == ("go-rest", "default", "peak",
                                                                                     "throughput"))
    assert peak.significant and not peak.better


def test_compare_markdown_matches_golden_file():
    a, b = model.load(FIXTURES / RUN_A), model.load(FIXTURES / RUN_B)
    data = render.compare_data(a, b, compare.compare(a, b), threshold=5.0)
    assert_golden("compare.md", render.compare_markdown(data))


def test_compare_is_a_regression_gate(results_dir, tmp_path):
    runner = CliRunner()
    args = [RUN_A, RUN_B, "--results-dir", str(results_dir)]
    gated = runner.invoke(cli.compare, args + ["--threshold", "5", "-o", str(tmp_path / "out")])
    assert gated.exit_code == 1, gated.output
    assert "| go-rest | default | peak | throughput (req/s) | 565.00 | " in gated.output
    assert "⚠ regression" in gated.output
    assert (tmp_path / "out" / "compare.html").read_text().count("<tr") > 100
    assert runner.invoke(cli.compare, args + ["--threshold", "50"]).exit_code == 0
    assert runner.invoke(cli.compare, args).exit_code == 0, "without --threshold compare only reports"
    same = runner.invoke(cli.compare, [RUN_A, RUN_A, "--results-dir", str(results_dir), "--threshold", "0"])
    assert same.exit_code == 0
    assert "0 significant regressions beyond 0.0 %" in same.output


def test_confidence_intervals_are_intervals_of_the_ratio():
    a, b = model.load(FIXTURES / RUN_A), model.load(FIXTURES / RUN_B)
    changes = compare.compare(a, b)
    assert sum(c.ci_low is not None for c in changes) == 108
    for change in changes:
        assert 0 < change.ci_low <= change.ci_high, change  # a ratio: never below 0, i.e. never below -100 %
    data = render.compare_data(a, b, changes, threshold=5.0)
    assert min(row["ciLow"] for row in data["changes"]) > -100
    assert "a confidence interval of the ratio B / A" in render.compare_markdown(data)
    assert "an interval of the ratio B / A" in render.compare_html(data)


def test_repeats_with_a_wide_spread_give_a_positive_ratio_interval():
    # Three repeats that vary several-fold: a difference interval scaled by mean(A) would reach far below
    # -100 % here; the interval of the ratio of geometric means stays positive and asymmetric.
    a, b = np.array([100.0, 10.0, 200.0]), np.array([50.0, 12.0, 400.0])
    p_value, low, high = compare._log_welch(a, b, 0.05)
    geometric = float(np.exp(np.log(b).mean() - np.log(a).mean()))
    assert 0 < low < geometric < high
    assert high / geometric == pytest.approx(geometric / low)  # symmetric on the log scale only
    assert p_value > 0.05
    assert compare._log_welch(np.array([2.0, 2.0]), np.array([3.0, 3.0]), 0.05) == pytest.approx((0.0, 1.5, 1.5))
    assert compare._log_welch(np.array([0.0, 1.0]), np.array([1.0, 2.0]), 0.05) == (None, None, None)


def test_the_bootstrap_interval_of_a_ratio_covers_the_true_ratio():
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(40):
        a = rng.lognormal(np.log(10), 0.3, 200)
        b = rng.lognormal(np.log(12), 0.3, 200)  # the true median ratio is 1.2
        _, low, high = compare._bootstrap_ratios(a, b, 0.05, rng)["p50"]
        covered += low <= 1.2 <= high
        rates_a, rates_b = rng.poisson(100, 30).astype(float), rng.poisson(90, 30).astype(float)
        p_value, low, high = compare._bootstrap_rate_ratio(rates_a, rates_b, 0.05, rng)
        assert 0 < low < high and p_value is not None
    assert covered >= 34  # about 95 % of 40
