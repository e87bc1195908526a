"""Unit tests of the Pulumi program under Pulumi's mocks: what it would ask Docker for, without Docker.

The program runs once, at import, with the local stack's real configuration (Pulumi.local.yaml) and no
perflab:apis override, so "every API of the catalogue" is what it must deploy.
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import runpy

import pulumi
import pytest

PASSWORD = "mock-db-password-5f3a"
os.environ["PERFLAB_DB_PASSWORD"] = PASSWORD


def image_id(reference: str) -> str:
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args):
        self.resources.append(args)
        outputs = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":  # computed by the provider: the local image's id
            outputs.update(imageId=image_id(args.inputs["name"]), repoDigest=image_id(args.inputs["name"]))
        return f"{args.name}-id", outputs

    def call(self, args):
        return {}


class RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    """Keeps each registration's options, which `Mocks.new_resource` does not see: dependencies (the start
    order the engine and Pulumi follow), delete_before_replace and retain_on_delete."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: dict[str, dict] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        dependencies = set(request.dependencies)
        for deps in request.propertyDependencies.values():
            dependencies.update(deps.urns)
        self.requests[response.urn] = {"type": request.type, "name": request.name, "dependencies": dependencies,
                                       "deleteBeforeReplace": request.deleteBeforeReplace,
                                       "retainOnDelete": request.retainOnDelete}
        return response


MOCKS = RecordingMocks()
MONITOR = RecordingMonitor(MOCKS)
pulumi.runtime.set_mocks(MOCKS, project="perflab", stack="local", preview=False, monitor=MONITOR)

from perflab import artifacts, catalogue  # noqa: E402
from perflab import settings as stack_config  # noqa: E402
from perflab.durations import canonical_duration  # noqa: E402
from runner.engine.core import stack_config as engine_config  # noqa: E402

pulumi.runtime.set_all_config(engine_config("local"), [])
# Unit tests build nothing: a fixed content tag stands in for the hash of the artifacts.
artifacts.image_reference = lambda service, base_image_id=None: f"{service.image}:0123456789abcdef"

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


LAMBDAS = [s for s in catalogue.APIS if s.deployment == "lambda"]
ENVIRONMENTS = int(CONFIG.get("lambdaEnvironments", 2))


def _emulator_names(service) -> list[str]:
    return [f"perflab-{service.name}-{i}" for i in range(ENVIRONMENTS)]


@pulumi.runtime.test
def test_every_catalogue_service_is_deployed_once_with_its_container_name():
    assert LAMBDAS, "the catalogue has Lambdas; the stack must deploy them too"

    def check(containers):
        expected = {f"perflab-{s.name}" for s in catalogue.stack_services()}
        expected |= {name for service in LAMBDAS for name in _emulator_names(service)}
        names = [c["name"] for c in containers.values()]
        assert sorted(names) == sorted(expected)  # each once
        assert set(STACK.apis) == {s.name for s in catalogue.APIS}  # every catalogue entry, no exclusion
        assert "notDeployed" not in STACK.outputs
        assert sorted(STACK.outputs["containers"]) == sorted(expected)
    return _containers_with("name").apply(check)


@pulumi.runtime.test
def test_api_outputs_name_every_container_of_the_api_in_start_order():
    def check(apis):
        for service in catalogue.APIS:
            entry = apis[service.name]
            assert entry["endpoint"] == (f"127.0.0.1:{service.port}" if service.protocol == "grpc"
                                         else f"http://127.0.0.1:{service.port}")
            assert (entry["protocol"], entry["port"]) == (service.protocol, service.port)
            assert entry["image"] == f"{service.image}:0123456789abcdef"
            limits = CONFIG.limits(service.resource_class)
            assert (entry["limits"]["nanoCpus"], entry["limits"]["memoryBytes"]) == (limits.nano_cpus,
                                                                                   limits.memory_bytes)
            if service.deployment != "lambda":
                assert entry["containers"] == [entry["container"]] == [f"perflab-{service.name}"]
                continue
            # Emulators first, the gateway (the API's own container name) last.
            assert entry["container"] == f"perflab-{service.name}"
            assert entry["containers"] == [*_emulator_names(service), entry["container"]]
            assert [e["container"] for e in entry["emulators"]] == _emulator_names(service)
            assert entry["gateway"]["container"] == entry["container"]
            gateway = CONFIG.limits("gateway")
            assert entry["gateway"]["limits"]["nanoCpus"] == gateway.nano_cpus
            assert entry["gateway"]["image"] == "perflab/lambda-gateway:0123456789abcdef"
    return pulumi.Output.from_input(STACK.outputs["apis"]).apply(check)


@pulumi.runtime.test
def test_emulator_ports_come_from_their_base_and_collide_with_nothing() -> pulumi.Output:
    catalogue_ports = {s.port for s in catalogue.stack_services()}
    used: list[int] = []
    for service in LAMBDAS:
        assert service.emulator_base_port is not None, service.name
        ports = catalogue.emulator_ports(service, ENVIRONMENTS)
        assert ports == [service.emulator_base_port + 2 * i for i in range(ENVIRONMENTS)]
        used += [p for port in ports for p in (port, port + 1)]
    assert len(used) == len(set(used)) and not set(used) & catalogue_ports

    def check(containers):
        for service in LAMBDAS:
            emulators = [containers[f"{service.name}-{i}"] for i in range(ENVIRONMENTS)]
            urls = [f"http://127.0.0.1:{port}" for port in catalogue.emulator_ports(service, ENVIRONMENTS)]
            assert [_env(e)["PORT"] for e in emulators] == [u.rsplit(":", 1)[1] for u in urls]
            gateway = _env(containers[service.name])
            assert gateway == {"GATEWAY_LISTEN": f"127.0.0.1:{service.port}", "GATEWAY_EMULATORS": ",".join(urls)}
    return _containers_with("envs").apply(check)


def test_emulator_ports_that_would_collide_are_refused():
    from stacks.settings import Settings

    values = {**CONFIG.values, "perflab:lambdaEnvironments": 51}  # 19100 + 2*50 reaches go-grpc's 19200
    settings = Settings("local", stack_config.StackConfig("local", values), pulumi.Output.secret("x"))
    with pytest.raises(stack_config.ConfigError, match="emulator port 19200 .* used by lambda-go-grpc"):
        settings.apis()
    values["perflab:lambdaEnvironments"] = 0
    with pytest.raises(stack_config.ConfigError, match="positive whole number"):
        Settings("local", stack_config.StackConfig("local", values), pulumi.Output.secret("x")).apis()


@pulumi.runtime.test
def test_services_of_a_class_get_identical_limits_equal_to_the_config():
    def check(containers: dict[str, dict]) -> None:
        by_class: dict[str, set] = {}
        for container in containers.values():
            klass = _labels(container)["perflab.resource-class"]
            by_class.setdefault(klass, set()).add((container["cpus"], container["memory"],
                                                   container["memory_swap"]))
        assert set(by_class) == {"api", "database", "metrics-database", "lambda-function", "gateway"}
        for klass, limits in by_class.items():
            wanted = CONFIG.limits(klass)
            mib = wanted.memory_bytes // 1024 ** 2
            assert limits == {(wanted.cpus_text, mib, mib)}, klass
    return _containers_with("labels", "cpus", "memory", "memory_swap").apply(check)


@pulumi.runtime.test
def test_nothing_is_bound_beyond_the_loopback_address():
    def check(containers):
        for service, container in containers.items():
            assert container["network_mode"] == "host", service
            assert not container["ports"], service  # host networking publishes nothing
            env = _env(container)
            role = _labels(container)["perflab.role"]
            if role in ("database", "metrics-database"):
                assert env["LISTEN_ADDRESSES"] == "127.0.0.1"
            elif role == "gateway":
                assert env["GATEWAY_LISTEN"] == f"127.0.0.1:{catalogue.api(service).port}"
                assert all(url.startswith("http://127.0.0.1:") for url in env["GATEWAY_EMULATORS"].split(","))
            else:
                assert env["BIND_ADDRESS"] == "127.0.0.1", service
                assert "@127.0.0.1:5433/" in env["DATABASE_URL"]
                if role == "api":
                    assert env["PORT"] == str(catalogue.api(service).port)
    return _containers_with("network_mode", "ports", "envs", "labels").apply(check)


@pulumi.runtime.test
def test_emulators_get_the_lambda_function_class_and_the_lambda_environment_contract():
    def check(containers):
        function = CONFIG.limits("lambda-function")
        mib = function.memory_bytes // 1024 ** 2
        for service in LAMBDAS:
            for i in range(ENVIRONMENTS):
                emulator = containers[f"{service.name}-{i}"]
                labels = _labels(emulator)
                assert labels["perflab.resource-class"] == "lambda-function"
                assert labels["perflab.api"] == service.name
                assert (emulator["cpus"], emulator["memory"], emulator["memory_swap"]) == (
                    function.cpus_text, mib, mib)
                env = _env(emulator)
                assert env["DB_POOL_MAX"] == str(CONFIG.get("lambdaDbPoolMax", 2)) != str(CONFIG.get("dbPoolMax"))
                assert env["MAX_BODY_BYTES"] == str(CONFIG.get("maxBodyBytes"))
                port = int(env["PORT"])
                assert emulator["healthcheck"]["tests"] == [
                    "CMD", "/usr/local/bin/healthprobe", "http", f"http://127.0.0.1:{port + 1}/2018-06-01/ping"]
                assert emulator["image"] == image_id(f"{service.image}:0123456789abcdef")
            gateway = containers[service.name]
            wanted = CONFIG.limits("gateway")
            assert _labels(gateway)["perflab.resource-class"] == "gateway"
            assert (gateway["cpus"], gateway["memory"]) == (wanted.cpus_text, wanted.memory_bytes // 1024 ** 2)
            assert gateway["healthcheck"]["tests"] == [
                "CMD", "/usr/local/bin/healthprobe", "http", f"http://127.0.0.1:{service.port}/_gateway/health"]
            assert gateway["image"] == image_id("perflab/lambda-gateway:0123456789abcdef")
    return _containers_with("labels", "cpus", "memory", "memory_swap", "envs", "healthcheck", "image").apply(check)


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
            assert container["healthcheck"]["interval"] == canonical_duration(CONFIG.get("healthcheckInterval")), service
        assert containers["go-grpc"]["healthcheck"]["tests"][1:] == [
            "/usr/local/bin/healthprobe", "grpc", "127.0.0.1:9092"]
        assert containers["postgres"]["healthcheck"]["tests"][1] == "pg_isready"
    return _containers_with("wait", "healthcheck").apply(check)


@pulumi.runtime.test
def test_images_are_referred_to_by_content_tag_and_never_built_or_pulled_by_the_program():
    images = [r for r in MOCKS.resources if r.typ == "docker:index/remoteImage:RemoteImage"]
    deployed = ["postgres", "metrics-postgres", *STACK.apis, catalogue.LAMBDA_GATEWAY.name]
    assert sorted(r.name for r in images) == sorted(deployed)  # one gateway image for every Lambda
    assert not [r for r in MOCKS.resources if r.typ == "docker:index/image:Image"]  # no build in the program
    for resource in images:
        service = next(s for s in (*catalogue.stack_services(), catalogue.LAMBDA_GATEWAY) if s.name == resource.name)
        assert resource.inputs == {"name": f"{service.image}:0123456789abcdef", "keepLocally": True}


def _canonical_cpus(text: str) -> bool:
    return text == stack_config.canonical_cpus(text) and not text.endswith(".0")


@pulumi.runtime.test
def test_every_docker_input_is_in_the_providers_canonical_form():
    """What pulumi-docker stores and reads back: a different spelling replaces the container on every up."""
    containers = [r for r in MOCKS.resources if r.typ == "docker:index/container:Container"]
    assert len(containers) == len(STACK.containers)
    for resource in containers:
        inputs = resource.inputs
        assert _canonical_cpus(inputs["cpus"]), (resource.name, inputs["cpus"])
        # Numbers cross the wire as float64: whole MiB, equal memory and swap (no swap).
        assert float(inputs["memory"]).is_integer() and inputs["memory"] == inputs["memorySwap"], resource.name
        check = inputs["healthcheck"]
        for key in ("interval", "timeout", "startPeriod"):
            assert check[key] == canonical_duration(check[key]), (resource.name, key, check[key])
        assert check["startPeriod"] == "2m0s"
        assert float(check["retries"]).is_integer() and float(inputs["waitTimeout"]).is_integer()
        assert inputs["image"] != inputs.get("name")  # an image id from the RemoteImage, not a reference
        for mount in inputs.get("volumes") or []:
            # The provider's set element: an absolute, normalized path and a volume name; read_only left to its
            # default (false), host paths and volumes-from unused.
            assert set(mount) == {"containerPath", "volumeName"}, (resource.name, mount)
            assert mount["containerPath"] == posixpath.normpath(mount["containerPath"]) and mount["containerPath"][0] == "/"
    volumes = [r for r in MOCKS.resources if r.typ == "docker:index/volume:Volume"]
    assert volumes, "the metrics database's volume"
    for resource in volumes:
        # name and labels only: driver (local) and mountpoint are the provider's computed values, so a
        # declared "local" or an empty driver_opts would be a difference that replaces the volume.
        assert set(resource.inputs) == {"name", "labels"}, resource.inputs
        assert all(set(item) == {"label", "value"} and isinstance(item["value"], str)
                   for item in resource.inputs["labels"]), resource.inputs["labels"]


@pulumi.runtime.test
def test_the_metrics_database_keeps_its_data_in_a_volume_that_outlives_down():
    """The run history: PGDATA of the metrics database in a named volume declared retain_on_delete (destroy
    leaves it, the next up adopts it); the system-under-test database stays ephemeral."""
    from perflab.names import data_volume_name
    from stacks.database import PGDATA

    dockerfile = (catalogue.ROOT / "db/postgres/Dockerfile").read_text()
    assert f"PGDATA={PGDATA} " in dockerfile  # the image's data directory is what the volume holds
    (volume,) = [r for r in MOCKS.resources if r.typ == "docker:index/volume:Volume"]
    name = data_volume_name("local", catalogue.METRICS_DATABASE)
    assert name == "perflab-local-metrics-postgres-data"
    assert volume.inputs["name"] == name
    assert {item["label"]: item["value"] for item in volume.inputs["labels"]} == {
        "perflab.stack": "local", "perflab.service": "metrics-postgres", "perflab.role": "metrics-database"}
    assert STACK.outputs["metricsDatabase"]["volume"] == name and "volume" not in STACK.outputs["database"]

    def check(containers):
        assert containers["metrics-postgres"]["volumes"] == [{"container_path": PGDATA, "volume_name": name}]
        assert not containers["postgres"]["volumes"]
        assert not any(c["volumes"] for service, c in containers.items() if service != "metrics-postgres")
        registered = _registered("docker:index/volume:Volume")
        assert [r["retainOnDelete"] for r in registered.values()] == [True]
        metrics = _registered("docker:index/container:Container")["metrics-postgres"]
        assert registered[volume.name]["urn"] in metrics["dependencies"]  # created before, deleted after it
        others = [r for r in MONITOR.requests.values() if r["type"] != "docker:index/volume:Volume"]
        assert not any(r["retainOnDelete"] for r in others)  # everything else goes with `down`
    return _containers_with("volumes").apply(check)


def test_canonical_forms_match_what_the_provider_stores():
    assert [stack_config.canonical_cpus(v) for v in (1.0, "1.0", 0.5, "0.25", 2)] == ["1", "1", "0.5", "0.25", "2"]
    assert [canonical_duration(v) for v in ("120s", "1s", "3s", "90s", "500ms", "1h")] == [
        "2m0s", "1s", "3s", "1m30s", "500ms", "1h0m0s"]


def _registered(type_: str) -> dict[str, dict]:
    return {r["name"]: {**r, "urn": urn} for urn, r in MONITOR.requests.items() if r["type"] == type_}


@pulumi.runtime.test
def test_containers_with_fixed_names_are_deleted_before_their_replacement():
    def check(_):
        containers = _registered("docker:index/container:Container")
        assert set(containers) == set(STACK.containers)
        assert all(c["deleteBeforeReplace"] for c in containers.values()), containers
    return pulumi.Output.all(*[c.id for c in STACK.containers.values()]).apply(check)


@pulumi.runtime.test
def test_start_order_apis_after_the_database_gateways_after_their_emulators_containers_after_images():
    def check(_):
        containers = _registered("docker:index/container:Container")
        images = _registered("docker:index/remoteImage:RemoteImage")
        database = containers["postgres"]["urn"]
        for name, container in containers.items():
            assert container["dependencies"] & {i["urn"] for i in images.values()}, f"{name} without its image"
            if name in ("postgres", "metrics-postgres"):
                assert database not in container["dependencies"]
                continue
            if name in {s.name for s in LAMBDAS}:  # a gateway: after every emulator of its Lambda
                emulators = {containers[f"{name}-{i}"]["urn"] for i in range(ENVIRONMENTS)}
                assert emulators <= container["dependencies"], name
            else:  # an API or an emulator: after the system-under-test database
                assert database in container["dependencies"], name
    return pulumi.Output.all(*[c.id for c in STACK.containers.values()]).apply(check)


def test_settings_read_the_same_whether_the_cli_stored_them_as_text_or_not():
    typed = CONFIG.values
    # What the Pulumi CLI writes back after `pulumi config set`: every scalar as text.
    as_text = {key: (value if isinstance(value, (dict, list)) else str(value).lower() if isinstance(value, bool)
                     else str(value)) for key, value in typed.items()}
    as_text["perflab:limits"] = {k: {"cpus": str(v["cpus"]).rstrip("0").rstrip("."), "memory": v["memory"]}
                                 for k, v in typed["perflab:limits"].items()}
    a, b = stack_config.StackConfig("local", typed), stack_config.StackConfig("local", as_text)
    for klass in a.resource_classes():
        assert (a.limits(klass).nano_cpus, a.limits(klass).memory_bytes) == (
            b.limits(klass).nano_cpus, b.limits(klass).memory_bytes)
    assert a.api_environment() == b.api_environment()
    assert (a.offline, a.network_mode, a.lambda_environments, a.healthcheck_interval) == (
        b.offline, b.network_mode, b.lambda_environments, b.healthcheck_interval)
    assert a.postgres_args() == b.postgres_args()


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
        return {name: (PASSWORD in json.dumps(await STACK.containers[name].envs.future()),
                       await STACK.containers[name].envs.is_secret()) for name in STACK.containers}

    def check(by_container):
        holding = {name for name, (holds, _) in by_container.items() if holds}
        # Databases, APIs and emulators hold it; a gateway knows only its emulators.
        assert holding == set(by_container) - {s.name for s in LAMBDAS}, holding
        assert all(secret for name, (holds, secret) in by_container.items() if holds), by_container
    return pulumi.Output.from_input(flags()).apply(check)
