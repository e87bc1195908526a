"""The auth overhead section: an API under an auth profile beside itself without auth, in the same run."""
from __future__ import annotations

import copy
import json

from perflab import results
from reports import model, render
from tests.reports.conftest import FIXTURES, RUN_A


def _run_with_auth_results(tmp_path, throughput_factor: float, p95_factor: float) -> model.Run:
    """RUN_A's verified results again under profile auth, slower by the given factors."""
    document = json.loads((FIXTURES / RUN_A / results.RUN_FILE).read_text())
    document["config"]["profiles"] = ["no-auth", "auth"]
    added = []
    for result in document["results"]:
        if result["status"] != "passed" or not result["phases"]:
            continue
        profiled = copy.deepcopy(result)
        profiled["profile"] = "auth"
        for phase in profiled["phases"]:
            phase["throughput"] *= throughput_factor
            if phase["latencyMs"].get("p95") is not None:
                phase["latencyMs"]["p95"] *= p95_factor
        added.append(profiled)
    document["results"] += added
    (tmp_path / "run").mkdir()
    results.dump(document, tmp_path / "run" / results.RUN_FILE)
    return model.load(tmp_path / "run")


def test_auth_results_are_named_apart_and_compared_with_the_same_api_without_auth(tmp_path):
    run = _run_with_auth_results(tmp_path, throughput_factor=0.9, p95_factor=1.25)
    names = {r["api"] for r in run.results}
    assert "go-rest (auth)" in names and "go-rest" in names
    rows = render.build([run])["authOverhead"]
    assert rows and {row["profile"] for row in rows} == {"auth"}
    for row in rows:
        assert abs(row["throughputChange"] - (-0.10)) < 1e-3, row
        if row["p95Change"] is not None:
            assert abs(row["p95Change"] - 0.25) < 1e-3, row  # p95 is stored rounded
    markdown = render.markdown(render.build([run]))
    assert "## Auth overhead" in markdown and "-10.0 %" in markdown and "+25.0 %" in markdown


def test_no_auth_section_without_a_profile_beside_its_baseline():
    run = model.load(FIXTURES / RUN_A)
    data = render.build([run])
    assert data["authOverhead"] == []
    assert "Auth overhead" not in render.markdown(data)
