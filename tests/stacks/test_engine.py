"""The in-process engine's refusals and parsing, without Docker: what it cannot honour is an error."""
from __future__ import annotations

import pathlib

import pytest

from runner.engine import core, docker_resources
from runner.engine.errors import EngineError


def test_go_durations_are_read_as_the_docker_provider_reads_them():
    assert docker_resources.parse_duration("1s") == 1_000_000_000
    assert docker_resources.parse_duration("1m30s") == 90_000_000_000
    assert docker_resources.parse_duration("500ms") == 500_000_000
    with pytest.raises(EngineError, match="cannot read duration"):
        docker_resources.parse_duration("1 second")


def test_an_unsupported_container_input_is_an_error_naming_it():
    realizer = docker_resources.ContainerRealizer(client=None, log=print)
    with pytest.raises(EngineError, match="privileged not supported"):
        realizer.validate({"name": "x", "image": "i", "privileged": True})


def test_an_image_the_engine_would_have_to_delete_is_refused():
    realizer = docker_resources.RemoteImageRealizer(client=None, log=print)
    with pytest.raises(EngineError, match="never deletes images"):
        realizer.validate({"name": "a:b"})
    with pytest.raises(EngineError, match="pullTriggers not supported"):
        realizer.validate({"name": "a:b", "keepLocally": True, "pullTriggers": ["x"]})


def test_unknown_resource_types_and_foreign_components_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_STATE", str(tmp_path))
    engine = core.Engine("unit", client=None, log=print)
    with pytest.raises(EngineError, match="not supported by the in-process engine"):
        engine.register("urn:x", "docker:index/service:Service", "svc", {}, custom=True)
    with pytest.raises(EngineError, match="only the lab's own component resources"):
        engine.register("urn:y", "other:index:Component", "c", {}, custom=False)


def test_encrypted_config_values_need_the_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "ROOT", tmp_path)
    (tmp_path / "Pulumi.enginetest.yaml").write_text("config:\n  perflab:dbPassword:\n    secure: v1:abc\n")
    with pytest.raises(EngineError, match="only the Pulumi CLI can decrypt"):
        core.stack_config("enginetest")


# --- the engine's semantics with a fake Docker: create, unchanged, start, replace, delete order, stale -----

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"


class FakeDocker(docker_resources.Realizer):
    """A realizer over an in-memory Docker: objects by id, with running/stopped state and an operation log."""

    def __init__(self, token: str, world: dict, log: list):
        self.token = token
        self.world = world
        self.ops = log

    def validate(self, inputs):
        if "bad" in inputs:
            raise EngineError(f"{self.token}: input(s) bad not supported by the in-process engine")

    def create(self, name, inputs, created):
        if any(o["name"] == inputs["name"] for o in self.world.values()):
            raise EngineError(f"name {inputs['name']} taken")
        resource_id = f"id-{len(self.world)}-{inputs['name']}"
        self.world[resource_id] = {"name": inputs["name"], "state": "running"}
        created(resource_id)
        self.ops.append(("create", name))
        return resource_id, {"computedId": resource_id}

    def status(self, resource_id, inputs):
        obj = self.world.get(resource_id)
        return "gone" if obj is None else "ok" if obj["state"] == "running" else "stopped"

    def start(self, resource_id, inputs):
        self.world[resource_id]["state"] = "running"
        self.ops.append(("start", inputs["name"]))

    def delete(self, resource_id, inputs):
        obj = self.world.pop(resource_id, None)
        self.ops.append(("delete", obj["name"] if obj else resource_id))


@pytest.fixture
def fake(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PERFLAB_STATE", str(tmp_path))
    world: dict = {}
    ops: list = []

    def engine():
        realizers = {CONTAINER: FakeDocker(CONTAINER, world, ops), IMAGE: FakeDocker(IMAGE, world, ops)}
        return core.Engine("unit", client=None, log=lambda line: None, realizers=realizers)
    return engine, world, ops


def _declare(engine, *, db_inputs=None, api_dbr=True):
    """The shape of the lab's program: an image, a database, an API that depends on both."""
    engine.register("urn:img", IMAGE, "img", {"name": "perflab/x:1"}, True)
    engine.register("urn:db", CONTAINER, "db", db_inputs or {"name": "perflab-db", "cpus": "1"}, True,
                    dependencies=["urn:img"], delete_before_replace=True)
    engine.register("urn:api", CONTAINER, "api", {"name": "perflab-api", "cpus": "1"}, True,
                    dependencies=["urn:db", "urn:img"], delete_before_replace=api_dbr)


def test_create_then_unchanged_records_dependencies(fake):
    make, world, ops = fake
    engine = make()
    _declare(engine)
    assert [op for op, _ in ops] == ["create"] * 3 and len(world) == 3
    assert engine.state.resources["urn:api"]["dependencies"] == ["urn:db", "urn:img"]
    again = make()
    _declare(again)
    assert len(ops) == 3 and len(again.changes["unchanged"]) == 3 and not again.changes["created"]


def test_reading_state_has_no_side_effects_and_up_starts_what_was_stopped(fake):
    make, world, ops = fake
    _declare(make())
    api_id = make().state.resources["urn:api"]["id"]
    world[api_id]["state"] = "stopped"  # as `bench run` leaves every API but the one under test
    make()  # reading the state
    assert world[api_id]["state"] == "stopped" and ops[-1][0] == "create"
    engine = make()
    _declare(engine)
    assert ops[-1] == ("start", "perflab-api") and engine.changes["started"] == ["urn:api"]
    assert world[api_id]["state"] == "running"


def test_changed_inputs_replace_delete_first_when_the_program_says_so(fake):
    make, world, ops = fake
    _declare(make())
    ops.clear()
    engine = make()
    _declare(engine, db_inputs={"name": "perflab-db", "cpus": "0.5"})
    assert ops[:2] == [("delete", "perflab-db"), ("create", "db")]  # fixed name: delete before create
    assert engine.changes["replaced"] == ["urn:db"] and len(engine.changes["unchanged"]) == 2


def test_without_delete_before_replace_the_new_object_is_created_first(fake):
    make, world, ops = fake
    engine = make()
    engine.register("urn:img", IMAGE, "img", {"name": "perflab/x:1"}, True)
    ops.clear()
    make().register("urn:img", IMAGE, "img", {"name": "perflab/x:2"}, True)  # a new tag: no name clash
    assert ops == [("create", "img"), ("delete", "perflab/x:1")]


def test_down_deletes_dependents_before_what_they_depend_on(fake):
    make, world, ops = fake
    engine = make()
    # Registered (and recorded) in an order that a by-type or by-age deletion would get wrong.
    engine.register("urn:api", CONTAINER, "api", {"name": "perflab-api"}, True, dependencies=["urn:db"])
    engine.register("urn:db", CONTAINER, "db", {"name": "perflab-db"}, True, dependencies=["urn:img"])
    engine.register("urn:img", IMAGE, "img", {"name": "perflab/x:1"}, True)
    ops.clear()
    removed = make().remove(list(make().state.resources))
    assert removed == ["api", "db", "img"] and [name for _, name in ops] == ["perflab-api", "perflab-db", "perflab/x:1"]
    assert world == {}


def test_stale_resources_are_found_and_refusals_name_the_input(fake):
    make, world, ops = fake
    _declare(make())
    engine = make()
    engine.register("urn:img", IMAGE, "img", {"name": "perflab/x:1"}, True)
    engine.register("urn:db", CONTAINER, "db", {"name": "perflab-db", "cpus": "1"}, True,
                    dependencies=["urn:img"], delete_before_replace=True)
    stale = [urn for urn in engine.state.resources if urn not in engine.seen]
    assert stale == ["urn:api"] and engine.remove(stale) == ["api"]
    with pytest.raises(EngineError, match="bad not supported"):
        engine.register("urn:x", CONTAINER, "x", {"name": "x", "bad": 1}, True)


def test_secret_outputs_are_never_stored_in_plain_text(fake, tmp_path):
    from runner.engine.state import State

    make, _, _ = fake
    _declare(make())
    state = State("unit")
    state.set_outputs({"database": {"dsn": "postgresql://bench:hunter2-secret@127.0.0.1:5433/events"},
                       "networkMode": "host"}, secret=["database"])
    text = state.path.read_text()
    assert "hunter2-secret" not in text and '"networkMode": "host"' in text
    assert oct(state.path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "state.key").stat().st_mode & 0o777) == "0o600"
    assert State("unit").outputs["database"]["dsn"].endswith("hunter2-secret@127.0.0.1:5433/events")
