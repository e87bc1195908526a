"""A deliberately wrong REST server: it writes what it is sent without validating anything.

It exists only so the conformance suite can prove it fails a server that breaks the contract. Its defects,
one per rule the suite checks:
- no validation at all (no number limit either: `json.loads` takes a number of any length);
- no authentication: whatever the `Authorization` header, the event is written;
- no waiting for a connection: a request beyond the pool's POOL_MAX connections is refused at once (503);
- a client that goes away cancels the transaction (it is rolled back instead of committed).
Usage: python -m tests.selftest.wrong_server PORT DSN [POOL_MAX]
"""
from __future__ import annotations

import http.server
import json
import select
import socket
import sys

import psycopg2
import psycopg2.pool

S1 = ("INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) "
      "VALUES (%s::uuid, %s, %s, %s::timestamptz, %s::timestamptz, %s::jsonb) ON CONFLICT (uuid) DO NOTHING")
S2 = ("INSERT INTO entities (entity_type, entity_id, data) VALUES (%s, %s, %s::jsonb) "
      "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, updated_at = now()")


class ClientGone(Exception):
    pass


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A silent HTTP handler answering JSON, whose health endpoint always says healthy: the part every wrong
    server shares (this one and tests/selftest/fuzz_wrong_servers.py)."""

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/api/v1/events/health":
            return self.reply(200, {"status": "healthy"})
        return self.reply(404, {"error": "not found", "status": 404})


class Handler(JsonHandler):
    pool: psycopg2.pool.ThreadedConnectionPool

    def client_gone(self) -> bool:
        """The client closed or reset its connection (readable, and at its end)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/api/v1/events":
            return self.reply(404, {"error": "not found", "status": 404})
        try:
            event = json.loads(body)
            header, entities = event["eventHeader"], event["eventBody"]["entities"]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "malformed JSON", "status": 400})
        try:
            conn = self.pool.getconn()
        except psycopg2.pool.PoolError:  # refused at once instead of waiting DB_ACQUIRE_TIMEOUT: a defect
            return self.reply(503, {"error": "database unavailable", "status": 503})
        try:
            with conn, conn.cursor() as cursor:  # no validation at all: the defect under test
                cursor.execute(S1, (header.get("uuid"), header.get("eventName"), header.get("eventType"),
                                    header.get("createdDate") or None, header.get("savedDate") or None,
                                    json.dumps(event)))
                duplicate = cursor.rowcount == 0
                if not duplicate:
                    for item in entities:
                        cursor.execute(S2, (item.get("entityType"), item.get("entityId"),
                                            json.dumps(item.get("updatedAttributes"))))
                if self.client_gone():  # interrupting the transaction for a departed client: a defect
                    raise ClientGone()
        except ClientGone:
            return None
        except psycopg2.Error:
            return self.reply(500, {"error": "internal error", "status": 500})
        finally:
            self.pool.putconn(conn)
        self.reply(200, {"success": True, "message": "duplicate event ignored" if duplicate else "event processed",
                         "eventUuid": str(header.get("uuid")).lower(), "entityCount": len(entities),
                         "duplicate": duplicate})


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]
    pool_max = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    Handler.pool = psycopg2.pool.ThreadedConnectionPool(1, pool_max, dsn)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
