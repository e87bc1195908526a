"""The AWS program under Pulumi's mocks: what it would ask AWS for, with no account at all.

The program (__main__.py with Pulumi.aws.yaml, perflab:target aws) runs once at import with the default
configuration (egress nat, every API of the catalogue) and once with egress endpoints. Built artifacts
are not needed: each ProgramRun (tests/aws/mocks.py) replaces the content tag and the artifact checks.
"""
from __future__ import annotations

import json
import urllib.parse

import pulumi
import pytest

from perflab import catalogue
from perflab.errors import ConfigError
from perflab.settings import Limits, StackConfig
from stacks.aws import admin as aws_admin
from stacks.aws import function, generator, iam
from stacks.aws import settings as aws_settings
from tests.aws.mocks import (
    ECR_PASSWORD,
    SECRET_ARN,
    SECRET_MARK,
    SECRET_SIG,
    STAND_IN_TAG,
    ProgramRun,
    container_definition,
    policy_rules,
    policy_violations,
)

PROGRAM = ProgramRun()
ENDPOINTS = ProgramRun({"perflab:egress": "endpoints"})
CONFIG = aws_settings.AwsSettings("aws", "eu-west-1", StackConfig("aws", {
    f"perflab:{k.split(':', 1)[1]}": v for k, v in __import__("yaml").safe_load(
        (catalogue.ROOT / "Pulumi.aws.yaml").read_text())["config"].items() if k.startswith("perflab:")}))
CONTAINERS = [s for s in catalogue.APIS if s.deployment == "container"]
LAMBDAS = [s for s in catalogue.APIS if s.deployment == "lambda"]
APP_GROUPS = {"apis", "lambdas", "admin"}


def _group_ids(run: ProgramRun) -> dict[str, str]:
    """security group resource name -> the id the mocks gave it."""
    return {r.name: f"{r.name}-id" for r in run.of_type("aws:ec2/securityGroup:SecurityGroup")}


@pulumi.runtime.test
def test_every_catalogue_api_is_deployed_with_its_class_size():
    def check(outputs):
        assert list(outputs["apis"]) == [s.name for s in catalogue.APIS]  # every API, catalogue order
        for service in CONTAINERS:
            size = CONFIG.fargate(service.resource_class)
            task = PROGRAM.named("aws:ecs/taskDefinition:TaskDefinition", service.name).inputs
            assert (task["cpu"], task["memory"]) == (str(size.cpu), str(size.memory)), service.name
            assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
            definition = container_definition(PROGRAM, service.name)
            env = {e["name"]: e["value"] for e in definition["environment"]}
            assert env == {"DB_POOL_MAX": "20", "LOG_LEVEL": "warn", "MAX_BODY_BYTES": "1048576",
                           "PORT": str(service.port), "BIND_ADDRESS": "0.0.0.0", "DATABASE_URL": env["DATABASE_URL"]}
            assert definition["portMappings"] == [{"containerPort": service.port, "hostPort": service.port,
                                                   "protocol": "tcp"}]
            image = PROGRAM.named("docker:index/image:Image", service.name).inputs
            assert image["build"]["dockerfile"] == str(service.dockerfile)  # the local Dockerfile
            assert image["build"]["args"] == service.docker_build_args
            assert image["imageName"].endswith(f"/perflab-aws/{service.name}:{STAND_IN_TAG}")
            registry = image["registry"]  # the ECR token makes the whole registry block a secret
            assert registry.get(SECRET_SIG) == SECRET_MARK, registry
            assert registry["value"]["username"] == "AWS" and registry["value"]["server"] in image["imageName"]
            assert definition["image"].startswith(image["imageName"].split(":")[0] + "@sha256:")
            entry = outputs["apis"][service.name]
            assert entry["fargate"] == {"cpu": size.cpu, "memory": size.memory, "vcpus": size.cpu / 1024}
            assert entry["service"] == service.name and entry["cluster"] == "perflab-aws"
        for service in LAMBDAS:
            fn = PROGRAM.named("aws:lambda/function:Function", service.name).inputs
            assert fn["memorySize"] == CONFIG.lambda_memory(service.resource_class) == 512
            assert (fn["runtime"], fn["handler"], fn["architectures"]) == ("provided.al2023", "bootstrap",
                                                                           ["x86_64"])
            assert set(fn["code"].assets) == {"bootstrap"}
            assert fn["code"].assets["bootstrap"].path == str(catalogue.ROOT / f"build/{service.name}/bootstrap")
            env = fn["environment"]["variables"]
            assert env["DB_POOL_MAX"] == "2" and env["MAX_BODY_BYTES"] == "1048576"
            assert fn["vpcConfig"]["securityGroupIds"] == ["lambdas-id"]
            assert outputs["apis"][service.name]["endpoint"].startswith("https://")
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_each_lambda_has_its_http_api_with_payload_2_and_catch_all_routes():
    def check(_):
        for service in LAMBDAS:
            api = PROGRAM.named("aws:apigatewayv2/api:Api", service.name).inputs
            assert api["protocolType"] == "HTTP"
            integration = PROGRAM.named("aws:apigatewayv2/integration:Integration", service.name).inputs
            assert (integration["integrationType"], integration["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
            assert integration["integrationUri"].endswith(f":{service.name}")  # the function's ARN
            routes = {r.inputs["routeKey"]: r.inputs["target"] for r in PROGRAM.of_type(
                "aws:apigatewayv2/route:Route") if r.inputs["apiId"] == f"{service.name}-id"}
            assert routes == {"ANY /": f"integrations/{service.name}-id", "ANY /{proxy+}": f"integrations/{service.name}-id"}
            permission = PROGRAM.named("aws:lambda/permission:Permission", service.name).inputs
            assert permission["principal"] == "apigateway.amazonaws.com"
            assert permission["sourceArn"].endswith(f"{service.name}-api/*/*")
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_rds_is_private_encrypted_postgres_15_with_an_rds_managed_password():
    def check(outputs):
        [instance] = PROGRAM.of_type("aws:rds/instance:Instance")
        inputs = instance.inputs
        assert inputs["publiclyAccessible"] is False
        assert inputs["storageEncrypted"] is True
        assert inputs["manageMasterUserPassword"] is True
        assert "password" not in inputs and "passwordWo" not in inputs
        assert (inputs["engine"], inputs["engineVersion"]) == ("postgres", "15")
        subnet_group = PROGRAM.named("aws:rds/subnetGroup:SubnetGroup", "database").inputs
        assert subnet_group["subnetIds"] == ["network-private-0-id", "network-private-1-id"]
        assert outputs["database"]["secretArn"] == SECRET_ARN
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_parameter_group_preloads_pg_stat_statements_tracking_all():
    def check(_):
        group = PROGRAM.named("aws:rds/parameterGroup:ParameterGroup", "database").inputs
        assert group["family"] == "postgres15"
        parameters = {p["name"]: (p["value"], p.get("applyMethod")) for p in group["parameters"]}
        assert parameters["shared_preload_libraries"] == ("pg_stat_statements", "pending-reboot")
        assert parameters["pg_stat_statements.track"][0] == "all"
        [instance] = PROGRAM.of_type("aws:rds/instance:Instance")
        assert instance.inputs["parameterGroupName"] == "database"
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_database_ingress_comes_only_from_the_application_security_groups():
    def check(_):
        ids = _group_ids(PROGRAM)
        rules = [r.inputs for r in PROGRAM.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                 if r.inputs["securityGroupId"] == ids["database"]]
        assert {r["referencedSecurityGroupId"] for r in rules} == {ids[g] for g in APP_GROUPS}
        for rule in rules:
            assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (5432, 5432, "tcp")
            assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
        # ... and nothing else reaches 5432 anywhere.
        others = [r.inputs for r in PROGRAM.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                  if r.inputs["securityGroupId"] != ids["database"]]
        assert all(not r["fromPort"] <= 5432 <= r["toPort"] for r in others)
        [instance] = PROGRAM.of_type("aws:rds/instance:Instance")
        assert instance.inputs["vpcSecurityGroupIds"] == [ids["database"]]
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_no_security_group_accepts_ingress_from_the_internet():
    def check(_):
        for run in (PROGRAM, ENDPOINTS):
            for rule in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
                assert rule.inputs.get("cidrIpv4") not in ("0.0.0.0/0",), rule.name
                assert rule.inputs.get("cidrIpv6") != "::/0", rule.name
                assert rule.inputs.get("referencedSecurityGroupId") or rule.inputs.get("cidrIpv4") == "10.42.0.0/16"
            for group in run.of_type("aws:ec2/securityGroup:SecurityGroup"):
                assert not group.inputs.get("ingress"), group.name  # rules are separate resources only
            assert not run.of_type("aws:ec2/securityGroupRule:SecurityGroupRule")
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_iam_statements_name_their_actions_and_resources():
    def check(_):
        policies = PROGRAM.of_type("aws:iam/rolePolicy:RolePolicy")
        # One role per workload: each container API's task execution, each Lambda, the admin function, the
        # generator's task execution.
        assert len(policies) == len(PROGRAM.of_type("aws:iam/role:Role")) == len(catalogue.APIS) + 2
        for policy in policies:
            for statement in json.loads(policy.inputs["policy"])["Statement"]:
                assert statement["Effect"] == "Allow"
                for action in statement["Action"]:
                    assert action != "*" and not action.endswith(":*"), (policy.name, action)
                if "*" in statement["Resource"] or statement["Resource"] == "*":
                    assert set(statement["Action"]) <= set(iam.ALL_RESOURCES_ONLY), (policy.name, statement)
                if "secretsmanager:GetSecretValue" in statement["Action"]:
                    assert statement["Resource"] == [SECRET_ARN]  # the one secret
        for role in PROGRAM.of_type("aws:iam/role:Role"):
            assert not role.inputs.get("managedPolicyArns"), role.name
        assert set(iam.ALL_RESOURCES_ONLY) == set(policy_rules().ALL_RESOURCES_ONLY)  # program and pack agree
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_no_secret_in_plain_environments_or_exports():
    def plain_secret_names(variables: dict) -> list[str]:
        return [k for k in variables if any(word in k.upper() for word in ("PASSWORD", "SECRET", "TOKEN", "DSN"))
                and not k.upper().endswith("_ARN")]

    def check(outputs):
        for service in CONTAINERS:
            definition = container_definition(PROGRAM, service.name)
            env = {e["name"]: e["value"] for e in definition["environment"]}
            assert urllib.parse.urlsplit(env["DATABASE_URL"]).password is None
            assert plain_secret_names(env) == [], service.name
            assert definition["secrets"] == [{"name": "PGPASSWORD", "valueFrom": f"{SECRET_ARN}:password::"}]
        for fn in PROGRAM.of_type("aws:lambda/function:Function"):
            variables = fn.inputs["environment"]["variables"]
            assert variables["DATABASE_SECRET_ARN"] == SECRET_ARN, fn.name
            assert plain_secret_names(variables) == [], fn.name
            if "DATABASE_URL" in variables:
                assert urllib.parse.urlsplit(variables["DATABASE_URL"]).password is None, fn.name
        text = json.dumps(outputs, default=str)
        assert ECR_PASSWORD not in text and "password" not in text.lower()
        assert set(outputs) <= set(PROGRAM.exports)  # what __main__ exported is what we checked
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_every_log_group_has_retention_and_every_workload_logs_to_its_own():
    def check(_):
        groups = {r.inputs["name"]: r.inputs for r in PROGRAM.of_type("aws:cloudwatch/logGroup:LogGroup")}
        assert groups and all(g.get("retentionInDays") == 7 for g in groups.values())
        used = [container_definition(PROGRAM, s.name)["logConfiguration"]["options"]["awslogs-group"] for s in CONTAINERS]
        used += [fn.inputs["loggingConfig"]["logGroup"] for fn in PROGRAM.of_type("aws:lambda/function:Function")]
        used.append(container_definition(PROGRAM, "loadgen")["logConfiguration"]["options"]["awslogs-group"])
        assert sorted(used) == sorted(groups)  # one each, none unused
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_ecs_services_start_at_desired_count_zero():
    def check(_):
        services = PROGRAM.of_type("aws:ecs/service:Service")
        assert sorted(s.name for s in services) == sorted(s.name for s in CONTAINERS)
        for service in services:
            assert service.inputs["desiredCount"] == 0, service.name
            assert service.inputs["networkConfiguration"]["assignPublicIp"] is False
            assert service.inputs["networkConfiguration"]["subnets"] == ["network-private-0-id",
                                                                        "network-private-1-id"]
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_services_are_reachable_inside_the_vpc_with_real_health_checks():
    def check(outputs):
        [nlb] = PROGRAM.of_type("aws:lb/loadBalancer:LoadBalancer")
        assert nlb.inputs["internal"] is True and nlb.inputs["loadBalancerType"] == "network"
        for service in CONTAINERS:
            listener = PROGRAM.named("aws:lb/listener:Listener", service.name).inputs
            assert (listener["port"], listener["protocol"]) == (service.port, "TCP")
            health = PROGRAM.named("aws:lb/targetGroup:TargetGroup", service.name).inputs["healthCheck"]
            probe = container_definition(PROGRAM, service.name)["healthCheck"]["command"]
            if service.protocol == "grpc":
                assert probe == ["CMD", "/usr/local/bin/healthprobe", "grpc", f"127.0.0.1:{service.port}"]
                assert outputs["apis"][service.name]["endpoint"].endswith(f".amazonaws.com:{service.port}")
            else:
                assert (health["protocol"], health["path"]) == ("HTTP", "/api/v1/events/health")
                assert probe[2:] == ["http", f"http://127.0.0.1:{service.port}/api/v1/events/health"]
                assert outputs["apis"][service.name]["endpoint"].startswith("http://")
        loadgen = outputs["loadgen"]
        assert loadgen["securityGroupId"] == "loadgen-id" and loadgen["subnetIds"] == outputs["privateSubnetIds"]
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_the_load_generator_task_has_its_class_size_its_log_group_and_no_aws_rights():
    def check(outputs):
        size = CONFIG.fargate(catalogue.LOADGEN.resource_class)
        task = PROGRAM.named("aws:ecs/taskDefinition:TaskDefinition", "loadgen").inputs
        assert (task["cpu"], task["memory"]) == (str(size.cpu), str(size.memory)) == ("1024", "2048")
        assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
        # No task role: the task calls no AWS API; its uploads go to presigned URLs (runner/aws_run.py).
        assert "taskRoleArn" not in task
        definition = container_definition(PROGRAM, "loadgen")
        assert "environment" not in definition and "secrets" not in definition and "portMappings" not in definition
        group = definition["logConfiguration"]["options"]["awslogs-group"]
        assert group == "/perflab/aws/ecs/loadgen"
        assert PROGRAM.named("aws:cloudwatch/logGroup:LogGroup", "loadgen").inputs["retentionInDays"] == 7
        # The execution role (ECS starting the task): pull this repository, write this log group; nothing else.
        role = PROGRAM.named("aws:iam/rolePolicy:RolePolicy", "loadgen-execution").inputs
        statements = json.loads(role["policy"])["Statement"]
        granted = {(tuple(st["Action"]), tuple(st["Resource"]) if isinstance(st["Resource"], list) else st["Resource"])
                   for st in statements}
        repository_arn = "arn:aws:ecr:eu-west-1:123456789012:loadgen"
        log_group_arn = "arn:aws:cloudwatch:eu-west-1:123456789012:loadgen"
        assert granted == {(("ecr:GetAuthorizationToken",), "*"),
                           (("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                            (repository_arn,)),
                           (("logs:CreateLogStream", "logs:PutLogEvents"), (f"{log_group_arn}:*",))}
        assert not [a for st in statements for a in st["Action"] if a.startswith(("s3:", "secretsmanager:"))]
        # The image: tools/loadgen/Dockerfile unchanged (local, not pushed), then the task layer, pushed.
        base = PROGRAM.named("docker:index/image:Image", "loadgen-base").inputs
        assert base["build"]["dockerfile"] == str(catalogue.LOADGEN.dockerfile) and base["skipPush"] is True
        image = PROGRAM.named("docker:index/image:Image", "loadgen").inputs
        assert image["build"]["dockerfile"] == str(generator.DOCKERFILE)
        assert image["build"]["args"] == {"BASE": base["imageName"]}
        assert image["imageName"].endswith(f"/perflab-aws/loadgen:{generator.task_tag(STAND_IN_TAG)}")
        assert definition["image"].startswith(image["imageName"].split(":")[0] + "@sha256:")
        loadgen = outputs["loadgen"]
        assert loadgen["taskDefinition"] == "arn:aws:ecs:eu-west-1:123456789012:loadgen"
        assert loadgen["containerName"] == "loadgen" and loadgen["cluster"] == outputs["cluster"]
        assert loadgen["subnetIds"] == outputs["privateSubnetIds"] and loadgen["securityGroupId"] == "loadgen-id"
        assert loadgen["fargate"] == {"cpu": 1024, "memory": 2048, "vcpus": 1.0}
        for service in CONTAINERS:
            assert outputs["apis"][service.name]["targetGroup"].endswith(f":{service.name}")
        for service in LAMBDAS:
            assert outputs["apis"][service.name]["apiId"] == f"{service.name}-id"
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_results_bucket_is_private_and_encrypted():
    def check(outputs):
        block = PROGRAM.named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "results").inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                             "restrictPublicBuckets"))
        encryption = PROGRAM.named("aws:s3/bucketServerSideEncryptionConfiguration:"
                                   "BucketServerSideEncryptionConfiguration", "results").inputs
        assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        assert outputs["resultsBucket"].startswith("perflab-aws-results-")
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_egress_is_a_nat_gateway_or_vpc_endpoints_as_configured():
    def check(_):
        assert len(PROGRAM.of_type("aws:ec2/natGateway:NatGateway")) == 1
        assert [e.inputs["vpcEndpointType"] for e in PROGRAM.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")] == ["Gateway"]
        assert not ENDPOINTS.of_type("aws:ec2/natGateway:NatGateway")
        assert not ENDPOINTS.of_type("aws:ec2/internetGateway:InternetGateway")
        interface = {e.inputs["serviceName"] for e in ENDPOINTS.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                     if e.inputs["vpcEndpointType"] == "Interface"}
        assert interface == {f"com.amazonaws.eu-west-1.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")}
        for run in (PROGRAM, ENDPOINTS):
            azs = {s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet")}
            assert azs == {"eu-west-1a", "eu-west-1b"}
        # endpoints mode: HTTPS egress goes to the endpoints' group and S3's prefix list, never 0.0.0.0/0
        assert not [r for r in ENDPOINTS.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                    if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_admin_function_bundles_the_runners_own_database_modules():
    def check(outputs):
        fn = PROGRAM.named("aws:lambda/function:Function", "db-admin").inputs
        assert (fn["runtime"], fn["handler"]) == ("python3.12", "handler.handler")
        assets = fn["code"].assets
        for path in ("runner/database.py", "runner/verify.py", "db/schema.sql", "handler.py"):
            assert assets[path].path == str(aws_admin.SOURCES[path])
        assert assets["runner/database.py"].path == str(catalogue.ROOT / "runner" / "database.py")
        assert set(aws_admin.WHEEL_ENTRIES) <= set(assets)
        assert fn["environment"]["variables"]["DATABASE_SECRET_ARN"] == SECRET_ARN
        assert outputs["admin"]["functionName"] == "perflab-aws-db-admin"
    return PROGRAM.then(check)


@pulumi.runtime.test
def test_the_policy_pack_finds_no_violation_in_the_program():
    def check(_):
        assert policy_violations(PROGRAM, ENDPOINTS) == []
    return PROGRAM.then(check)


def test_resource_classes_map_to_exact_fargate_sizes_or_are_refused():
    assert aws_settings.fargate_size(Limits(1.0, "2g")) == aws_settings.FargateSize(1024, 2048)
    assert aws_settings.fargate_size(Limits(0.25, "512m")) == aws_settings.FargateSize(256, 512)
    with pytest.raises(ConfigError, match="Fargate takes 1 vCPU with 2-8 GiB"):
        aws_settings.fargate_size(Limits(1.0, "1g"), "api")  # the local api class: not a Fargate size
    with pytest.raises(ConfigError, match="no 0.75-vCPU size"):
        aws_settings.fargate_size(Limits(0.75, "2g"), "api")
    with pytest.raises(ConfigError, match="128-10240 MiB"):
        aws_settings.lambda_memory(Limits(0.5, "64m"), "lambda-function")
    bad = aws_settings.AwsSettings("aws", "eu-west-1", StackConfig("aws", {"perflab:egress": "internet"}))
    with pytest.raises(ConfigError, match="egress must be nat or endpoints"):
        bad.egress  # noqa: B018


def test_a_missing_artifact_is_refused_with_what_to_run(tmp_path):
    with pytest.raises(ConfigError, match=r"missing build/lambda-go-rest/nope: build it first"):
        function.require_file(catalogue.ROOT / "build/lambda-go-rest/nope")
