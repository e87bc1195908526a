"""The metrics database: migrations from `db/metrics/` and loading of results documents.

Loading is idempotent: a run is stored under its run id, and loading it again replaces the earlier copy in
the same transaction (concurrent loads of one run wait for each other), so `bench db load` can be run any
number of times. The database lives in a volume that outlives `bench down` (stacks/database.py); the
documents under results/ stay the source of truth it can always be rebuilt from.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from perflab.catalogue import ROOT
from perflab.results import Phase, RunDocument
from runner.database import one_row

MIGRATIONS = ROOT / "db" / "metrics"
# pg_advisory_xact_lock keys: one for migrations, and per run id (hashtext) for loads of that run.
MIGRATION_LOCK = 7_463_001
CONNECT_TIMEOUT = 5


def _connect(dsn: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(dsn, connect_timeout=CONNECT_TIMEOUT)


def migrate(dsn: str) -> list[str]:
    """Apply the migrations not yet applied, in file-name order, in one transaction; return their names."""
    applied_now = []
    conn = _connect(dsn)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))  # one migrator at a time
            cursor.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
                           "applied_at timestamptz NOT NULL DEFAULT now())")
            cursor.execute("SELECT name FROM schema_migrations")
            applied = {row[0] for row in cursor.fetchall()}
            for path in sorted(MIGRATIONS.glob("*.sql")):
                if path.name not in applied:
                    cursor.execute(path.read_text())
                    cursor.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                    applied_now.append(path.name)
    finally:
        conn.close()
    return applied_now


def _json(model) -> str | None:
    return None if model is None else json.dumps(model.model_dump(mode="json", by_alias=True))


PHASE_COLUMNS = ("result_id", "position", "name", "vus", "rate", "started_at", "ended_at", "requests", "failures",
                 "throughput", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms",
                 "errors_by_code", "thresholds", "resources", "efficiency", "generator_saturated",
                 "reference_tps", "reference_fraction")
REFERENCE_COLUMNS = ("run_id", "position", "payload_size", "name", "vus", "clients", "threads", "duration_seconds",
                     "transactions", "failed_transactions", "tps", "latency_ms_avg", "entities_per_transaction",
                     "command")


def _phase_row(result_id: int, position: int, phase: Phase) -> tuple:
    latency = phase.latency_ms
    return (result_id, position, phase.name, phase.vus, phase.rate, phase.start, phase.end, phase.requests,
            phase.failures, phase.throughput, latency.p50, latency.p90, latency.p95, latency.p99, latency.p999,
            latency.max, latency.mean, json.dumps(phase.errors_by_code), _json(phase.thresholds),
            json.dumps({role: r.model_dump(mode="json", by_alias=True) for role, r in phase.resources.items()}),
            _json(phase.efficiency), phase.generator_saturated,
            phase.reference.throughput if phase.reference else None, phase.reference_fraction)


def _store(cursor, document: RunDocument) -> bool:
    """One document into the open transaction, replacing an earlier copy; True if there was one."""
    env = document.environment
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (document.run_id,))
    cursor.execute("DELETE FROM runs WHERE run_id = %s", (document.run_id,))  # cascades to everything below
    replaced = cursor.rowcount > 0
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
        rows = [_phase_row(result_id, position, phase) for position, phase in enumerate(result.phases)]
        if rows:
            psycopg2.extras.execute_values(cursor, f"INSERT INTO phases ({', '.join(PHASE_COLUMNS)}) VALUES %s", rows)
    references = [(document.run_id, position, ref.payload_size, ref.name, ref.vus, ref.clients, ref.threads,
                   ref.duration_seconds, ref.transactions, ref.failed_transactions, ref.tps, ref.latency_ms_avg,
                   ref.entities_per_transaction, ref.command) for position, ref in enumerate(document.references)]
    if references:
        psycopg2.extras.execute_values(
            cursor, f"INSERT INTO reference_phases ({', '.join(REFERENCE_COLUMNS)}) VALUES %s", references)
    return replaced


def load(dsn: str, document: RunDocument) -> bool:
    """Store one results document (replacing an earlier load of the same run); True if it replaced one."""
    conn = _connect(dsn)
    try:
        with conn, conn.cursor() as cursor:
            return _store(cursor, document)
    finally:
        conn.close()


@dataclasses.dataclass
class LoadReport:
    added: list[str] = dataclasses.field(default_factory=list)     # runs the database did not hold
    replaced: list[str] = dataclasses.field(default_factory=list)  # runs it held, stored again from the document


def load_all(dsn: str, documents: Iterable[RunDocument]) -> LoadReport:
    """Store every document, each in its own transaction (one bad document leaves the others loaded)."""
    report = LoadReport()
    conn = _connect(dsn)
    try:
        for document in documents:
            with conn, conn.cursor() as cursor:
                replaced = _store(cursor, document)
            (report.replaced if replaced else report.added).append(document.run_id)
    finally:
        conn.close()
    return report


def stored_runs(dsn: str) -> set[str]:
    """The run ids the metrics database holds."""
    conn = _connect(dsn)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('runs') IS NOT NULL")
            if not one_row(cursor, "to_regclass")[0]:
                return set()  # never migrated: nothing loaded yet
            cursor.execute("SELECT run_id FROM runs")
            return {row[0] for row in cursor.fetchall()}
    finally:
        conn.close()
