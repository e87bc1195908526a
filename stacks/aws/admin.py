"""The database-admin function: what the runner does to the local database, done inside the VPC.

Python (lambda/db-admin/handler.py) over the runner's own modules — runner/database.py (schema, reset,
counts, statement snapshot) and runner/verify.py — packaged into the function's zip unchanged, with
db/schema.sql at the path runner.database expects and psycopg2 from the Linux wheel that
lambda/db-admin/build.sh unpacks into build/db-admin/site (Lambda's Python runtime has boto3, not psycopg2).
So verification against a private RDS runs the same code as locally.
"""
from __future__ import annotations

import pathlib

import pulumi
import pulumi_aws as aws

from perflab.catalogue import ROOT
from perflab.errors import ConfigError
from stacks.aws import iam
from stacks.aws.function import require_file

RUNTIME = "python3.12"
HANDLER_DIR = ROOT / "lambda" / "db-admin"
WHEEL_DIR = ROOT / "build" / "db-admin" / "site"
# The zip's files: archive path -> source. runner.database imports perflab.catalogue (for ROOT, the zip's
# root) and reads db/schema.sql; runner.verify imports runner.contract. tests/aws/test_admin_handler.py runs
# the handler from a directory laid out exactly so, which fails if an import is missing here.
SOURCES = {
    "handler.py": HANDLER_DIR / "handler.py",
    "runner/__init__.py": ROOT / "runner" / "__init__.py",
    "runner/database.py": ROOT / "runner" / "database.py",
    "runner/verify.py": ROOT / "runner" / "verify.py",
    "runner/contract.py": ROOT / "runner" / "contract.py",
    "perflab/__init__.py": ROOT / "perflab" / "__init__.py",
    "perflab/catalogue.py": ROOT / "perflab" / "catalogue.py",
    "db/schema.sql": ROOT / "db" / "schema.sql",
}
# Top-level entries of the psycopg2-binary wheel (manylinux, CPython 3.12).
WHEEL_ENTRIES = ("psycopg2", "psycopg2_binary.libs")


def bundle(wheel_dir: pathlib.Path = WHEEL_DIR) -> dict[str, pulumi.Asset | pulumi.Archive]:
    files: dict[str, pulumi.Asset | pulumi.Archive] = {
        path: pulumi.FileAsset(str(require_file(source))) for path, source in SOURCES.items()}
    for entry in WHEEL_ENTRIES:
        files[entry] = pulumi.FileArchive(str(require_dir(wheel_dir / entry)))
    return files


def require_dir(path: pathlib.Path) -> pathlib.Path:
    if not path.is_dir():
        raise ConfigError(f"missing {path.relative_to(ROOT)}/: run lambda/db-admin/build.sh (`bench up aws` "
                          f"runs it before it deploys)")
    return path


class AdminFunction(pulumi.ComponentResource):
    def __init__(self, name: str, *, settings, network, security_group: aws.ec2.SecurityGroup, database,
                 account_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:AdminFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = f"perflab-{settings.stack}-{name}"
        self.log_group = aws.cloudwatch.LogGroup(
            name, name=f"/aws/lambda/{function_name}", retention_in_days=settings.log_retention_days, opts=child)
        self.role = iam.Role(name, "lambda.amazonaws.com", [
            iam.log_statement(self.log_group.arn),
            *iam.vpc_access_statements(settings.region, account_id, network.private_subnet_ids,
                                       security_group.id),
            iam.secret_statement(database.secret_arn),
        ], opts=child)
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            runtime=RUNTIME,
            handler="handler.handler",
            architectures=["x86_64"],  # the wheel build/db-admin holds is manylinux x86_64
            code=pulumi.AssetArchive(bundle()),
            memory_size=256,
            timeout=300,  # CHECKPOINT after a long run can take a while
            role=self.role.arn,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=network.private_subnet_ids,
                                                          security_group_ids=[security_group.id]),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                "DATABASE_SECRET_ARN": database.secret_arn, "DB_HOST": database.host, "DB_PORT": str(database.port),
                "DB_NAME": database.name, "DB_SSLMODE": "require"}),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role.policy, self.log_group]))
        self.output = {"functionName": self.function.name, "logGroup": self.log_group.name, "runtime": RUNTIME}
        self.register_outputs({"functionName": self.function.name})
