"""The metrics database: migrations from `db/metrics/` and loading of results documents."""
from __future__ import annotations

import json

import psycopg2
import psycopg2.extras

from perflab.catalogue import ROOT

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


def load(dsn: str, document: dict) -> None:
    """Store one results document (replacing an earlier load of the same run)."""
    env = document["environment"]
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM runs WHERE run_id = %s", (document["runId"],))
        cursor.execute(
            "INSERT INTO runs (run_id, mode, stack, started_at, finished_at, git_commit, git_dirty, environment,"
            " config, document) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (document["runId"], document["mode"], document["stack"], document["startedAt"],
             document.get("finishedAt"), env.get("gitCommit"), env.get("gitDirty"), json.dumps(env),
             json.dumps(document["config"]), json.dumps(document)))
        for result in document["results"]:
            verification = result.get("verification") or {}
            cursor.execute(
                "INSERT INTO results (run_id, api, language, framework, protocol, deployment, payload_size, repeat,"
                " status, problem, verified, startup_seconds, overhead_seconds, verification, database_stats)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING result_id",
                (document["runId"], result["api"], result.get("language"), result.get("framework"),
                 result.get("protocol"), result.get("deployment"), result["payloadSize"], result["repeat"],
                 result["status"], result.get("problem"), verification.get("passed"), result.get("startupSeconds"),
                 result.get("overheadSeconds"), json.dumps(verification), json.dumps(result.get("database"))))
            result_id = cursor.fetchone()[0]
            rows = []
            for position, phase in enumerate(result.get("phases", [])):
                latency = phase.get("latencyMs") or {}
                rows.append((result_id, position, phase["name"], phase.get("vus"), phase.get("rate"),
                             phase.get("start"), phase.get("end"), phase.get("requests"), phase.get("failures"),
                             phase.get("throughput"), latency.get("p50"), latency.get("p90"), latency.get("p95"),
                             latency.get("p99"), latency.get("p999"), latency.get("max"), latency.get("mean"),
                             json.dumps(phase.get("errorsByCode")), json.dumps(phase.get("thresholds")),
                             json.dumps(phase.get("resources")), json.dumps(phase.get("efficiency")),
                             phase.get("generatorSaturated")))
            psycopg2.extras.execute_values(cursor, "INSERT INTO phases VALUES %s", rows)
    conn.close()
