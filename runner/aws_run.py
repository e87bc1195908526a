"""`bench run --stack aws`: the same phases as locally, from N generator tasks on Fargate inside the VPC.

For each API × payload size × repeat (one API at a time):
1. reset the database through the database-admin function (runner.aws.admin, as locally runner.database);
2. container API: scale its ECS service to perflab:desiredCountUnderTest (default 1) and wait until that
   many targets of its NLB target group are healthy (ELBv2 DescribeTargetHealth); a Lambda needs nothing;
3. agree on a start time T (now + the Fargate start-up lead) and `run_task` the generator task definition N
   times (Fargate, the stack's private subnets and `loadgen` security group), task k running
   `loadgen run ... --segment k/N --start-at T --allow-remote --summary ... --samples ...` with two
   presigned S3 PUT URLs (s3://<bucket>/<run>/<api>/<size>-<repeat>/<k>/summary.json, samples.csv.gz)
   that its entrypoint (stacks/aws/loadgen/perflab-task.sh) uploads to with curl: the task has no role;
   when the stack runs an auth profile (outputs `profile`, `auth`), each task also gets `--auth` and a
   JWT_TOKEN of the stack's key valid for this measurement's budget (the overrides' environment);
4. wait (bounded) until every task is STOPPED, check each container's exit code, download the summaries
   and samples, merge the summaries with `loadgen merge` (N > 1);
5. verify through the admin function (persisted == acknowledged, the contract's statements), snapshot;
6. per phase: CloudWatch metrics over the phase window and the phase's cost per million events;
7. always (failure, Ctrl-C included): stop generator tasks still running, scale the service back to 0.
Every AWS call takes the boto3 Session it is given, so tests/aws/test_aws_run.py runs all of it on moto.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from perflab import profiles
from perflab import results as results_model
from perflab import settings as stack_config
from perflab.catalogue import ROOT, Service
from perflab.durations import iso, parse_time, utc_now
from runner import aws, environment, generators
from runner.aws import AwsError, _price
from runner.run import PHASE_FIELDS, RunError, RunOptions, loadgen_arguments, new_run_id, run_shapes, warmup_seconds

Log = Callable[[str], None]
LOADGEN_BINARY = ROOT / "build" / "loadgen" / "loadgen"
START_LEAD_SECONDS = 120.0  # Fargate pulls the image and starts the task in ~30-90 s; all start at T
HEALTHY_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 10.0
STOP_MARGIN_SECONDS = 300.0  # after the planned end: loadgen's own cap, uploads, ECS's STOPPED
OVERRIDES_LIMIT = 8192  # ECS: the containerOverrides of one run_task, in characters
RESULTS_DIR = "/results"  # the task's working directory (tools/loadgen/Dockerfile)
REPORT_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
Merge = Callable[[list[pathlib.Path], pathlib.Path], dict]


# --- generators --------------------------------------------------------------------------------------------

def generator_arguments(options: RunOptions, api: Service, endpoint: str, size: str, k: int, n: int,
                        start_at: datetime.datetime | None, auth: bool = False) -> list[str]:
    """The local generator's arguments (runner/run.py) for task k of n: its segment, the agreed start,
    remote targets allowed, files in the task's working directory, no progress lines; with `auth`, --auth
    (the token itself travels in the task's environment, never on its command line)."""
    arguments = [a for a in loadgen_arguments(options, api, endpoint, size, RESULTS_DIR, auth=auth)
                 if a != "--progress"]
    arguments += ["--segment", f"{k}/{n}", "--allow-remote"]
    if start_at is not None:
        arguments += ["--start-at", iso(start_at)]
    return arguments


def loadgen_merge(inputs: list[pathlib.Path], output: pathlib.Path) -> dict:
    """`loadgen merge` (runner/generators.py, as locally): counts summed, percentiles from the merged histograms."""
    if not LOADGEN_BINARY.exists():
        raise RunError(f"{LOADGEN_BINARY.relative_to(ROOT)} is missing: run `bench build` (it merges the "
                       f"generators' summaries)")
    try:
        return generators.merge_summaries(LOADGEN_BINARY, inputs, output)
    except generators.GeneratorError as error:
        raise RunError(str(error)) from error


def merge_samples(inputs: Iterable[pathlib.Path], output: pathlib.Path) -> None:
    """The generators' raw samples in one gzip CSV, the header once (the downloaded parts are kept)."""
    generators.concatenate_samples(inputs, output, remove=False)


def task_problems(tasks: list[dict], container: str) -> list[str]:
    """What went wrong with stopped generator tasks: a missing or non-zero exit code of the loadgen container."""
    problems = []
    for k, task in enumerate(tasks, start=1):
        found = [c for c in task.get("containers", []) if c.get("name") == container] or task.get("containers", [])
        code = found[0].get("exitCode") if found else None
        if code is None:
            problems.append(f"generator {k} did not run to an exit code ({task.get('stoppedReason') or 'no reason given'})")
        elif code != 0:
            problems.append(f"generator {k} exited {code}"
                            + (" (upload to S3 failed)" if code == 3 else "")
                            + (f": {task['stoppedReason']}" if task.get("stoppedReason") else ""))
    return problems


# --- CloudWatch ----------------------------------------------------------------------------------------------

def metric_window(start: datetime.datetime, end: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime, int]:
    """The phase window on CloudWatch's minute grid: start rounded down, end up, one period covering it."""
    low = start.replace(second=0, microsecond=0)
    high = end.replace(second=0, microsecond=0)
    if high < end:
        high += datetime.timedelta(minutes=1)
    period = max(60, int((high - low).total_seconds()))
    return low, low + datetime.timedelta(seconds=period), period


# (result key, namespace, metric, statistic)
def _queries(entry: dict, outputs: dict) -> dict[str, list[tuple[str, str, str, str, dict[str, str]]]]:
    sections: dict[str, list[tuple[str, str, str, str, dict[str, str]]]] = {}
    if entry.get("deployment") == "container":
        dims = {"ClusterName": outputs["cluster"], "ServiceName": entry["service"]}
        sections["ecs"] = [(key, "AWS/ECS", metric, stat, dims) for key, metric, stat in (
            ("cpuUtilizationAvg", "CPUUtilization", "Average"), ("cpuUtilizationMax", "CPUUtilization", "Maximum"),
            ("memoryUtilizationAvg", "MemoryUtilization", "Average"),
            ("memoryUtilizationMax", "MemoryUtilization", "Maximum"))]
    else:
        dims = {"FunctionName": entry["functionName"]}
        sections["lambda"] = [(key, "AWS/Lambda", metric, stat, dims) for key, metric, stat in (
            ("invocations", "Invocations", "Sum"), ("durationP50Ms", "Duration", "p50"),
            ("durationP99Ms", "Duration", "p99"), ("durationSumMs", "Duration", "Sum"), ("errors", "Errors", "Sum"),
            ("throttles", "Throttles", "Sum"), ("concurrentExecutionsMax", "ConcurrentExecutions", "Maximum"))]
        if entry.get("apiId"):
            api_dims = {"ApiId": entry["apiId"]}
            sections["apiGateway"] = [(key, "AWS/ApiGateway", metric, stat, api_dims) for key, metric, stat in (
                ("count", "Count", "Sum"), ("latencyP50Ms", "Latency", "p50"), ("latencyP99Ms", "Latency", "p99"),
                ("integrationLatencyP50Ms", "IntegrationLatency", "p50"),
                ("integrationLatencyP99Ms", "IntegrationLatency", "p99"),
                ("errors4xx", "4xx", "Sum"), ("errors5xx", "5xx", "Sum"))]
    identifier = (outputs.get("database") or {}).get("identifier")
    if identifier:
        dims = {"DBInstanceIdentifier": identifier}
        sections["rds"] = [(key, "AWS/RDS", metric, stat, dims) for key, metric, stat in (
            ("cpuUtilizationAvg", "CPUUtilization", "Average"), ("cpuUtilizationMax", "CPUUtilization", "Maximum"),
            ("databaseConnectionsAvg", "DatabaseConnections", "Average"),
            ("databaseConnectionsMax", "DatabaseConnections", "Maximum"),
            ("commitThroughputAvg", "CommitThroughput", "Average"))]
    return sections


def cold_starts(aws_session, log_group: str, start: datetime.datetime, end: datetime.datetime) -> tuple[int, float]:
    """Cold starts in [start, end): the function's REPORT lines that carry an `Init Duration` (a warm
    invocation's REPORT has none), and their init time summed (ms)."""
    logs = aws_session.client("logs")
    count, init_ms = 0, 0.0
    arguments: dict[str, Any] = {"logGroupName": log_group, "startTime": int(start.timestamp() * 1000),
                                 "endTime": int(end.timestamp() * 1000), "filterPattern": '"Init Duration"'}
    while True:
        page = logs.filter_log_events(**arguments)
        for event in page.get("events", []):
            message = event.get("message", "").strip()
            found = REPORT_INIT.search(message)
            if message.startswith("REPORT") and found:
                count += 1
                init_ms += float(found.group(1))
        token = page.get("nextToken")
        if not token or token == arguments.get("nextToken"):
            return count, init_ms
        arguments["nextToken"] = token


def phase_metrics(aws_session, outputs: dict, entry: dict, start: datetime.datetime,
                  end: datetime.datetime) -> dict:
    """One GetMetricData call per phase (period = the minute-aligned window), plus the cold starts."""
    low, high, period = metric_window(start, end)
    sections = _queries(entry, outputs)
    queries: list[dict[str, Any]] = []
    ids: dict[str, tuple[str, str]] = {}
    for section, rows in sections.items():
        for key, namespace, metric, stat, dims in rows:
            query_id = f"q{len(queries)}"
            ids[query_id] = (section, key)
            queries.append({"Id": query_id, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric,
                           "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
                "Period": period, "Stat": stat}})
    values: dict[str, dict[str, Any]] = {section: {} for section in sections}
    cloudwatch = aws_session.client("cloudwatch")
    for first in range(0, len(queries), 500):  # GetMetricData takes 500 queries per call
        arguments: dict[str, Any] = {"MetricDataQueries": queries[first:first + 500], "StartTime": low,
                                     "EndTime": high, "ScanBy": "TimestampAscending"}
        while True:
            page = cloudwatch.get_metric_data(**arguments)
            for found in page.get("MetricDataResults", []):
                section, key = ids[found["Id"]]
                if found.get("Values"):
                    values[section][key] = float(found["Values"][0])
            if not page.get("NextToken"):
                break
            arguments["NextToken"] = page["NextToken"]
    document: dict[str, Any] = {"window": {"start": iso(low), "end": iso(high), "periodSeconds": period}}
    if "ecs" in sections:
        document["ecs"] = {"service": entry["service"], **values["ecs"]}
    if "lambda" in sections:
        metrics = {"functionName": entry["functionName"], **values["lambda"]}
        if entry.get("logGroup"):
            count, init_ms = cold_starts(aws_session, entry["logGroup"], low, high)
            metrics["coldStarts"] = count
            metrics["initDurationSumMs"] = init_ms
            if metrics.get("invocations") is not None:
                metrics["warmInvocations"] = max(0.0, metrics["invocations"] - count)
        document["lambda"] = metrics
    if "apiGateway" in sections:
        document["apiGateway"] = {"apiId": entry["apiId"], **values["apiGateway"]}
    if "rds" in sections:
        document["rds"] = {"instance": outputs["database"]["identifier"], **values["rds"]}
    return results_model.CloudWatchPhase.model_validate(document).model_dump(mode="json", by_alias=True)


# --- cost ------------------------------------------------------------------------------------------------------

def phase_cost(prices: dict, *, window_seconds: float, events: int, entry: dict, generator: dict,
               generators: int, api_tasks: int, rds_class: str, cloudwatch: dict | None) -> dict:
    """The phase's cost from perflab:prices (runner.aws's reading) and its cost per million events.

    Fargate: tasks x vCPUs (and x GB) x window hours x the hourly price, for the API's tasks and the N
    generator tasks; Lambda: (Duration Sum + Init Duration of cold starts) x memory GB = GB-seconds, and
    Invocations; API Gateway: Count; RDS: the instance's hourly price x window hours (pro-rated).
    A quantity whose metric was not reported stays null, and so do the totals: nothing is made up.
    """
    hours = window_seconds / 3600
    vcpu, gb = _price(prices, "perHour", "fargateVcpu"), _price(prices, "perHour", "fargateGb")
    rds = (prices.get("perHour") or {}).get("rds") or {}
    if rds_class not in rds:
        raise AwsError(f"perflab:prices.perHour.rds has no price for {rds_class}")
    items: list[dict[str, Any]] = []

    def item(name: str, quantity: float | None, unit: str, unit_price: float) -> None:
        items.append({"name": name, "quantity": quantity, "unit": unit, "unitPrice": unit_price,
                      "usd": None if quantity is None else quantity * unit_price})

    def fargate(label: str, tasks: int, size: dict) -> None:
        item(f"{label}: Fargate vCPU-hours", tasks * size["cpu"] / 1024 * hours, "vCPU-hour", vcpu)
        item(f"{label}: Fargate GB-hours", tasks * size["memory"] / 1024 * hours, "GB-hour", gb)

    if entry.get("deployment") == "container":
        fargate(f"API tasks ({api_tasks})", api_tasks, entry["fargate"])
    else:
        metrics = (cloudwatch or {}).get("lambda") or {}
        duration, init = metrics.get("durationSumMs"), metrics.get("initDurationSumMs") or 0.0
        gb_seconds = None if duration is None else (duration + init) / 1000 * entry["memoryMiB"] / 1024
        item("Lambda GB-seconds (duration + cold-start init)", gb_seconds, "GB-second",
             _price(prices, "perUse", "lambdaGbSecond"))
        item("Lambda requests", metrics.get("invocations"), "request",
             _price(prices, "perUse", "lambdaRequestsPerMillion") / 1e6)
        count = ((cloudwatch or {}).get("apiGateway") or {}).get("count")
        item("API Gateway HTTP API requests", count, "request",
             _price(prices, "perUse", "httpApiRequestsPerMillion") / 1e6)
    fargate(f"generator tasks ({generators})", generators, generator["fargate"])
    item(f"RDS {rds_class} instance-hours (pro-rated)", hours, "instance-hour", float(rds[rds_class]))
    total = None if any(i["usd"] is None for i in items) else sum(i["usd"] for i in items)
    per_million = None if total is None or not events else total / events * 1e6
    return results_model.PhaseCost.model_validate({
        "windowSeconds": window_seconds, "events": events, "generators": generators,
        "pricesDate": str(prices.get("date", "?")), "pricesRegion": str(prices.get("region", "?")),
        "items": items, "totalUsd": total, "usdPerMillionEvents": per_million,
    }).model_dump(mode="json", by_alias=True)


# --- the run -------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Timing:
    start_lead_seconds: float = START_LEAD_SECONDS
    healthy_timeout_seconds: float = HEALTHY_TIMEOUT_SECONDS
    poll_seconds: float = POLL_SECONDS
    stop_margin_seconds: float = STOP_MARGIN_SECONDS


class AwsRunner:
    def __init__(self, options: RunOptions, outputs: dict, cfg: stack_config.StackConfig, aws_session,
                 generators: int = 1, log: Log = print, merge: Merge = loadgen_merge,
                 sleep: Callable[[float], None] = time.sleep, timing: Timing | None = None):
        if generators < 1:
            raise RunError("--generators must be at least 1")
        self.options, self.outputs, self.cfg, self.session = options, outputs, cfg, aws_session
        self.generators, self.log, self.merge, self.sleep = generators, log, merge, sleep
        self.timing = timing or Timing()
        self.run_id = new_run_id()
        self.run_dir = options.results_dir / self.run_id
        self.running: list[str] = []  # generator task ARNs not yet seen STOPPED
        self.scaled: str | None = None  # the API whose service is scaled up
        self.loadgen_version: str | None = None
        self.partial: dict | None = None
        # The profile the stack runs (bench up aws --profile P); under auth the generators need its key.
        self.profile = profiles.profile(str(outputs.get("profile") or profiles.DEFAULT))
        self.auth = outputs.get("auth") or {}
        if self.profile.auth and not self.auth.get("key"):
            raise RunError(f"the aws stack runs profile {self.profile.name} but publishes no JWT key (outputs.auth): "
                           f"run `bench up aws --profile {self.profile.name}` again")
        self.api_tasks = cfg.get_positive_int("desiredCountUnderTest", 1)
        self.prices = cfg.get("prices") or {}
        self.rds_class = {"instanceClass": "db.m7g.large", **(cfg.get("database") or {})}["instanceClass"]

    # -- AWS steps ----------------------------------------------------------------------------------------
    def _entry(self, api: Service) -> dict:
        try:
            return self.outputs["apis"][api.name]
        except KeyError:
            raise RunError(f"{api.name} is not deployed in the aws stack (perflab:apis in Pulumi.aws.yaml)") from None

    def _scale_up(self, api: Service, entry: dict) -> float:
        began = time.monotonic()
        self.scaled = api.name
        aws.scale(self.outputs, api.name, self.api_tasks, self.session, maximum=self.api_tasks)
        elbv2 = self.session.client("elbv2")
        deadline = began + self.timing.healthy_timeout_seconds
        while True:
            health = elbv2.describe_target_health(TargetGroupArn=entry["targetGroup"])["TargetHealthDescriptions"]
            healthy = [t for t in health if t.get("TargetHealth", {}).get("State") == "healthy"]
            if len(healthy) >= self.api_tasks:
                return round(time.monotonic() - began, 3)
            if time.monotonic() > deadline:
                states = sorted(t.get("TargetHealth", {}).get("State", "?") for t in health) or ["no target"]
                raise AwsError(f"never became healthy: {len(healthy)} of {self.api_tasks} targets healthy after "
                               f"{self.timing.healthy_timeout_seconds:.0f} s ({', '.join(states)})")
            self.sleep(self.timing.poll_seconds)

    def _scale_down(self) -> None:
        if self.scaled is not None:
            api, self.scaled = self.scaled, None
            aws.scale(self.outputs, api, 0, self.session, maximum=self.api_tasks)

    def _token(self, ttl_seconds: float) -> str | None:
        """A bearer token of the stack's key for one measurement (None without auth): it expires with the
        measurement's budget, since the overrides holding it can be read with ecs:DescribeTasks."""
        if not self.profile.auth:
            return None
        return profiles.token(self.auth["key"], ttl_seconds=ttl_seconds, issuer=self.auth.get("issuer"),
                              audience=self.auth.get("audience"))

    def _launch(self, api: Service, entry: dict, size: str, prefix: str, budget: float) -> list[str]:
        generator = self.outputs["loadgen"]
        expires = int(budget + 3600)
        token = self._token(budget)
        token_environment = [{"name": "JWT_TOKEN", "value": token}] if token else []
        described = run_shapes(self.options)
        counted = described.mode(self.options.mode).requests_by_count is not None
        start_at = None if counted else (utc_now() + datetime.timedelta(seconds=self.timing.start_lead_seconds))
        s3 = self._s3()
        ecs = self.session.client("ecs")
        for k in range(1, self.generators + 1):
            urls = {name: s3.generate_presigned_url(
                "put_object", Params={"Bucket": self.outputs["resultsBucket"], "Key": f"{prefix}/{k}/{file}"},
                ExpiresIn=expires) for name, file in (("PERFLAB_SUMMARY_URL", "summary.json"),
                                                      ("PERFLAB_SAMPLES_URL", "samples.csv.gz"))}
            overrides = {"containerOverrides": [{
                "name": generator["containerName"],
                "command": generator_arguments(self.options, api, entry["endpoint"], size, k, self.generators, start_at,
                                               auth=token is not None),
                "environment": [{"name": name, "value": url} for name, url in urls.items()] + token_environment}]}
            if len(json.dumps(overrides)) > OVERRIDES_LIMIT:
                raise AwsError(f"the generator's overrides exceed ECS's {OVERRIDES_LIMIT} characters (long "
                               f"session credentials in the presigned URLs?): use longer-lived credentials")
            response = ecs.run_task(
                cluster=generator["cluster"], taskDefinition=generator["taskDefinition"], count=1,
                launchType="FARGATE", startedBy=f"perflab-{self.run_id}"[:36], overrides=overrides,
                networkConfiguration={"awsvpcConfiguration": {
                    "subnets": list(generator["subnetIds"]), "securityGroups": [generator["securityGroupId"]],
                    "assignPublicIp": "DISABLED"}})
            if response.get("failures") or not response.get("tasks"):
                reasons = ", ".join(f"{f.get('reason')} {f.get('detail') or ''}".strip()
                                    for f in response.get("failures", [])) or "no task started"
                raise AwsError(f"run_task for generator {k} of {self.generators} failed: {reasons}")
            self.running.append(response["tasks"][0]["taskArn"])
        return list(self.running)

    def _wait_stopped(self, arns: list[str], budget: float) -> list[dict]:
        ecs = self.session.client("ecs")
        cluster = self.outputs["loadgen"]["cluster"]
        deadline = time.monotonic() + budget
        while True:
            tasks: list[dict] = []
            for first in range(0, len(arns), 100):
                found = ecs.describe_tasks(cluster=cluster, tasks=arns[first:first + 100])
                tasks += found.get("tasks", [])
            by_arn = {task["taskArn"]: task for task in tasks}
            self.running = [arn for arn in arns if by_arn.get(arn, {}).get("lastStatus") != "STOPPED"]
            if not self.running:
                return [by_arn[arn] for arn in arns]
            if time.monotonic() > deadline:
                raise AwsError(f"{len(self.running)} of {len(arns)} generators still running after {budget:.0f} s")
            self.sleep(self.timing.poll_seconds)

    def _stop_generators(self) -> None:
        if not self.running:
            return
        ecs = self.session.client("ecs")
        for arn in self.running:
            try:
                ecs.stop_task(cluster=self.outputs["loadgen"]["cluster"], task=arn, reason="perflab: run ended")
            except Exception as error:  # noqa: BLE001 — best effort on the way out; say so
                self.log(f"warning: could not stop generator task {arn}: {error}")
        self.running = []

    def _s3(self):
        from botocore.config import Config

        return self.session.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))

    def _collect(self, prefix: str, work_dir: pathlib.Path) -> tuple[list[pathlib.Path], list[pathlib.Path]]:
        from botocore.exceptions import ClientError

        s3 = self._s3()
        summaries: list[pathlib.Path] = []
        samples: list[pathlib.Path] = []
        for k in range(1, self.generators + 1):
            directory = work_dir / f"generator-{k}"
            directory.mkdir(parents=True, exist_ok=True)
            for file, required in (("summary.json", True), ("samples.csv.gz", False)):
                try:
                    body = s3.get_object(Bucket=self.outputs["resultsBucket"], Key=f"{prefix}/{k}/{file}")["Body"].read()
                except ClientError:
                    if required:
                        raise AwsError(f"generator {k} uploaded no {file} (s3://{self.outputs['resultsBucket']}/"
                                       f"{prefix}/{k}/{file})") from None
                    self.log(f"warning: generator {k} uploaded no {file}")
                    continue
                (directory / file).write_bytes(body)
                (summaries if file == "summary.json" else samples).append(directory / file)
        return summaries, samples

    def _planned_seconds(self) -> float:
        return run_shapes(self.options).mode(self.options.mode).planned_seconds  # warm-up included

    # -- one API × payload × repeat -----------------------------------------------------------------------
    def measure(self, api: Service, size: str, repeat: int) -> dict:
        cycle_start = time.monotonic()
        result: dict[str, Any] = {
            "api": api.name, "language": api.language, "framework": api.framework, "protocol": api.protocol,
            "deployment": api.deployment, "profile": self.profile.name, "payloadSize": size,
            "payloadBytes": run_shapes(self.options).payload_bytes[size], "repeat": repeat, "status": "error",
            "problem": None, "startupSeconds": None, "overheadSeconds": None, "verification": None, "phases": [],
            "resourceSamples": [], "database": None, "rawSamples": None}
        work_dir = self.run_dir / f"{api.name}-{size}-{repeat}"
        work_dir.mkdir(parents=True, exist_ok=True)
        prefix = f"{self.run_id}/{api.name}/{size}-{repeat}"
        loadgen_seconds = 0.0
        try:
            entry = self._entry(api)
            aws.admin(self.outputs, "reset", self.session)
            if entry.get("deployment") == "container":
                try:
                    result["startupSeconds"] = self._scale_up(api, entry)
                except AwsError as error:
                    result["problem"] = str(error)
                    return result
            budget = self.timing.start_lead_seconds + self._planned_seconds() + self.timing.stop_margin_seconds
            arns = self._launch(api, entry, size, prefix, budget)
            self.log(f"  {len(arns)} generator task(s) started; results under s3://{self.outputs['resultsBucket']}/{prefix}/")
            stopped = self._wait_stopped(arns, budget)
            problems = task_problems(stopped, self.outputs["loadgen"]["containerName"])
            if problems:
                raise AwsError("; ".join(problems))
            summaries, samples = self._collect(prefix, work_dir)
            summary = (json.loads(summaries[0].read_text()) if len(summaries) == 1
                       else self.merge(summaries, work_dir / "summary.json"))
            if len(summaries) == 1:
                (work_dir / "summary.json").write_text(json.dumps(summary))
            if samples:
                merge_samples(samples, work_dir / "samples.csv.gz")
                result["rawSamples"] = f"{work_dir.name}/samples.csv.gz"
            self.loadgen_version = summary.get("version")
            windows = [parse_time(p[key]) for p in summary["phases"] for key in ("start", "end")]
            loadgen_seconds = (max(windows) - min(windows)).total_seconds() if windows else 0.0
            result["phases"] = [self._phase(phase, entry) for phase in summary["phases"]]
            totals = summary["totals"]
            check = aws.admin(self.outputs, "verify", self.session, acknowledged=int(totals["acknowledged"]),
                              ambiguous=int(totals.get("ambiguous", 0)))
            result["verification"] = check
            result["database"] = aws.admin(self.outputs, "snapshot", self.session)
            problems = [] if check.get("passed") else [f"verification failed: {check.get('details')}"]
            broken = [f"{p['name']} {k}" for p in result["phases"] for k, ok in p["thresholds"].items() if not ok]
            if broken:
                problems.append(f"thresholds broken: {', '.join(broken)}")
            result["status"] = "failed" if problems else "passed"
            result["problem"] = "; ".join(problems) or None
            return result
        except (AwsError, RunError) as error:
            result["problem"] = str(error)
            return result
        except KeyboardInterrupt:
            result["problem"] = "interrupted (Ctrl-C): generators stopped, not verified"
            self.partial = result
            raise
        finally:
            self._stop_generators()
            self._scale_down()
            result["overheadSeconds"] = round(time.monotonic() - cycle_start - loadgen_seconds, 3)

    def _phase(self, phase: dict, entry: dict) -> dict:
        start, end = parse_time(phase["start"]), parse_time(phase["end"])
        record = {key: value for key, value in phase.items() if key in PHASE_FIELDS}
        try:
            record["cloudwatch"] = phase_metrics(self.session, self.outputs, entry, start, end)
        except Exception as error:  # noqa: BLE001 — the run's figures stand without CloudWatch; say why
            self.log(f"warning: CloudWatch metrics for {phase['name']}: {error}")
            record["cloudwatch"] = None
        events = phase.get("acknowledged")
        if events is None:
            events = phase.get("requests") or 0
        if self.prices:
            record["cost"] = phase_cost(
                self.prices, window_seconds=(end - start).total_seconds(), events=int(events), entry=entry,
                generator=self.outputs["loadgen"], generators=self.generators, api_tasks=self.api_tasks,
                rds_class=self.rds_class, cloudwatch=record["cloudwatch"])
        return record

    # -- the whole run --------------------------------------------------------------------------------------
    def document(self, results: list[dict], started: datetime.datetime, interrupted: bool) -> dict:
        # as_dict: cpus and memory (CPU pinning, a local Docker option, never applies on AWS)
        limits = {name: self.cfg.limits(name).as_dict() for name in self.cfg.require("limits")}
        postgres = next((r["database"].get("serverVersion") for r in results if r.get("database")), None)
        return {"schema": results_model.SCHEMA, "runId": self.run_id, "mode": self.options.mode, "stack": "aws",
                "startedAt": iso(started), "finishedAt": iso(utc_now()), "interrupted": interrupted,
                "command": self.options.command,
                "environment": {**environment.git(), "networkPath": "aws-vpc",
                                "versions": {"postgres": postgres, "loadgen": self.loadgen_version}},
                "config": {"payloadSizes": self.options.payload_sizes, "phaseScale": self.options.phase_scale,
                           "thinkTimeMs": self.options.think_time_ms, "rate": self.options.rate,
                           "entityPool": self.options.entity_pool, "warmupSeconds": warmup_seconds(self.options),
                           "repeat": self.options.repeat, "dbPoolMax": self.cfg.get("dbPoolMax"),
                           "maxBodyBytes": self.cfg.get("maxBodyBytes"), "limits": limits,
                           "thresholds": run_shapes(self.options).thresholds, "generators": self.generators,
                           "profiles": [self.profile.name]},
                "results": results}

    def run(self) -> dict:
        started = utc_now()
        problems = aws.check_outputs(self.outputs, self.session)
        if "loadgen" not in self.outputs or "taskDefinition" not in self.outputs["loadgen"]:
            problems.append("the stack has no generator task definition: run `bench up aws` again")
        if problems:
            raise RunError("the aws stack is not what its outputs say: " + "; ".join(problems))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        results: list[dict] = []
        interrupted = False
        try:
            for repeat in range(1, self.options.repeat + 1):
                for size in self.options.payload_sizes:
                    for api in self.options.apis:
                        self.log(f"{api.name} · payload {size} · repeat {repeat} · profile {self.profile.name} · "
                                 f"{self.generators} generator(s) on ECS")
                        results.append(self.measure(api, size, repeat))
        except KeyboardInterrupt:
            interrupted = True
            if self.partial is not None:
                results.append(self.partial)
        model = results_model.dump(self.document(results, started, interrupted),
                                   self.run_dir / results_model.RUN_FILE)
        if interrupted:
            raise KeyboardInterrupt
        return model.to_dict()


def run_from_cli(*, mode: str, api_names: tuple[str, ...], payload_sizes: list[str], repeat: int,
                 phase_scale: float, think_time_ms: int, rate: float | None, entity_pool: int,
                 warmup: float | None, results_dir: pathlib.Path, generators: int, ephemeral: bool,
                 command: str, log: Log = print, aws_session=None, profile: str | None = None) -> dict:
    """`bench run MODE --stack aws`: Pulumi CLI and credentials first (runner.aws.prerequisites stops at
    once, saying which is missing), then with --ephemeral up → run → destroy (destroy also on failure).

    `profile` (bench run --profile P): the auth/secrets profile to measure under. The AWS stack runs one
    profile per `bench up aws --profile P` (a switch redeploys every API, so the run does not do it): a
    profile it does not run is refused; with --ephemeral the stack comes up under it."""
    from perflab import catalogue

    aws.prerequisites(aws_session)
    cfg = stack_config.load(aws.STACK)
    session = aws_session or aws.session(aws.region_of(cfg))
    try:
        names = list(api_names) or None
        outputs = (aws.up(log=log, api_names=names, aws_session=session, profile=profile) if ephemeral
                   else aws.outputs())
        if not outputs:
            raise RunError("the aws stack is not up: run `bench up aws` (or use --ephemeral)")
        running = str(outputs.get("profile") or profiles.DEFAULT)
        if profile is not None and profiles.profile(profile).name != running:
            raise RunError(f"the aws stack runs profile {running}, not {profile}: bring it up under that profile "
                           f"with `bench up aws --profile {profile}`, then run again (on AWS a profile switch "
                           f"redeploys every API, so `bench run` does not do it)")
        deployed = outputs.get("apis", {})
        try:
            apis = ([catalogue.api(n) for n in api_names] if api_names
                    else [s for s in catalogue.APIS if s.name in deployed])
        except KeyError as error:
            raise RunError(str(error.args[0])) from None
        options = RunOptions(mode=mode, apis=apis, payload_sizes=payload_sizes or ["default"], repeat=repeat,
                             phase_scale=phase_scale, think_time_ms=think_time_ms, rate=rate,
                             entity_pool=entity_pool, warmup_seconds=warmup, results_dir=results_dir, stack="aws",
                             command=command)
        return AwsRunner(options, outputs, cfg, session, generators=generators, log=log).run()
    finally:
        if ephemeral:
            aws.down(log=log, aws_session=session)


__all__ = ["AwsRunner", "Timing", "generator_arguments", "loadgen_merge", "merge_samples", "metric_window",
           "phase_cost", "phase_metrics", "cold_starts", "run_from_cli", "task_problems"]
