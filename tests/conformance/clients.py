"""Protocol clients of the conformance suite.

Each client sends the same logical event (a Python dict shaped like the REST JSON body) and returns an
`Outcome` in protocol-neutral terms, so one test body checks REST, gRPC and gRPC-Web alike.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import socket
import struct
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import grpc
import httpx

from tests.conformance import protos

# gRPC status code names mapped to the REST status the contract pairs them with.
GRPC_TO_HTTP = {"OK": 200, "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "UNAVAILABLE": 503, "INTERNAL": 500,
                "RESOURCE_EXHAUSTED": 413}
DEFAULT_TIMEOUT = 30.0

# The `Authorization` value of each request (a fresh token each time when the targets run with auth), or
# None: no header. Clients call it per request so a long run never sends an expired token.
Authorization = Callable[[], str | None]


def no_authorization() -> str | None:
    return None


@dataclasses.dataclass
class Outcome:
    status: int  # REST status, or the REST status paired with the gRPC code
    message: str  # error message or success message
    body: dict[str, Any]  # REST JSON body, or the EventResponse fields in REST names
    raw_code: str = ""  # gRPC code name, HTTP status as text for REST
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # REST response headers (lower-case names)

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


class WithAuthorization:
    """`client.with_authorization(value)`: the same target and connections, another `Authorization` header."""

    authorization: Authorization

    def with_authorization(self, value: str | None):
        other = copy.copy(self)
        other.authorization = lambda: value
        return other


class RestClient(WithAuthorization):
    kind = "rest"

    def __init__(self, base_url: str, authorization: Authorization = no_authorization):
        self.base_url = base_url.rstrip("/")
        self.authorization = authorization
        # Enough connections for the saturation cases (DB_POOL_MAX requests held at once, and one more).
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        self.http = httpx.Client(base_url=self.base_url, timeout=DEFAULT_TIMEOUT, limits=limits)

    def __repr__(self) -> str:
        return f"rest:{self.base_url}"

    def post_raw(self, path: str, content: bytes, content_type: str | None = "application/json",
                 method: str = "POST", timeout: float = DEFAULT_TIMEOUT) -> httpx.Response:
        return self.http.request(method, path, content=content, headers=self._headers(content_type), timeout=timeout)

    def send(self, event: Any, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        return self.send_body(json.dumps(event).encode(), timeout)

    def send_body(self, body: bytes, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        """POST an event body given as bytes (for JSON no serializer would write, e.g. 101-digit numbers)."""
        return self._outcome(self.post_raw("/api/v1/events", body, timeout=timeout))

    def send_and_abandon(self, event: Any) -> AbandonedRequest:
        """Send a complete request on a connection of its own and leave without reading the answer."""
        body = json.dumps(event).encode()
        return AbandonedRequest.send(self.base_url, "/api/v1/events", self._headers("application/json"), body)

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Content-Type": content_type} if content_type else {}
        token = self.authorization()
        if token is not None:
            headers["Authorization"] = token
        return headers

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
        return Outcome(response.status_code, body.get("error", body.get("message", "")), body, str(response.status_code),
                       {name.lower(): value for name, value in response.headers.items()})

    def close(self) -> None:
        self.http.close()


class GrpcClient(WithAuthorization):
    kind = "grpc"

    def __init__(self, target: str, max_message_bytes: int, authorization: Authorization = no_authorization):
        self.target = target
        self.authorization = authorization
        # The client may send more than the server accepts: the server's limit is under test.
        options = [("grpc.max_send_message_length", 16 * max_message_bytes),
                   ("grpc.max_receive_message_length", 16 * max_message_bytes)]
        self.channel = grpc.insecure_channel(target, options=options)
        self.stub = protos.event_pb2_grpc().EventServiceStub(self.channel)
        self.health_stub = protos.health_pb2_grpc().HealthStub(self.channel)

    def __repr__(self) -> str:
        return f"grpc:{self.target}"

    def metadata(self) -> list[tuple[str, str]]:
        token = self.authorization()
        return [] if token is None else [("authorization", token)]

    def send(self, event: Any, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        return self.send_request(event_to_proto(event), timeout)

    def send_request(self, request, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        try:
            response = self.stub.ProcessEvent(request, timeout=timeout, metadata=self.metadata())
        except grpc.RpcError as error:
            code = error.code().name
            return Outcome(GRPC_TO_HTTP.get(code, 500), error.details() or "", {}, code)
        body = response_to_body(response)
        return Outcome(200, response.message, body, "OK")

    def healthy(self) -> tuple[bool, str]:
        request = protos.health_pb2().HealthCheckRequest(service="")
        try:
            response = self.health_stub.Check(request, timeout=5.0, metadata=self.metadata())
        except grpc.RpcError as error:
            return False, f"{error.code().name} {error.details()}"
        serving = response.status == protos.health_pb2().HealthCheckResponse.SERVING
        return serving, protos.health_pb2().HealthCheckResponse.ServingStatus.Name(response.status)

    def legacy_health(self):
        return self.stub.HealthCheck(protos.event_pb2().HealthRequest(service=""), timeout=5.0,
                                     metadata=self.metadata())

    def start(self, event: Any, timeout: float):
        """Start a ProcessEvent call and return its future (to cancel it, or let its deadline expire)."""
        return self.stub.ProcessEvent.future(event_to_proto(event), timeout=timeout, metadata=self.metadata())

    def close(self) -> None:
        self.channel.close()


class AbandonedRequest:
    """A complete HTTP/1.1 request sent on a socket of its own, whose client then goes away unanswered."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    @classmethod
    def send(cls, base_url: str, path: str, headers: dict[str, str], body: bytes) -> AbandonedRequest:
        url = urllib.parse.urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        head = [f"POST {url.path.rstrip('/')}{path} HTTP/1.1", f"Host: {host}:{port}",
                f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        return cls(sock)

    def drop(self, reset: bool = False) -> None:
        """Close the connection: a FIN, or with `reset` an RST (SO_LINGER 0), as a killed client does."""
        if self.sock.fileno() == -1:
            return  # already closed
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def wait_until(predicate: Callable[[], bool], seconds: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it holds or `seconds` have passed (one last check at the deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
