"""PERFLAB_APIS, one run's narrowing of perflab:apis: read in one place (perflab/settings.py) by the local and
AWS programs and by `bench build`, so a build makes exactly the images the program will refer to."""
from __future__ import annotations

import pytest

from perflab import settings as stack_config
from runner import images
from runner import stack as lab_stack


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), (" , ", None), ("go-rest", ["go-rest"]),
                                                  (" go-rest, rust-grpc ,", ["go-rest", "rust-grpc"])])
def test_the_override_is_parsed_once_for_everyone(value, expected):
    environ = {} if value is None else {stack_config.API_OVERRIDE_VARIABLE: value}
    assert stack_config.api_override(environ) == expected


def test_bench_build_narrows_to_the_override_like_the_program(monkeypatch):
    built: list[list[str]] = []
    monkeypatch.setattr(images, "prepare", lambda services, log=print: built.append([s.name for s in services]) or {})
    monkeypatch.setenv(stack_config.API_OVERRIDE_VARIABLE, "go-rest")
    lab_stack.build("local", log=lambda *a: None)
    monkeypatch.delenv(stack_config.API_OVERRIDE_VARIABLE)
    lab_stack.build("local", log=lambda *a: None)
    lab_stack.build("local", log=lambda *a: None, apis=["rust-rest"])  # --api wins over everything
    narrowed, everything, asked = built
    assert "go-rest" in narrowed and not {"rust-rest", "java-rest", "python-grpc"} & set(narrowed)
    assert {"go-rest", "rust-rest", "java-rest", "python-grpc"} <= set(everything)
    assert "rust-rest" in asked and "go-rest" not in asked


def test_both_programs_deploy_the_override(monkeypatch):
    from stacks import settings as local_settings

    config = stack_config.StackConfig("local", {"perflab:apis": ["go-rest", "rust-rest"]})
    local = local_settings.Settings("local", config, db_password=None)  # type: ignore[arg-type]
    assert [s.name for s in local.apis()] == ["go-rest", "rust-rest"]
    monkeypatch.setenv(stack_config.API_OVERRIDE_VARIABLE, "rust-rest")
    assert [s.name for s in local.apis()] == ["rust-rest"]
    assert config.deployed_api_names == ["rust-rest"]  # what the AWS program's apis() reads
