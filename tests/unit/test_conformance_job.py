"""`bench conformance` tells the suite how each API runs: pool, Lambda seriality, auth (key kept off argv)."""
from __future__ import annotations

import subprocess

import pytest

from perflab import catalogue
from perflab.settings import StackConfig
from runner import conformance

DB = {"dsn": "postgresql://bench:pw@127.0.0.1:5433/events", "container": "perflab-postgres"}
CFG = StackConfig("local", {"perflab:dbPoolMax": 17, "perflab:lambdaDbPoolMax": 3})


@pytest.fixture
def launched(monkeypatch, tmp_path):
    """The suite's command line and environment, as `run_suite` would start it."""
    seen = {}

    def fake_run(command, cwd, env):
        seen.update(command=command, env=env)
        (tmp_path / "conformance-x.xml").write_text("")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(conformance.subprocess, "run", fake_run)
    monkeypatch.setenv(conformance.AUTH_KEY_VARIABLE, "left-over-from-the-shell-not-the-stack-key")
    return seen


def option_values(command: list[str], name: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == name]


def test_container_api_gets_the_stack_pool_and_no_auth(launched, tmp_path):
    conformance.run_suite(catalogue.api("go-rest"), "http://127.0.0.1:9083", DB, CFG, tmp_path)
    command = launched["command"]
    assert option_values(command, "--db-pool-max") == ["17"]
    assert option_values(command, "--rest-url") == ["http://127.0.0.1:9083"]
    assert "--serial-target" not in command and "--auth-key" not in command
    assert conformance.AUTH_KEY_VARIABLE not in launched["env"]  # auth off: never a stale key


def test_lambda_is_a_serial_target_with_its_environment_pool(launched, tmp_path):
    conformance.run_suite(catalogue.api("lambda-go-grpc"), "http://127.0.0.1:9093", DB, CFG, tmp_path)
    command = launched["command"]
    assert option_values(command, "--grpcweb-url") == ["http://127.0.0.1:9093"]
    assert option_values(command, "--serial-target") == ["http://127.0.0.1:9093"]
    assert option_values(command, "--db-pool-max") == ["3"]


def test_auth_settings_reach_the_suite_with_the_key_in_the_environment(launched, tmp_path):
    settings = conformance.TargetSettings.of_stack(
        {"auth": {"key": "k" * 40, "issuer": "perflab", "audience": "perflab-events"}}, CFG)
    conformance.run_suite(catalogue.api("go-grpc"), "127.0.0.1:9092", DB, CFG, tmp_path, settings=settings)
    command = launched["command"]
    assert option_values(command, "--grpc-target") == ["127.0.0.1:9092"]
    assert option_values(command, "--jwt-issuer") == ["perflab"]
    assert option_values(command, "--jwt-audience") == ["perflab-events"]
    assert "k" * 40 not in " ".join(command)
    assert launched["env"][conformance.AUTH_KEY_VARIABLE] == "k" * 40


def test_stack_without_auth_output_runs_without_auth():
    settings = conformance.TargetSettings.of_stack({"profile": "no-auth"}, CFG)
    assert settings == conformance.TargetSettings()
