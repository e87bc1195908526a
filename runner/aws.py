"""The runner's side of the AWS stack: prerequisites, cost estimate, up/down through the Automation API,
and the AWS calls a measurement makes (outputs check, scaling an API's service, the database-admin function).

The Pulumi program is the same one as locally (`perflab:target: aws`, stacks/aws/); only the Pulumi CLI
applies it — the in-process engine (runner/engine) realizes Docker resources only. Every AWS call takes a
boto3 Session, so the tests run them against moto; nothing here prints a secret (the outputs of a stack
under an auth profile hold its JWT key, for tokens: never print them).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from typing import Any

from perflab import catalogue, profiles
from perflab.catalogue import ROOT
from perflab.errors import ConfigError, LabError
from perflab.settings import API_OVERRIDE_VARIABLE, StackConfig
from perflab.settings import load as load_config

STACK = "aws"
Log = Callable[[str], None]
PULUMI_INSTALL = "https://www.pulumi.com/docs/iac/download-install/"
INTERFACE_ENDPOINTS = 4  # ecr.api, ecr.dkr, logs, secretsmanager (stacks/aws/network.py)
ZONES = 2


class AwsError(LabError):
    """Something on the AWS side the user can fix: a missing tool, credentials, a failed call."""


# --- prerequisites -----------------------------------------------------------------------------------------

def session(region: str | None = None):
    import boto3

    return boto3.session.Session(region_name=region)


def region_of(config: StackConfig) -> str:
    region = config.values.get("aws:region")
    if not region:
        raise ConfigError(f"Pulumi.{config.stack}.yaml has no aws:region")
    return str(region)


def caller_identity(aws_session) -> dict[str, str]:
    """Who the credentials are (STS GetCallerIdentity: needs no permission), or an AwsError saying what is
    missing. Never prints a key."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if aws_session.get_credentials() is None:
        raise AwsError("no AWS credentials: set AWS_PROFILE (aws configure / aws sso login) or "
                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    try:
        identity = aws_session.client("sts").get_caller_identity()
    except NoCredentialsError:
        raise AwsError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise AwsError(f"AWS refused the credentials ({code}): renew them (aws sso login) or check the profile") \
            from None
    except BotoCoreError as error:
        raise AwsError(f"cannot ask AWS who the credentials are: {error}") from None
    return {"account": identity["Account"], "arn": identity["Arn"], "region": aws_session.region_name or ""}


def prerequisites(aws_session=None) -> dict[str, str]:
    """Stop at once, saying what is missing: the Pulumi CLI, then AWS credentials that STS accepts."""
    if shutil.which("pulumi") is None:
        raise AwsError(f"the AWS stack needs the Pulumi CLI ({PULUMI_INSTALL}); the in-process engine "
                       f"bench uses without it runs the local Docker stack only")
    config = load_config(STACK)
    return caller_identity(aws_session or session(region_of(config)))


# --- cost estimate -----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CostItem:
    name: str
    quantity: float
    unit: str
    price: float  # USD per unit-hour

    @property
    def per_hour(self) -> float:
        return self.quantity * self.price


@dataclasses.dataclass(frozen=True)
class Estimate:
    region: str
    date: str
    currency: str
    always_on: tuple[CostItem, ...]
    while_measuring: tuple[CostItem, ...]
    notes: tuple[str, ...]

    @property
    def idle_per_hour(self) -> float:
        return sum(item.per_hour for item in self.always_on)

    @property
    def measuring_per_hour(self) -> float:
        return self.idle_per_hour + sum(item.per_hour for item in self.while_measuring)


def _price(prices: dict, *path: str) -> float:
    value: Any = prices
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise ConfigError(f"perflab:prices has no {'.'.join(path)}")
        value = value[key]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"perflab:prices.{'.'.join(path)} is not a number: {value!r}") from None


def _fargate(prices: dict, config: StackConfig, resource_class: str, label: str) -> list[CostItem]:
    limits = config.limits(resource_class)
    return [CostItem(f"{label}: Fargate vCPU", limits.cpus, "vCPU", _price(prices, "perHour", "fargateVcpu")),
            CostItem(f"{label}: Fargate memory", limits.memory_bytes / 1024 ** 3, "GB",
                     _price(prices, "perHour", "fargateGb"))]


def estimate(config: StackConfig, api_names: Iterable[str] | None = None, profile: str | None = None) -> Estimate:
    """The stack's hourly cost from the prices kept in its configuration (`perflab:prices`).

    Always on: egress (NAT gateway + its public IPv4 address, or 4 interface endpoints in 2 zones), the NLB
    (when a container API is deployed), the RDS instance, its storage and its managed secret (and the JWT
    key's secret under an auth profile: `profile`, else perflab:profile). While an API
    is measured: its Fargate task and a load generator task (one API at a time). Per-request charges
    (Lambda, API Gateway, NAT/endpoint data, logs) are not hourly and not included.
    """
    prices = config.get("prices")
    if not isinstance(prices, dict):
        raise ConfigError(f"Pulumi.{config.stack}.yaml has no perflab:prices block")
    hours_per_month = _price(prices, "hoursPerMonth")
    egress = config.get_str("egress", "nat")
    database = {"instanceClass": "db.m7g.large", "allocatedStorage": 20, **(config.get("database", {}) or {})}
    apis = catalogue.apis(list(api_names) if api_names is not None else config.api_names)
    containers = [s for s in apis if s.deployment != "lambda"]
    rds_prices = (prices.get("perHour") or {}).get("rds") or {}
    if database["instanceClass"] not in rds_prices:
        raise ConfigError(f"perflab:prices.perHour.rds has no price for {database['instanceClass']} "
                          f"(known: {', '.join(rds_prices) or 'none'})")
    always: list[CostItem] = []
    if egress == "nat":
        always += [CostItem("NAT gateway", 1, "gateway", _price(prices, "perHour", "natGateway")),
                   CostItem("NAT gateway public IPv4 address", 1, "address",
                            _price(prices, "perHour", "publicIpv4Address"))]
    elif egress == "endpoints":
        always.append(CostItem("interface endpoints (ecr.api, ecr.dkr, logs, secretsmanager) x 2 AZs",
                               INTERFACE_ENDPOINTS * ZONES, "endpoint-AZ",
                               _price(prices, "perHour", "interfaceEndpointPerAz")))
    else:
        raise ConfigError(f"perflab:egress must be nat or endpoints, not {egress!r}")
    if containers:
        always.append(CostItem("network load balancer (internal)", 1, "NLB",
                               _price(prices, "perHour", "networkLoadBalancer")))
    always += [
        CostItem(f"RDS PostgreSQL {database['instanceClass']} (single-AZ)", 1, "instance",
                 float(rds_prices[database["instanceClass"]])),
        CostItem("RDS gp3 storage", float(database["allocatedStorage"]), "GB-month / hour",
                 _price(prices, "perMonth", "rdsGp3Gb") / hours_per_month),
        CostItem("Secrets Manager secret (RDS-managed password)", 1, "secret-month / hour",
                 _price(prices, "perMonth", "secret") / hours_per_month),
    ]
    if profiles.profile(profile or config.profile).auth:
        always.append(CostItem("Secrets Manager secret (the JWT key of the auth profile)", 1, "secret-month / hour",
                               _price(prices, "perMonth", "secret") / hours_per_month))
    measuring: list[CostItem] = []
    if containers:
        measuring += _fargate(prices, config, containers[0].resource_class, "measured API task")
    measuring += _fargate(prices, config, catalogue.LOADGEN.resource_class, "load generator task")
    region = str(prices.get("region", "?"))
    notes = ["Lambda, API Gateway, data processing (NAT/endpoints), CloudWatch Logs and ECR storage are "
             "charged per use, not per hour: not included."]
    stack_region = config.values.get("aws:region")
    if stack_region and stack_region != region:
        notes.append(f"the prices are for {region}, the stack deploys to {stack_region}: figures are indicative")
    return Estimate(region, str(prices.get("date", "?")), str(prices.get("currency", "USD")), tuple(always),
                    tuple(measuring), tuple(notes))


def format_estimate(estimate: Estimate) -> list[str]:
    lines = [f"estimated cost of the aws stack ({estimate.currency}, on-demand prices for {estimate.region} "
             f"as of {estimate.date}, from perflab:prices in Pulumi.aws.yaml):"]
    for title, items in (("always on", estimate.always_on), ("while an API is measured", estimate.while_measuring)):
        lines.append(f"  {title}:")
        for item in items:
            lines.append(f"    {item.name:<68} {item.quantity:>7g} x {item.price:.5f} = {item.per_hour:.4f}/h")
    lines.append(f"  idle (every service at desired count 0): {estimate.idle_per_hour:.4f} {estimate.currency}/h")
    lines.append(f"  while measuring one container API:       {estimate.measuring_per_hour:.4f} "
                 f"{estimate.currency}/h")
    lines += [f"  note: {note}" for note in estimate.notes]
    return lines


# --- up / down / outputs (Automation API over the Pulumi CLI) ------------------------------------------------

def _automation_stack(stack: str = STACK):
    from pulumi import automation

    return automation.create_or_select_stack(stack_name=stack, work_dir=str(ROOT))


def build_artifacts(config: StackConfig, api_names: list[str] | None, log: Log) -> None:
    """What the program refers to: each deployed API's artifacts (and the health probe), the db-admin wheel."""
    from runner import images

    services = catalogue.apis(api_names if api_names is not None else config.api_names)
    for service in (catalogue.HEALTHPROBE, catalogue.LOADGEN, *services):  # LOADGEN: the generator task image
        images.build_artifact(service, log=log)
    images.export_base_image_id()  # content tags cover the base image, as locally
    log("building the db-admin function's psycopg2 wheel (lambda/db-admin/build.sh)")
    done = subprocess.run(["bash", str(ROOT / "lambda/db-admin/build.sh")], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise AwsError(f"lambda/db-admin/build.sh failed:\n{(done.stdout + done.stderr).strip()[-2000:]}")


def up(log: Log = print, api_names: list[str] | None = None, aws_session=None, profile: str | None = None) -> dict:
    """Build, then `pulumi up -s aws`; `api_names` narrows the API list and `profile` picks the auth/secrets
    profile for this up (PERFLAB_APIS, PERFLAB_PROFILE: Pulumi.aws.yaml is never rewritten)."""
    from runner import statedir

    identity = prerequisites(aws_session)
    log(f"AWS account {identity['account']} as {identity['arn']}")
    config = load_config(STACK)
    build_artifacts(config, api_names, log)
    if api_names is not None:  # one run's narrowing, never written into Pulumi.aws.yaml
        os.environ[API_OVERRIDE_VARIABLE] = ",".join(api_names)
    if profile is not None:
        os.environ[profiles.PROFILE_VARIABLE] = profiles.profile(profile).name
    chosen = profiles.profile(os.environ.get(profiles.PROFILE_VARIABLE) or config.profile)  # as the program reads it
    if chosen.auth and not config.values.get("perflab:jwtSecretKey"):
        statedir.jwt_secret_key()  # generated once (as for the local stack); the program puts it into AWS
    _automation_stack().up(on_output=lambda line: log(line.rstrip()))
    return outputs()


def down(log: Log = print, aws_session=None) -> None:
    prerequisites(aws_session)
    _automation_stack().destroy(on_output=lambda line: log(line.rstrip()))


def outputs(stack: str = STACK) -> dict:
    """The stack's outputs, secrets shown: under an auth profile `auth.key` is the JWT key (never print it)."""
    return {key: item.value for key, item in _automation_stack(stack).outputs().items()}


# --- what a measurement asks AWS -----------------------------------------------------------------------------

def check_outputs(result: dict, aws_session) -> list[str]:
    """Compare the outputs with what AWS reports: cluster and services, the admin function, the bucket.
    Returns the problems (empty: everything the runner will use exists)."""
    from botocore.exceptions import ClientError

    problems = []
    services = {name: entry for name, entry in result.get("apis", {}).items() if entry.get("deployment") == "container"}
    if services:
        ecs = aws_session.client("ecs")
        found = ecs.describe_services(cluster=result["cluster"], services=[e["service"] for e in services.values()])
        known = {s["serviceName"]: s for s in found.get("services", []) if s.get("status") == "ACTIVE"}
        for name, entry in services.items():
            if entry["service"] not in known:
                problems.append(f"{name}: ECS service {entry['service']} not found in cluster {result['cluster']}")
    lambdas = aws_session.client("lambda")
    functions = [result["admin"]["functionName"]] + [
        entry["functionName"] for entry in result.get("apis", {}).values() if entry.get("deployment") == "lambda"]
    for function in functions:
        try:
            lambdas.get_function(FunctionName=function)
        except ClientError:
            problems.append(f"Lambda function {function} not found")
    try:
        aws_session.client("s3").head_bucket(Bucket=result["resultsBucket"])
    except ClientError:
        problems.append(f"results bucket {result['resultsBucket']} not found")
    secret_arn = (result.get("auth") or {}).get("secretArn")
    if secret_arn:  # the JWT key the APIs read under an auth profile (its value is not fetched)
        try:
            aws_session.client("secretsmanager").describe_secret(SecretId=secret_arn)
        except ClientError:
            problems.append(f"the JWT key's secret {secret_arn} not found")
    return problems


def scale(result: dict, api: str, count: int, aws_session, maximum: int = 1) -> dict:
    """Set the desired count of a container API's service (`maximum` at most to measure it — the stack's
    perflab:desiredCountUnderTest, 1 by default — and 0 after): one API at a time."""
    entry = result.get("apis", {}).get(api)
    if entry is None or entry.get("deployment") != "container":
        raise AwsError(f"{api} is not a container API of the aws stack")
    if not 0 <= count <= maximum:
        raise AwsError("an API runs one task while measured, none otherwise" if maximum == 1 else
                       f"an API runs at most {maximum} tasks while measured (perflab:desiredCountUnderTest)")
    ecs = aws_session.client("ecs")
    service = ecs.update_service(cluster=result["cluster"], service=entry["service"], desiredCount=count)["service"]
    return {"service": service["serviceName"], "desiredCount": service["desiredCount"]}


def admin(result: dict, action: str, aws_session, **parameters: Any) -> Any:
    """Run one step of the database-admin function (schema, reset, counts, snapshot, verify) and return its
    result; an error it answers is an AwsError with its message."""
    response = aws_session.client("lambda").invoke(
        FunctionName=result["admin"]["functionName"], InvocationType="RequestResponse",
        Payload=json.dumps({"action": action, **parameters}).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise AwsError(f"db-admin {action} failed in the function: {body.get('errorMessage', body)}")
    if not isinstance(body, dict):
        raise AwsError(f"db-admin {action}: unexpected answer {body!r}")
    if "error" in body:
        raise AwsError(f"db-admin {action}: {body['error']}")
    return body["result"]
