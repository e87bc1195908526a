"""A deliberately wrong REST server: it writes what it is sent without validating anything.

It exists only so the conformance suite can prove it fails a server that skips validation.
Usage: python -m tests.selftest.wrong_server PORT DSN
"""
from __future__ import annotations

import http.server
import json
import sys

import psycopg2
import psycopg2.pool

S1 = ("INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) "
      "VALUES (%s::uuid, %s, %s, %s::timestamptz, %s::timestamptz, %s::jsonb) ON CONFLICT (uuid) DO NOTHING")
S2 = ("INSERT INTO entities (entity_type, entity_id, data) VALUES (%s, %s, %s::jsonb) "
      "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, updated_at = now()")


class Handler(http.server.BaseHTTPRequestHandler):
    pool: psycopg2.pool.ThreadedConnectionPool

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

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/api/v1/events":
            return self.reply(404, {"error": "not found", "status": 404})
        try:
            event = json.loads(body)
            header, entities = event["eventHeader"], event["eventBody"]["entities"]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "malformed JSON", "status": 400})
        conn = self.pool.getconn()
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
        except psycopg2.Error:
            return self.reply(500, {"error": "internal error", "status": 500})
        finally:
            self.pool.putconn(conn)
        self.reply(200, {"success": True, "message": "duplicate event ignored" if duplicate else "event processed",
                         "eventUuid": str(header.get("uuid")).lower(), "entityCount": len(entities),
                         "duplicate": duplicate})


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]
    Handler.pool = psycopg2.pool.ThreadedConnectionPool(1, 64, dsn)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
