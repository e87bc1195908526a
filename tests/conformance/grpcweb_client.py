"""gRPC-Web client of the conformance suite (the Lambda gRPC target, behind an HTTP API gateway).

Same interface as `clients.GrpcClient`: the calls go over HTTP/1.1 as gRPC-Web
(`application/grpc-web+proto`, one length-prefixed message frame in; a message frame and a trailers
frame out, https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md), with the protobuf
messages of the suite's generated stubs.
"""
from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import grpc
import httpx

from runner import grpcweb
from tests.conformance import protos
from tests.conformance.clients import (
    DEFAULT_TIMEOUT,
    GRPC_TO_HTTP,
    AbandonedRequest,
    Authorization,
    Outcome,
    WithAuthorization,
    event_to_proto,
    no_authorization,
    response_to_body,
)

EVENT_SERVICE = "/com.example.grpc.EventService"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
BINARY = "application/grpc-web+proto"
TEXT = "application/grpc-web-text"


class GrpcWebError(grpc.RpcError):
    """A non-OK status, shaped like the RpcError of a grpc stub call."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


_CODES = {code.value[0]: code for code in grpc.StatusCode}


# The framing is shared with the runner's readiness probe (runner/grpcweb.py).
frame = grpcweb.encode_frame
parse_frames = grpcweb.decode_response  # message frames and the trailers of a response body


class GrpcWebClient(WithAuthorization):
    kind = "grpcweb"

    def __init__(self, base_url: str, max_message_bytes: int, text: bool = False,
                 authorization: Authorization = no_authorization):
        self.base_url = base_url.rstrip("/")
        self.authorization = authorization
        self.max_message_bytes = max_message_bytes
        self.content_type = TEXT if text else BINARY
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        self.http = httpx.Client(base_url=self.base_url, timeout=DEFAULT_TIMEOUT, limits=limits)

    def __repr__(self) -> str:
        return f"grpcweb:{self.base_url}"

    def post_raw(self, path: str, content: bytes, content_type: str | None = BINARY) -> httpx.Response:
        """POST a body as is: for framing cases the client would never produce itself."""
        headers = self._headers()
        if content_type:
            headers["Content-Type"] = content_type
        return self.http.post(path, content=content, headers=headers)

    def _headers(self) -> dict[str, str]:
        headers = {"X-Grpc-Web": "1"}
        token = self.authorization()
        if token is not None:
            headers["Authorization"] = token
        return headers

    def _body(self, request) -> bytes:
        body = frame(request.SerializeToString())
        return base64.b64encode(body) if self.content_type == TEXT else body

    def call(self, path: str, request, response_type, timeout: float = DEFAULT_TIMEOUT):
        """One unary call; returns the response message or raises GrpcWebError."""
        body = self._body(request)
        text = self.content_type == TEXT
        headers = {**self._headers(), "Content-Type": self.content_type, "Accept": self.content_type}
        try:
            response = self.http.post(path, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:
            raise GrpcWebError(grpc.StatusCode.UNAVAILABLE, f"transport error: {error}") from error
        if response.status_code != 200:
            raise GrpcWebError(_http_to_code(response.status_code),
                               f"HTTP {response.status_code}: {response.text[:200]}")
        content = base64.b64decode(response.content) if text else response.content
        messages, trailers = parse_frames(content)
        # A trailers-only answer may carry the status in the HTTP headers instead.
        status = trailers.get("grpc-status", response.headers.get("grpc-status"))
        message = trailers.get("grpc-message", response.headers.get("grpc-message", ""))
        if status is None:
            raise GrpcWebError(grpc.StatusCode.INTERNAL, "response without grpc-status")
        code = _CODES.get(int(status), grpc.StatusCode.UNKNOWN)
        if code != grpc.StatusCode.OK:
            raise GrpcWebError(code, urllib.parse.unquote(message))
        if len(messages) != 1:
            raise GrpcWebError(grpc.StatusCode.INTERNAL, f"expected one response message, got {len(messages)}")
        return response_type.FromString(messages[0])

    def send(self, event: Any, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        return self.send_request(event_to_proto(event), timeout)

    def send_request(self, request, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        pb = protos.event_pb2()
        try:
            response = self.call(f"{EVENT_SERVICE}/ProcessEvent", request, pb.EventResponse, timeout)
        except GrpcWebError as error:
            code = error.code().name
            return Outcome(GRPC_TO_HTTP.get(code, 500), error.details() or "", {}, code)
        return Outcome(200, response.message, response_to_body(response), "OK")

    def healthy(self) -> tuple[bool, str]:
        pb = protos.health_pb2()
        try:
            response = self.call(HEALTH_CHECK, pb.HealthCheckRequest(service=""), pb.HealthCheckResponse,
                                 timeout=5.0)
        except GrpcWebError as error:
            return False, f"{error.code().name} {error.details()}"
        serving = response.status == pb.HealthCheckResponse.SERVING
        return serving, pb.HealthCheckResponse.ServingStatus.Name(response.status)

    def send_and_abandon(self, event: Any) -> AbandonedRequest:
        """Send a complete call on a connection of its own and leave without reading the answer."""
        headers = {**self._headers(), "Content-Type": self.content_type, "Accept": self.content_type}
        return AbandonedRequest.send(self.base_url, f"{EVENT_SERVICE}/ProcessEvent", headers,
                                     self._body(event_to_proto(event)))

    def legacy_health(self):
        pb = protos.event_pb2()
        return self.call(f"{EVENT_SERVICE}/HealthCheck", pb.HealthRequest(service=""), pb.HealthResponse,
                         timeout=5.0)

    def close(self) -> None:
        self.http.close()


def _http_to_code(http_status: int) -> grpc.StatusCode:
    # The mapping gRPC-Web clients apply to an HTTP status without a grpc-status.
    return {400: grpc.StatusCode.INTERNAL, 401: grpc.StatusCode.UNAUTHENTICATED,
            403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.UNIMPLEMENTED,
            429: grpc.StatusCode.UNAVAILABLE, 502: grpc.StatusCode.UNAVAILABLE,
            503: grpc.StatusCode.UNAVAILABLE, 504: grpc.StatusCode.UNAVAILABLE}.get(http_status,
                                                                                    grpc.StatusCode.UNKNOWN)
