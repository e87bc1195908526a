"""The fuzzer's fixed parts: the contract's messages as the OpenAPI document and the gRPC judge read them,
and the hostile inputs' building blocks."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings

from perflab.catalogue import ROOT
from runner import fuzz, fuzz_inputs
from tests.conformance import test_contract

OPENAPI = yaml.safe_load((ROOT / "contract" / "openapi.yaml").read_text())
CONTRACT_MESSAGES = sorted({message for _, _, message, _ in test_contract.INVALID})


def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = {**OPENAPI["components"]["schemas"][schema_name], "components": OPENAPI["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("message", CONTRACT_MESSAGES)
def test_openapi_accepts_every_message_the_suite_expects(message):
    _validator("ValidationMessage").validate(message)


@pytest.mark.parametrize("message", ["internal error", "eventBody.entities[100] must be an object",
                                     "eventHeader.uuid must be a uuid", "event nests deeper than 64 levels"])
def test_openapi_refuses_other_messages(message):
    # The last one is gRPC's (CONTRACT.md): REST's nesting message names the request body.
    assert not _validator("ValidationMessage").is_valid(message)


def test_grpc_judge_knows_the_contract_messages():
    patterns = fuzz.contract_messages()
    for message in [*CONTRACT_MESSAGES, "event nests deeper than 64 levels",
                    "event contains a value the database cannot store"]:
        assert any(p.match(message) for p in patterns), message
    assert not any(p.match("internal error") for p in patterns)


def test_success_documents_must_say_duplicate_consistently():
    result = _validator("EventResult")
    good = {"success": True, "message": "event processed", "eventUuid": "550e8400-e29b-41d4-a716-446655440000",
            "entityCount": 1, "duplicate": False}
    result.validate(good)
    assert not result.is_valid({**good, "duplicate": True})
    assert not result.is_valid({**good, "eventUuid": good["eventUuid"].upper()})


def test_nested_json_has_the_depth_asked():
    text = fuzz_inputs.nested(64)
    value, depth = json.loads(text), 0
    while isinstance(value, (list, dict)):
        value = value[0] if isinstance(value, list) else value["k"]
        depth += 1
    assert depth == 64 and value == 1


def test_choose_keeps_rare_choices_rare():
    seen: list[bool] = []

    @seed(0)
    @settings(max_examples=500, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzz_inputs.chance(0.01))
    def draw(value: bool) -> None:
        seen.append(value)

    draw()
    assert 0 < sum(seen) < 0.08 * len(seen)
