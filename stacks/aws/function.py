"""One Lambda of the catalogue on AWS: the same `bootstrap` as locally, behind its own HTTP API.

- Function: runtime provided.al2023, the architecture the binary is built for (lambda/build.sh: x86_64),
  memory from the resource class (Lambda's CPU follows memory), in the private subnets with the Lambdas'
  security group (which reaches the database), the environment contract (DB_POOL_MAX =
  perflab:lambdaDbPoolMax per execution environment) with DATABASE_URL without a password and
  DATABASE_SECRET_ARN: the function reads the password from the RDS-managed secret at start. Under an auth
  profile AUTH_ENABLED, JWT_ISSUER, JWT_AUDIENCE and JWT_SECRET_ARN: it reads the key from that secret at cold
  start too (stacks/aws/auth.py).
- Role: one per function; its own log group, its own network interfaces, the database secret (and the
  key's secret under an auth profile), nothing else.
- HTTP API: payload format 2.0, routes `ANY /` and `ANY /{proxy+}`, the `$default` stage auto-deployed,
  throttled at perflab:httpApiThrottle; the only permission to invoke is this API's.
"""
from __future__ import annotations

import pathlib

import pulumi
import pulumi_aws as aws

from perflab.catalogue import ROOT, Service
from perflab.errors import ConfigError
from stacks.aws import auth, iam
from stacks.aws.settings import LAMBDA_MIB_PER_VCPU


def bootstrap_path(service: Service) -> pathlib.Path:
    """The function's binary: the catalogue artifact named `bootstrap` (build/<name>/bootstrap)."""
    for artifact in service.artifacts:
        if pathlib.PurePosixPath(artifact).name == "bootstrap":
            return ROOT / artifact
    return service.artifact_dir / "bootstrap"


def require_file(path: pathlib.Path) -> pathlib.Path:
    """The program refers to built artifacts; it never builds them (`bench up aws` builds first)."""
    if not path.is_file():
        raise ConfigError(f"missing {path.relative_to(ROOT)}: build it first (`bench build`, or `bench up aws`, "
                          f"which builds before it deploys)")
    return path


class LambdaFunction(pulumi.ComponentResource):
    def __init__(self, name: str, service: Service, *, settings, network, security_group: aws.ec2.SecurityGroup,
                 database, account_id: pulumi.Input[str], jwt_key: auth.JwtKeySecret | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = f"perflab-{settings.stack}-{service.name}"
        memory = settings.lambda_memory(service.resource_class)
        self.log_group = aws.cloudwatch.LogGroup(
            name, name=f"/aws/lambda/{function_name}", retention_in_days=settings.log_retention_days, opts=child)
        self.role = iam.Role(name, "lambda.amazonaws.com", [
            iam.log_statement(self.log_group.arn),
            *iam.vpc_access_statements(settings.region, account_id, network.private_subnet_ids,
                                       security_group.id),
            iam.secret_statement(database.secret_arn),
            *([iam.secret_statement(jwt_key.arn)] if jwt_key is not None else []),
        ], opts=child)
        environment = {**settings.config.api_environment(), **(auth.api_environment() if jwt_key is not None else {}),
                       "DB_POOL_MAX": str(settings.config.lambda_db_pool_max)}
        secret_arns = {"DATABASE_SECRET_ARN": database.secret_arn,
                       **({auth.ARN_VARIABLE: jwt_key.arn} if jwt_key is not None else {})}
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            runtime="provided.al2023",
            handler="bootstrap",
            architectures=[settings.lambda_architecture],
            code=pulumi.AssetArchive({"bootstrap": pulumi.FileAsset(str(require_file(bootstrap_path(service))))}),
            memory_size=memory,
            timeout=settings.lambda_timeout,
            reserved_concurrent_executions=settings.lambda_reserved_concurrency,
            role=self.role.arn,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=network.private_subnet_ids,
                                                          security_group_ids=[security_group.id]),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=pulumi.Output.all(
                DATABASE_URL=database.url_without_password, **secret_arns).apply(
                lambda values: {**environment, **values})),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role.policy, self.log_group]))
        throttle = settings.http_api_throttle
        self.api = aws.apigatewayv2.Api(name, name=function_name, protocol_type="HTTP", opts=child)
        integration = aws.apigatewayv2.Integration(
            name, api_id=self.api.id, integration_type="AWS_PROXY", integration_method="POST",
            integration_uri=self.function.arn, payload_format_version="2.0", opts=child)
        for key, route in (("root", "ANY /"), ("proxy", "ANY /{proxy+}")):
            aws.apigatewayv2.Route(f"{name}-{key}", api_id=self.api.id, route_key=route,
                                   target=pulumi.Output.concat("integrations/", integration.id), opts=child)
        self.stage = aws.apigatewayv2.Stage(
            name, api_id=self.api.id, name="$default", auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=throttle["burstLimit"], throttling_rate_limit=throttle["rateLimit"]),
            opts=child)
        aws.lambda_.Permission(name, action="lambda:InvokeFunction", function=self.function.name,
                               principal="apigateway.amazonaws.com",
                               source_arn=pulumi.Output.concat(self.api.execution_arn, "/*/*"), opts=child)
        self.output = {
            "deployment": "lambda", "protocol": service.protocol, "port": 443,
            "endpoint": self.api.api_endpoint, "functionName": self.function.name, "logGroup": self.log_group.name,
            "apiId": self.api.id,  # the HTTP API's CloudWatch dimension (ApiId)
            "resourceClass": service.resource_class, "limits": settings.limits(service.resource_class).as_dict(),
            "memoryMiB": memory, "vcpuEquivalent": round(memory / LAMBDA_MIB_PER_VCPU, 3),
            "architecture": settings.lambda_architecture, "dbPoolMax": settings.config.lambda_db_pool_max,
        }
        self.register_outputs({"functionName": self.function.name})
