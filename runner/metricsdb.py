"""The metrics database: migrations from `db/metrics/` and loading of results documents."""
from __future__ import annotations

import json

import psycopg2
import psycopg2.extras

from perflab.catalogue import ROOT
from perflab.results import RunDocument
from runner.database import one_row

MIGRATIONS = ROOT / "db" / "metrics"


def migrate(dsn: str) -> list[str]:
    """Apply the migrations not yet applied, in file-name order; return their names."""
    applied_now = []
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
                       "applied_at timestamptz NOT NULL DEFAULT now())")
        cursor.execute("SELECT name FROM schema_migrations")
        applied = {row[0] for row in cursor.fetchall()}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name not in applied:
                cursor.execute(path.read_text())
                cursor.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                applied_now.append(path.name)
    conn.close()
    return applied_now


def _json(model) -> str | None:
    return None if model is None else json.dumps(model.model_dump(mode="json", by_alias=True))


def load(dsn: str, document: RunDocument) -> None:
    """Store one results document (replacing an earlier load of the same run): loading is idempotent."""
    env = document.environment
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM runs WHERE run_id = %s", (document.run_id,))
        cursor.execute(
            "INSERT INTO runs (run_id, mode, stack, started_at, finished_at, git_commit, git_dirty, environment,"
            " config, document) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (document.run_id, document.mode, document.stack, document.started_at, document.finished_at,
             env.git_commit, env.git_dirty, _json(env), _json(document.config), json.dumps(document.to_dict())))
        for result in document.results:
            verification = result.verification
            cursor.execute(
                "INSERT INTO results (run_id, api, language, framework, protocol, deployment, payload_size, repeat,"
                " status, problem, verified, startup_seconds, overhead_seconds, verification, database_stats)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING result_id",
                (document.run_id, result.api, result.language, result.framework, result.protocol,
                 result.deployment, result.payload_size, result.repeat, result.status, result.problem,
                 verification.passed if verification else None, result.startup_seconds, result.overhead_seconds,
                 _json(verification) or "{}", json.dumps(result.database)))
            result_id = one_row(cursor, "INSERT INTO results ... RETURNING result_id")[0]
            rows = []
            for position, phase in enumerate(result.phases):
                latency = phase.latency_ms
                rows.append((result_id, position, phase.name, phase.vus, phase.rate, phase.start, phase.end,
                             phase.requests, phase.failures, phase.throughput, latency.p50, latency.p90,
                             latency.p95, latency.p99, latency.p999, latency.max, latency.mean,
                             json.dumps(phase.errors_by_code), _json(phase.thresholds),
                             json.dumps({role: r.model_dump(mode="json", by_alias=True)
                                         for role, r in phase.resources.items()}),
                             _json(phase.efficiency), phase.generator_saturated))
            if rows:
                psycopg2.extras.execute_values(cursor, "INSERT INTO phases VALUES %s", rows)
    conn.close()
