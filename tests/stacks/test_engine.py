"""The in-process engine's refusals and parsing, without Docker: what it cannot honour is an error."""
from __future__ import annotations

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


def test_an_image_that_would_be_pushed_or_built_with_buildkit_is_refused():
    realizer = docker_resources.ImageRealizer(client=None, log=print)
    with pytest.raises(EngineError, match="never pushes"):
        realizer.validate({"imageName": "a:b", "build": {"context": "."}})
    with pytest.raises(EngineError, match="classic builder"):
        realizer.validate({"imageName": "a:b", "skipPush": True,
                           "build": {"context": ".", "builderVersion": "BuilderBuildKit"}})


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
