"""The database's own limit: pgbench running the contract's transaction, without any API, in every run.

Before the APIs are measured, `bench run` drives the system-under-test database with pgbench once per
payload size, phase by phase at each phase's concurrency, and records what it sustained. Each API's
throughput is then reported as a fraction of the reference of its payload size and phase.

What pgbench runs is built, never restated:
- the statements are runner/contract.py's S1 and S2, their `$n` placeholders turned into pgbench
  variables that pgbench turns back into `$n` in prepared mode (`-M prepared`), so the server receives
  the contract's text byte for byte (checked after every reference in `pg_stat_statements`, where they
  are grouped with the APIs' own);
- the events are the generator's (`loadgen sample`: the bodies `loadgen run` sends): the payload bytes
  (S1's `$6`, the canonical document, which for the generator's events is the body itself), the event
  names and dates, the entity count, each entity's type and attributes (S2's `$3`, the attributes' exact
  text) and the entity-id scheme (`<prefix>-<zero-padded number>` drawn uniformly from the entity pool);
- phases, holds, warm-up and the loadgen container's limits are the run's own.

The reference's rows and statements never reach an API's verification: the database is reset after it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import re
import shlex
import subprocess
import urllib.parse
from collections.abc import Callable, Sequence

import docker
import docker.errors
import psycopg2

from perflab.catalogue import LOADGEN
from perflab.errors import LabError
from perflab.settings import Limits
from runner import database, shapes
from runner.containers import verify_limits
from runner.contract import S1, S2
from runner.database import one_row

# Transactions per batch of fresh uuids and entity ids (see the script's header).
SLOTS = 16
# Distinct generator events the script cycles through: SLOTS, fewer for large payloads so that their
# text, passed as pgbench -D variables on the command line, stays well inside the kernel's argument limit.
VARIABLE_BYTES_BUDGET = 640 * 1024
SAMPLES = 64  # events asked from the generator per payload size (their kinds and id scheme are read off them)
MOUNT = "/reference"
TOOL = "pgbench"


class ReferenceError(LabError):
    pass


# --- what the generator sends ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Entity:
    type: str
    id_prefix: str
    id_width: int
    attributes: str  # the exact JSON text of updatedAttributes (S2's $3)


@dataclasses.dataclass(frozen=True)
class Event:
    body: str  # the REST body; for the generator's events also the canonical document (S1's $6)
    event_name: str
    event_type: str
    created_date: str
    saved_date: str
    entities: tuple[Entity, ...]


def _raw_value(text: str, key: str, start: int) -> tuple[str, int]:
    """The exact JSON text of the value of `"key":` at or after `start` (no re-serialization: numbers keep
    their digits, e.g. 915.30), and where it ends."""
    marker = json.dumps(key) + ":"
    at = text.index(marker, start) + len(marker)
    _, end = json.JSONDecoder().raw_decode(text, at)
    return text[at:end], end


ID = re.compile(r"^([a-z][a-z0-9]*)-([0-9]+)$")


def parse_event(body: str) -> Event:
    document = json.loads(body)
    header = document["eventHeader"]
    for field in ("createdDate", "savedDate"):
        if not isinstance(header.get(field), str) or not header[field]:
            raise ReferenceError(f"the generator's event has no {field}; the reference passes dates as text")
    entities = []
    position = 0
    for entity in document["eventBody"]["entities"]:
        match = ID.match(entity["entityId"])
        if not match:
            raise ReferenceError(f"entity id {entity['entityId']!r} does not follow <prefix>-<number>")
        attributes, position = _raw_value(body, "updatedAttributes", position)
        if json.loads(attributes) != entity["updatedAttributes"]:
            raise ReferenceError("cannot locate an entity's attributes in the generator's event")
        entities.append(Entity(entity["entityType"], match.group(1), len(match.group(2)), attributes))
    return Event(body, header["eventName"], header["eventType"], header["createdDate"], header["savedDate"],
                 tuple(entities))


def sample_events(size: str, entity_pool: int, count: int = SAMPLES, binary: str | None = None) -> list[Event]:
    """`count` events exactly as the generator sends them at this payload size and pool."""
    if binary is None:
        shapes.describe()  # builds the generator when it is missing or stale
        binary = shapes.binary_path()
    command = [binary, "sample", "--payload-size", size, "--count", str(count), "--entity-pool", str(entity_pool)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise ReferenceError(f"`{' '.join(command)}` failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
    return [parse_event(line) for line in result.stdout.splitlines() if line.strip()]


# --- the pgbench script ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Workload:
    size: str
    entity_pool: int
    events: tuple[Event, ...]  # the events the script cycles through (slot j uses events[j % len])
    slots: int = SLOTS

    @property
    def entities_per_event(self) -> int:
        return len(self.events[0].entities)


def workload(size: str, entity_pool: int, events: Sequence[Event], slots: int = SLOTS) -> Workload:
    """The events the script cycles through: as many as fit the -D budget (a power of two dividing `slots`,
    so every event is used equally often), the sampled kinds in turn."""
    counts = {len(event.entities) for event in events}
    if counts != {1}:
        # One entity per event is what the generator sends; with several, the entities of one transaction
        # would have to be upserted in (type, id) order, which this script does not implement.
        raise ReferenceError(f"the generator's events carry {sorted(counts)} entities; the reference script "
                             "supports exactly one per event")
    largest = max(len(e.body) + sum(len(x.attributes) for x in e.entities) for e in events)
    used = slots
    while used > 1 and used * largest > VARIABLE_BYTES_BUDGET:
        used //= 2
    # The generator draws each event's kind uniformly: take the sampled kinds in turn (in order of first
    # appearance), so that a few slots do not skew which entity types, hence which keys, are written.
    by_kind: dict[str, list[Event]] = {}
    for event in events:
        by_kind.setdefault(event.entities[0].type, []).append(event)
    kinds = list(by_kind.values())
    chosen = [kinds[i % len(kinds)][(i // len(kinds)) % len(kinds[i % len(kinds)])] for i in range(used)]
    return Workload(size, entity_pool, tuple(chosen), slots)


def _with_variables(statement: str, names: Sequence[str]) -> str:
    """The statement with $1..$n replaced by pgbench variables, in order. pgbench (prepared or extended
    mode) numbers variables $1, $2, ... in order of appearance, so the server gets `statement` back."""
    found = [int(n) for n in re.findall(r"\$(\d+)", statement)]
    if found != list(range(1, len(names) + 1)):
        raise ReferenceError(f"placeholders {found} are not $1..${len(names)} in order: {statement}")
    return re.sub(r"\$(\d+)", lambda m: ":" + names[int(m.group(1)) - 1], statement)


def pgbench_statement(script_line: str) -> str:
    """What pgbench sends for a script's SQL line in prepared mode: each :variable becomes $1, $2, ... in
    order of appearance (`::type` casts stay), the terminating semicolon is not part of the statement."""
    counter = iter(range(1, 1000))
    text = script_line.rstrip().removesuffix(";")
    return re.sub(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)", lambda m: f"${next(counter)}", text)


def variables(work: Workload) -> dict[str, str]:
    """pgbench -D variables: per event m of the workload its texts; `k` is each client's slot counter."""
    values = {"k": "0"}
    for m, event in enumerate(work.events):
        (entity,) = event.entities
        values |= {f"n{m}": event.event_name, f"y{m}": event.event_type, f"c{m}": event.created_date,
                   f"s{m}": event.saved_date, f"p{m}": event.body, f"t{m}": entity.type, f"a{m}": entity.attributes}
    return values


def batch_query(work: Workload) -> str:
    """One query per `slots` transactions: a fresh random uuid and entity id per slot."""
    columns = []
    for j in range(work.slots):
        (entity,) = work.events[j % len(work.events)].entities
        if not re.fullmatch(r"[a-z][a-z0-9]*", entity.id_prefix):
            raise ReferenceError(f"unexpected entity id prefix {entity.id_prefix!r}")
        columns.append(f"gen_random_uuid() AS u{j}")
        columns.append(f"'{entity.id_prefix}-' || lpad(floor(random() * {int(work.entity_pool)})::int::text, "
                       f"{int(entity.id_width)}, '0') AS i{j}")
    return "SELECT " + ", ".join(columns)


def script(work: Workload) -> str:
    """The pgbench script: per transaction BEGIN; S1; one S2 per entity; COMMIT (see its header)."""
    lines = [
        f"-- perflab database reference (runner/reference.py), payload size {work.size}, entity pool {work.entity_pool}:",
        "-- per transaction BEGIN; S1; one S2 per entity; COMMIT, with runner/contract.py's S1 and S2 (pgbench",
        "-- numbers the :variables $1, $2, ... in prepared mode, so the server receives the contract's text byte",
        "-- for byte and pg_stat_statements groups it with the APIs'). Run: pgbench -n -M prepared -f pgbench.sql",
        "-- -c CLIENTS -j 1 -T SECONDS, with -D NAME=VALUE for each entry of variables.json beside it.",
        "--",
        "-- A fresh uuid per transaction (S1 is ON CONFLICT (uuid) DO NOTHING): pgbench's \\set computes numbers",
        "-- only and a prepared statement takes each variable whole, so the script cannot build a uuid's text;",
        "-- one made of :client_id and a counter would also be sequential, cheaper to index than the APIs'",
        f"-- random v4 uuids. So the database makes them: the query below runs before BEGIN once every {work.slots}",
        f"-- transactions of a client and returns {work.slots} gen_random_uuid() values and {work.slots} entity ids",
        "-- (<prefix>-<zero-padded number>, the number uniform over the pool, as the generator draws them),",
        "-- kept with \\gset; the client's counter k (-D k=0) picks slot k. Its cost, measured with 16 slots",
        "-- (database limited to 1 CPU, 10 clients): ~60 us of database CPU per query, ~3.8 us per transaction,",
        "-- about 2 % of the transaction's ~200 us, and one round trip per 16 transactions. A `SELECT",
        "-- gen_random_uuid() \\gset` before every transaction would cost ~22 us (~11 %) and add a fifth round",
        "-- trip to the four of BEGIN, S1, S2, COMMIT.",
        "--",
        f"-- Payloads: slot j uses event j mod {len(work.events)} of the generator's stream (`loadgen sample`), kinds",
        "-- in turn: its name, type and dates, its body as S1's $6 (a generator event's canonical document is its",
        "-- body) and its entity's type and exact attributes text as S2's $1 and $3, so payload bytes are the",
        "-- generator's and an entity only merges attributes of its own type, as with the APIs. The body's own",
        "-- uuid and entity id are the sample's (same widths; the database never compares them with the columns).",
        "",
        "\\if :k = 0",
        batch_query(work) + " \\gset",
        "\\endif",
    ]
    for j in range(work.slots):
        m = j % len(work.events)
        lines.append(("\\if" if j == 0 else "\\elif") + f" :k = {j}")
        lines.append("BEGIN;")
        lines.append(_with_variables(S1, [f"u{j}", f"n{m}", f"y{m}", f"c{m}", f"s{m}", f"p{m}"]) + ";")
        lines.append(_with_variables(S2, [f"t{m}", f"i{j}", f"a{m}"]) + ";")
        lines.append("COMMIT;")
    lines.append("\\endif")
    lines.append(f"\\set k (:k + 1) % {work.slots}")
    return "\n".join(lines) + "\n"


# --- pgbench's output --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PgbenchOutput:
    clients: int
    threads: int
    query_mode: str
    duration_seconds: float | None  # -T runs
    transactions: int  # "number of transactions actually processed"
    failed: int | None  # "number of failed transactions" (pgbench 15)
    latency_ms_avg: float
    tps: float  # "without initial connection time"
    connection_ms: float | None


def _search(pattern: str, text: str, what: str) -> re.Match:
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        raise ReferenceError(f"pgbench's output has no {what}:\n{text[-1500:]}")
    return match


def parse_output(text: str) -> PgbenchOutput:
    tps = _search(r"^tps = ([0-9.]+) \(without initial connection time\)", text, "tps")
    transactions = _search(r"^number of transactions actually processed: (\d+)", text, "transaction count")
    latency = _search(r"^latency average = ([0-9.]+) ms", text, "average latency")
    clients = _search(r"^number of clients: (\d+)", text, "client count")
    threads = _search(r"^number of threads: (\d+)", text, "thread count")
    mode = _search(r"^query mode: (\w+)", text, "query mode")
    duration = re.search(r"^duration: (\d+) s", text, re.MULTILINE)
    failed = re.search(r"^number of failed transactions: (\d+)", text, re.MULTILINE)
    connection = re.search(r"^initial connection time = ([0-9.]+) ms", text, re.MULTILINE)
    return PgbenchOutput(int(clients.group(1)), int(threads.group(1)), mode.group(1),
                         float(duration.group(1)) if duration else None, int(transactions.group(1)),
                         int(failed.group(1)) if failed else None, float(latency.group(1)), float(tps.group(1)),
                         float(connection.group(1)) if connection else None)


# --- running it --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Target:
    """The database pgbench drives, and the container pgbench runs in."""
    dsn: str  # with its password (the runner's own connections)
    image: str  # an image holding pgbench: the database's own
    limits: Limits  # the load generator's
    name: str  # the pgbench container's name
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


def split_dsn(dsn: str) -> tuple[str, str]:
    """(the DSN without its password, the password): the password goes to PGPASSWORD, never argv."""
    parts = urllib.parse.urlsplit(dsn)
    password = urllib.parse.unquote(parts.password or "")
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), password


def free_connections(dsn: str) -> int:
    """Connections the database can still take for ordinary users (pgbench's clients must fit)."""
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int - current_setting("
                       "'superuser_reserved_connections')::int - (SELECT count(*) FROM pg_stat_activity "
                       "WHERE backend_type = 'client backend')")
        free = int(one_row(cursor, "the free connection count")[0])
    conn.close()
    return free


def pgbench_arguments(clients: int, threads: int, seconds: int | None, transactions: int | None,
                      variables_: dict[str, str], dbname: str) -> list[str]:
    arguments = ["-n", "-M", "prepared", "-f", f"{MOUNT}/pgbench.sql", "-c", str(clients), "-j", str(threads)]
    arguments += ["-T", str(seconds)] if seconds is not None else ["-t", str(transactions)]
    for name, value in variables_.items():
        arguments += ["-D", f"{name}={value}"]
    return arguments + [dbname]


def shown_command(arguments: list[str], variables_file: str) -> str:
    """The command as recorded: the -D texts (event bodies) are in `variables_file`, not repeated here."""
    shown, defined = [], 0
    for flag, value in zip(["", *arguments], arguments):
        if flag == "-D":
            defined += 1
        elif value != "-D":
            shown.append(value)
    return (f"pgbench {shlex.join(shown[:-1])} [-D NAME=VALUE for each of the {defined} entries of {variables_file}] "
            f"{shlex.quote(shown[-1])}")


def run_pgbench(client: docker.DockerClient, target: Target, work_dir: pathlib.Path, arguments: list[str],
                password: str, timeout: float) -> tuple[PgbenchOutput, str]:
    try:
        client.containers.get(target.name).remove(force=True)
    except docker.errors.NotFound:
        pass
    container = client.containers.run(
        target.image, entrypoint=["pgbench"], command=arguments, name=target.name, detach=True,
        network_mode="host", nano_cpus=target.limits.nano_cpus, mem_limit=target.limits.memory_bytes,
        cpuset_cpus=target.limits.cpuset, environment={"PGPASSWORD": password, "PGAPPNAME": "perflab-reference"},
        volumes={str(work_dir.resolve()): {"bind": MOUNT, "mode": "ro"}}, labels=target.labels)
    try:
        verify_limits(container, target.limits)
        code = container.wait(timeout=timeout)["StatusCode"]
        text = container.logs(stdout=True, stderr=True).decode(errors="replace")
    finally:
        container.remove(force=True)
    if code != 0:
        raise ReferenceError(f"pgbench exited {code}:\n{text[-1500:]}")
    return parse_output(text), text


def statement_calls(dsn: str) -> dict[str, tuple[int, int]]:
    """pg_stat_statements' calls and rows of S1 and S2 (exact text), and the events stored."""
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT s.query, sum(s.calls)::bigint, sum(s.rows)::bigint FROM pg_stat_statements s JOIN "
                       "pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND s.query IN (%s, %s) "
                       "GROUP BY s.query", (S1, S2))
        found = {query: (calls, rows) for query, calls, rows in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM events")
        found["events"] = (int(one_row(cursor, "the count of events")[0]), 0)
    conn.close()
    return found


@dataclasses.dataclass(frozen=True)
class PhasePlan:
    name: str
    vus: int
    seconds: int | None
    transactions: int | None


def phase_plans(mode: shapes.Mode) -> list[PhasePlan]:
    """The mode's phases as pgbench runs: -T whole seconds (at least 1) of each hold, or -t for a phase
    that ends by count."""
    return [PhasePlan(p.name, p.vus, None if p.iterations else max(1, round(p.hold_seconds)),
                      p.iterations or None) for p in mode.phases]


def measure_size(client: docker.DockerClient, target: Target, size: str, entity_pool: int, mode: shapes.Mode,
                 work_dir: pathlib.Path, log: Callable[[str], None] = print,
                 events: Sequence[Event] | None = None) -> list[dict]:
    """The reference phases of one payload size: reset, warm-up (excluded), each phase, statement check,
    reset. Returns ReferencePhase records (perflab/results.py)."""
    work = workload(size, entity_pool, events if events is not None else sample_events(size, entity_pool))
    work_dir.mkdir(parents=True, exist_ok=True)
    values = variables(work)
    for name, text in (("pgbench.sql", script(work)), ("variables.json", json.dumps(values, indent=1))):
        (work_dir / name).write_text(text)
        (work_dir / name).chmod(0o644)  # pgbench runs as the image's own user
    work_dir.chmod(0o755)
    dbname, password = split_dsn(target.dsn)
    threads_cap = max(1, math.ceil(target.limits.cpus))
    database.reset(target.dsn)
    records: list[dict] = []
    try:
        plans = phase_plans(mode)
        if mode.warmup_seconds > 0 and plans and plans[0].seconds is not None:
            warm = dataclasses.replace(plans[0], name="warmup", seconds=max(1, round(mode.warmup_seconds)))
            plans = [warm, *plans]
        for plan in plans:
            clients = min(plan.vus, free_connections(target.dsn) - 2)
            if clients < 1:
                raise ReferenceError("the database has no free connection for pgbench")
            threads = min(clients, threads_cap)
            arguments = pgbench_arguments(clients, threads, plan.seconds, plan.transactions, values, dbname)
            timeout = (plan.seconds or 0) + 120 + (plan.transactions or 0) * clients
            output, text = run_pgbench(client, target, work_dir, arguments, password, timeout)
            (work_dir / f"{plan.name}.txt").write_text(text)
            if output.query_mode != "prepared":
                raise ReferenceError(f"pgbench ran in {output.query_mode} mode, not prepared")
            log(f"reference {size} {plan.name}: {clients} clients, {output.tps:,.0f} transactions/s, "
                f"latency {output.latency_ms_avg:.2f} ms" + (" (warm-up, excluded)" if plan.name == "warmup" else ""))
            if plan.name == "warmup":
                continue
            records.append({"payloadSize": size, "name": plan.name, "vus": plan.vus, "clients": clients,
                            "threads": threads, "durationSeconds": output.duration_seconds,
                            "transactions": output.transactions, "failedTransactions": output.failed,
                            "tps": output.tps, "latencyMsAvg": output.latency_ms_avg,
                            "entitiesPerTransaction": work.entities_per_event,
                            "command": shown_command(arguments, f"{work_dir.name}/variables.json")})
        check(statement_calls(target.dsn), work.entities_per_event)
    finally:
        database.reset(target.dsn)
    return records


def check(calls: dict[str, tuple[int, int]], entities_per_event: int) -> None:
    """The server saw the contract's statements under their exact text, one S2 per entity of each event
    stored, and nothing was lost: the reference ran the contract's transaction."""
    s1_calls, s1_rows = calls.get(S1, (0, 0))
    s2_calls, _ = calls.get(S2, (0, 0))
    events = calls["events"][0]
    if not s1_calls or not s2_calls:
        raise ReferenceError("pg_stat_statements does not show the contract's statements under their exact text "
                             f"after the reference (S1 {s1_calls} calls, S2 {s2_calls} calls)")
    if s1_rows != events or s2_calls != s1_calls * entities_per_event:
        raise ReferenceError(f"the reference's statements do not add up: S1 {s1_calls} calls storing {s1_rows} "
                             f"rows, {events} events in the table, S2 {s2_calls} calls")


def measure(client: docker.DockerClient, target: Target, sizes: Sequence[str], entity_pool: int, mode: shapes.Mode,
            run_dir: pathlib.Path, log: Callable[[str], None] = print) -> list[dict]:
    """Every payload size's reference phases, in order (before any API is measured)."""
    records = []
    for size in sizes:
        records += measure_size(client, target, size, entity_pool, mode, run_dir / f"reference-{size}", log)
    return records


def stack_target(client: docker.DockerClient, outputs: dict, cfg, run_id: str, stack: str) -> Target:
    """The run's database, and pgbench in a container of the database's image limited like the generator."""
    container = client.containers.get(outputs["database"]["container"])
    return Target(outputs["database"]["dsn"], container.image.id, cfg.limits(LOADGEN.resource_class),
                  f"perflab-reference-{run_id}", {"perflab.stack": stack, "perflab.role": "reference"})


def apply(results: list[dict], references: list[dict]) -> None:
    """Each phase's reference (same payload size and phase) and its throughput as a fraction of it."""
    by_size: dict[str, list[dict]] = {}
    for record in references:
        by_size.setdefault(record["payloadSize"], []).append(record)
    for result in results:
        phases = by_size.get(result["payloadSize"], [])
        named = {record["name"]: record for record in phases}
        for index, phase in enumerate(result.get("phases") or []):
            # By name; an open-model phase (500rps) stands for the phase at the same position.
            found = named.get(phase.get("name")) or (phases[index] if index < len(phases) else None)
            if found is None or not found["tps"]:
                continue
            phase["reference"] = {"throughput": found["tps"], "p95Ms": None, "tool": TOOL}
            phase["referenceFraction"] = phase["throughput"] / found["tps"] if phase.get("throughput") is not None else None
