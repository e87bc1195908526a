"""The conformance job: every selected API of the stack, one at a time, against the one black-box suite.

It runs on what the stack deployed (`bench up local`), so CI checks exactly what users measure: the same
images, limits and network path. Only the API under test runs; the database is reset before each.
"""
from __future__ import annotations

import dataclasses
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


def run_suite(service: Service, endpoint: str, db: dict, cfg: stack_config.StackConfig, results_dir,
              extra_args=()) -> ConformanceResult:
    junit = results_dir / f"conformance-{service.name}.xml"
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests/conformance"), "-q", "-p", "no:cacheprovider",
               "--dsn", db["dsn"], *_target_args(service, endpoint),
               "--db-stop-cmd", f"docker stop -t 10 {db['container']}",
               "--db-start-cmd", f"docker start {db['container']}",
               "--max-body-bytes", str(cfg.get("maxBodyBytes", 1048576)),
               f"--junitxml={junit}", *extra_args]
    start = time.monotonic()
    subprocess.run(command, cwd=ROOT)
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
        extra_args=()) -> list[ConformanceResult]:
    if not outputs:
        raise ConformanceError(f"the {stack} stack is not up: run `bench up {stack}` first")
    cfg = stack_config.load(stack)
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
            results.append(run_suite(service, entry["endpoint"], db, cfg, results_dir, extra_args))
        except containers.ContainerError as error:
            results.append(ConformanceResult(service.name, problem=str(error)))
        finally:
            containers.stop_deployed(client, entry)
    return results
