"""The conformance job: every selected API, one at a time, against the one black-box suite."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import docker

from runner import config as stack_config
from runner import containers, database, images, readiness
from runner.catalogue import ROOT, SUT_DATABASE, Service


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


def _target_args(service: Service) -> list[str]:
    address = f"127.0.0.1:{service.port}"
    if service.protocol == "grpc":
        return ["--grpc-target", address]
    if service.protocol == "grpcweb":
        return ["--grpcweb-url", f"http://{address}"]
    return ["--rest-url", f"http://{address}"]


def run_suite(service: Service, db: containers.Database, cfg: stack_config.StackConfig,
              results_dir, extra_args: list[str] = ()) -> ConformanceResult:
    junit = results_dir / f"conformance-{service.name}.xml"
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests/conformance"), "-q", "-p", "no:cacheprovider",
               "--dsn", db.dsn, *_target_args(service),
               "--db-stop-cmd", f"docker stop -t 10 {db.container}",
               "--db-start-cmd", f"docker start {db.container}",
               "--max-body-bytes", str(cfg.get("maxBodyBytes", 1048576)),
               f"--junitxml={junit}", *extra_args]
    start = time.monotonic()
    subprocess.run(command, cwd=ROOT)
    result = ConformanceResult(service.name, seconds=time.monotonic() - start)
    if not junit.exists():
        result.problem = "pytest produced no report"
        return result
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    tests = int(suite.get("tests", 0))
    result.failed, result.errors, result.skipped = (int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
    result.passed = tests - result.failed - result.errors - result.skipped
    return result


def _run_lambda(service: Service, db: containers.Database, cfg: stack_config.StackConfig, results_dir,
                extra_args, log) -> ConformanceResult:
    """A Lambda: emulator containers behind the local gateway (lambda/local.sh), then the suite."""
    function = service.directory.split("/")[-1]
    env = {**os.environ, **cfg.api_environment(), "DATABASE_URL": db.url, "GATEWAY_PORT": str(service.port),
           "DB_POOL_MAX": str(cfg.get("lambdaDbPoolMax", 2)), "ENVIRONMENTS": str(cfg.get("lambdaEnvironments", 2))}
    script = str(ROOT / "lambda" / "local.sh")
    started = subprocess.run([script, "up", function], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        if started.returncode != 0:
            return ConformanceResult(service.name, problem=f"lambda/local.sh up failed: {started.stderr[-800:]}")
        readiness.wait(readiness.service_probe(service), timeout=60)
        log(f"{service.name} ready; running the conformance suite")
        return run_suite(service, db, cfg, results_dir, extra_args)
    except TimeoutError as error:
        return ConformanceResult(service.name, problem=f"never became ready: {error}")
    finally:
        subprocess.run([script, "down", function], cwd=ROOT, env=env, capture_output=True)


def run(apis: list[Service], results_dir, keep: bool = False, log=print,
        extra_args: list[str] = ()) -> list[ConformanceResult]:
    cfg = stack_config.load("local")
    client = docker.from_env()
    results_dir.mkdir(parents=True, exist_ok=True)
    references = images.prepare([SUT_DATABASE], client, log)
    results: list[ConformanceResult] = []
    db = containers.start_database(client, SUT_DATABASE, references[SUT_DATABASE.name], cfg)
    try:
        for service in apis:
            try:
                reference = images.prepare([service], client, log)[service.name]
            except images.BuildError as error:
                results.append(ConformanceResult(service.name, problem=str(error)))
                continue
            database.reset(db.dsn)
            if service.deployment == "lambda":
                results.append(_run_lambda(service, db, cfg, results_dir, extra_args, log))
                continue
            container = containers.start_api(client, service, reference, cfg, db)
            try:
                waited = containers.wait_ready(container, readiness.service_probe(service), timeout=120)
                log(f"{service.name} ready after {waited:.2f} s; running the conformance suite")
                results.append(run_suite(service, db, cfg, results_dir, extra_args))
            except containers.ContainerError as error:
                results.append(ConformanceResult(service.name, problem=str(error)))
            finally:
                containers.remove(client, service)
    finally:
        if not keep:
            containers.remove(client, SUT_DATABASE)
    return results
