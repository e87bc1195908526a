"""The contract's homes agree with each other: OpenAPI valid, messages in one table, proto compatible."""
from __future__ import annotations

import re

import yaml
from openapi_spec_validator import validate

from perflab.catalogue import ROOT
from runner import contract
from tests.conformance import protos, test_auth, test_contract, test_numbers

CONTRACT = (ROOT / "contract" / "CONTRACT.md").read_text()


def test_openapi_document_is_valid_3_1():
    document = yaml.safe_load((ROOT / "contract" / "openapi.yaml").read_text())
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/api/v1/events", "/api/v1/events/bulk", "/api/v1/events/health"}


def test_every_message_the_suite_expects_is_written_in_the_contract():
    messages = {message for _, _, message, _ in test_contract.INVALID}
    messages |= {"malformed JSON", "request body must be a JSON object", "database unavailable",
                 "unsupported content type: use application/json", "not found", "method not allowed",
                 "request body must be a JSON array of 1 to 1000 events", "internal error",
                 "request body nests deeper than 64 levels", "event nests deeper than 64 levels",
                 "event contains a value the database cannot store", test_auth.MISSING, test_auth.INVALID,
                 test_numbers.NUMBER_MSG}
    for message in messages:
        written = re.sub(r"\[\d+\]", "[i]", message)
        assert f"`{written}`" in CONTRACT, f"message not in CONTRACT.md: {written}"


def test_the_suite_checks_the_statements_written_in_the_contract():
    assert contract.S1 in CONTRACT
    assert contract.S2 in CONTRACT


def test_proto_keeps_the_original_lab_field_numbers():
    pb = protos.event_pb2()
    expected = {
        "EventRequest": {"event_header": 1, "event_body": 2},
        "EventHeader": {"uuid": 1, "event_name": 2, "created_date": 3, "saved_date": 4, "event_type": 5},
        "EventBody": {"entities": 1},
        "EntityUpdate": {"entity_type": 1, "entity_id": 2, "updated_attributes": 3},
        "EventResponse": {"success": 1, "message": 2},
        "HealthRequest": {"service": 1},
        "HealthResponse": {"healthy": 1, "message": 2},
    }
    for message, fields in expected.items():
        descriptor = getattr(pb, message).DESCRIPTOR
        assert descriptor.full_name == f"com.example.grpc.{message}"
        for name, number in fields.items():
            assert descriptor.fields_by_name[name].number == number, (message, name)
    service = pb.DESCRIPTOR.services_by_name["EventService"]
    assert {m.name for m in service.methods} == {"ProcessEvent", "HealthCheck"}
