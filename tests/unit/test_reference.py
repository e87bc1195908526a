"""The database reference (runner/reference.py): its pgbench script runs the contract's statements for the
generator's own events, and pgbench's output is read into typed figures. The run on a real database is
tests/runner/test_reference.py."""
from __future__ import annotations

import json
import re

import pytest

from runner import reference, shapes
from runner.contract import S1, S2

DESCRIBED = shapes.describe()

# pgbench 15.18 (the lab's PostgreSQL image) running a generated script against a database limited to 1 CPU.
CAPTURED = """pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /reference/pgbench.sql
scaling factor: 1
query mode: prepared
number of clients: 10
number of threads: 1
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 7183
number of failed transactions: 0 (0.000%)
latency average = 13.195 ms
initial connection time = 658.129 ms
tps = 757.877900 (without initial connection time)
"""

# The same, ending by count (smoke: -c 1 -t 5).
CAPTURED_BY_COUNT = """pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /reference/pgbench.sql
scaling factor: 1
query mode: prepared
number of clients: 1
number of threads: 1
maximum number of tries: 1
number of transactions per client: 5
number of transactions actually processed: 5/5
number of failed transactions: 0 (0.000%)
latency average = 2.019 ms
initial connection time = 16.626 ms
tps = 495.294700 (without initial connection time)
"""


@pytest.fixture(scope="module", params=DESCRIBED.payload_order)
def size(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def work(size) -> reference.Workload:
    return reference.workload(size, 10000, reference.sample_events(size, 10000))


def _sql_lines(script: str) -> list[str]:
    return [line for line in script.splitlines()
            if line and not line.startswith(("--", "\\")) and not line.endswith("\\gset")]


def test_the_script_runs_the_contracts_statements_byte_for_byte(work):
    script = reference.script(work)
    lines = _sql_lines(script)
    # Per slot: BEGIN, S1, one S2 per entity, COMMIT — and nothing else but the one batch query.
    batch = [line for line in script.splitlines() if line.endswith("\\gset")]
    assert len(batch) == 1 and batch[0].startswith("SELECT gen_random_uuid() AS u0, ")
    per_slot = 3 + work.entities_per_event
    assert len(lines) == work.slots * per_slot
    for j in range(work.slots):
        block = lines[j * per_slot:(j + 1) * per_slot]
        assert block[0] == "BEGIN;" and block[-1] == "COMMIT;"
        # What pgbench sends in prepared mode: :variables numbered $1.. in order, the semicolon dropped.
        assert reference.pgbench_statement(block[1]) == S1
        assert all(reference.pgbench_statement(line) == S2 for line in block[2:-1])
        assert f":u{j}::uuid" in block[1] and f":i{j}, " in block[2]  # each slot its own fresh uuid and id
    assert script.count("\\if :k = 0") == 2 and f"\\set k (:k + 1) % {work.slots}" in script
    assert "-M prepared" in script  # the header says how it is meant to run


def test_the_payloads_are_the_generators_within_its_tolerance(work, size):
    target = DESCRIBED.payload_bytes[size]
    values = reference.variables(work)
    assert values["k"] == "0"
    for m in range(len(work.events)):
        body = values[f"p{m}"]
        assert abs(len(body.encode()) - target) <= target * DESCRIBED.payload_tolerance
        assert json.loads(body)["eventHeader"]["eventName"] == values[f"n{m}"]
        # S2's $3 is the attributes' exact text inside the body (numbers keep their digits: 915.30).
        assert f'"entityType":"{values[f"t{m}"]}",' in body
        assert '"updatedAttributes":' + values[f"a{m}"] + "}]}}" in body
        assert json.loads(values[f"a{m}"]) == json.loads(body)["eventBody"]["entities"][0]["updatedAttributes"]
    # Large payloads: fewer distinct events, so the -D texts stay within the command line's limits.
    assert sum(len(v) for v in values.values()) <= reference.VARIABLE_BYTES_BUDGET + 4096
    assert work.slots % len(work.events) == 0


def test_entity_ids_come_from_the_generators_pool_scheme():
    for pool in (500, 10000, 2_000_000):
        events = reference.sample_events("default", pool)
        work = reference.workload("default", pool, events)
        query = reference.batch_query(work)
        ids = re.findall(r"'([a-z]+)-' \|\| lpad\(floor\(random\(\) \* (\d+)\)::int::text, (\d+), '0'\) AS i(\d+)", query)
        assert [int(j) for *_, j in ids] == list(range(work.slots))
        sampled_widths = {len(json.loads(e.body)["eventBody"]["entities"][0]["entityId"].rsplit("-", 1)[1])
                          for e in events}
        assert sampled_widths == {{500: 6, 10000: 6, 2_000_000: 7}[pool]}
        for prefix, drawn_from, width, j in ids:
            entity = work.events[int(j) % len(work.events)].entities[0]
            # The id's prefix is its type's in the generator's events, its number uniform over the pool,
            # zero-padded to the width the generator uses for this pool.
            assert prefix == entity.id_prefix and int(drawn_from) == pool
            assert {int(width)} == sampled_widths
        # The generator draws kinds uniformly: slots take the sampled kinds in turn.
        kinds = [e.entities[0].type for e in work.events]
        assert len(set(kinds)) == 4 and all(kinds.count(k) == len(kinds) // 4 for k in set(kinds))


def test_several_entities_per_event_are_refused_not_approximated():
    (event, *_) = reference.sample_events("default", 10000, count=1)
    double = reference.Event(event.body, event.event_name, event.event_type, event.created_date, event.saved_date,
                             event.entities * 2)
    with pytest.raises(reference.ReferenceError, match="exactly one"):
        reference.workload("default", 10000, [double])


def test_pgbench_output_is_read_into_typed_figures():
    output = reference.parse_output(CAPTURED)
    assert output == reference.PgbenchOutput(clients=10, threads=1, query_mode="prepared", duration_seconds=10.0,
                                             transactions=7183, failed=0, latency_ms_avg=13.195, tps=757.8779,
                                             connection_ms=658.129)
    by_count = reference.parse_output(CAPTURED_BY_COUNT)
    assert (by_count.transactions, by_count.duration_seconds, by_count.tps) == (5, None, 495.2947)
    with pytest.raises(reference.ReferenceError, match="tps"):
        reference.parse_output(CAPTURED.replace("tps = ", "tps: "))


def test_the_reference_check_wants_the_contracts_text_and_consistent_counts():
    reference.check({S1: (100, 100), S2: (100, 100), "events": (100, 0)}, 1)
    with pytest.raises(reference.ReferenceError, match="exact text"):
        reference.check({S1: (100, 100), "events": (100, 0)}, 1)
    with pytest.raises(reference.ReferenceError, match="do not add up"):
        reference.check({S1: (100, 90), S2: (100, 100), "events": (100, 0)}, 1)


def test_the_password_never_reaches_the_command_line():
    dbname, password = reference.split_dsn("postgresql://bench:s%40cret@127.0.0.1:5433/events")
    assert (dbname, password) == ("postgresql://bench@127.0.0.1:5433/events", "s@cret")
    arguments = reference.pgbench_arguments(10, 1, 5, None, {"k": "0", "p0": "x" * 400}, dbname)
    assert arguments[:10] == ["-n", "-M", "prepared", "-f", "/reference/pgbench.sql", "-c", "10", "-j", "1", "-T"]
    shown = reference.shown_command(arguments, "reference-default/variables.json")
    assert shown == ("pgbench -n -M prepared -f /reference/pgbench.sql -c 10 -j 1 -T 5 [-D NAME=VALUE for each of "
                     "the 2 entries of reference-default/variables.json] postgresql://bench@127.0.0.1:5433/events")


def test_phases_run_whole_seconds_of_each_hold():
    full = shapes.describe(0.04).mode("full")
    plans = reference.phase_plans(full)
    assert [(p.name, p.vus) for p in plans] == [(p.name, p.vus) for p in full.phases]
    assert all(p.seconds == max(1, round(q.hold_seconds)) and p.transactions is None for p, q in zip(plans, full.phases))
    (smoke,) = reference.phase_plans(DESCRIBED.mode("smoke"))
    assert smoke.seconds is None and smoke.transactions == DESCRIBED.mode("smoke").phases[0].iterations


def test_each_phase_gets_its_payload_sizes_and_phases_fraction():
    references = [{"payloadSize": "default", "name": "10vus", "tps": 4000.0},
                  {"payloadSize": "default", "name": "50vus", "tps": 5000.0},
                  {"payloadSize": "4k", "name": "10vus", "tps": 2000.0}]
    results = [{"payloadSize": "default", "phases": [{"name": "10vus", "throughput": 1000.0},
                                                     {"name": "50vus", "throughput": 2500.0}]},
               {"payloadSize": "4k", "phases": [{"name": "10vus", "throughput": 1500.0},
                                                {"name": "50vus", "throughput": 1600.0}]},
               {"payloadSize": "8k", "phases": [{"name": "10vus", "throughput": 1.0}]}]
    reference.apply(results, references)
    assert [p["referenceFraction"] for p in results[0]["phases"]] == [0.25, 0.5]
    assert results[0]["phases"][1]["reference"] == {"throughput": 5000.0, "p95Ms": None, "tool": "pgbench"}
    assert results[1]["phases"][0]["referenceFraction"] == 0.75
    assert "referenceFraction" not in results[1]["phases"][1] and "reference" not in results[2]["phases"][0]
