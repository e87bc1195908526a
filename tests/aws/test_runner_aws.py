"""runner/aws.py: the AWS calls the runner makes, against a moto server (or botocore's Stubber where moto
would need Docker), and `bench up/down aws` stopping at once with what is missing."""
from __future__ import annotations

import io
import json
import types

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from click.testing import CliRunner

from perflab.settings import StackConfig
from perflab.settings import load as load_config
from runner import aws
from runner.cli import main as bench

ACCOUNT = "123456789012"  # moto's account


@pytest.fixture
def session(aws_environment):
    return boto3.session.Session(region_name="eu-west-1")


@pytest.fixture
def deployed(session) -> dict:
    """What `bench up aws` would have created (as moto holds it) and the outputs naming it."""
    ecs = session.client("ecs")
    ecs.create_cluster(clusterName="perflab-aws")
    task = ecs.register_task_definition(family="perflab-aws-go-rest", networkMode="awsvpc", cpu="1024",
                                        memory="2048", requiresCompatibilities=["FARGATE"],
                                        containerDefinitions=[{"name": "go-rest", "image": "go-rest@sha256:00"}])
    ecs.create_service(cluster="perflab-aws", serviceName="go-rest", desiredCount=0, launchType="FARGATE",
                       taskDefinition=task["taskDefinition"]["taskDefinitionArn"])
    role = session.client("iam").create_role(RoleName="db-admin", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    lambdas = session.client("lambda")
    for name, runtime in (("perflab-aws-db-admin", "python3.12"), ("perflab-aws-lambda-go-rest", "provided.al2023")):
        lambdas.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handler",
                                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    session.client("s3").create_bucket(Bucket="perflab-aws-results-0123abcd",
                                       CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return {"cluster": "perflab-aws", "resultsBucket": "perflab-aws-results-0123abcd",
            "admin": {"functionName": "perflab-aws-db-admin"},
            "apis": {"go-rest": {"deployment": "container", "service": "go-rest", "protocol": "rest"},
                     "lambda-go-rest": {"deployment": "lambda", "functionName": "perflab-aws-lambda-go-rest"}}}


def test_caller_identity_names_the_account(session):
    identity = aws.caller_identity(session)
    assert identity["account"] == ACCOUNT and identity["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:")
    assert identity["region"] == "eu-west-1"


def test_missing_credentials_are_named_before_any_call(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(aws.AwsError, match="no AWS credentials: set AWS_PROFILE"):
        aws.caller_identity(boto3.session.Session(region_name="eu-west-1"))


def test_rejected_credentials_say_so_without_printing_them(session):
    sts = session.client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", service_error_code="ExpiredToken",
                              service_message="The security token included in the request is expired")
        fake = type("S", (), {"get_credentials": lambda self: session.get_credentials(),
                              "client": lambda self, name: sts, "region_name": "eu-west-1"})()
        with pytest.raises(aws.AwsError, match=r"AWS refused the credentials \(ExpiredToken\)") as error:
            aws.caller_identity(fake)
    assert "testing" not in str(error.value)


def test_bench_up_and_down_aws_stop_at_once_without_the_pulumi_cli(monkeypatch):
    monkeypatch.setattr(aws.shutil, "which", lambda name: None)
    for command in (["up", "aws"], ["down", "aws"]):
        result = CliRunner().invoke(bench, command)
        assert result.exit_code == 1, result.output
        assert "Error: the AWS stack needs the Pulumi CLI" in result.output
        assert "runs the local Docker stack only" in result.output


def test_bench_up_aws_without_credentials_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(aws.shutil, "which", lambda name: "/usr/bin/pulumi")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(aws, "_automation_stack", lambda *a: pytest.fail("must stop before Pulumi runs"))
    result = CliRunner().invoke(bench, ["up", "aws"])
    assert result.exit_code == 1 and "Error: no AWS credentials" in result.output


def test_bench_up_aws_with_credentials_goes_on_to_build_and_deploy(monkeypatch, aws_environment):
    monkeypatch.setattr(aws.shutil, "which", lambda name: "/usr/bin/pulumi")
    steps = []
    monkeypatch.setattr(aws, "build_artifacts", lambda config, names, log: steps.append(("build", names)))

    class Stack:
        def up(self, on_output):
            steps.append(("up",))

        def outputs(self):
            return {}
    monkeypatch.setattr(aws, "_automation_stack", lambda *a: Stack())
    identity_seen = []
    aws.up(log=identity_seen.append, api_names=["go-rest"])
    assert steps == [("build", ["go-rest"]), ("up",)]
    assert identity_seen[0].startswith(f"AWS account {ACCOUNT} as arn:aws:sts::{ACCOUNT}:")


def test_dry_run_prints_the_hourly_cost_from_the_prices_in_the_stack_file():
    config = load_config("aws")
    prices = config.get("prices")
    hourly, monthly = prices["perHour"], prices["perMonth"]
    idle = (hourly["natGateway"] + hourly["publicIpv4Address"] + hourly["networkLoadBalancer"]
            + hourly["rds"]["db.m7g.large"] + (20 * monthly["rdsGp3Gb"] + monthly["secret"]) / 730)
    task = 1 * hourly["fargateVcpu"] + 2 * hourly["fargateGb"]  # 1 vCPU / 2 GiB (api and loadgen classes)
    result = CliRunner().invoke(bench, ["up", "aws", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("estimated cost of the aws stack (USD, on-demand prices for eu-west-1 as of "
                                    f"{prices['date']}, from perflab:prices in Pulumi.aws.yaml):")
    assert f"idle (every service at desired count 0): {idle:.4f} USD/h" in result.output
    assert f"while measuring one container API:       {idle + 2 * task:.4f} USD/h" in result.output
    assert CliRunner().invoke(bench, ["up", "local", "--dry-run"]).exit_code == 1


def test_endpoints_egress_and_a_foreign_region_change_the_estimate():
    base = load_config("aws")
    values = {**base.values, "perflab:egress": "endpoints", "aws:region": "us-east-1"}
    estimate = aws.estimate(StackConfig("aws", values))
    egress = [item for item in estimate.always_on if item.name.startswith("interface endpoints")]
    assert [(item.quantity, item.price) for item in egress] == [(8, 0.011)]
    assert not [item for item in estimate.always_on if item.name.startswith("NAT")]
    assert any("the prices are for eu-west-1, the stack deploys to us-east-1" in note for note in estimate.notes)
    only_lambdas = aws.estimate(base, ["lambda-go-rest"])
    assert not [item for item in only_lambdas.always_on if "load balancer" in item.name]


def test_check_outputs_finds_everything_the_runner_uses_and_names_what_is_missing(session, deployed):
    assert aws.check_outputs(deployed, session) == []
    session.client("s3").delete_bucket(Bucket=deployed["resultsBucket"])
    session.client("lambda").delete_function(FunctionName="perflab-aws-lambda-go-rest")
    assert aws.check_outputs(deployed, session) == [
        "Lambda function perflab-aws-lambda-go-rest not found",
        "results bucket perflab-aws-results-0123abcd not found"]


def test_check_outputs_finds_the_jwt_keys_secret_of_an_auth_profile(session, deployed):
    arn = session.client("secretsmanager").create_secret(Name="perflab-aws-jwt-secret-key-1",
                                                         SecretString="k" * 40)["ARN"]
    under_auth = {**deployed, "profile": "auth", "auth": {"key": "k" * 40, "secretArn": arn}}
    assert aws.check_outputs(under_auth, session) == []
    session.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert aws.check_outputs(under_auth, session) == [f"the JWT key's secret {arn} not found"]


def test_bench_up_aws_passes_the_profile_and_makes_sure_a_key_exists(monkeypatch, aws_environment, tmp_path):
    monkeypatch.setattr(aws.shutil, "which", lambda name: "/usr/bin/pulumi")
    monkeypatch.setattr(aws, "build_artifacts", lambda config, names, log: None)
    monkeypatch.setenv("PERFLAB_STATE", str(tmp_path))
    # Empty counts as unset; set here so that what aws.up exports for the program is undone after the test.
    monkeypatch.setenv("PERFLAB_JWT_SECRET_KEY", "")
    monkeypatch.setenv("PERFLAB_PROFILE", "")
    seen = {}
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:perflab-aws-jwt-secret-key-Xy12Zq"
    outputs = {"apis": {}, "database": {"host": "db", "port": 5432, "secretArn": "arn:db"},
               "admin": {"functionName": "perflab-aws-db-admin"}, "resultsBucket": "bucket", "profile": "auth+secrets",
               "auth": {"issuer": "perflab", "audience": "perflab-events", "key": "k" * 40, "secretArn": arn}}

    class Stack:
        def up(self, on_output):
            seen["profile"] = aws.os.environ.get("PERFLAB_PROFILE")

        def outputs(self):
            return {key: types.SimpleNamespace(value=value) for key, value in outputs.items()}
    monkeypatch.setattr(aws, "_automation_stack", lambda *a: Stack())
    result = CliRunner().invoke(bench, ["up", "aws", "--profile", "auth+secrets"])
    assert result.exit_code == 0, result.output
    assert seen == {"profile": "auth+secrets"}
    assert f"profile: auth+secrets (JWT key: Secrets Manager secret {arn}; `bench token aws`" in result.output
    assert "k" * 40 not in result.output  # the key is never printed
    assert len((tmp_path / "jwt-secret-key").read_text().strip()) >= 32  # the program's key, generated once


def test_the_estimate_counts_the_jwt_keys_secret_under_an_auth_profile():
    config = load_config("aws")
    assert not [i for i in aws.estimate(config).always_on if "JWT" in i.name]
    [item] = [i for i in aws.estimate(config, profile="auth").always_on if "JWT" in i.name]
    assert item.price == config.get("prices")["perMonth"]["secret"] / 730
    result = CliRunner().invoke(bench, ["up", "aws", "--dry-run", "--profile", "auth"])
    assert result.exit_code == 0 and "Secrets Manager secret (the JWT key of the auth profile)" in result.output


def test_scale_sets_one_api_running_then_none(session, deployed):
    assert aws.scale(deployed, "go-rest", 1, session) == {"service": "go-rest", "desiredCount": 1}
    [service] = session.client("ecs").describe_services(cluster="perflab-aws", services=["go-rest"])["services"]
    assert service["desiredCount"] == 1
    assert aws.scale(deployed, "go-rest", 0, session)["desiredCount"] == 0
    with pytest.raises(aws.AwsError, match="lambda-go-rest is not a container API"):
        aws.scale(deployed, "lambda-go-rest", 1, session)
    with pytest.raises(aws.AwsError, match="one task while measured"):
        aws.scale(deployed, "go-rest", 2, session)


def _invocation(stub: Stubber, payload: dict, *, event: dict, function_error: str | None = None) -> None:
    body = json.dumps(payload).encode()
    response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
    if function_error:
        response["FunctionError"] = function_error
    stub.add_response("invoke", response, {"FunctionName": "perflab-aws-db-admin",
                                           "InvocationType": "RequestResponse",
                                           "Payload": json.dumps(event).encode()})


def test_admin_invokes_the_function_and_turns_its_errors_into_messages(session, deployed):
    client = session.client("lambda")
    fake = type("S", (), {"client": lambda self, name: client})()
    with Stubber(client) as stub:
        _invocation(stub, {"action": "counts", "result": {"events": 3, "entities": 3}}, event={"action": "counts"})
        assert aws.admin(deployed, "counts", fake) == {"events": 3, "entities": 3}
        _invocation(stub, {"action": "verify", "error": "acknowledged must be a whole number >= 0, not -1"},
                    event={"action": "verify", "acknowledged": -1})
        with pytest.raises(aws.AwsError, match="db-admin verify: acknowledged must be a whole number"):
            aws.admin(deployed, "verify", fake, acknowledged=-1)
        _invocation(stub, {"errorMessage": "Task timed out after 300.00 seconds"}, event={"action": "reset"},
                    function_error="Unhandled")
        with pytest.raises(aws.AwsError, match="db-admin reset failed in the function: Task timed out"):
            aws.admin(deployed, "reset", fake)
        stub.assert_no_pending_responses()
