"""The system-under-test database: schema, reset between runs, and what the verification reads."""
from __future__ import annotations

import psycopg2

from runner.catalogue import ROOT

SCHEMA = ROOT / "db" / "schema.sql"


def reset(dsn: str) -> None:
    """Apply the schema (idempotent), empty the tables and zero pg_stat_statements."""
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute(SCHEMA.read_text())
        cursor.execute("TRUNCATE events, entities")
        cursor.execute("SELECT pg_stat_statements_reset()")
    conn.close()


def counts(dsn: str) -> dict[str, int]:
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM entities)")
        events, entities = cursor.fetchone()
    conn.close()
    return {"events": events, "entities": entities}
