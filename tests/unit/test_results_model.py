"""The results document has one home, perflab/results.py: its format document, the runner, the reports and
the metrics loader all follow it."""
from __future__ import annotations

import copy
import json

import pytest

from perflab import results
from perflab.catalogue import ROOT

FIXTURE = ROOT / "tests/reports/fixtures/20261128T041500Z-3f9c2a/run.json"
MARKER = "<!-- generated: .venv/bin/python -m perflab.results -->\n"


def test_the_format_document_describes_the_model():
    text = (ROOT / "docs/results-format.md").read_text()
    assert MARKER in text, "docs/results-format.md lost its generated field reference"
    assert text.split(MARKER, 1)[1] == results.field_table(), (
        "docs/results-format.md's field reference differs from perflab/results.py: regenerate it with "
        "`.venv/bin/python -m perflab.results`")


def test_a_document_round_trips_through_the_model():
    document = json.loads(FIXTURE.read_text())
    model = results.validate(document)
    again = results.validate(model.to_dict())
    assert again == model
    assert model.results[0].phases[0].latency_ms.p95 == document["results"][0]["phases"][0]["latencyMs"]["p95"]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["results"][0].pop("status"), "results.0.status"),
    (lambda d: d["results"][0].update(status="fine"), "results.0.status"),
    (lambda d: d["results"][0]["phases"][0].update(latencyMS={}), "latencyMS"),  # a writer's typo
    (lambda d: d["config"].pop("thresholds"), "config.thresholds"),
    (lambda d: d.update(schema="perflab.results/0"), "schema is 'perflab.results/0'"),
])
def test_a_document_that_does_not_follow_the_model_is_refused(mutate, message, tmp_path):
    document = json.loads(FIXTURE.read_text())
    broken = copy.deepcopy(document)
    mutate(broken)
    with pytest.raises(results.ResultsError, match=message.replace(".", r"\.")):
        results.validate(broken)
    with pytest.raises(results.ResultsError):
        results.dump(broken, tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()  # never written
