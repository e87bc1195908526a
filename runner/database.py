"""The system-under-test database: schema, reset between runs, and what the verification reads."""
from __future__ import annotations

from typing import Any

import psycopg2
import psycopg2.extensions

from perflab.catalogue import ROOT

SCHEMA = ROOT / "db" / "schema.sql"


def one_row(cursor: psycopg2.extensions.cursor, what: str) -> tuple[Any, ...]:
    """The row of a query that always returns exactly one (an aggregate, SHOW, INSERT ... RETURNING)."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg2.DatabaseError(f"the database returned no row for {what}")
    return row


def reset(dsn: str) -> None:
    """Apply the schema (idempotent), empty the tables and zero pg_stat_statements."""
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute(SCHEMA.read_text())
        cursor.execute("TRUNCATE events, entities")
        # Flush the previous measurement's WAL now, not during the next one.
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT pg_stat_statements_reset()")
        cursor.execute("SELECT pg_stat_reset()")
    conn.close()


def counts(dsn: str) -> dict[str, int]:
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM entities)")
        events, entities = one_row(cursor, "the event and entity counts")
    conn.close()
    return {"events": events, "entities": entities}


def snapshot(dsn: str, top: int = 10) -> dict:
    """The database section of a result: top statements, cache-hit ratio, connections."""
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.rows FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
            "AND s.query NOT ILIKE '%%pg_stat_statements%%' ORDER BY s.total_exec_time DESC LIMIT %s", (top,))
        statements = [{"query": q, "calls": c, "totalMs": round(t, 3), "meanMs": round(m, 4), "rows": r}
                      for q, c, t, m, r in cursor.fetchall()]
        cursor.execute("SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()")
        hit, read = one_row(cursor, "pg_stat_database of the current database")
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE state = 'active'), "
                       "count(*) FILTER (WHERE state = 'idle') FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        total, active, idle = one_row(cursor, "pg_stat_activity's connection counts")
        cursor.execute("SHOW server_version")
        version = one_row(cursor, "SHOW server_version")[0]
    conn.close()
    return {"topStatements": statements, "cacheHitRatio": round(hit / (hit + read), 6) if hit + read else None,
            "connections": {"total": total, "active": active, "idle": idle}, "serverVersion": version}
