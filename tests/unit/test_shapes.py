"""Run shapes live in the load generator; the runner asks it (`loadgen describe --json`) and restates none."""
from __future__ import annotations

import copy
import dataclasses
import pathlib
import re

import pytest

from perflab import catalogue
from runner import run, shapes

DESCRIBED = shapes.describe()


def test_the_generator_describes_every_mode_size_and_threshold():
    assert set(DESCRIBED.modes) >= {"smoke", "full", "saturation"}
    assert DESCRIBED.payload_order[0] == "default" and set(DESCRIBED.payload_bytes) == set(DESCRIBED.payload_order)
    assert set(DESCRIBED.thresholds) == {"p95Ms", "p99Ms", "errorRate"}
    smoke = DESCRIBED.mode("smoke")
    assert smoke.requests_by_count and smoke.planned_seconds == 0
    assert DESCRIBED.mode("full").planned_seconds > 0


def _options(tmp_path: pathlib.Path, **overrides) -> run.RunOptions:
    options = run.RunOptions(mode="full", apis=[catalogue.api("go-rest")], payload_sizes=["4k"], results_dir=tmp_path)
    return dataclasses.replace(options, **overrides)


def test_the_runner_follows_the_generator_when_a_size_threshold_or_duration_changes(tmp_path, monkeypatch):
    """Change a shape in its one home and the runner's estimates and records change with it."""
    before = run.required_bytes(_options(tmp_path))
    document = copy.deepcopy(DESCRIBED.document)
    document["payloadSizes"]["4k"] *= 2
    document["thresholds"]["p95Ms"] = 1234
    for mode in document["modes"]:
        if mode["name"] == "full":
            mode["plannedSeconds"] *= 3
            mode["warmupSeconds"] = 7
    changed = shapes.parse(document)
    monkeypatch.setattr(shapes, "describe", lambda *args, **kwargs: changed)
    options = _options(tmp_path)
    after = run.required_bytes(options)
    assert after["database"] > before["database"] * 4  # twice the bytes (at a lower rate) for three times as long
    assert run.warmup_seconds(options) == 7
    assert run.run_shapes(options).thresholds["p95Ms"] == 1234


def test_no_shape_is_restated_in_the_runner():
    """runner/run.py and runner/cli.py name no payload size in bytes, threshold or mode duration."""
    for path in (catalogue.ROOT / "runner/run.py", catalogue.ROOT / "runner/cli.py"):
        text = path.read_text()
        for size in DESCRIBED.payload_bytes.values():
            assert not re.search(rf"\b{size}\b", text), f"{path.name} restates the payload size {size}"
        for value in DESCRIBED.thresholds.values():
            if value >= 1:
                assert not re.search(rf"\b{value:g}\b", text), f"{path.name} restates the threshold {value:g}"
        assert "MODE_MAX_SECONDS" not in text and "PAYLOAD_BYTES" not in text


def test_an_unknown_description_format_is_refused():
    document = dict(DESCRIBED.document, format="perflab.loadgen.describe/99")
    with pytest.raises(shapes.ShapeError, match="rebuild it"):
        shapes.parse(document)
