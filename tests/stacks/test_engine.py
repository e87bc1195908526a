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


def _fake_engines(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, fakes: dict[str, type[FakeDocker]]):
    """A maker of engines over one in-memory Docker (`fakes`: a resource type's fake realizer), the
    Docker's objects, and its operation log."""
    monkeypatch.setenv("PERFLAB_STATE", str(tmp_path))
    world: dict = {}
    ops: list = []

    def engine():
        realizers = {token: fake(token, world, ops) for token, fake in fakes.items()}
        return core.Engine("unit", client=None, log=lambda line: None, realizers=realizers)
    return engine, world, ops


@pytest.fixture
def fake(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    return _fake_engines(tmp_path, monkeypatch, {CONTAINER: FakeDocker, IMAGE: FakeDocker})


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


# --- retain_on_delete: a resource that outlives `down` (the metrics database's volume) -------------------

VOLUME = "docker:index/volume:Volume"


class FakeVolumes(FakeDocker):
    """Volumes as Docker keeps them: found by name, adopted when they carry the declared labels."""

    def create(self, name, inputs, created):
        resource_id = f"vol-{inputs['name']}"
        self.world[resource_id] = {"name": inputs["name"], "state": "running", "labels": inputs.get("labels")}
        created(resource_id)
        self.ops.append(("create", name))
        return resource_id, {}

    def find_foreign(self, inputs):
        return next((key for key, obj in self.world.items() if obj["name"] == inputs["name"]), None)

    def adopt(self, resource_id, inputs):
        if self.world[resource_id]["labels"] != inputs.get("labels"):
            raise EngineError(f"volume {inputs['name']!r} exists but is not the one the program declares")
        self.ops.append(("adopt", inputs["name"]))
        return resource_id, {}


@pytest.fixture
def fake_with_volumes(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    return _fake_engines(tmp_path, monkeypatch, {CONTAINER: FakeDocker, VOLUME: FakeVolumes})


LABELS = [{"label": "perflab.stack", "value": "unit"}]


def _declare_with_volume(engine, labels=LABELS):
    engine.register("urn:vol", VOLUME, "data", {"name": "perflab-data", "labels": labels}, True,
                    retain_on_delete=True)
    engine.register("urn:db", CONTAINER, "db", {"name": "perflab-db"}, True, dependencies=["urn:vol"],
                    delete_before_replace=True)


def test_down_leaves_a_retained_resource_in_docker_and_up_adopts_it_again(fake_with_volumes):
    make, world, ops = fake_with_volumes
    _declare_with_volume(make())
    engine = make()
    assert engine.state.resources["urn:vol"]["retainOnDelete"] is True
    assert engine.remove(list(engine.state.resources)) == ["db"]  # what was really removed
    assert engine.kept == ["perflab-data"] and engine.state.resources == {}
    assert [obj["name"] for obj in world.values()] == ["perflab-data"]  # the volume and its data stay
    ops.clear()
    again = make()
    _declare_with_volume(again)
    assert ops == [("adopt", "perflab-data"), ("create", "db")]
    assert again.changes["adopted"] == ["urn:vol"] and again.changes["created"] == ["urn:db"]
    assert again.state.resources["urn:vol"]["id"] == "vol-perflab-data"
    third = make()
    _declare_with_volume(third)  # up, down, up, up: nothing more to do
    assert third.changes["unchanged"] == ["urn:vol", "urn:db"] and len(ops) == 2


def test_a_retained_resource_removed_by_hand_is_created_again(fake_with_volumes):
    make, world, ops = fake_with_volumes
    _declare_with_volume(make())
    del world["vol-perflab-data"]  # docker volume rm
    engine = make()
    _declare_with_volume(engine)
    assert engine.changes["replaced"] == ["urn:vol"] and "vol-perflab-data" in world
    assert engine.state.resources["urn:vol"]["retainOnDelete"] is True and not engine.kept


def test_a_retained_resource_no_longer_declared_is_dropped_not_deleted(fake_with_volumes):
    make, world, ops = fake_with_volumes
    _declare_with_volume(make())
    engine = make()
    engine.register("urn:db", CONTAINER, "db", {"name": "perflab-db"}, True, delete_before_replace=True)
    stale = [urn for urn in engine.state.resources if urn not in engine.seen]
    assert stale == ["urn:vol"] and engine.remove(stale) == []
    assert "vol-perflab-data" in world and ("delete", "perflab-data") not in ops


def test_an_existing_object_that_is_not_the_declared_one_is_never_adopted(fake_with_volumes):
    make, world, ops = fake_with_volumes
    world["vol-perflab-data"] = {"name": "perflab-data", "state": "running",
                                 "labels": [{"label": "someone.else", "value": "x"}]}
    with pytest.raises(EngineError, match="not the one the program declares"):
        _declare_with_volume(make())
    # Without retain_on_delete a name taken by another object is refused outright, as before.
    world["id-db"] = {"name": "perflab-db", "state": "running"}
    fake = core.Engine("unit", client=None, log=lambda line: None,
                       realizers={CONTAINER: FakeVolumes(CONTAINER, world, ops)})
    with pytest.raises(EngineError, match="already exists .* was not created by stack 'unit'"):
        fake.register("urn:db", CONTAINER, "db", {"name": "perflab-db"}, True)


def test_retain_on_delete_is_honoured_and_other_options_are_still_refused():
    from runner.engine import monitor

    assert "retainOnDelete" not in monitor.UNSUPPORTED_OPTIONS
    assert {"protect", "ignoreChanges", "importId", "deletedWith"} <= set(monitor.UNSUPPORTED_OPTIONS)
