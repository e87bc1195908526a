"""The conformance job: every selected API of the stack, one at a time, against the one black-box suite.

It runs on what the stack deployed (`bench up local`), so CI checks exactly what users measure: the same
images, limits and network path. Only the API under test runs; the database is reset before each. The suite
is told how the APIs run (auth and its key, pool size, acquire timeout, Lambdas serving one request per
execution environment), so it runs the cases of that configuration and deselects the others.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import docker

from perflab import settings as stack_config
from perflab.catalogue import ROOT, Service
from runner import containers, database


class ConformanceError(Exception):
    pass


# The suite reads the JWT key from the environment, so it never appears in a process listing or a log.
AUTH_KEY_VARIABLE = "PERFLAB_CONFORMANCE_AUTH_KEY"


@dataclasses.dataclass(frozen=True)
class TargetSettings:
    """How the deployed APIs run, as far as the suite must know it (contract/CONTRACT.md, "Environment")."""

    auth_key: str | None = None  # JWT_SECRET_KEY when AUTH_ENABLED is on; None: auth off
    jwt_issuer: str | None = None  # JWT_ISSUER, when the APIs run with one
    jwt_audience: str | None = None  # JWT_AUDIENCE, when the APIs run with one
    db_acquire_timeout_ms: int | None = None  # DB_ACQUIRE_TIMEOUT; None: the contract's default

    @classmethod
    def of_stack(cls, outputs: dict, cfg: stack_config.StackConfig) -> TargetSettings:
        """What the stack deployed: its outputs' `auth` ({key, issuer, audience}, under an auth profile) and
        the shared environment's DB_ACQUIRE_TIMEOUT when the stack sets one."""
        auth = outputs.get("auth") or {}
        timeout = cfg.api_environment().get("DB_ACQUIRE_TIMEOUT")
        return cls(auth_key=auth.get("key") or None, jwt_issuer=auth.get("issuer") or None,
                   jwt_audience=auth.get("audience") or None,
                   db_acquire_timeout_ms=int(timeout) if timeout is not None else None)

    def suite_args(self) -> list[str]:
        args = []
        if self.jwt_issuer:
            args += ["--jwt-issuer", self.jwt_issuer]
        if self.jwt_audience:
            args += ["--jwt-audience", self.jwt_audience]
        if self.db_acquire_timeout_ms is not None:
            args += ["--db-acquire-timeout-ms", str(self.db_acquire_timeout_ms)]
        return args

    def suite_environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name != AUTH_KEY_VARIABLE}
        if self.auth_key:
            env[AUTH_KEY_VARIABLE] = self.auth_key
        return env


@dataclasses.dataclass
class ConformanceResult:
    api: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    problem: str = ""  # why the API could not be tested at all

    @property
    def ok(self) -> bool:
        return not self.problem and self.failed == 0 and self.errors == 0 and self.skipped == 0 and self.passed > 0


def _target_args(service: Service, endpoint: str) -> list[str]:
    if service.protocol == "grpc":
        return ["--grpc-target", endpoint.replace("http://", "")]
    if service.protocol == "grpcweb":
        return ["--grpcweb-url", endpoint]
    return ["--rest-url", endpoint]


def _deployment_args(service: Service, endpoint: str, cfg: stack_config.StackConfig) -> list[str]:
    """The pool the API runs with; a Lambda's execution environments serve one request each (serial)."""
    if service.deployment == "lambda":
        return ["--db-pool-max", str(cfg.lambda_db_pool_max), "--serial-target", _target_args(service, endpoint)[1]]
    return ["--db-pool-max", cfg.api_environment()["DB_POOL_MAX"]]


def run_suite(service: Service, endpoint: str, db: dict, cfg: stack_config.StackConfig, results_dir,
              extra_args=(), settings: TargetSettings = TargetSettings()) -> ConformanceResult:
    junit = results_dir / f"conformance-{service.name}.xml"
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests/conformance"), "-q", "-p", "no:cacheprovider",
               "--dsn", db["dsn"], *_target_args(service, endpoint),
               "--db-stop-cmd", f"docker stop -t 10 {db['container']}",
               "--db-start-cmd", f"docker start {db['container']}",
               "--max-body-bytes", str(cfg.get("maxBodyBytes", 1048576)),
               *_deployment_args(service, endpoint, cfg), *settings.suite_args(),
               f"--junitxml={junit}", *extra_args]
    start = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=settings.suite_environment())
    result = ConformanceResult(service.name, seconds=time.monotonic() - start)
    if not junit.exists():
        result.problem = "pytest produced no report"
        return result
    suite = ElementTree.parse(junit).getroot()
    found = suite if suite.tag == "testsuite" else suite.find("testsuite")
    if found is None:
        result.problem = "pytest's report has no test suite"
        return result
    suite = found
    tests = int(suite.get("tests", 0))
    result.failed, result.errors, result.skipped = (int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
    result.passed = tests - result.failed - result.errors - result.skipped
    return result


def run(apis: list[Service], outputs: dict, results_dir, stack: str = "local", log=print,
        extra_args=(), settings: TargetSettings | None = None) -> list[ConformanceResult]:
    """`settings`: how the APIs run; by default what the stack's outputs and configuration say."""
    if not outputs:
        raise ConformanceError(f"the {stack} stack is not up: run `bench up {stack}` first")
    cfg = stack_config.load(stack)
    if settings is None:
        settings = TargetSettings.of_stack(outputs, cfg)
    if settings.auth_key:
        log(f"the APIs run with auth ({outputs.get('profile') or 'auth'}): every case sends a token, and the "
            "authentication cases run")
    client = docker.from_env()
    results_dir.mkdir(parents=True, exist_ok=True)
    db = outputs["database"]
    containers.stop_all_deployed(client, outputs)
    results: list[ConformanceResult] = []
    for service in apis:
        entry = outputs.get("apis", {}).get(service.name)
        if entry is None:
            results.append(ConformanceResult(service.name, problem=f"not deployed in the {stack} stack"))
            continue
        database.reset(db["dsn"])
        try:
            waited = containers.start_deployed(client, service, entry, cfg)
            log(f"{service.name} ready after {waited:.2f} s; running the conformance suite")
            results.append(run_suite(service, entry["endpoint"], db, cfg, results_dir, extra_args, settings))
        except containers.ContainerError as error:
            results.append(ConformanceResult(service.name, problem=str(error)))
        finally:
            containers.stop_deployed(client, entry)
    return results
