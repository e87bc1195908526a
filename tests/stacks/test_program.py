"""Unit tests of the Pulumi program under Pulumi's mocks: what it would ask Docker for, without Docker.

The program runs once, at import, with the local stack's real configuration (Pulumi.local.yaml) and no
perflab:apis override, so "every API of the catalogue" is what it must deploy.
"""
from __future__ import annotations

import json
import os
import runpy

import pulumi
import pytest

PASSWORD = "mock-db-password-5f3a"
os.environ["PERFLAB_DB_PASSWORD"] = PASSWORD


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args):
        self.resources.append(args)
        outputs = dict(args.inputs)
        return f"{args.name}-id", outputs

    def call(self, args):
        return {}


MOCKS = RecordingMocks()
pulumi.runtime.set_mocks(MOCKS, project="perflab", stack="local", preview=False)

from runner import catalogue, config as stack_config  # noqa: E402
from runner.engine.core import stack_config as engine_config  # noqa: E402
from stacks import images as stack_images  # noqa: E402

pulumi.runtime.set_all_config(engine_config("local"), [])
# No build scripts in unit tests; a fixed content tag stands in for the hash of the artifacts.
stack_images.build_artifact = lambda service, log=None: None
stack_images.content_tag = lambda service: "0123456789abcdef"

PROGRAM = runpy.run_path(str(catalogue.ROOT / "__main__.py"))
STACK = PROGRAM["stack"]
CONFIG = stack_config.load("local")


def _all(containers):
    names = sorted(containers)
    return names, pulumi.Output.all(*[containers[n] for n in names])


def _containers_with(*fields):
    """{service: {field: value}} for every container of the stack, once all are resolved."""
    names = sorted(STACK.containers)
    outputs = [pulumi.Output.all(*[getattr(STACK.containers[n], f) for f in fields]) for n in names]
    return pulumi.Output.all(*outputs).apply(
        lambda rows: {name: dict(zip(fields, row)) for name, row in zip(names, rows)})


def _labels(container) -> dict:
    return {item["label"]: item["value"] for item in container["labels"]}


def _env(container) -> dict:
    return dict(item.split("=", 1) for item in container["envs"])


@pulumi.runtime.test
def test_every_catalogue_service_is_deployed_once_with_its_container_name():
    def check(containers):
        containerized = [s.name for s in catalogue.APIS if s.deployment == "container"]
        expected = {f"perflab-{name}" for name in ("postgres", "metrics-postgres", *containerized)}
        assert sorted(c["name"] for c in containers.values()) == sorted(expected)
        assert set(STACK.apis) == set(containerized)
        # What the local stack cannot run yet is said in the outputs, not dropped silently.
        assert set(STACK.outputs["notDeployed"]) == {s.name for s in catalogue.APIS} - set(containerized)
    return _containers_with("name").apply(check)


@pulumi.runtime.test
def test_services_of_a_class_get_identical_limits_equal_to_the_config():
    def check(containers):
        by_class: dict[str, set] = {}
        for container in containers.values():
            klass = _labels(container)["perflab.resource-class"]
            by_class.setdefault(klass, set()).add((container["cpus"], container["memory"],
                                                   container["memory_swap"]))
        assert set(by_class) == {"api", "database", "metrics-database"}
        for klass, limits in by_class.items():
            wanted = CONFIG.limits(klass)
            mib = wanted.memory_bytes // 1024 ** 2
            assert limits == {(f"{wanted.cpus:g}", mib, mib)}, klass
    return _containers_with("labels", "cpus", "memory", "memory_swap").apply(check)


@pulumi.runtime.test
def test_nothing_is_bound_beyond_the_loopback_address():
    def check(containers):
        for service, container in containers.items():
            assert container["network_mode"] == "host", service
            assert not container["ports"], service  # host networking publishes nothing
            env = _env(container)
            if service in ("postgres", "metrics-postgres"):
                assert env["LISTEN_ADDRESSES"] == "127.0.0.1"
            else:
                assert env["BIND_ADDRESS"] == "127.0.0.1"
                assert env["PORT"] == str(catalogue.api(service).port)
                assert "@127.0.0.1:5433/" in env["DATABASE_URL"]
    return _containers_with("network_mode", "ports", "envs").apply(check)


@pulumi.runtime.test
def test_system_under_test_database_keeps_pg_stat_statements_and_the_schema():
    entrypoint = (catalogue.ROOT / "db/postgres/entrypoint.sh").read_text()
    assert "-c shared_preload_libraries=pg_stat_statements" in entrypoint.split("exec postgres", 1)[1]
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in (catalogue.ROOT / "db/schema.sql").read_text()

    def check(containers):
        database = containers["postgres"]
        # Settings come from perflab:postgresSettings; none may replace the preloaded libraries.
        assert database["command"] == CONFIG.postgres_args()
        assert not any("shared_preload_libraries" in arg for arg in database["command"])
        assert _env(database)["INIT_SQL"] == "/perflab/schema.sql"
        assert _env(containers["metrics-postgres"])["INIT_SQL"] == ""
        assert not containers["metrics-postgres"]["command"]
    return _containers_with("command", "envs").apply(check)


@pulumi.runtime.test
def test_containers_have_health_checks_that_pulumi_waits_for_and_apis_start_after_the_database():
    def check(containers):
        for service, container in containers.items():
            assert container["wait"] is True, service
            assert container["healthcheck"]["tests"][0] == "CMD", service
            assert container["healthcheck"]["interval"] == CONFIG.get("healthcheckInterval"), service
        assert containers["go-grpc"]["healthcheck"]["tests"][1:] == [
            "/usr/local/bin/healthprobe", "grpc", "127.0.0.1:9092"]
        assert containers["postgres"]["healthcheck"]["tests"][1] == "pg_isready"
    # depends_on reaches the engine as the order of registration: checked on the registered resources.
    return _containers_with("wait", "healthcheck").apply(check)


@pulumi.runtime.test
def test_images_are_content_tagged_and_built_offline_from_the_project_dockerfiles():
    images = [r for r in MOCKS.resources if r.typ == "docker:index/image:Image"]
    deployed = ["postgres", "metrics-postgres", *STACK.apis]
    assert sorted(r.name for r in images) == sorted(deployed)
    for resource in images:
        service = next(s for s in catalogue.stack_services() if s.name == resource.name)
        assert resource.inputs["imageName"] == f"{service.image}:0123456789abcdef"
        assert resource.inputs["skipPush"] is True
        assert resource.inputs["build"]["builderVersion"] == "BuilderV1"
        assert resource.inputs["build"]["dockerfile"] == str(service.dockerfile)


@pulumi.runtime.test
def test_secrets_are_never_exported_in_plain_text():
    outputs = pulumi.runtime.settings.get_root_resource().outputs
    assert set(outputs) >= {"networkMode", "database", "metricsDatabase", "apis", "containers"}

    def check(pairs):
        for name, (value, secret) in pairs.items():
            if PASSWORD in json.dumps(value, default=str):
                assert secret, f"output {name} holds the DB password and is not a secret"
        assert pairs["database"][1] and pairs["metricsDatabase"][1]
        assert pairs["database"][0]["dsn"].startswith("postgresql://bench:")
        assert not pairs["apis"][1] and not pairs["networkMode"][1]  # the rest stays readable

    async def resolve():
        pairs = {}
        for name, value in outputs.items():
            output = pulumi.Output.from_input(value)
            pairs[name] = (await output.future(), await output.is_secret())
        return pairs
    return pulumi.Output.from_input(resolve()).apply(check)


@pulumi.runtime.test
def test_container_environment_holding_the_password_is_secret():
    async def flags():
        return {name: await STACK.containers[name].envs.is_secret() for name in STACK.containers}

    def check(secret_by_container):
        assert secret_by_container and all(secret_by_container.values()), secret_by_container
    return pulumi.Output.from_input(flags()).apply(check)
