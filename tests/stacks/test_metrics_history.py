"""Integration: run history is never lost. The metrics database keeps its data in a named volume that
`bench down` leaves and the next `bench up` adopts (retain_on_delete; docs/engine.md), so
up, run, down, up, run → both runs in the metrics database; `bench db load` reloads them idempotently;
`bench down --purge` removes the volume.

One small API (go-rest), smoke mode, a temporary results directory (never the user's results/). When the
volume already holds history from before the test, it stays: the test removes only its own runs from it
and skips the purge.
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import docker
import docker.errors
import psycopg2
import pytest

from perflab.catalogue import METRICS_DATABASE
from perflab.names import LABEL, data_volume_name
from runner import stack as lab_stack
from tests.stacks.bench_cli import bench

STACK = "local"
API = "go-rest"
VOLUME = data_volume_name(STACK, METRICS_DATABASE)
PGDATA = "/var/lib/postgresql/data"


def ok(*args: str) -> str:
    result = bench(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def volume_exists(client) -> bool:
    try:
        client.volumes.get(VOLUME)
        return True
    except docker.errors.NotFound:
        return False


def stored(run_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per stored run: its results and phases (one copy of a smoke run of one API: (1, 1))."""
    dsn = lab_stack.outputs(STACK)["metricsDatabase"]["dsn"]
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT run_id, count(DISTINCT result_id), count(phases.result_id) FROM runs "
                       "LEFT JOIN results USING (run_id) LEFT JOIN phases USING (result_id) "
                       "WHERE run_id = ANY(%s) GROUP BY run_id", (run_ids,))
        rows = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    conn.close()
    return rows


@pytest.fixture(scope="module")
def history(client, tmp_path_factory) -> Iterator[dict]:
    """Whether the volume held history before this module, the test's results directory and run ids; at the
    end the stack is down, and the volume is gone unless it held history before (then only the test's runs
    leave it)."""
    state = {"preexisting": volume_exists(client), "results": tmp_path_factory.mktemp("results"), "runs": []}
    yield state
    if lab_stack.outputs(STACK) and state["runs"] and state["preexisting"]:
        dsn = lab_stack.outputs(STACK)["metricsDatabase"]["dsn"]
        with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
            cursor.execute("DELETE FROM runs WHERE run_id = ANY(%s)", (state["runs"],))
        conn.close()
    bench("down", STACK, *([] if state["preexisting"] else ["--purge"]))
    assert not client.containers.list(all=True, filters={"label": f"{LABEL}={STACK}"})
    assert volume_exists(client) == state["preexisting"]


def test_the_engine_adopts_a_volume_only_when_it_is_the_declared_one(client):
    """VolumeRealizer against real Docker (a throwaway volume): the declared labels are adopted, others refused."""
    from runner.engine.docker_resources import VolumeRealizer
    from runner.engine.errors import EngineError

    realizer = VolumeRealizer(client, log=print)
    name = f"perflab-enginetest-{os.getpid()}"
    declared = {"name": name, "labels": [{"label": "perflab.enginetest", "value": "mine"}]}
    volume = client.volumes.create(name=name, labels={"perflab.enginetest": "mine", "extra": "kept"})
    try:
        assert realizer.find_foreign(declared) == volume.id == name
        resource_id, computed = realizer.adopt(volume.id, declared)
        assert resource_id == name and computed["mountpoint"] and realizer.status(resource_id, declared) == "ok"
        other = {**declared, "labels": [{"label": "perflab.enginetest", "value": "someone-else"}]}
        with pytest.raises(EngineError, match="is not the one the program declares"):
            realizer.adopt(volume.id, other)
    finally:
        volume.remove()


def smoke_run(results: pathlib.Path) -> str:
    before = {path.parent.name for path in results.glob("*/run.json")}
    ok("run", "smoke", "--api", API, "--results-dir", str(results))
    (run_id,) = {path.parent.name for path in results.glob("*/run.json")} - before
    return run_id


def test_up_run_down_up_run_keeps_both_runs_in_the_metrics_database(client, history):
    results: pathlib.Path = history["results"]
    ok("up", STACK, "--api", API)
    mounts = client.containers.get("perflab-metrics-postgres").attrs["Mounts"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in mounts] == [("volume", VOLUME, PGDATA)]
    assert not client.containers.get("perflab-postgres").attrs["Mounts"]  # the SUT database stays ephemeral
    history["runs"].append(smoke_run(results))

    down = ok("down", STACK)
    assert f"kept volume {VOLUME}" in down
    assert not client.containers.list(all=True, filters={"label": f"{LABEL}={STACK}"})
    assert volume_exists(client) and lab_stack.outputs(STACK) == {}

    again = ok("up", STACK, "--api", API)
    assert f"adopted volume {VOLUME}" in again and ", 1 adopted" in again
    history["runs"].append(smoke_run(results))
    first, second = history["runs"]
    assert stored([first, second]) == {first: (1, 1), second: (1, 1)}

    # Reloading what is there changes nothing: one copy each, however often.
    for _ in range(2):
        loaded = ok("db", "load", "--results-dir", str(results))
        assert "0 added, 2 replaced, 0 unreadable" in loaded
        assert stored([first, second]) == {first: (1, 1), second: (1, 1)}
    listed = ok("runs", "--results-dir", str(results))
    assert "holds" in listed and "2 of the 2 here" in listed, listed
    assert all(line.split()[6] == "yes" for line in listed.splitlines() if line.startswith((first, second)))

    # A run the database lost (deleted by hand here) comes back from its document.
    dsn = lab_stack.outputs(STACK)["metricsDatabase"]["dsn"]
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM runs WHERE run_id = %s", (first,))
    conn.close()
    assert "1 not loaded" in ok("runs", "--results-dir", str(results))
    assert "1 added, 0 replaced" in ok("db", "load", first, "--results-dir", str(results))
    assert stored([first, second]) == {first: (1, 1), second: (1, 1)}


def test_down_purge_removes_the_metrics_volume_with_a_warning(client, history):
    if history["preexisting"]:
        pytest.skip(f"{VOLUME} held run history before this test; --purge would delete it")
    ok("up", STACK, "--api", API)  # unchanged if the previous test left it up
    assert volume_exists(client)
    purged = ok("down", STACK, "--purge")
    assert f"warning: removing volume {VOLUME}: the run history" in purged
    assert "kept volume" not in purged
    assert not volume_exists(client)
    assert not client.containers.list(all=True, filters={"label": f"{LABEL}={STACK}"})
    assert not client.volumes.list(filters={"label": f"{LABEL}={STACK}"})


def test_a_kept_cluster_takes_the_stacks_current_password(client):
    """The volume outlives the password it was created with (another checkout on the machine, a new secret):
    with POSTGRES_PASSWORD_SYNC=1 (the stack sets it for kept data) the image sets the environment's password
    at start; without it the old one stays, which is what made `bench up` fail on the metrics database."""
    from runner import images, readiness

    reference = images.prepare([METRICS_DATABASE], client, log=lambda *a: None)[METRICS_DATABASE.name]
    port, name = 18790, f"perflab-passwordtest-{os.getpid()}"
    volume = client.volumes.create(name=name, labels={"perflab.test": "password-sync"})

    def start(password: str, sync: bool) -> None:
        environment = {"POSTGRES_PASSWORD": password, "PGPORT": str(port), "INIT_SQL": "",
                       **({"POSTGRES_PASSWORD_SYNC": "1"} if sync else {})}
        container = client.containers.run(reference, name=name, detach=True, network_mode="host",
                                          environment=environment, volumes={name: {"bind": PGDATA, "mode": "rw"}},
                                          labels={"perflab.test": "password-sync"})
        try:
            # Up: the server answers on TCP (pg_isready needs no password; a refused one is an answer too).
            readiness.wait(lambda: container.exec_run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)])
                           .exit_code == 0, timeout=60, interval=0.5)
        except BaseException:
            container.remove(force=True)
            raise

    def accepts(password: str) -> bool:
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="bench", password=password, dbname="events",
                             connect_timeout=5).close()
            return True
        except psycopg2.OperationalError as error:
            assert "password authentication failed" in str(error), error
            return False

    def stop() -> None:
        client.containers.get(name).remove(force=True)

    try:
        start("first-password", sync=False)
        with psycopg2.connect(host="127.0.0.1", port=port, user="bench", password="first-password",
                              dbname="events", connect_timeout=5) as conn, conn.cursor() as cursor:
            cursor.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        conn.close()
        stop()
        start("it's \"new\"", sync=False)
        assert accepts("first-password") and not accepts("it's \"new\"")
        stop()
        start("it's \"new\"", sync=True)
        assert accepts("it's \"new\"") and not accepts("first-password")
        with psycopg2.connect(host="127.0.0.1", port=port, user="bench", password="it's \"new\"",
                              dbname="events", connect_timeout=5) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT n FROM kept")
            assert cursor.fetchall() == [(42,)]
        conn.close()
    finally:
        for container in client.containers.list(all=True, filters={"name": name}):
            container.remove(force=True)
        volume.remove(force=True)
