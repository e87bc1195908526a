"""The metrics database's loader and migrations (runner/metricsdb.py, db/metrics/) against a real PostgreSQL:
the stack's metrics server, in a scratch database created and dropped here, so the run history in the
stack's own database is never touched.

Loading is idempotent (twice = one copy; a changed document replaces the stored one), the database
reference is stored (every reference phase, and per phase its tps and fraction), and the migration that
added it keeps — and fills — the data loaded before it.
"""
from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator

import psycopg2
import pytest

from perflab import results as results_model
from runner import metricsdb, reference
from runner import stack as lab_stack
from runner.database import one_row

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "reports" / "fixtures" / "20261128T041500Z-3f9c2a"


@pytest.fixture(scope="module")
def server_dsn(request) -> str:
    """The stack's metrics server: reused when the stack is up, else brought up like the other modules."""
    outputs = lab_stack.outputs("local") or request.getfixturevalue("outputs")
    return outputs["metricsDatabase"]["dsn"]


@pytest.fixture
def scratch_dsn(server_dsn: str) -> Iterator[str]:
    name = f"metricsdb_test_{os.getpid()}"
    admin = psycopg2.connect(server_dsn, connect_timeout=5)
    admin.autocommit = True  # CREATE / DROP DATABASE cannot run in a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
        yield server_dsn.rsplit("/", 1)[0] + "/" + name
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()


def document_with_references() -> results_model.RunDocument:
    """A committed run (two payload sizes, 10 results, one with no phases) with the database reference added
    as `bench run --reference` adds it."""
    document = json.loads((FIXTURE / results_model.RUN_FILE).read_text())
    references = [{"payloadSize": size, "name": name, "vus": vus, "clients": vus, "threads": 1,
                   "durationSeconds": 10.0, "transactions": 40_000 + vus, "failedTransactions": 0,
                   "tps": 4000.0 + vus, "latencyMsAvg": 2.5, "entitiesPerTransaction": 3,
                   "command": "pgbench -n -M prepared"}
                  for size in ("default", "4k") for name, vus in (("warm", 10), ("steady", 50), ("peak", 100))]
    document["references"] = references
    reference.apply(document["results"], references)
    return results_model.validate(document)


def counts(dsn: str, run_id: str) -> dict[str, int]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        figures = {}
        for table, query in {
            "runs": "SELECT count(*) FROM runs WHERE run_id = %s",
            "results": "SELECT count(*) FROM results WHERE run_id = %s",
            "phases": "SELECT count(*) FROM phases JOIN results USING (result_id) WHERE run_id = %s",
            "reference_phases": "SELECT count(*) FROM reference_phases WHERE run_id = %s",
        }.items():
            cursor.execute(query, (run_id,))
            figures[table] = one_row(cursor, table)[0]
    conn.close()
    return figures


def test_migrations_apply_once(scratch_dsn):
    assert metricsdb.migrate(scratch_dsn) == sorted(p.name for p in metricsdb.MIGRATIONS.glob("*.sql"))
    assert metricsdb.migrate(scratch_dsn) == []
    assert metricsdb.stored_runs(scratch_dsn) == set()


def test_loading_twice_leaves_one_copy(scratch_dsn):
    document = document_with_references()
    expected = {"runs": 1, "results": len(document.results),
                "phases": sum(len(r.phases) for r in document.results), "reference_phases": 6}
    assert expected["phases"] == 27  # 9 results with 3 phases, one that never ran
    metricsdb.migrate(scratch_dsn)
    assert metricsdb.load(scratch_dsn, document) is False  # nothing replaced: a new run
    assert counts(scratch_dsn, document.run_id) == expected
    assert metricsdb.load(scratch_dsn, document) is True  # the stored copy replaced
    assert counts(scratch_dsn, document.run_id) == expected
    report = metricsdb.load_all(scratch_dsn, [document, document])
    assert (report.added, report.replaced) == ([], [document.run_id, document.run_id])
    assert counts(scratch_dsn, document.run_id) == expected
    assert metricsdb.stored_runs(scratch_dsn) == {document.run_id}


def test_reloading_a_changed_document_replaces_the_stored_one(scratch_dsn):
    document = document_with_references()
    metricsdb.migrate(scratch_dsn)
    metricsdb.load(scratch_dsn, document)
    changed = document.model_copy(deep=True)
    changed.results[0].status = "failed"
    changed.results[0].problem = "re-verified"
    changed.references = changed.references[:2]
    metricsdb.load(scratch_dsn, changed)
    with psycopg2.connect(scratch_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT status, problem FROM results WHERE run_id = %s AND api = 'go-rest' "
                       "AND payload_size = 'default'", (document.run_id,))
        assert cursor.fetchall() == [("failed", "re-verified")]
        cursor.execute("SELECT document->'results'->0->>'status' FROM runs WHERE run_id = %s", (document.run_id,))
        assert cursor.fetchone() == ("failed",)
    conn.close()
    assert counts(scratch_dsn, document.run_id)["reference_phases"] == 2


def test_the_database_reference_is_stored_per_run_and_per_phase(scratch_dsn):
    document = document_with_references()
    metricsdb.migrate(scratch_dsn)
    metricsdb.load(scratch_dsn, document)
    with psycopg2.connect(scratch_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT payload_size, name, vus, clients, tps, transactions FROM reference_phases "
                       "WHERE run_id = %s ORDER BY position", (document.run_id,))
        assert cursor.fetchall()[:2] == [("default", "warm", 10, 10, 4010.0, 40_010),
                                         ("default", "steady", 50, 50, 4050.0, 40_050)]
        cursor.execute("SELECT p.name, p.throughput, p.reference_tps, p.reference_fraction FROM phases p "
                       "JOIN results r USING (result_id) WHERE r.run_id = %s AND r.api = 'go-rest' "
                       "AND r.payload_size = '4k' ORDER BY p.position", (document.run_id,))
        rows = cursor.fetchall()
    conn.close()
    phases = next(r for r in document.results if (r.api, r.payload_size) == ("go-rest", "4k")).phases
    assert [(name, tps) for name, _, tps, _ in rows] == [("warm", 4010.0), ("steady", 4050.0), ("peak", 4100.0)]
    for (_, throughput, tps, fraction), phase in zip(rows, phases, strict=True):
        assert fraction == pytest.approx(throughput / tps) == pytest.approx(phase.reference_fraction)


def test_the_reference_migration_keeps_and_fills_runs_loaded_before_it(scratch_dsn):
    """A database at migration 002 with a run in it (as the loader of that time stored it): 003 adds the
    reference table and columns and fills them from the stored document; nothing else changes."""
    document = document_with_references()
    with psycopg2.connect(scratch_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY, "
                       "applied_at timestamptz NOT NULL DEFAULT now())")
        for name in ("001_results.sql", "002_memory_per_1k_rps.sql"):
            cursor.execute((metricsdb.MIGRATIONS / name).read_text())
            cursor.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
        cursor.execute("INSERT INTO runs (run_id, mode, stack, started_at, environment, config, document) "
                       "VALUES (%s, %s, %s, %s, '{}', '{}', %s)",
                       (document.run_id, document.mode, document.stack, document.started_at,
                        json.dumps(document.to_dict())))
        for result in document.results:
            cursor.execute("INSERT INTO results (run_id, api, payload_size, repeat, status) VALUES (%s, %s, %s, %s, %s) "
                           "RETURNING result_id", (document.run_id, result.api, result.payload_size, result.repeat,
                                                   result.status))
            result_id = cursor.fetchone()[0]
            for position, phase in enumerate(result.phases):
                cursor.execute("INSERT INTO phases (result_id, position, name, throughput, p95_ms) "
                               "VALUES (%s, %s, %s, %s, %s)", (result_id, position, phase.name, phase.throughput,
                                                               phase.latency_ms.p95))
    conn.close()
    before = counts_without_references(scratch_dsn)

    assert metricsdb.migrate(scratch_dsn) == ["003_references.sql"]
    assert counts(scratch_dsn, document.run_id)["reference_phases"] == 6
    assert counts_without_references(scratch_dsn) == before  # the stored rows and figures are untouched
    with psycopg2.connect(scratch_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), count(reference_tps), count(reference_fraction) FROM phases")
        assert cursor.fetchone() == (27, 27, 27)
        cursor.execute("SELECT p.reference_tps, p.reference_fraction FROM phases p JOIN results r USING (result_id) "
                       "WHERE r.api = 'rust-rest' AND r.payload_size = 'default' AND p.name = 'peak'")
        tps, fraction = cursor.fetchone()
    conn.close()
    phase = next(r for r in document.results if (r.api, r.payload_size) == ("rust-rest", "default")).phases[2]
    assert (tps, fraction) == (4100.0, pytest.approx(phase.reference_fraction))


def counts_without_references(dsn: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT r.api, r.payload_size, r.status, p.position, p.name, p.throughput, p.p95_ms "
                       "FROM results r LEFT JOIN phases p USING (result_id) ORDER BY 1, 2, 4")
        rows = cursor.fetchall()
    conn.close()
    return rows
