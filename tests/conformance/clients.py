"""Protocol clients of the conformance suite.

Each client sends the same logical event (a Python dict shaped like the REST JSON body) and returns an
`Outcome` in protocol-neutral terms, so one test body checks REST, gRPC and gRPC-Web alike.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import grpc
import httpx

from tests.conformance import protos

# gRPC status code names mapped to the REST status the contract pairs them with.
GRPC_TO_HTTP = {"OK": 200, "INVALID_ARGUMENT": 400, "UNAVAILABLE": 503, "INTERNAL": 500,
                "RESOURCE_EXHAUSTED": 413}


@dataclasses.dataclass
class Outcome:
    status: int  # REST status, or the REST status paired with the gRPC code
    message: str  # error message or success message
    body: dict[str, Any]  # REST JSON body, or the EventResponse fields in REST names
    raw_code: str = ""  # gRPC code name, HTTP status as text for REST

    @property
    def ok(self) -> bool:
        return self.status == 200


def attribute_to_grpc(value: Any) -> str:
    """The string a gRPC client sends so the server stores `value` (the contract's JSON-or-string rule)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value)  # a string that would parse as JSON must be sent quoted
    return json.dumps(value)


def event_to_proto(event: dict[str, Any]):
    pb = protos.event_pb2()
    request = pb.EventRequest()
    header = event.get("eventHeader")
    if isinstance(header, dict):
        request.event_header.SetInParent()
        for json_name, field in (("uuid", "uuid"), ("eventName", "event_name"), ("eventType", "event_type"),
                                 ("createdDate", "created_date"), ("savedDate", "saved_date")):
            if header.get(json_name) is not None:
                setattr(request.event_header, field, header[json_name])
    body = event.get("eventBody")
    if isinstance(body, dict):
        request.event_body.SetInParent()
        for entity in body.get("entities", []):
            update = request.event_body.entities.add()
            update.entity_type = entity.get("entityType", "")
            update.entity_id = entity.get("entityId", "")
            for key, value in entity.get("updatedAttributes", {}).items():
                update.updated_attributes[key] = attribute_to_grpc(value)
    return request


def response_to_body(response) -> dict[str, Any]:
    return {"success": response.success, "message": response.message, "eventUuid": response.event_uuid,
            "entityCount": response.entity_count, "duplicate": response.duplicate}


class RestClient:
    kind = "rest"

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)

    def __repr__(self) -> str:
        return f"rest:{self.base_url}"

    def post_raw(self, path: str, content: bytes, content_type: str | None = "application/json",
                 method: str = "POST") -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        return self.http.request(method, path, content=content, headers=headers)

    def send(self, event: Any) -> Outcome:
        response = self.post_raw("/api/v1/events", json.dumps(event).encode())
        return self._outcome(response)

    def bulk(self, events: Any) -> httpx.Response:
        return self.post_raw("/api/v1/events/bulk", json.dumps(events).encode())

    def healthy(self) -> tuple[bool, str]:
        try:
            response = self.http.get("/api/v1/events/health", timeout=5.0)
        except httpx.HTTPError as error:
            return False, f"transport error: {error}"
        return response.status_code == 200, f"{response.status_code} {response.text}"

    @staticmethod
    def _outcome(response: httpx.Response) -> Outcome:
        try:
            parsed = response.json()
        except ValueError:
            parsed = {"unparsable": response.text}
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        return Outcome(response.status_code, body.get("error", body.get("message", "")), body, str(response.status_code))

    def close(self) -> None:
        self.http.close()


class GrpcClient:
    kind = "grpc"

    def __init__(self, target: str, max_message_bytes: int):
        self.target = target
        # The client may send more than the server accepts: the server's limit is under test.
        options = [("grpc.max_send_message_length", 16 * max_message_bytes),
                   ("grpc.max_receive_message_length", 16 * max_message_bytes)]
        self.channel = grpc.insecure_channel(target, options=options)
        self.stub = protos.event_pb2_grpc().EventServiceStub(self.channel)
        self.health_stub = protos.health_pb2_grpc().HealthStub(self.channel)

    def __repr__(self) -> str:
        return f"grpc:{self.target}"

    def send(self, event: Any) -> Outcome:
        return self.send_request(event_to_proto(event))

    def send_request(self, request) -> Outcome:
        try:
            response = self.stub.ProcessEvent(request, timeout=30.0)
        except grpc.RpcError as error:
            code = error.code().name
            return Outcome(GRPC_TO_HTTP.get(code, 500), error.details() or "", {}, code)
        body = response_to_body(response)
        return Outcome(200, response.message, body, "OK")

    def healthy(self) -> tuple[bool, str]:
        request = protos.health_pb2().HealthCheckRequest(service="")
        try:
            response = self.health_stub.Check(request, timeout=5.0)
        except grpc.RpcError as error:
            return False, f"{error.code().name} {error.details()}"
        serving = response.status == protos.health_pb2().HealthCheckResponse.SERVING
        return serving, protos.health_pb2().HealthCheckResponse.ServingStatus.Name(response.status)

    def legacy_health(self):
        return self.stub.HealthCheck(protos.event_pb2().HealthRequest(service=""), timeout=5.0)

    def close(self) -> None:
        self.channel.close()
