"""Integration: `bench up local` (in-process engine, no Pulumi CLI) → every service healthy, real Docker
limits equal to the config → `bench up` again creates nothing → `bench down local` leaves nothing but the
metrics database's volume (the run history; removed here with --purge unless it existed before).

Deploys what the catalogue lists, the Lambdas included (their emulator containers and gateway container);
PERFLAB_TEST_APIS=a,b narrows it while developing. Fails at once with
a clear message when another job holds a `perflab-*` container name.
"""
from __future__ import annotations

import os
import time

import psycopg2

from perflab import catalogue
from perflab import settings as stack_config
from perflab.catalogue import METRICS_DATABASE, ROOT
from perflab.names import LABEL, data_volume_name
from runner import readiness, statedir
from runner import stack as lab_stack
from tests.stacks.bench_cli import bench

STACK = "local"


def test_bench_up_status_and_down_of_the_local_stack(client):
    apis = [a for a in os.environ.get("PERFLAB_TEST_APIS", "").split(",") if a]
    api_args = [arg for name in apis for arg in ("--api", name)]
    volumes_before = {v.name for v in client.volumes.list()}
    committed = (ROOT / "Pulumi.local.yaml").read_bytes()
    try:
        started = time.monotonic()
        result = bench("up", STACK, *api_args)
        assert result.returncode == 0, result.stdout + result.stderr
        print(f"bench up {STACK}: {time.monotonic() - started:.1f} s")
        outputs = lab_stack.outputs(STACK)
        password = statedir.database_password()
        assert password not in result.stdout + result.stderr  # secrets are never printed

        cfg = stack_config.load(STACK)
        expected = {outputs["database"]["container"], outputs["metricsDatabase"]["container"],
                    *(name for entry in outputs["apis"].values() for name in entry["containers"])}
        running = {c.name: c for c in client.containers.list(filters={"label": f"{LABEL}={STACK}"})}
        assert set(running) == expected == set(outputs["containers"])
        # Every catalogue API is deployed (the Lambdas too: emulators, then their gateway).
        assert set(outputs["apis"]) == set(apis or (s.name for s in catalogue.APIS))
        for service in catalogue.apis(apis or None):
            entry = outputs["apis"][service.name]
            if service.deployment == "lambda":
                emulators = entry["containers"][:-1]
                assert len(emulators) == cfg.get("lambdaEnvironments", 2) >= 1, entry["containers"]
                assert entry["containers"][-1] == entry["container"]
                assert {running[n].labels["perflab.resource-class"] for n in emulators} == {"lambda-function"}
                assert running[entry["container"]].labels["perflab.resource-class"] == "gateway"
                assert readiness.service_probe(service)(), f"{service.name} does not answer"
            else:
                assert entry["containers"] == [entry["container"]]
        for name, container in running.items():
            host_config = container.attrs["HostConfig"]
            limits = cfg.limits(container.labels["perflab.resource-class"])
            assert (host_config["NanoCpus"], host_config["Memory"]) == (limits.nano_cpus, limits.memory_bytes), name
            assert container.attrs["State"]["Health"]["Status"] == "healthy", name
            assert host_config["NetworkMode"] == outputs["networkMode"] == "host", name

        with psycopg2.connect(outputs["database"]["dsn"]) as conn, conn.cursor() as cursor:
            cursor.execute("SHOW shared_preload_libraries")
            assert "pg_stat_statements" in cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pg_stat_statements")
            cursor.execute("SELECT count(*) FROM events")

        status = bench("status", STACK)
        assert status.returncode == 0
        for name in expected:
            assert name in status.stdout and "healthy" in status.stdout

        started = time.monotonic()
        again = bench("up", STACK, *api_args)
        assert again.returncode == 0, again.stdout + again.stderr
        assert " 0 created, 0 replaced, 0 started" in again.stdout and "0 removed" in again.stdout, again.stdout
        print(f"bench up {STACK} (everything up already): {time.monotonic() - started:.1f} s")

        # An API the runner stopped stays stopped while the state is read; `up` starts it, replaces nothing.
        api = next(entry for entry in outputs["apis"].values() if "gateway" not in entry)
        client.containers.get(api["container"]).stop(timeout=10)
        assert lab_stack.outputs(STACK) == outputs
        shown = bench("status", STACK)
        assert client.containers.get(api["container"]).status == "exited"
        line = next(line for line in shown.stdout.splitlines() if line.startswith(api["container"] + " "))
        assert " stopped " in line and "unhealthy" not in line, shown.stdout
        restarted = bench("up", STACK, *api_args)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert " 0 created, 0 replaced, 1 started" in restarted.stdout, restarted.stdout
        assert client.containers.get(api["container"]).status == "running"
        recorded = [r for r in lab_stack.engine_resources(STACK).values() if not r.get("retainOnDelete")]
    finally:
        down = bench("down", STACK)
    assert down.returncode == 0, down.stdout + down.stderr
    assert f"({len(recorded)} resources removed)" in down.stdout, down.stdout
    history = data_volume_name(STACK, METRICS_DATABASE)
    assert f"kept volume {history}" in down.stdout  # the run history outlives `down`
    if history not in volumes_before:
        purged = bench("down", STACK, "--purge")
        assert purged.returncode == 0 and f"warning: removing volume {history}" in purged.stdout, purged.stdout
    assert (ROOT / "Pulumi.local.yaml").read_bytes() == committed  # running the lab rewrites no committed file
    assert client.containers.list(all=True, filters={"label": f"{LABEL}={STACK}"}) == []
    assert client.networks.list(filters={"label": f"{LABEL}={STACK}"}) == []
    assert {v.name for v in client.volumes.list()} <= volumes_before
    assert lab_stack.outputs(STACK) == {}
