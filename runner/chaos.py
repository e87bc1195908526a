"""`bench chaos SCENARIO…`: faults injected into the local stack while the load runs, and what the APIs did.

Each scenario measures like `bench run` (runner/run.py: reset the database, start one API, run the load
generator in its container, sample, verify, stop the API) with one hold of a few VUs (`loadgen --phases`),
and injects its fault from a thread a few seconds into the hold. The raw samples (one row per request: send
time, latency, code) give the figures: the error window (first and last failed answer, their count by
code, the slowest), the recovery (from the fault's end to the first success after which nothing failed),
and each scenario's checks; they go into the results document (`Result.chaos`, `RunDocument.chaos`).

- `db-restart`: the system-under-test database stopped (fast shutdown) and started again. The APIs must
  answer 503 / UNAVAILABLE while it is away — never 500 or a broken connection — and recover within
  RECOVERY_LIMIT_SECONDS of it accepting connections again; acknowledged events are all stored.
- `api-kill`: the first API's container killed (SIGKILL): its result fails with the reason, the next API is
  measured as usual, and the metrics database still holds every earlier run unchanged.
- `db-connections`: every connection slot of the database held by another client (the runner), the API's
  pooled connections ended so that it needs new ones: 503 / UNAVAILABLE, no request waiting longer than
  DB_ACQUIRE_TIMEOUT + HANG_MARGIN_SECONDS, and recovery once the slots are released.
- `interrupt`: SIGINT to a `bench run` process in the middle of a phase: its generator containers removed,
  its API stopped, its partial results kept and marked interrupted.

A 503 answered while the database went away is verified as ambiguous (`unavailableCountedAmbiguous`): the
transaction it belonged to may have run its statements before the connection was cut, or even committed
(the answer to a COMMIT can be lost). What was acknowledged must be stored, exactly as in `bench run`.
"""
from __future__ import annotations

import dataclasses
import datetime
import gzip
import pathlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

import docker
import docker.errors
import psycopg2
import psycopg2.extensions

from perflab import results as results_model
from perflab import settings as stack_config
from perflab.catalogue import LOADGEN, ROOT, Service
from perflab.durations import iso, parse_time, utc_now
from perflab.errors import LabError
from runner import images, metricsdb, run, verify
from runner.containers import deployed_containers, stop_all_deployed

SCENARIOS = ("db-restart", "api-kill", "db-connections", "interrupt")
UNAVAILABLE = frozenset({"503", "UNAVAILABLE"})  # the contract's answer when the database is unavailable
RECOVERY_LIMIT_SECONDS = 10.0
ACQUIRE_TIMEOUT_MS = 5000  # the contract's default DB_ACQUIRE_TIMEOUT, which the stack does not override
HANG_MARGIN_SECONDS = 3.0  # scheduling and a busy 2-core host on top of the acquire timeout
STOP_TIMEOUT_SECONDS = 30  # docker stop: PostgreSQL's fast shutdown writes a checkpoint first
READY_TIMEOUT_SECONDS = 60.0
GENERATOR_START_TIMEOUT_SECONDS = 300.0  # interrupt: the `bench run` may first build the generator's image
TEARDOWN_TIMEOUT_SECONDS = 120.0  # interrupt: the generator's clean stop (20 s) and the API's (10 s), and more
FILL_THREADS = 8  # db-connections: connections opened side by side
SLOTS_FULL = ("too many clients", "remaining connection slots are reserved")
INTERRUPTED_PROBLEM = "interrupted"  # runner/run.py's partial result says "interrupted (Ctrl-C): ..."


class ChaosError(LabError):
    pass


@dataclasses.dataclass
class ChaosOptions:
    scenarios: list[str]
    apis: list[Service]
    vus: int = 10
    fault_after_seconds: float = 3.0  # into the hold
    outage_seconds: float = 2.0  # db-restart: between the database's stop and its start
    exhaustion_seconds: float = 7.0  # db-connections: every slot held this long (more than the acquire timeout)
    hold_seconds: float | None = None  # None: each scenario's own (hold_seconds())
    warmup_seconds: float = 1.0
    payload_size: str = "default"
    acquire_timeout_ms: int = ACQUIRE_TIMEOUT_MS
    results_dir: pathlib.Path = ROOT / "results"
    stack: str = "local"
    command: str = ""

    def hold_seconds_for(self, scenario: str) -> float:
        """The hold: the fault, then RECOVERY_LIMIT_SECONDS of load to see the recovery in, plus a margin."""
        if self.hold_seconds is not None:
            return self.hold_seconds
        fault = {"db-restart": self.outage_seconds + 4.0,  # stop and start of PostgreSQL around the outage
                 "db-connections": self.exhaustion_seconds + 4.0,  # opening every slot's connection first
                 "api-kill": 0.0, "interrupt": 0.0}[scenario]
        after = RECOVERY_LIMIT_SECONDS + 2.0 if scenario in ("db-restart", "db-connections") else 5.0
        return float(round(self.fault_after_seconds + fault + after))

    def scenario_apis(self, scenario: str) -> list[Service]:
        """db-restart, db-connections: every API; api-kill: the first (killed) and the next; interrupt: the first."""
        return {"api-kill": self.apis[:2], "interrupt": self.apis[:1]}.get(scenario, self.apis)

    def check(self) -> None:
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown or not self.scenarios:
            raise ChaosError(f"unknown scenario {', '.join(unknown) or '(none)'}: one or more of {', '.join(SCENARIOS)}")
        if not self.apis:
            raise ChaosError("no API to run the scenarios against")
        if "api-kill" in self.scenarios and len(self.apis) < 2:
            raise ChaosError("api-kill needs two APIs: the one killed and the next, measured as usual (--api A --api B)")
        if self.stack != "local":
            raise ChaosError("bench chaos runs on the local stack only: it stops and starts its containers")


# --- the raw samples: when each request was answered, and how ---------------------------------------------

@dataclasses.dataclass(frozen=True)
class Answer:
    sent: datetime.datetime
    latency_ms: float
    code: str
    ok: bool

    @property
    def answered(self) -> datetime.datetime:
        return self.sent + datetime.timedelta(milliseconds=self.latency_ms)


def read_answers(path: pathlib.Path) -> list[Answer]:
    """Every request of loadgen's raw samples (gzip CSV `start_unix_ns,latency_us,phase,code,ok`), by send time."""
    answers = []
    with gzip.open(path, "rt") as handle:
        next(handle, None)
        for line in handle:
            start_ns, latency_us, _phase, code, ok = line.rstrip("\n").split(",")
            sent = datetime.datetime.fromtimestamp(int(start_ns) / 1e9, datetime.UTC)
            answers.append(Answer(sent, int(latency_us) / 1000, code, ok == "1"))
    return sorted(answers, key=lambda a: a.sent)


def error_window(answers: Sequence[Answer]) -> dict | None:
    """The failed requests: first and last answer time, the window's length, count by code, latency range."""
    failed = [a for a in answers if not a.ok]
    if not failed:
        return None
    first, last = min(a.answered for a in failed), max(a.answered for a in failed)
    return {"firstErrorAt": iso(first), "lastErrorAt": iso(last), "seconds": round((last - first).total_seconds(), 3),
            "count": len(failed), "byCode": dict(Counter(a.code for a in failed).most_common()),
            "latencyMsMin": min(a.latency_ms for a in failed), "latencyMsMax": max(a.latency_ms for a in failed)}


def recovery(answers: Sequence[Answer], fault_end: datetime.datetime) -> tuple[datetime.datetime | None, float | None]:
    """The first success answered after both the fault's end and the last failure, and its distance from
    the fault's end in seconds; (None, None) when no request succeeded after them."""
    failures = [a.answered for a in answers if not a.ok]
    since = max([fault_end, *failures])
    successes = [a.answered for a in answers if a.ok and a.answered > since]
    if not successes:
        return None, None
    recovered = min(successes)
    return recovered, round((recovered - fault_end).total_seconds(), 3)


# --- faults ---------------------------------------------------------------------------------------------------

class Fault:
    """One fault, injected from a thread (`run`) during the hold and always undone (`restore`) before the
    measurement is verified; `cancel` cuts its waits short when the load ended first."""
    action = ""
    target = ""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.started_at: datetime.datetime | None = None
        self.ended_at: datetime.datetime | None = None
        self.error: str | None = None
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            self.inject()
        except Exception as error:  # noqa: BLE001 — reported in the figures; restore() still follows
            self.error = f"{type(error).__name__}: {error}"
            self.log(f"chaos: {self.action} failed: {self.error}")

    def inject(self) -> None:
        raise NotImplementedError

    def restore(self) -> None:
        """Undo whatever is still in effect (idempotent)."""

    def record(self) -> dict | None:
        if self.started_at is None and self.error is None:
            return None
        seconds = (self.ended_at - self.started_at).total_seconds() if self.started_at and self.ended_at else None
        return {"action": self.action, "target": self.target,
                "startedAt": iso(self.started_at) if self.started_at else None,
                "endedAt": iso(self.ended_at) if self.ended_at else None,
                "seconds": None if seconds is None else round(seconds, 3), "error": self.error}


def accepting(dsn: str) -> bool:
    """The database accepts a connection and answers (no table named: the verifier counts the statements that
    touch the contract's tables)."""
    try:
        conn = psycopg2.connect(dsn, connect_timeout=2)
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except psycopg2.Error:
        return False
    finally:
        conn.close()


class DatabaseRestart(Fault):
    def __init__(self, client: docker.DockerClient, container: str, dsn: str, outage_seconds: float,
                 log: Callable[[str], None]):
        super().__init__(log)
        self.client, self.container, self.dsn, self.outage_seconds = client, container, dsn, outage_seconds
        self.target = container
        self.action = f"docker stop (fast shutdown), {outage_seconds:g} s down, docker start, until it accepts connections"

    def inject(self) -> None:
        handle = self.client.containers.get(self.container)
        self.started_at = utc_now()
        self.log(f"chaos: stopping {self.container}")
        handle.stop(timeout=STOP_TIMEOUT_SECONDS)
        self.cancel.wait(self.outage_seconds)
        self._start()

    def _start(self) -> None:
        handle = self.client.containers.get(self.container)
        if handle.status != "running":
            handle.start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not accepting(self.dsn):
            if time.monotonic() > deadline:
                raise ChaosError(f"{self.container} did not accept connections {READY_TIMEOUT_SECONDS:.0f} s after its start")
            time.sleep(0.05)
        self.ended_at = utc_now()
        self.log(f"chaos: {self.container} accepts connections again")

    def restore(self) -> None:
        if self.started_at is not None and self.ended_at is None:
            try:
                self._start()
            except Exception as error:  # noqa: BLE001 — reported; the verification then fails on its own
                self.error = self.error or f"{type(error).__name__}: {error}"


class ApiKill(Fault):
    def __init__(self, client: docker.DockerClient, containers: list[str], log: Callable[[str], None]):
        super().__init__(log)
        self.client, self.containers = client, containers
        self.target = ", ".join(containers)
        self.action = "docker kill (SIGKILL)"

    def inject(self) -> None:
        self.started_at = utc_now()
        for name in self.containers:
            self.log(f"chaos: killing {name}")
            self.client.containers.get(name).kill()


class ConnectionExhaustion(Fault):
    """Every connection slot of the database held by the runner; the API's pooled connections ended.

    The APIs connect as the database's owner, a superuser, who may also take the slots reserved for
    superusers (superuser_reserved_connections): so the runner holds every slot, not max_connections minus
    the reserve, opening connections until the server refuses one. They go to the `postgres` database, so the
    verifier (which reads the contract database's pg_stat_statements) never sees them. An API keeps working
    on the connections its pool already holds, so the runner then ends them (pg_terminate_backend) and takes
    the slots they free — with the API's containers paused (docker pause) for that fraction of a second, or its
    pool would take them back first. From then on the API has no connection and can open none: "too many
    clients". Its requests sent during the pause waited for it too, which the latency bound allows for."""

    def __init__(self, client: docker.DockerClient, api_containers: list[str], dsn: str, hold_seconds: float,
                 acquire_timeout_ms: int, log: Callable[[str], None]):
        super().__init__(log)
        self.client, self.api_containers = client, api_containers
        self.database = psycopg2.extensions.parse_dsn(dsn)["dbname"]
        self.admin_dsn = psycopg2.extensions.make_dsn(dsn, dbname="postgres")
        self.hold_seconds, self.acquire_timeout_ms = hold_seconds, acquire_timeout_ms
        self.target = f"the {self.database} database's server"
        self.action = f"every connection slot held {hold_seconds:g} s by the runner, the API's connections ended"
        self.held: list[psycopg2.extensions.connection] = []
        self.max_connections = self.reserved = self.terminated = self.held_count = 0
        self.paused: list[str] = []
        self.paused_seconds = 0.0
        self.exhausted_at: datetime.datetime | None = None
        self._lock = threading.Lock()
        self._held_lock = threading.Lock()

    def _fill(self) -> None:
        """Open connections until the server refuses one for want of a slot (FILL_THREADS at a time: each
        costs a fork and a SCRAM exchange on a database that is busy serving the load)."""
        full = threading.Event()
        errors: list[Exception] = []

        def open_until_full() -> None:
            while not full.is_set() and not self.cancel.is_set():
                try:
                    conn = psycopg2.connect(self.admin_dsn, connect_timeout=5)
                except psycopg2.OperationalError as error:
                    if not any(reason in str(error) for reason in SLOTS_FULL):
                        errors.append(error)
                    full.set()
                    return
                with self._held_lock:
                    self.held.append(conn)
                    if len(self.held) > self.max_connections:
                        errors.append(ChaosError(f"the server accepted more than max_connections "
                                                 f"({self.max_connections}) connections"))
                        full.set()

        threads = [threading.Thread(target=open_until_full, daemon=True, name=f"chaos-fill-{k}")
                   for k in range(FILL_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        if errors:
            raise errors[0]

    def _query(self, query: str, parameters: tuple = ()) -> tuple:
        with self.held[0].cursor() as cursor:
            cursor.execute(query, parameters)
            return cursor.fetchone() or ()

    def _unpause(self) -> None:
        for name in self.paused:
            self.client.containers.get(name).unpause()
        self.paused = []

    def inject(self) -> None:
        with self._lock:
            self.started_at = utc_now()
            control = psycopg2.connect(self.admin_dsn, connect_timeout=5)
            control.autocommit = True
            self.held.append(control)
            self.max_connections, self.reserved = self._query(
                "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int")
            self._fill()  # every free slot; the API goes on with the connections its pool holds
            paused_at = time.monotonic()
            for name in self.api_containers:
                self.client.containers.get(name).pause()
                self.paused.append(name)
            try:
                (self.terminated,) = self._query(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                    "AND backend_type = 'client backend'", (self.database,))
                deadline = time.monotonic() + 10
                while self._query("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                  (self.database,))[0] and time.monotonic() < deadline:
                    time.sleep(0.02)  # an ended backend gives its slot back once its process has exited
                self._fill()  # the slots the API's connections held
            finally:
                self._unpause()
                self.paused_seconds = round(time.monotonic() - paused_at, 3)
            self.exhausted_at = utc_now()
            self.held_count = len(self.held)
        self.log(f"chaos: holding all {self.held_count} free connection slots (max_connections {self.max_connections}), "
                 f"{self.terminated} API connections ended, the API paused {self.paused_seconds:.2f} s meanwhile")
        self.cancel.wait(self.hold_seconds)
        self.release()

    def release(self) -> None:
        with self._lock:
            self._unpause()
            for conn in self.held:
                conn.close()
            if self.held:
                self.log(f"chaos: released {len(self.held)} connections")
            self.held = []
            if self.started_at is not None and self.ended_at is None:
                self.ended_at = utc_now()

    def restore(self) -> None:
        try:
            self.release()
        except (psycopg2.Error, docker.errors.DockerException) as error:
            self.error = self.error or f"release: {error}"

    def connections(self, answers: Sequence[Answer], margin_seconds: float) -> dict | None:
        if self.exhausted_at is None:
            return None
        until = self.ended_at or utc_now()
        sent = [a.latency_ms for a in answers if self.started_at and self.started_at <= a.sent <= until]
        return {"maxConnections": self.max_connections, "superuserReservedConnections": self.reserved,
                "connectionsHeld": self.held_count, "apiConnectionsTerminated": self.terminated,
                "apiPausedSeconds": self.paused_seconds, "exhaustedAt": iso(self.exhausted_at),
                "acquireTimeoutMs": self.acquire_timeout_ms,
                "latencyBoundMs": self.acquire_timeout_ms + (margin_seconds + self.paused_seconds) * 1000,
                "latencyMsMax": max(sent, default=None)}


# --- the metrics database's history ----------------------------------------------------------------------------

def metrics_history(dsn: str) -> dict[str, tuple[str, int, int]]:
    """Every stored run: its document's digest and how many results and phases rows it has."""
    conn = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT r.run_id, md5(r.document::text), "
                           "(SELECT count(*) FROM results s WHERE s.run_id = r.run_id), "
                           "(SELECT count(*) FROM phases p JOIN results s USING (result_id) WHERE s.run_id = r.run_id) "
                           "FROM runs r")
            return {run_id: (digest, results, phases) for run_id, digest, results, phases in cursor.fetchall()}
    finally:
        conn.close()


def compare_history(before: dict[str, tuple[str, int, int]], after: dict[str, tuple[str, int, int]]) -> dict:
    return {"runsBefore": len(before), "runsAfter": len(after),
            "resultsBefore": sum(v[1] for v in before.values()), "resultsAfter": sum(v[1] for v in after.values()),
            "phasesBefore": sum(v[2] for v in before.values()), "phasesAfter": sum(v[2] for v in after.values()),
            "addedRuns": sorted(set(after) - set(before)),
            "changedRuns": sorted(r for r in before if r in after and after[r] != before[r]),
            "missingRuns": sorted(set(before) - set(after))}


def _check(name: str, passed: object, detail: str) -> dict:
    return {"name": name, "passed": bool(passed), "detail": detail}


def _failed(checks: list[dict]) -> str:
    return "; ".join(f"{c['name']}: {c['detail']}" for c in checks if not c["passed"])


# --- the runner ------------------------------------------------------------------------------------------------

class ChaosRunner(run.Runner):
    """`bench run`'s measurement with a fault injected during the hold, judged per scenario."""

    def __init__(self, options: ChaosOptions, outputs: dict, cfg: stack_config.StackConfig,
                 client: docker.DockerClient | None = None, on_progress: Callable[[dict], None] = lambda p: None,
                 log: Callable[[str], None] = print):
        options.check()
        self.chaos_options = options
        self.forward_progress = on_progress
        self.hold_started = threading.Event()
        self.fault: Fault | None = None
        self.scenario = ""
        run_options = run.RunOptions(mode="chaos", apis=options.apis, payload_sizes=[options.payload_size],
                                     warmup_seconds=options.warmup_seconds, results_dir=options.results_dir,
                                     stack=options.stack, command=options.command)
        super().__init__(run_options, outputs, cfg, client, on_progress=self._progress, log=log)

    # -- hooks into the measurement of runner/run.py ---------------------------------------------------------
    def _progress(self, progress: dict) -> None:
        phase = str(progress.get("phase") or "")
        if phase and phase != "warmup" and not phase.endswith("/ramp"):
            self.hold_started.set()
        self.forward_progress(progress)

    def measurement_directory(self, api: Service, size: str, repeat: int) -> str:
        return f"{self.scenario}-{api.name}-{size}"

    def verify_measurement(self, dsn: str, totals: dict) -> verify.Verification:
        unavailable = 0
        if self.fault is not None and self.scenario in ("db-restart", "db-connections"):
            unavailable = sum(count for code, count in (totals.get("errorsByCode") or {}).items() if code in UNAVAILABLE)
        self.unavailable_counted = unavailable
        return verify.verify(dsn, totals["acknowledged"], totals.get("ambiguous", 0) + unavailable)

    def _inject_when_due(self, fault: Fault) -> None:
        while not self.hold_started.wait(0.1):  # the generator's first progress line of the hold
            if fault.cancel.is_set():
                return
        if not fault.cancel.wait(self.chaos_options.fault_after_seconds):
            fault.run()

    def _run_loadgen(self, api: Service, size: str, work_dir: pathlib.Path, sampling) -> dict:
        fault = self.fault
        if fault is None:
            return super()._run_loadgen(api, size, work_dir, sampling)
        self.hold_started.clear()
        thread = threading.Thread(target=self._inject_when_due, args=(fault,), daemon=True, name="chaos-fault")
        thread.start()
        try:
            return super()._run_loadgen(api, size, work_dir, sampling)
        finally:
            # Normally over long before the hold ends; when the load ended first, cut the fault's waits short.
            fault.cancel.set()
            thread.join(timeout=STOP_TIMEOUT_SECONDS + READY_TIMEOUT_SECONDS + 30)
            fault.restore()  # before the verification, which needs the database

    def measure(self, api: Service, size: str, repeat: int) -> dict:
        self.unavailable_counted = 0
        fault = self.fault
        result = super().measure(api, size, repeat)
        result["chaos"] = self._judge(api, size, repeat, result, fault)
        return result

    # -- figures and checks of one measurement ----------------------------------------------------------------
    def _judge(self, api: Service, size: str, repeat: int, result: dict, fault: Fault | None) -> dict:
        path = self.run_dir / self.measurement_directory(api, size, repeat) / "samples.csv.gz"
        answers = read_answers(path) if path.exists() else []
        window = error_window(answers)
        figures: dict = {"scenario": self.scenario, "fault": fault.record() if fault else None, "errorWindow": window,
                         "recoveredAt": None, "recoverySeconds": None,
                         "unavailableCountedAmbiguous": self.unavailable_counted, "connections": None,
                         "apiExit": None, "checks": [], "passed": False}
        checks: list[dict] = figures["checks"]
        verification = result.get("verification") or {}
        if fault is None:  # api-kill: the API measured after the killed one
            checks.append(_check("measured as usual after the killed API", result["status"] == "passed",
                                 result["problem"] or "passed, verified"))
        else:
            checks += self._fault_checks(result, fault, window)
            if isinstance(fault, (DatabaseRestart, ConnectionExhaustion)):
                checks += self._unavailable_checks(fault, answers, window, figures)
            if isinstance(fault, ApiKill):
                figures["apiExit"] = self._api_exit_record(fault.containers[0])
                checks.append(_check("its result failed, saying why", result["status"] == "failed" and
                                     "the API stopped during the measurement" in (result["problem"] or ""),
                                     result["problem"] or "no problem reported"))
            checks.append(_check("every acknowledged event stored", verification.get("passed"),
                                 verification.get("details") or "not verified: " + str(result["problem"])))
        figures["passed"] = all(c["passed"] for c in checks)
        if isinstance(fault, (DatabaseRestart, ConnectionExhaustion)) and result["status"] != "error":
            # Under the fault the phase's thresholds break by design; the scenario's checks are the verdict.
            result["status"] = "passed" if figures["passed"] else "failed"
            result["problem"] = _failed(checks) or None
        return figures

    def _fault_checks(self, result: dict, fault: Fault, window: dict | None) -> list[dict]:
        hold = result["phases"][0] if result["phases"] else None
        if fault.started_at is None or hold is None:
            detail = fault.error or ("the load ended before the fault was due" if hold else str(result["problem"]))
            return [_check("fault injected during the hold", False, detail)]
        end = fault.ended_at if not isinstance(fault, ApiKill) else fault.started_at
        hold_start, hold_end = parse_time(hold["start"]), parse_time(hold["end"])
        inside = end is not None and hold_start <= fault.started_at and end <= hold_end
        span = f"{iso(fault.started_at)} to {iso(end) if end else 'never undone'}"
        checks = [_check("fault injected during the hold", inside and fault.error is None,
                         f"{span} in the hold {hold['start']} to {hold['end']}" + (f"; {fault.error}" if fault.error else ""))]
        before = window is not None and parse_time(window["firstErrorAt"]) < fault.started_at
        checks.append(_check("no failure before the fault", not before,
                             f"first failure {window['firstErrorAt']}" if window else "no failure at all"))
        return checks

    def _unavailable_checks(self, fault: DatabaseRestart | ConnectionExhaustion, answers: list[Answer],
                            window: dict | None, figures: dict) -> list[dict]:
        codes = (window or {}).get("byCode", {})
        others = {code: count for code, count in codes.items() if code not in UNAVAILABLE}
        checks = [_check("only 503 / UNAVAILABLE", not others,
                         f"failed requests by code: {codes}" if codes else "no request failed")]
        if isinstance(fault, ConnectionExhaustion):
            margin = HANG_MARGIN_SECONDS
            figures["connections"] = fault.connections(answers, margin)
            exhausted, ended = fault.exhausted_at, fault.ended_at
            if exhausted is not None and ended is not None:
                late = ended + datetime.timedelta(milliseconds=fault.acquire_timeout_ms)
                refused = sum(1 for a in answers if not a.ok and a.code in UNAVAILABLE and exhausted <= a.answered <= late)
                checks.append(_check("503 / UNAVAILABLE while every slot was held", refused > 0,
                                     f"{refused} such answers between {iso(exhausted)} and {iso(late)}"))
                slowest = figures["connections"]["latencyMsMax"]
                bound = figures["connections"]["latencyBoundMs"]
                checks.append(_check(f"no request waited past DB_ACQUIRE_TIMEOUT + {margin:g} s",
                                     slowest is not None and slowest <= bound,
                                     f"slowest request sent under the fault: {slowest} ms (bound {bound:g} ms)"))
        if fault.ended_at is not None:
            recovered, seconds = recovery(answers, fault.ended_at)
            figures["recoveredAt"], figures["recoverySeconds"] = (iso(recovered) if recovered else None), seconds
            checks.append(_check(f"recovered within {RECOVERY_LIMIT_SECONDS:g} s", seconds is not None and
                                 seconds <= RECOVERY_LIMIT_SECONDS,
                                 f"{seconds} s after {iso(fault.ended_at)}" if seconds is not None
                                 else "no success after the fault's end and the last failure"))
        return checks

    def _api_exit_record(self, container: str) -> dict:
        try:
            state = self.client.api.inspect_container(container)["State"]
        except docker.errors.NotFound:
            return {"container": container, "exitCode": None, "finishedAt": None}
        return {"container": container, "exitCode": state.get("ExitCode"), "finishedAt": state.get("FinishedAt")}

    # -- faults ---------------------------------------------------------------------------------------------
    def _new_fault(self, scenario: str, api: Service, index: int) -> Fault | None:
        options = self.chaos_options
        database = self.outputs["database"]
        if scenario == "db-restart":
            return DatabaseRestart(self.client, database["container"], database["dsn"], options.outage_seconds, self.log)
        if scenario == "db-connections":
            return ConnectionExhaustion(self.client, deployed_containers(self._api_output(api)), database["dsn"],
                                        options.exhaustion_seconds, options.acquire_timeout_ms, self.log)
        if scenario == "api-kill" and index == 0:
            return ApiKill(self.client, deployed_containers(self._api_output(api)), self.log)
        return None

    def _scenario(self, name: str, apis: list[Service], results: list[dict], checks: list[dict],
                  phases: str | None = None, **extra) -> dict:
        checks = list(checks)
        for result in results:
            chaos = result.get("chaos") or {}
            checks.append(_check(f"{result['api']}: every check", chaos.get("passed"),
                                 _failed(chaos.get("checks", [])) or ("passed" if chaos else "not judged")))
        return {"name": name, "apis": [api.name for api in apis], "phases": phases,
                "passed": bool(checks) and all(c["passed"] for c in checks), "checks": checks, **extra}

    # -- interrupt: SIGINT to a `bench run` -------------------------------------------------------------------
    def _generators(self) -> list:
        return self.client.containers.list(all=True, filters={"label": "perflab.role=loadgen"})

    def _interrupt(self, api: Service, hold: float, metrics_dsn: str | None) -> dict:
        from runner import shapes

        options = self.chaos_options
        directory = self.run_dir / "interrupt"
        directory.mkdir(parents=True, exist_ok=True)
        # full's first phase, scaled to `hold` seconds; SIGINT fault_after seconds into it.
        scale = hold / shapes.describe().mode("full").phases[0].hold_seconds
        command = [sys.executable, "-m", "runner.cli", "run", "full", "--api", api.name, "--phase-scale", f"{scale:.4g}",
                   "--warmup", f"{options.warmup_seconds:g}", "--no-reference", "--stack", options.stack,
                   "--results-dir", str(directory)]
        figures: dict = {"command": "bench " + " ".join(command[3:]), "runId": None, "resultsFile": None,
                         "signalAt": None, "exitedAt": None, "teardownSeconds": None, "exitCode": None,
                         "generatorContainers": [], "leftRunning": [], "markedInterrupted": None,
                         "partialPhases": 0, "partialRequests": 0, "loadedInMetricsDatabase": None}
        before = {c.id for c in self._generators()}
        self.log(f"interrupt · {api.name}: {figures['command']}")
        with (directory / "bench-run.log").open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            try:
                generator = self._wait_for_generator(before, process)
                if generator is not None:
                    figures["runId"] = generator.name.removeprefix(f"{self.container_prefix}-")
                    time.sleep(options.warmup_seconds + options.fault_after_seconds)  # into the hold
                    figures["generatorContainers"] = sorted(c.name for c in self._generators() if c.id not in before)
                    signal_at = utc_now()
                    figures["signalAt"] = iso(signal_at)
                    self.log(f"chaos: SIGINT to bench run (pid {process.pid}, run {figures['runId']})")
                    process.send_signal(signal.SIGINT)
                    try:
                        figures["exitCode"] = process.wait(timeout=TEARDOWN_TIMEOUT_SECONDS)
                        exited = utc_now()
                        figures["exitedAt"] = iso(exited)
                        figures["teardownSeconds"] = round((exited - signal_at).total_seconds(), 3)
                    except subprocess.TimeoutExpired:
                        pass
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)
        figures["leftRunning"] = self._left_running(api, figures["runId"], before)
        self._clean_up(api, before)
        checks = self._interrupt_checks(figures, directory, metrics_dsn)
        return self._scenario("interrupt", [api], [], checks, phases=f"full x {scale:.4g}", interrupt=figures)

    def _wait_for_generator(self, before: set[str], process: subprocess.Popen):
        deadline = time.monotonic() + GENERATOR_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            started = [c for c in self._generators() if c.id not in before and c.status == "running"]
            if started:
                return started[0]
            time.sleep(0.2)
        return None

    def _left_running(self, api: Service, run_id: str | None, before: set[str]) -> list[str]:
        generators = [c.name for c in self._generators() if c.id not in before]
        running_api = [name for name in deployed_containers(self._api_output(api))
                       if self.client.api.inspect_container(name)["State"].get("Status") == "running"]
        return sorted(generators) + running_api

    def _clean_up(self, api: Service, before: set[str]) -> None:
        """What an interrupted run left behind is removed after it was recorded: a test leaves nothing."""
        for container in self._generators():
            if container.id not in before:
                container.remove(force=True)
        stop_all_deployed(self.client, {"apis": {api.name: self._api_output(api)}})

    def _interrupt_checks(self, figures: dict, directory: pathlib.Path, metrics_dsn: str | None) -> list[dict]:
        run_id = figures["runId"]
        checks = [_check("SIGINT during the hold", figures["signalAt"] is not None,
                         f"at {figures['signalAt']}, run {run_id}" if figures["signalAt"] else
                         "the run's load generator never started: see interrupt/bench-run.log")]
        checks.append(_check(f"the process ended within {TEARDOWN_TIMEOUT_SECONDS:.0f} s", figures["exitCode"] is not None,
                             f"exit code {figures['exitCode']} after {figures['teardownSeconds']} s"
                             if figures["exitCode"] is not None else "still running: killed"))
        checks.append(_check("nothing it started left running", not figures["leftRunning"],
                             ", ".join(figures["leftRunning"])
                             or f"generators {figures['generatorContainers']} removed, API stopped"))
        document = None
        if run_id and (directory / run_id / results_model.RUN_FILE).exists():
            figures["resultsFile"] = f"interrupt/{run_id}/{results_model.RUN_FILE}"
            document = results_model.load(directory / run_id)
            partial = [r for r in document.results if INTERRUPTED_PROBLEM in (r.problem or "")]
            figures["markedInterrupted"] = document.interrupted
            figures["partialPhases"] = sum(len(r.phases) for r in partial)
            figures["partialRequests"] = sum(p.requests for r in partial for p in r.phases)
        checks.append(_check("partial results kept, marked interrupted",
                             document is not None and document.interrupted and figures["partialRequests"] > 0,
                             f"interrupted: {figures['markedInterrupted']}, {figures['partialPhases']} phases, "
                             f"{figures['partialRequests']} requests" if document else "no results document written"))
        if metrics_dsn and run_id:
            figures["loadedInMetricsDatabase"] = run_id in metricsdb.stored_runs(metrics_dsn)
            checks.append(_check("the partial run in the metrics database", figures["loadedInMetricsDatabase"], run_id))
        return checks

    # -- the whole chaos run -----------------------------------------------------------------------------------
    def run(self) -> dict:
        options = self.chaos_options
        started = utc_now()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.loadgen_image = images.prepare([LOADGEN], self.client, log=self.log)[LOADGEN.name]
        metrics_dsn = (self.outputs.get("metricsDatabase") or {}).get("dsn")
        history = None
        if "api-kill" in options.scenarios and metrics_dsn:
            metricsdb.migrate(metrics_dsn)
            history = metrics_history(metrics_dsn)
        stop_all_deployed(self.client, self.outputs)
        self._use_profile(self.profile)  # whichever auth/secrets profile the stack runs: its token, if it has auth
        results: list[dict] = []
        scenarios: list[dict] = []
        interrupted = False
        try:
            for number, name in enumerate(options.scenarios, start=1):
                self.scenario = name
                apis = options.scenario_apis(name)
                hold = options.hold_seconds_for(name)
                if name == "interrupt":
                    scenarios.append(self._interrupt(apis[0], hold, metrics_dsn))
                    continue
                self.options.phases = f"{options.vus}:{hold:g}s"
                first = len(results)
                for index, api in enumerate(apis):
                    self.fault = self._new_fault(name, api, index)
                    self.log(f"{name} · {api.name} · {options.vus} VUs held {hold:g} s"
                             + (f" · {self.fault.action} after {options.fault_after_seconds:g} s" if self.fault else ""))
                    # `repeat` numbers the scenario: one API's measurements stay apart (api, payload, repeat).
                    results.append(self.measure(api, options.payload_size, number))
                    self.fault = None
                checks = []
                if name == "api-kill":
                    after = results[first + 1:]
                    checks.append(_check("the next API was measured", bool(after),
                                         ", ".join(f"{r['api']} {r['status']}" for r in after) or "none"))
                scenarios.append(self._scenario(name, apis, results[first:], checks, phases=self.options.phases))
        except KeyboardInterrupt:
            interrupted = True
            self.abort()
            if self.partial is not None:
                results.append(self.partial)
        finally:
            if self.fault is not None:
                self.fault.cancel.set()
                self.fault.restore()
        document = self.document(results, started, interrupted)
        document["chaos"] = scenarios
        model = run.store_results(document, self.run_dir, metrics_dsn, self.log)
        kill = next((s for s in scenarios if s["name"] == "api-kill"), None)
        if kill is not None:
            self._judge_history(kill, history, metrics_dsn, scenarios, len(results))
            # The same run again, now with the history's figures.
            model = run.store_results(document, self.run_dir, metrics_dsn, self.log)
        if interrupted:
            raise KeyboardInterrupt
        return model.to_dict()

    def _judge_history(self, scenario: dict, history: dict | None, metrics_dsn: str | None, scenarios: list[dict],
                       result_count: int) -> None:
        """api-kill: the metrics database holds every run it held before, unchanged, and this one."""
        if history is None or metrics_dsn is None:
            check = _check("the metrics database's history intact", False, "the stack has no metrics database")
        else:
            after = metrics_history(metrics_dsn)
            figures = compare_history(history, after)
            scenario["metricsDatabase"] = figures
            ours = {self.run_id} | {s["interrupt"]["runId"] for s in scenarios if s.get("interrupt") and s["interrupt"]["runId"]}
            this = after.get(self.run_id)
            intact = (not figures["changedRuns"] and not figures["missingRuns"] and set(figures["addedRuns"]) <= ours
                      and this is not None and this[1] == result_count)
            check = _check("the metrics database's history intact", intact,
                           f"{figures['runsBefore']} runs before, {figures['runsAfter']} after; added "
                           f"{figures['addedRuns']}, changed {figures['changedRuns']}, missing {figures['missingRuns']}; "
                           f"this run's results stored: {this[1] if this else 0} of {result_count}")
        scenario["checks"].insert(0, check)
        scenario["passed"] = all(c["passed"] for c in scenario["checks"])
