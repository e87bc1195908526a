"""Verification of a load run: a benchmark of an API that did not do the contract's work is not a result.

Two checks, both from the database itself:
- every acknowledged event is persisted, and nothing beyond what may have been stored by requests with an
  ambiguous outcome (timeouts, broken connections);
- `pg_stat_statements` shows the contract's statements and nothing else touching its tables: one event
  insert per event that reached the database and one entity upsert per entity of each new event.
"""
from __future__ import annotations

import dataclasses

import psycopg2

from runner.contract import S1, S2
from runner.database import one_row

MAX_ENTITIES_PER_EVENT = 100  # the contract's bound


@dataclasses.dataclass
class Verification:
    passed: bool
    acknowledged: int
    persisted: int
    ambiguous: int
    event_insert_calls: int
    entity_upsert_calls: int
    other_statements: list[str]
    details: str

    def as_dict(self) -> dict:
        return {"passed": self.passed, "acknowledged": self.acknowledged, "persisted": self.persisted,
                "ambiguous": self.ambiguous,
                "statements": {"eventInsertCalls": self.event_insert_calls,
                               "entityUpsertCalls": self.entity_upsert_calls,
                               "otherStatementsOnTables": self.other_statements},
                "details": self.details}


def _statements(cursor) -> dict[str, tuple[int, int]]:
    cursor.execute("SELECT s.query, sum(s.calls)::bigint, sum(s.rows)::bigint FROM pg_stat_statements s "
                   "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() GROUP BY s.query")
    return {query: (calls, rows) for query, calls, rows in cursor.fetchall()}


def verify(dsn: str, acknowledged: int, ambiguous: int, entities_per_event: int = 1) -> Verification:
    """Check the database after a run that started from an empty, reset database."""
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        statements = _statements(cursor)  # first, so the verifier's own queries below are not in it
        cursor.execute("SELECT count(*) FROM events")
        persisted = one_row(cursor, "the count of events")[0]
        cursor.execute("SELECT coalesce(sum(jsonb_array_length(payload->'eventBody'->'entities')), 0) FROM events")
        entities_written = int(one_row(cursor, "the sum of the events' entities")[0])
    conn.close()
    s1_calls, s1_rows = statements.get(S1, (0, 0))
    s2_calls, _ = statements.get(S2, (0, 0))
    others = sorted(q for q in statements if q not in (S1, S2) and ("events" in q.lower() or "entities" in q.lower())
                    and "pg_stat_statements" not in q and not q.lstrip().upper().startswith(("TRUNCATE", "CREATE")))
    problems = []
    if not acknowledged <= persisted <= acknowledged + ambiguous:
        problems.append(f"{acknowledged} events acknowledged but {persisted} persisted"
                        f" ({ambiguous} ambiguous outcomes)")
    # pg_stat_statements also counts statements of transactions rolled back after a client gave up
    # (an ambiguous outcome), so those may add to the calls, never subtract.
    if not persisted <= s1_rows <= persisted + ambiguous:
        problems.append(f"the event insert stored {s1_rows} rows, the table holds {persisted}")
    if not entities_written <= s2_calls <= entities_written + ambiguous * MAX_ENTITIES_PER_EVENT:
        problems.append(f"{s2_calls} entity upserts for {entities_written} entities of stored events")
    if others:
        problems.append(f"statements outside the contract touched its tables: {others[:3]}")
    details = "; ".join(problems) if problems else (
        f"{persisted} events persisted == {acknowledged} acknowledged; {s1_calls} event inserts, "
        f"{s2_calls} entity upserts, no other statement on the contract's tables")
    return Verification(not problems, acknowledged, persisted, ambiguous, s1_calls, s2_calls, others, details)
