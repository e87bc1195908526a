"""runner/aws_run.py: `bench run --stack aws` end to end against a moto server on 127.0.0.1 — ECS
update_service / run_task / describe_tasks / stop_task, ELBv2 target health, S3 presigned PUTs and
collection, CloudWatch GetMetricData (seeded with put_metric_data), Logs (REPORT lines seeded with
put_log_events) — with the admin function's invoke through botocore's Stubber (moto would need Docker to
run it) and a fake generator standing in for the Fargate tasks: it uploads its summary to the presigned
URLs it finds in its task's overrides, then stops the task.

moto computes no percentile statistic (p50/p99 answer HTTP 500), and its server runs in this process:
the `percentiles` fixture teaches moto's Statistics nearest-rank percentiles of the seeded values.
"""
from __future__ import annotations

import datetime
import gzip
import io
import json
import math
import pathlib
import urllib.request

import boto3
import jwt
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from click.testing import CliRunner

from perflab import catalogue, profiles
from perflab import results as results_model
from perflab.durations import parse_time
from perflab.settings import load as load_config
from runner import aws, aws_run
from runner.cli import main as bench
from runner.run import RunError, RunOptions

CLUSTER = "perflab-aws"
BUCKET = "perflab-aws-results-0123abcd"
ADMIN = "perflab-aws-db-admin"
RDS_ID = "perflab-aws-db-1"
LAMBDA = "perflab-aws-lambda-go-rest"
LAMBDA_LOGS = f"/aws/lambda/{LAMBDA}"
API_ID = "abc123api"
NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
PHASE_START = NOW - datetime.timedelta(minutes=10) + datetime.timedelta(seconds=7)  # not on the minute
PHASE_END = PHASE_START + datetime.timedelta(seconds=100)  # window 10:00 ago .. 8:00 ago (2 min)
WINDOW_START = PHASE_START.replace(second=0)
ACKNOWLEDGED_PER_GENERATOR = 300


@pytest.fixture
def percentiles(monkeypatch):
    from moto.cloudwatch import models

    original = models.Statistics.get_statistics_for_type

    def with_percentiles(self, stat):
        if stat.startswith("p"):
            values = sorted(self.metric_single_values_list)
            return values[max(0, math.ceil(float(stat[1:]) / 100 * len(values)) - 1)] if values else None
        return original(self, stat)
    monkeypatch.setattr(models.Statistics, "get_statistics_for_type", with_percentiles)


@pytest.fixture
def manual_tasks(moto_endpoint):
    """ECS tasks stay RUNNING until stopped (moto's default jumps every task to STOPPED when read)."""
    def post(path: str, body: dict) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/state-manager/{path}",
                                                      data=json.dumps(body).encode(), method="POST"), timeout=10)
    post("set-transition", {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10 ** 9}})
    yield
    post("unset-transition", {"model_name": "ecs::task"})


class AdminSession:
    """The boto3 session, with the Lambda client under botocore's Stubber (the admin function's invokes)."""

    def __init__(self, session):
        self.session = session
        self.region_name = session.region_name
        self.lambda_client = session.client("lambda")
        self.stub = Stubber(self.lambda_client)
        self.stub.activate()

    def client(self, name, **kwargs):
        return self.lambda_client if name == "lambda" else self.session.client(name, **kwargs)

    def expect(self, event: dict, result) -> None:
        body = json.dumps({"action": event["action"], "result": result}).encode()
        self.stub.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))},
                               {"FunctionName": ADMIN, "InvocationType": "RequestResponse",
                                "Payload": json.dumps(event).encode()})

    def expect_function(self, name: str) -> None:
        self.stub.add_response("get_function", {"Configuration": {"FunctionName": name}}, {"FunctionName": name})


@pytest.fixture
def stack(aws_environment, manual_tasks, percentiles):
    """What `bench up aws` would have created (as moto holds it) and the outputs naming it."""
    session = boto3.session.Session(region_name="eu-west-1")
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as the stack's VPC
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i * 16}.0/20")["Subnet"]["SubnetId"] for i in range(2)]
    group = ec2.create_security_group(GroupName="loadgen", Description="loadgen", VpcId=vpc)["GroupId"]
    ecs = session.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    api_task = ecs.register_task_definition(
        family="perflab-aws-go-rest", networkMode="awsvpc", cpu="1024", memory="2048",
        requiresCompatibilities=["FARGATE"], containerDefinitions=[{"name": "go-rest", "image": "go-rest@sha256:00"}])
    ecs.create_service(cluster=CLUSTER, serviceName="go-rest", desiredCount=0, launchType="FARGATE",
                       taskDefinition=api_task["taskDefinition"]["taskDefinitionArn"])
    generator = ecs.register_task_definition(
        family="perflab-aws-loadgen", networkMode="awsvpc", cpu="1024", memory="2048",
        requiresCompatibilities=["FARGATE"],
        containerDefinitions=[{"name": "loadgen", "image": "loadgen@sha256:00", "command": ["--help"],
                               "cpu": 1024, "memory": 2048}])  # moto sums the containers' sizes
    target_group = session.client("elbv2").create_target_group(
        Name="go-rest", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    session.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    fargate = {"cpu": 1024, "memory": 2048, "vcpus": 1.0}
    outputs = {
        "cluster": CLUSTER, "resultsBucket": BUCKET, "admin": {"functionName": ADMIN},
        "database": {"identifier": RDS_ID},
        "apis": {
            "go-rest": {"deployment": "container", "protocol": "rest", "service": "go-rest",
                        "endpoint": "http://nlb-0123.elb.eu-west-1.amazonaws.com:8080", "targetGroup": target_group,
                        "fargate": fargate},
            "lambda-go-rest": {"deployment": "lambda", "protocol": "rest", "functionName": LAMBDA,
                               "logGroup": LAMBDA_LOGS, "apiId": API_ID, "memoryMiB": 512,
                               "endpoint": f"https://{API_ID}.execute-api.eu-west-1.amazonaws.com"}},
        "loadgen": {"cluster": CLUSTER, "subnetIds": subnets, "securityGroupId": group,
                    "taskDefinition": generator["taskDefinition"]["taskDefinitionArn"], "containerName": "loadgen",
                    "fargate": fargate},
    }
    return session, outputs


def _put(session, namespace: str, name: str, dimensions: dict, values: list[float], at=None) -> None:
    at = at or WINDOW_START + datetime.timedelta(seconds=30)
    session.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
         "Timestamp": at + datetime.timedelta(seconds=i % 60), "Value": float(value)}
        for i, value in enumerate(values)])


def _seed_shared(session) -> None:
    rds = {"DBInstanceIdentifier": RDS_ID}
    _put(session, "AWS/RDS", "CPUUtilization", rds, [10, 30])
    _put(session, "AWS/RDS", "DatabaseConnections", rds, [5, 7])
    _put(session, "AWS/RDS", "CommitThroughput", rds, [100, 300])
    # outside the window (after its end): must not count
    _put(session, "AWS/RDS", "CPUUtilization", rds, [99], at=WINDOW_START + datetime.timedelta(minutes=3))


def fake_summary(k: int, n: int) -> dict:
    phase = {"name": "hold-10", "vus": 10 // n, "rate": None, "start": results_model_iso(PHASE_START),
             "end": results_model_iso(PHASE_END), "durationSeconds": 100.0, "completed": True,
             "requests": ACKNOWLEDGED_PER_GENERATOR, "failures": 0, "errorsByCode": {}, "throughput": 3.0,
             "latencyMs": {"p50": 2.0 + k, "p90": 3.0, "p95": 4.0, "p99": 5.0, "p999": 6.0, "max": 7.0, "mean": 2.5},
             "latencyKind": "service-time", "latencyUncorrectedMs": None,
             "thresholds": {"p95": True, "p99": True, "errorRate": True}, "histogram": "HISTFAAAA",
             "acknowledged": ACKNOWLEDGED_PER_GENERATOR, "rejected": 0, "ambiguous": 0}
    return {"tool": "loadgen", "version": "test-1", "status": "completed", "segment": f"{k}/{n}", "warmup": None,
            "phases": [phase], "totals": {"requests": ACKNOWLEDGED_PER_GENERATOR, "acknowledged": ACKNOWLEDGED_PER_GENERATOR,
                                          "rejected": 0, "ambiguous": 0}}


def results_model_iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fake_merge(calls: list):
    def merge(inputs: list[pathlib.Path], output: pathlib.Path) -> dict:
        summaries = [json.loads(path.read_text()) for path in inputs]
        calls.append([s["segment"] for s in summaries])
        merged = json.loads(json.dumps(summaries[0]))
        for key in ("requests", "acknowledged"):
            merged["phases"][0][key] = sum(s["phases"][0][key] for s in summaries)
            merged["totals"][key] = sum(s["totals"][key] for s in summaries)
        output.write_text(json.dumps(merged))
        return merged
    return merge


class FakeGenerators:
    """Stands in for Fargate and ECS's load balancer registration, called where the runner waits."""

    def __init__(self, session, outputs, upload=True, interrupt=False):
        self.session, self.outputs, self.upload, self.interrupt = session, outputs, upload, interrupt
        self.commands: list[list[str]] = []
        self.environments: list[dict[str, str]] = []
        self.desired_counts: list[int] = []
        self.sleeps = 0

    def __call__(self, seconds: float) -> None:
        self.sleeps += 1
        ecs, elbv2 = self.session.client("ecs"), self.session.client("elbv2")
        [service] = ecs.describe_services(cluster=CLUSTER, services=["go-rest"])["services"]
        self.desired_counts.append(service["desiredCount"])
        target_group = elbv2.describe_target_groups(Names=["go-rest"])["TargetGroups"][0]["TargetGroupArn"]
        if service["desiredCount"] and not elbv2.describe_target_health(TargetGroupArn=target_group)[
                "TargetHealthDescriptions"]:
            elbv2.register_targets(TargetGroupArn=target_group, Targets=[{"Id": "10.42.0.10", "Port": 8080}])
            return
        arns = ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
        if tasks and self.interrupt:
            raise KeyboardInterrupt
        for task in tasks:
            [override] = task["overrides"]["containerOverrides"]
            command, env = override["command"], {e["name"]: e["value"] for e in override["environment"]}
            self.commands.append(command)
            self.environments.append(env)
            k, n = map(int, command[command.index("--segment") + 1].split("/"))
            if self.upload:
                for url, body in ((env["PERFLAB_SUMMARY_URL"], json.dumps(fake_summary(k, n)).encode()),
                                  (env["PERFLAB_SAMPLES_URL"], gzip.compress(f"t,latency\n{k},1.0\n".encode()))):
                    urllib.request.urlopen(urllib.request.Request(
                        url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"}), timeout=10)
            ecs.stop_task(cluster=CLUSTER, task=task["taskArn"], reason="Essential container in task exited")


def _runner(session, outputs, tmp_path, api: str, generators: int, fake, merge_calls):
    options = RunOptions(mode="full", apis=[catalogue.api(api)], payload_sizes=["default"], phase_scale=0.01,
                         warmup_seconds=0, results_dir=tmp_path, stack="aws", command="bench run full --stack aws")
    timing = aws_run.Timing(start_lead_seconds=60, healthy_timeout_seconds=600, poll_seconds=0.01,
                            stop_margin_seconds=600)
    return aws_run.AwsRunner(options, outputs, load_config("aws"), session, generators=generators, log=lambda m: None,
                             merge=fake_merge(merge_calls), sleep=fake, timing=timing)


def test_a_container_api_is_scaled_measured_by_n_generators_merged_verified_and_scaled_back(stack, tmp_path):
    session, outputs = stack
    outputs = {**outputs, "apis": {"go-rest": outputs["apis"]["go-rest"]}}
    admin = AdminSession(session)
    admin.expect_function(ADMIN)
    admin.expect({"action": "reset"}, {"reset": True})
    admin.expect({"action": "verify", "acknowledged": 3 * ACKNOWLEDGED_PER_GENERATOR, "ambiguous": 0},
                 {"passed": True, "acknowledged": 900, "persisted": 900, "ambiguous": 0,
                  "statements": {"eventInsertCalls": 900, "entityUpsertCalls": 900, "otherStatementsOnTables": []},
                  "details": "900 events persisted == 900 acknowledged"})
    admin.expect({"action": "snapshot"}, {"serverVersion": "15.8"})
    dims = {"ClusterName": CLUSTER, "ServiceName": "go-rest"}
    _put(session, "AWS/ECS", "CPUUtilization", dims, [40, 60])
    _put(session, "AWS/ECS", "MemoryUtilization", dims, [20, 30])
    _seed_shared(session)
    fake, merges = FakeGenerators(session, outputs), []
    document = _runner(admin, outputs, tmp_path, "go-rest", 3, fake, merges).run()
    admin.stub.assert_no_pending_responses()  # reset, verify (the merged acknowledged count), snapshot

    [result] = document["results"]
    assert result["status"] == "passed", result["problem"]
    # scaled to perflab:desiredCountUnderTest (1) while measured, waited for a healthy target, back to 0 after
    assert fake.desired_counts[0] == 1
    [service] = session.client("ecs").describe_services(cluster=CLUSTER, services=["go-rest"])["services"]
    assert service["desiredCount"] == 0
    # three tasks, segments 1/3..3/3 with one agreed start, remote target allowed, files in /results
    segments = sorted(c[c.index("--segment") + 1] for c in fake.commands)
    assert segments == ["1/3", "2/3", "3/3"]
    assert len({c[c.index("--start-at") + 1] for c in fake.commands}) == 1
    command = fake.commands[0]
    assert command[:2] == ["run", "--protocol"] and "--allow-remote" in command and "--progress" not in command
    assert command[command.index("--summary") + 1] == "/results/summary.json"
    assert command[command.index("--target") + 1] == outputs["apis"]["go-rest"]["endpoint"]
    tasks = session.client("ecs").list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"]
    [described] = session.client("ecs").describe_tasks(cluster=CLUSTER, tasks=tasks[:1])["tasks"]
    assert described["launchType"] == "FARGATE"
    assert merges == [["1/3", "2/3", "3/3"]]  # merged by `loadgen merge` (here: the fake)
    [phase] = result["phases"]
    assert phase["acknowledged"] == 900 and result["verification"]["statements"]["eventInsertCalls"] == 900
    cw = phase["cloudwatch"]
    assert parse_time(cw["window"]["start"]) == WINDOW_START and cw["window"]["periodSeconds"] == 120
    assert parse_time(cw["window"]["end"]) == WINDOW_START + datetime.timedelta(minutes=2)
    assert cw["ecs"] == {"service": "go-rest", "cpuUtilizationAvg": 50.0, "cpuUtilizationMax": 60.0,
                         "memoryUtilizationAvg": 25.0, "memoryUtilizationMax": 30.0}
    assert cw["rds"] == {"instance": RDS_ID, "cpuUtilizationAvg": 20.0, "cpuUtilizationMax": 30.0,
                         "databaseConnectionsAvg": 6.0, "databaseConnectionsMax": 7.0, "commitThroughputAvg": 200.0}
    assert cw["lambda"] is None and cw["apiGateway"] is None
    cost = phase["cost"]
    assert cost["generators"] == 3 and cost["events"] == 900 and cost["usdPerMillionEvents"] > 0
    # the raw samples of the three generators in one file, the header once
    lines = gzip.decompress((tmp_path / document["runId"] / result["rawSamples"]).read_bytes()).decode().splitlines()
    assert lines == ["t,latency", "1,1.0", "2,1.0", "3,1.0"]
    assert results_model.load(tmp_path / document["runId"]).config.generators == 3


def test_under_an_auth_profile_every_generator_task_gets_auth_and_a_token_of_the_stacks_key(stack, tmp_path):
    session, outputs = stack
    key = "perflab-aws-key-" + "k" * 40
    outputs = {**outputs, "apis": {"go-rest": outputs["apis"]["go-rest"]}, "profile": "auth",
               "auth": {"issuer": profiles.ISSUER, "audience": profiles.AUDIENCE, "key": key}}
    admin = AdminSession(session)
    admin.expect_function(ADMIN)
    admin.expect({"action": "reset"}, {"reset": True})
    admin.expect({"action": "verify", "acknowledged": 2 * ACKNOWLEDGED_PER_GENERATOR, "ambiguous": 0},
                 {"passed": True, "acknowledged": 600, "persisted": 600, "ambiguous": 0, "details": "ok"})
    admin.expect({"action": "snapshot"}, {})
    fake, merges = FakeGenerators(session, outputs), []
    runner = _runner(admin, outputs, tmp_path, "go-rest", 2, fake, merges)
    started = datetime.datetime.now(datetime.UTC).timestamp()
    document = runner.run()
    [result] = document["results"]
    assert result["status"] == "passed", result["problem"]
    assert result["profile"] == "auth" and document["config"]["profiles"] == ["auth"]
    assert len(fake.commands) == 2
    budget = (runner.timing.start_lead_seconds + runner._planned_seconds() + runner.timing.stop_margin_seconds)
    for command, env in zip(fake.commands, fake.environments, strict=True):
        assert "--auth" in command  # loadgen sends Authorization: Bearer $JWT_TOKEN
        assert not [a for a in command if a.startswith("eyJ")]  # the token is never on the command line
        claims = jwt.decode(env["JWT_TOKEN"], key, algorithms=["HS256"], issuer=profiles.ISSUER,
                            audience=profiles.AUDIENCE)
        # Valid for this measurement's budget (start lead + phases + stop margin), not for days.
        assert started - 5 <= claims["nbf"] and claims["exp"] - claims["nbf"] == int(budget)
        assert {"PERFLAB_SUMMARY_URL", "PERFLAB_SAMPLES_URL"} < set(env)
    # ECS holds the overrides as sent: the RunTask carried both.
    ecs = session.client("ecs")
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"])
    for task in tasks["tasks"]:
        [override] = task["overrides"]["containerOverrides"]
        assert "--auth" in override["command"] and "JWT_TOKEN" in {e["name"] for e in override["environment"]}


def test_without_auth_the_generators_get_neither_flag_nor_token(stack, tmp_path):
    session, outputs = stack
    outputs = {**outputs, "apis": {"go-rest": outputs["apis"]["go-rest"]}, "profile": "no-auth", "auth": None}
    admin = AdminSession(session)
    admin.expect_function(ADMIN)
    admin.expect({"action": "reset"}, {"reset": True})
    admin.expect({"action": "verify", "acknowledged": ACKNOWLEDGED_PER_GENERATOR, "ambiguous": 0},
                 {"passed": True, "acknowledged": 300, "persisted": 300, "ambiguous": 0, "details": "ok"})
    admin.expect({"action": "snapshot"}, {})
    fake = FakeGenerators(session, outputs)
    document = _runner(admin, outputs, tmp_path, "go-rest", 1, fake, []).run()
    assert document["results"][0]["profile"] == "no-auth"
    [command], [env] = fake.commands, fake.environments
    assert "--auth" not in command and "JWT_TOKEN" not in env


def test_an_auth_profile_without_a_published_key_is_refused(stack, tmp_path):
    session, outputs = stack
    with pytest.raises(RunError, match="runs profile auth but publishes no JWT key"):
        _runner(session, {**outputs, "profile": "auth", "auth": None}, tmp_path, "go-rest", 1, None, [])


def test_bench_run_aws_measures_the_profile_the_stack_runs_and_refuses_another(monkeypatch, aws_environment,
                                                                               tmp_path):
    monkeypatch.setattr(aws, "prerequisites", lambda session=None: {})
    monkeypatch.setattr(aws, "outputs", lambda: {"apis": {}, "profile": "auth", "auth": {"key": "k" * 40}})
    ran = []
    monkeypatch.setattr(aws_run.AwsRunner, "run", lambda self: ran.append(self.profile.name) or {
        "runId": "r", "mode": "smoke", "results": []})
    arguments = ["run", "smoke", "--stack", "aws", "--results-dir", str(tmp_path)]
    result = CliRunner().invoke(bench, [*arguments, "--profile", "no-auth"])
    assert result.exit_code == 1
    assert "the aws stack runs profile auth, not no-auth" in result.output
    assert "`bench up aws --profile no-auth`" in result.output and ran == []
    CliRunner().invoke(bench, [*arguments, "--profile", "auth"])
    CliRunner().invoke(bench, arguments)  # no --profile: whichever the stack runs
    assert ran == ["auth", "auth"]
    result = CliRunner().invoke(bench, [*arguments, "--profile", "no-auth,auth"])
    assert result.exit_code == 2 and "one profile per up" in result.output


def test_a_lambda_api_gets_its_metrics_and_cold_starts_apart_from_warm_invocations(stack, tmp_path):
    session, outputs = stack
    outputs = {**outputs, "apis": {"lambda-go-rest": outputs["apis"]["lambda-go-rest"]}}
    admin = AdminSession(session)
    admin.expect_function(ADMIN)
    admin.expect_function(LAMBDA)
    admin.expect({"action": "reset"}, {"reset": True})
    admin.expect({"action": "verify", "acknowledged": ACKNOWLEDGED_PER_GENERATOR, "ambiguous": 0},
                 {"passed": True, "acknowledged": 300, "persisted": 300, "ambiguous": 0, "details": "ok"})
    admin.expect({"action": "snapshot"}, {})
    function = {"FunctionName": LAMBDA}
    _put(session, "AWS/Lambda", "Invocations", function, [600, 400])
    _put(session, "AWS/Lambda", "Duration", function, list(range(1, 101)))  # p50 50, p99 99, sum 5050
    _put(session, "AWS/Lambda", "Errors", function, [1])
    _put(session, "AWS/Lambda", "Throttles", function, [0])
    _put(session, "AWS/Lambda", "ConcurrentExecutions", function, [3, 5])
    api = {"ApiId": API_ID}
    _put(session, "AWS/ApiGateway", "Count", api, [1000])
    _put(session, "AWS/ApiGateway", "Latency", api, list(range(1, 201)))  # p50 100, p99 198
    _put(session, "AWS/ApiGateway", "IntegrationLatency", api, list(range(1, 101)))
    _put(session, "AWS/ApiGateway", "4xx", api, [2])
    _put(session, "AWS/ApiGateway", "5xx", api, [1])
    _seed_shared(session)
    logs = session.client("logs")
    logs.create_log_group(logGroupName=LAMBDA_LOGS)
    logs.create_log_stream(logGroupName=LAMBDA_LOGS, logStreamName="2026/01/01/[$LATEST]abc")
    ms = int(WINDOW_START.timestamp() * 1000)
    report = "REPORT RequestId: {} Duration: 2.00 ms Billed Duration: 3 ms Memory Size: 512 MB Max Memory Used: 40 MB"
    logs.put_log_events(logGroupName=LAMBDA_LOGS, logStreamName="2026/01/01/[$LATEST]abc", logEvents=[
        {"timestamp": ms + 1000, "message": report.format("a") + " Init Duration: 120.50 ms"},
        {"timestamp": ms + 2000, "message": report.format("b")},
        {"timestamp": ms + 3000, "message": "INIT_START Runtime Version: provided:al2023 Init Duration"},
        {"timestamp": ms + 4000, "message": report.format("c") + " Init Duration: 80.00 ms"},
        {"timestamp": ms + 200_000, "message": report.format("d") + " Init Duration: 99.00 ms"},  # after the window
    ])
    fake, merges = FakeGenerators(session, outputs), []
    document = _runner(admin, outputs, tmp_path, "lambda-go-rest", 1, fake, merges).run()
    admin.stub.assert_no_pending_responses()
    [result] = document["results"]
    assert result["status"] == "passed", result["problem"]
    assert merges == []  # one generator: its summary as it is
    assert fake.desired_counts and set(fake.desired_counts) == {0}  # a Lambda is never scaled
    assert result["startupSeconds"] is None
    [phase] = result["phases"]
    cw = phase["cloudwatch"]
    assert cw["lambda"] == {"functionName": LAMBDA, "invocations": 1000.0, "durationP50Ms": 50.0,
                            "durationP99Ms": 99.0, "durationSumMs": 5050.0, "errors": 1.0, "throttles": 0.0,
                            "concurrentExecutionsMax": 5.0, "coldStarts": 2, "warmInvocations": 998.0,
                            "initDurationSumMs": 200.5}
    assert cw["apiGateway"] == {"apiId": API_ID, "count": 1000.0, "latencyP50Ms": 100.0, "latencyP99Ms": 198.0,
                                "integrationLatencyP50Ms": 50.0, "integrationLatencyP99Ms": 99.0,
                                "errors4xx": 2.0, "errors5xx": 1.0}
    assert cw["ecs"] is None and cw["rds"]["cpuUtilizationMax"] == 30.0
    names = [item["name"] for item in phase["cost"]["items"]]
    assert names[:3] == ["Lambda GB-seconds (duration + cold-start init)", "Lambda requests",
                         "API Gateway HTTP API requests"]
    assert phase["cost"]["items"][0]["quantity"] == pytest.approx((5050 + 200.5) / 1000 * 0.5)


def test_a_failed_generator_still_scales_the_api_back_to_zero(stack, tmp_path):
    session, outputs = stack
    outputs = {**outputs, "apis": {"go-rest": outputs["apis"]["go-rest"]}}
    admin = AdminSession(session)
    admin.expect_function(ADMIN)
    admin.expect({"action": "reset"}, {"reset": True})
    fake = FakeGenerators(session, outputs, upload=False)  # the task ends without uploading anything
    document = _runner(admin, outputs, tmp_path, "go-rest", 2, fake, []).run()
    [result] = document["results"]
    assert result["status"] == "error" and "generator 1 uploaded no summary.json" in result["problem"]
    assert 1 in fake.desired_counts
    [service] = session.client("ecs").describe_services(cluster=CLUSTER, services=["go-rest"])["services"]
    assert service["desiredCount"] == 0


def test_ctrl_c_stops_the_generators_scales_back_and_writes_a_partial_run(stack, tmp_path):
    session, outputs = stack
    outputs = {**outputs, "apis": {"go-rest": outputs["apis"]["go-rest"]}}
    admin = AdminSession(session)
    admin.expect_function(ADMIN)
    admin.expect({"action": "reset"}, {"reset": True})
    fake = FakeGenerators(session, outputs, interrupt=True)
    runner = _runner(admin, outputs, tmp_path, "go-rest", 2, fake, [])
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    ecs = session.client("ecs")
    assert ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"] == []
    assert len(ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"]) == 2
    [service] = ecs.describe_services(cluster=CLUSTER, services=["go-rest"])["services"]
    assert service["desiredCount"] == 0
    saved = results_model.load(tmp_path / runner.run_id)
    assert saved.interrupted and saved.results[0].problem.startswith("interrupted (Ctrl-C)")


def test_phase_cost_of_a_container_api_matches_the_hand_computed_example():
    """Window 120 s = 1/30 h; API: 1 task of 1 vCPU / 2 GB; 2 generator tasks of 1 vCPU / 2 GB;
    prices: Fargate 0.04048 per vCPU-hour, 0.004445 per GB-hour, RDS db.m7g.large 0.184 per hour.

      API vCPU        1 x 1 x 1/30 x 0.04048  = 0.00134933
      API GB          1 x 2 x 1/30 x 0.004445 = 0.00029633
      generators vCPU 2 x 1 x 1/30 x 0.04048  = 0.00269867
      generators GB   2 x 2 x 1/30 x 0.004445 = 0.00059267
      RDS             1/30 x 0.184            = 0.00613333
      total                                   = 0.01107033 USD
      per million events: 0.01107033 / 60,000 x 1,000,000 = 0.18450556 USD
    """
    size = {"cpu": 1024, "memory": 2048, "vcpus": 1.0}
    cost = aws_run.phase_cost(PRICES, window_seconds=120, events=60_000,
                              entry={"deployment": "container", "fargate": size}, generator={"fargate": size},
                              generators=2, api_tasks=1, rds_class="db.m7g.large", cloudwatch=None)
    assert [round(item["usd"], 8) for item in cost["items"]] == [0.00134933, 0.00029633, 0.00269867, 0.00059267,
                                                                  0.00613333]
    assert cost["totalUsd"] == pytest.approx(0.01107033, abs=1e-8)
    assert cost["usdPerMillionEvents"] == pytest.approx(0.18450556, abs=1e-8)


def test_phase_cost_of_a_lambda_api_matches_the_hand_computed_example():
    """Window 60 s = 1/60 h; Lambda of 512 MiB = 0.5 GB: Duration Sum 250,000 ms + 2 cold starts' Init
    Duration 1,000 ms = 251 s x 0.5 GB = 125.5 GB-s; 10,000 invocations; 10,000 HTTP API requests; 1
    generator of 1 vCPU / 2 GB; prices: 0.0000166667 per GB-s, 0.20 per million invocations, 1.11 per
    million HTTP API requests, Fargate and RDS as above.

      Lambda GB-s     125.5 x 0.0000166667     = 0.00209167
      Lambda requests 10,000 x 0.20 / 1e6      = 0.00200000
      HTTP API        10,000 x 1.11 / 1e6      = 0.01110000
      generator vCPU  1 x 1 x 1/60 x 0.04048   = 0.00067467
      generator GB    1 x 2 x 1/60 x 0.004445  = 0.00014817
      RDS             1/60 x 0.184             = 0.00306667
      total                                    = 0.01908117 USD
      per million events: 0.01908117 / 10,000 x 1,000,000 = 1.90811709 USD
    A metric CloudWatch did not report leaves the totals null instead of guessing.
    """
    entry = {"deployment": "lambda", "memoryMiB": 512}
    cloudwatch = {"lambda": {"durationSumMs": 250_000.0, "initDurationSumMs": 1000.0, "invocations": 10_000.0},
                  "apiGateway": {"count": 10_000.0}}
    cost = aws_run.phase_cost(PRICES, window_seconds=60, events=10_000, entry=entry,
                              generator={"fargate": {"cpu": 1024, "memory": 2048}}, generators=1, api_tasks=1,
                              rds_class="db.m7g.large", cloudwatch=cloudwatch)
    assert [round(item["usd"], 8) for item in cost["items"]] == [0.00209167, 0.002, 0.0111, 0.00067467, 0.00014817,
                                                                  0.00306667]
    assert cost["usdPerMillionEvents"] == pytest.approx(1.90811709, abs=1e-8)
    cloudwatch["apiGateway"]["count"] = None
    unknown = aws_run.phase_cost(PRICES, window_seconds=60, events=10_000, entry=entry,
                                 generator={"fargate": {"cpu": 1024, "memory": 2048}}, generators=1, api_tasks=1,
                                 rds_class="db.m7g.large", cloudwatch=cloudwatch)
    assert unknown["totalUsd"] is None and unknown["usdPerMillionEvents"] is None


PRICES = {"region": "eu-west-1", "date": "2026-11-30",
          "perHour": {"fargateVcpu": 0.04048, "fargateGb": 0.004445, "rds": {"db.m7g.large": 0.184}},
          "perUse": {"lambdaGbSecond": 0.0000166667, "lambdaRequestsPerMillion": 0.20,
                     "httpApiRequestsPerMillion": 1.11}}


def test_the_stack_file_has_every_price_the_run_needs():
    prices = load_config("aws").get("prices")
    for path in (("perHour", "fargateVcpu"), ("perHour", "fargateGb"), ("perUse", "lambdaGbSecond"),
                 ("perUse", "lambdaRequestsPerMillion"), ("perUse", "httpApiRequestsPerMillion")):
        assert aws._price(prices, *path) > 0


def test_the_metric_window_is_the_phase_on_the_minute_grid_at_least_60_s():
    at = datetime.datetime(2026, 1, 1, 12, 0, 7, tzinfo=datetime.UTC)
    low, high, period = aws_run.metric_window(at, at + datetime.timedelta(seconds=100))
    assert (low.second, period, high - low) == (0, 120, datetime.timedelta(seconds=120))
    assert aws_run.metric_window(at, at + datetime.timedelta(seconds=5))[2] == 60


def test_exit_codes_of_stopped_generators_are_checked():
    ok = {"containers": [{"name": "loadgen", "exitCode": 0}]}
    assert aws_run.task_problems([ok, ok], "loadgen") == []
    failed = {"containers": [{"name": "loadgen", "exitCode": 3}]}
    never = {"containers": [{"name": "loadgen"}], "stoppedReason": "CannotPullContainerError: pull access denied"}
    assert aws_run.task_problems([ok, failed, never], "loadgen") == [
        "generator 2 exited 3 (upload to S3 failed)",
        "generator 3 did not run to an exit code (CannotPullContainerError: pull access denied)"]


def test_bench_run_stack_aws_stops_at_once_without_the_pulumi_cli_or_credentials(monkeypatch, tmp_path):
    monkeypatch.setattr(aws.shutil, "which", lambda name: None)
    result = CliRunner().invoke(bench, ["run", "smoke", "--stack", "aws"])
    assert result.exit_code == 1 and "Error: the AWS stack needs the Pulumi CLI" in result.output
    monkeypatch.setattr(aws.shutil, "which", lambda name: "/usr/bin/pulumi")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(aws, "_automation_stack", lambda *a: pytest.fail("must stop before Pulumi runs"))
    result = CliRunner().invoke(bench, ["run", "smoke", "--stack", "aws", "--generators", "2"])
    assert result.exit_code == 1 and "Error: no AWS credentials" in result.output


def test_ephemeral_brings_the_stack_down_even_when_the_run_fails(monkeypatch, aws_environment, tmp_path):
    steps = []
    monkeypatch.setattr(aws, "prerequisites", lambda session=None: steps.append("checked") or {})
    monkeypatch.setattr(aws, "up", lambda log, api_names, aws_session, profile: steps.append(("up", profile))
                        or {"apis": {}, "profile": profile, "auth": {"key": "k" * 40}})
    monkeypatch.setattr(aws, "down", lambda log, aws_session: steps.append("down"))

    def broken(self):
        raise aws.AwsError("run_task for generator 1 of 2 failed: RESOURCE:MEMORY")
    monkeypatch.setattr(aws_run.AwsRunner, "run", broken)
    result = CliRunner().invoke(bench, ["run", "full", "--stack", "aws", "--ephemeral", "--generators", "2",
                                        "--profile", "auth", "--results-dir", str(tmp_path)])
    assert result.exit_code == 1 and "run_task for generator 1 of 2 failed" in result.output
    assert steps == ["checked", ("up", "auth"), "down"]  # brought up under the profile asked for
