"""Deliberately wrong servers, so the fuzzer (runner/fuzz.py) can prove it catches each kind of failure.

- rest:    writes an event before validating it, content type included (a rejected request leaves a row), answers the bulk
           endpoint 500, and leaves `duplicate` out of its success answers (a schema violation).
- grpc:    the same write-before-validate defect, an unhandled exception (UNKNOWN) for an event with two
           entities, and OK answers with success=false.
- grpcweb: answers HTTP 500 to a request that is not one well-formed frame, and exits (a crash) on the
           first message with more than two entities.

Usage: python -m tests.selftest.fuzz_wrong_servers KIND PORT DSN
"""
from __future__ import annotations

import http.server
import json
import os
import re
import struct
import sys
from concurrent import futures

import grpc
import psycopg2

from runner import grpcweb
from tests.conformance import protos
from tests.conformance.checks import UUID_PATTERN
from tests.selftest.wrong_server import JsonHandler

ENTITY_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
S1 = ("INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) "
      "VALUES (%s::uuid, %s, %s, NULL, NULL, %s::jsonb) ON CONFLICT (uuid) DO NOTHING")


class Store:
    def __init__(self, dsn: str):
        self.dsn = dsn

    def insert(self, uuid: str, name: str, event_type: str) -> bool:
        """Stores the event at once (autocommit): the defect under test. True when it was new."""
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(S1, (uuid, name.replace("\x00", ""), event_type.replace("\x00", ""), "{}"))
                return cursor.rowcount == 1
        finally:
            conn.close()


def rest(port: int, store: Store) -> None:
    class Handler(JsonHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/api/v1/events/bulk":
                return self.reply(500, {"error": "internal error", "status": 500})
            if self.path != "/api/v1/events":
                return self.reply(404, {"error": "not found", "status": 404})
            try:
                event = json.loads(body)
            except (ValueError, RecursionError):
                return self.reply(400, {"error": "malformed JSON", "status": 400})
            header = event.get("eventHeader") if isinstance(event, dict) else None
            if not isinstance(header, dict) or not isinstance(header.get("uuid"), str) \
                    or not UUID_PATTERN.match(header["uuid"]):
                return self.reply(400, {"error": "eventHeader.uuid must be a UUID", "status": 400})
            new = store.insert(header["uuid"], str(header.get("eventName")), str(header.get("eventType")))
            media_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if media_type != "application/json":
                return self.reply(415, {"error": "unsupported content type: use application/json", "status": 415})
            for field in ("eventName", "eventType"):
                if not isinstance(header.get(field), str) or not header[field]:
                    return self.reply(400, {"error": f"eventHeader.{field} must be a non-empty string", "status": 400})
            entities = (event.get("eventBody") or {}).get("entities") if isinstance(event.get("eventBody"), dict) else None
            if not isinstance(entities, list) or not 1 <= len(entities) <= 100:
                return self.reply(400, {"error": "eventBody.entities must be an array of 1 to 100 entities",
                                        "status": 400})
            for i, entity in enumerate(entities):
                if not isinstance(entity, dict) or not isinstance(entity.get("entityType"), str) \
                        or not ENTITY_TYPE.match(entity["entityType"]):
                    return self.reply(400, {"error": f"eventBody.entities[{i}].entityType must match "
                                                     "^[A-Za-z][A-Za-z0-9]{0,63}$", "status": 400})
            # No "duplicate": the answer breaks the EventResult schema.
            self.reply(200, {"success": True, "message": "event processed" if new else "duplicate event ignored",
                             "eventUuid": header["uuid"].lower(), "entityCount": len(entities)})

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def grpc_server(port: int, store: Store) -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    pb = protos.event_pb2()

    def process_event(request, context):
        header = request.event_header
        if not UUID_PATTERN.match(header.uuid):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "eventHeader.uuid must be a UUID")
        if len(request.event_body.entities) == 2:
            raise RuntimeError("this server cannot take two entities")  # grpc answers UNKNOWN
        store.insert(header.uuid, header.event_name, header.event_type)
        entities = request.event_body.entities
        if not 1 <= len(entities) <= 100 or any(not ENTITY_TYPE.match(e.entity_type) for e in entities):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "eventBody.entities must be an array of 1 to 100 entities")
        return pb.EventResponse(success=False, message="event processed", event_uuid=header.uuid.lower(),
                                entity_count=len(entities))

    handler = grpc.method_handlers_generic_handler("com.example.grpc.EventService", {
        "ProcessEvent": grpc.unary_unary_rpc_method_handler(
            process_event, request_deserializer=pb.EventRequest.FromString,
            response_serializer=pb.EventResponse.SerializeToString)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


def grpcweb_server(port: int, store: Store) -> None:
    pb = protos.event_pb2()
    health_pb2 = protos.health_pb2()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status: int, body: bytes, content_type: str = "application/grpc-web+proto") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def answer(self, message: bytes | None, code: int) -> None:
            body = grpcweb.encode_frame(message) if message is not None else b""
            self.reply(200, body + grpcweb.encode_frame(f"grpc-status:{code}\r\ngrpc-message:\r\n".encode(), 0x80))

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if len(body) < 5 or struct.unpack(">BI", body[:5]) != (0, len(body) - 5):
                return self.reply(500, b'{"error": "internal error", "status": 500}', "application/json")
            message = body[5:]
            if self.path == "/grpc.health.v1.Health/Check":
                serving = health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
                return self.answer(serving.SerializeToString(), 0)
            try:
                request = pb.EventRequest.FromString(message)
            except Exception:  # noqa: BLE001
                return self.answer(None, 3)
            if len(request.event_body.entities) > 2:
                os._exit(3)  # the crash under test
            return self.answer(None, 3)

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    kind, port, dsn = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    {"rest": rest, "grpc": grpc_server, "grpcweb": grpcweb_server}[kind](port, Store(dsn))


if __name__ == "__main__":
    main()
