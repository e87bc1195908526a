"""The gRPC surface: validation of EventRequest messages (shared rules, gRPC specifics), and
EventService + grpc.health.v1 served in-process by grpc.aio over a fake store."""
from __future__ import annotations

import asyncio
import json
import uuid

import event_service_pb2 as pb
import event_service_pb2_grpc as pb_grpc
import grpc
import orjson
import pytest
from api_testing import KEY, FakeStore, GatedStore, token
from grpc_health.v1 import health_pb2, health_pb2_grpc

from event_common import event as ev
from event_common.auth import Authenticator
from event_common.event import ValidationError, attribute_value, event_from_proto
from event_common.store import DatabaseUnavailable, Unstorable
from python_grpc.service import SERVICE_NAME, AuthInterceptor, EventService, HealthService


def request(**attributes) -> pb.EventRequest:
    message = pb.EventRequest()
    header = message.event_header
    header.uuid, header.event_name, header.event_type = str(uuid.uuid4()), "CarCreated", "CarCreated"
    header.created_date = "2024-01-15T10:30:00Z"
    entity = message.event_body.entities.add()
    entity.entity_type, entity.entity_id = "Car", "car-1"
    entity.updated_attributes.update(attributes or {"model": "Civic"})
    return message


def message_of(message: pb.EventRequest) -> str:
    with pytest.raises(ValidationError) as caught:
        event_from_proto(message)
    return caught.value.message


@pytest.mark.parametrize("text, value", [
    ("12", 12), ("true", True), ('{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}), ("abc", "abc"),
    ("1 2", "1 2"), ("", ""), ('"abc"', "abc"), (" 5 ", 5), ("NaN", "NaN"), ("null", None), ("Infinity", "Infinity"),
    ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z"), ("[1,]", "[1,]"), ('"\\ud800"', '"\\ud800"'),
])
def test_attribute_values_are_json_when_valid_json_text(text, value):
    # Numbers are orjson Fragments (their text, exactly); compare through JSON.
    assert json.loads(orjson.dumps(attribute_value(text))) == value


def test_numbers_in_attribute_text_keep_their_digits():
    event = event_from_proto(request(big="123456789012345678901234567890", price="0.10", tiny="1.5e-7"))
    stored = event.entities[0][2]
    assert b'"big":123456789012345678901234567890' in stored and b'"price":0.10' in stored
    assert b'"tiny":1.5e-7' in stored


def test_proto_specific_rules():
    message = request()
    message.ClearField("event_header")
    assert message_of(message) == ev.MSG_HEADER_OBJECT
    message = request()
    message.ClearField("event_body")
    assert message_of(message) == ev.MSG_BODY_OBJECT
    message = request()
    message.event_header.created_date = ""  # proto3 empty strings are absent dates
    assert event_from_proto(message).created_date is None
    message = request()
    message.event_header.saved_date = "2024-01-15T10:30:00+16:00"
    assert message_of(message) == ev.MSG_SAVED_DATE
    message = request()
    del message.event_body.entities[:]
    assert message_of(message) == ev.MSG_ENTITIES_ARRAY


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_nul_then_nesting_of_attribute_values():
    assert message_of(request(a="x\x00")) == ev.MSG_NUL
    assert message_of(request(a='"x\\u0000"')) == ev.MSG_NUL
    assert message_of(request(**{"k\x00": "1"})) == ev.MSG_NUL
    assert event_from_proto(request(a='"x\\\\u0000"')).entities  # an escaped backslash, no NUL
    assert event_from_proto(request(deep=nested(59))).entities
    assert message_of(request(deep=nested(60))) == ev.MSG_EVENT_TOO_DEEP
    assert message_of(request(deep=nested(60), other="\x00")) == ev.MSG_NUL  # NUL comes first
    assert event_from_proto(request(deep="[" * 100)).entities[0][2] == b'{"deep":"' + b"[" * 100 + b'"}'


# ---------------------------------------------------------------------------------------------- served


def serve(scenario, max_message=1024 * 1024, authenticator=None, store_class=None):
    """Runs `scenario(store, event_stub, health_stub)` against an in-process server on an ephemeral port."""
    async def main():
        store, stopping = (store_class or FakeStore)(), asyncio.Event()
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", max_message)],
                                 interceptors=[AuthInterceptor(authenticator)] if authenticator else None)
        pb_grpc.add_EventServiceServicer_to_server(EventService(store), server)
        health_pb2_grpc.add_HealthServicer_to_server(HealthService(store, stopping), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await scenario(store, pb_grpc.EventServiceStub(channel), health_pb2_grpc.HealthStub(channel))
        finally:
            stopping.set()
            await server.stop(None)
    asyncio.run(main())


async def status_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), caught.value.details()


def test_process_event_ok_duplicate_and_failures():
    async def scenario(store, events, _health):
        message = request()
        message.event_header.uuid = message.event_header.uuid.upper()
        response = await events.ProcessEvent(message)
        assert (response.success, response.message, response.event_uuid, response.entity_count, response.duplicate) == (
            True, "event processed", message.event_header.uuid.lower(), 1, False)
        again = await events.ProcessEvent(message)
        assert (again.success, again.message, again.duplicate) == (True, "duplicate event ignored", True)
        bad = request()
        bad.event_header.uuid = "nope"
        assert await status_of(events.ProcessEvent(bad)) == (grpc.StatusCode.INVALID_ARGUMENT, ev.MSG_UUID)
        store.fail_with = Unstorable("x")
        assert await status_of(events.ProcessEvent(request())) == (grpc.StatusCode.INVALID_ARGUMENT, ev.MSG_UNSTORABLE)
        store.fail_with = DatabaseUnavailable("x")
        assert await status_of(events.ProcessEvent(request())) == (grpc.StatusCode.UNAVAILABLE, "database unavailable")
        store.fail_with = RuntimeError("secret internals")
        assert await status_of(events.ProcessEvent(request())) == (grpc.StatusCode.INTERNAL, "internal error")
    serve(scenario)


def test_message_over_the_limit_is_resource_exhausted():
    async def scenario(_store, events, _health):
        code, _ = await status_of(events.ProcessEvent(request(blob="x" * 4096)))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    serve(scenario, max_message=4096)


def test_health_services():
    async def scenario(store, events, health):
        for name in ("", SERVICE_NAME):
            response = await health.Check(health_pb2.HealthCheckRequest(service=name))
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        assert (await status_of(health.Check(health_pb2.HealthCheckRequest(service="other"))))[0] == grpc.StatusCode.NOT_FOUND
        legacy = await events.HealthCheck(pb.HealthRequest())
        assert (legacy.healthy, legacy.message) == (True, "healthy")
        watch = health.Watch(health_pb2.HealthCheckRequest())
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        store.healthy = False
        response = await health.Check(health_pb2.HealthCheckRequest())
        assert response.status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert (await asyncio.wait_for(watch.read(), 5)).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        legacy = await events.HealthCheck(pb.HealthRequest())
        assert (legacy.healthy, legacy.message) == (False, "database unavailable")
    serve(scenario)


def test_numbers_longer_than_100_characters_in_attribute_json():
    stored = event_from_proto(request(n="1" * 100, m=f'{{"x": [{"-" + "2" * 99}]}}')).entities[0][2]
    assert b'"n":' + b"1" * 100 in stored and b'"m":{"x":[-' + b"2" * 99 + b"]}" in stored
    assert message_of(request(n="1" * 101)) == ev.MSG_NUMBER_TOO_LONG
    assert message_of(request(ok="1", m=f' {{"x": [1, 0.{"5" * 99}]}} ')) == ev.MSG_NUMBER_TOO_LONG
    # Not JSON text, so a string: the digits do not count.
    stored = event_from_proto(request(a="x" + "1" * 200, b="[" + "1" * 200 + ", oops")).entities[0][2]
    assert json.loads(stored) == {"a": "x" + "1" * 200, "b": "[" + "1" * 200 + ", oops"}
    # The contract's order: NUL, then nesting, then numbers.
    assert message_of(request(n="1" * 101, s='"\\u0000"')) == ev.MSG_NUL
    assert message_of(request(n=f'["\\u0000", {"1" * 101}]')) == ev.MSG_NUL
    assert message_of(request(n="1" * 101, deep=nested(60))) == ev.MSG_EVENT_TOO_DEEP


# ------------------------------------------------------------------------------------------ auth

def test_auth_on_process_event_needs_a_token_health_stays_open():
    async def scenario(store, events, health):
        assert await status_of(events.ProcessEvent(request())) == (grpc.StatusCode.UNAUTHENTICATED,
                                                                   "missing bearer token")
        for value in ("Basic abc", "Bearer "):
            assert await status_of(events.ProcessEvent(request(), metadata=(("authorization", value),))) == (
                grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")
        for bad in ("x.y.z", token(exp_in=-60), token(key=KEY + "!")):
            assert await status_of(events.ProcessEvent(request(), metadata=(("authorization", f"Bearer {bad}"),))) == (
                grpc.StatusCode.UNAUTHENTICATED, "invalid token")
        # Refused before the message is looked at: an invalid one is still UNAUTHENTICATED.
        invalid = request()
        invalid.event_header.uuid = "nope"
        assert (await status_of(events.ProcessEvent(invalid)))[0] == grpc.StatusCode.UNAUTHENTICATED
        assert not store.uuids
        response = await events.ProcessEvent(request(), metadata=(("authorization", f"bearer {token()}"),))
        assert response.success and len(store.uuids) == 1
        assert (await events.HealthCheck(pb.HealthRequest())).healthy
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING
    serve(scenario, authenticator=Authenticator(lambda: KEY))


# ------------------------------------------------------------------------------- run to completion


@pytest.mark.parametrize("ending", ["cancel", "deadline"])
def test_a_cancelled_call_or_expired_deadline_does_not_interrupt_the_write(ending):
    async def scenario(store, events, _health):
        message = request()
        call = events.ProcessEvent(message, timeout=0.5 if ending == "deadline" else None)
        await asyncio.wait_for(store.writing.wait(), 5)
        if ending == "cancel":
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        else:
            assert (await status_of(call))[0] == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.sleep(0.2)  # the server has seen the end of the call and cancelled its handler
        assert not store.uuids
        store.gate.set()
        for _ in range(100):
            if store.uuids:
                break
            await asyncio.sleep(0.01)
        assert store.uuids == {message.event_header.uuid.lower()}
    serve(scenario, store_class=GatedStore)
