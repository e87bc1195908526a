"""The lab's AWS rules as resource validations: plain functions over a resource's type and properties.

Each rule is `validate(args, report_violation)` as pulumi-policy calls it (`args.resource_type`,
`args.props` with the engine's camelCase names); policy/__main__.py wraps them into a PolicyPack, and
tests/aws/ calls them with a violating and a complying resource and runs them over the whole program
under mocks. No import of pulumi-policy here, so the rules are testable anywhere.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

ReportViolation = Callable[..., None]

# Actions AWS authorizes on "*" only: for them "*" is the narrowest resource (kept in step with
# stacks/aws/iam.py, which a test checks).
ALL_RESOURCES_ONLY = frozenset({"ecr:GetAuthorizationToken", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                                "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"})
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
POSTGRES_PORT = 5432
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@", re.IGNORECASE)
# Values that are secrets whatever their variable is called: a compact JWS (a bearer token: header and
# claims are base64url JSON, so both start with "eyJ") and a PEM private key.
BEARER_TOKEN = re.compile(r"^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
SECRETS_MANAGER_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:")
# The contract's AUTH_ENABLED values that turn auth on (any case).
AUTH_ON = frozenset({"true", "1"})


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    description: str
    validate: Callable[[Any, ReportViolation], None]


def _props(args) -> Mapping[str, Any]:
    return args.props or {}


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- RDS ---------------------------------------------------------------------------------------------------

def rds_private_encrypted(args, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:rds/instance:Instance":
        return
    props = _props(args)
    if props.get("publiclyAccessible"):
        report_violation("RDS instance is publicly accessible: set publicly_accessible=False")
    if not props.get("storageEncrypted"):
        report_violation("RDS instance storage is not encrypted: set storage_encrypted=True")


def rds_managed_password(args, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:rds/instance:Instance":
        return
    props = _props(args)
    if props.get("password") or props.get("passwordWo"):
        report_violation("RDS master password given in the program: let RDS generate it in Secrets Manager "
                         "(manage_master_user_password=True)")
    if not props.get("manageMasterUserPassword"):
        report_violation("RDS master password not managed by RDS in Secrets Manager: "
                         "set manage_master_user_password=True")


def rds_pg_stat_statements(args, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:rds/parameterGroup:ParameterGroup":
        return
    props = _props(args)
    if not str(props.get("family", "")).startswith("postgres"):
        return
    parameters = {p.get("name"): p for p in _as_list(props.get("parameters"))}
    preload = parameters.get("shared_preload_libraries", {})
    libraries = [lib.strip() for lib in str(preload.get("value", "")).split(",")]
    if "pg_stat_statements" not in libraries:
        report_violation("parameter group does not preload pg_stat_statements (shared_preload_libraries)")
    elif preload.get("applyMethod") != "pending-reboot":
        report_violation("shared_preload_libraries is static: its apply method must be pending-reboot")
    if parameters.get("pg_stat_statements.track", {}).get("value") != "all":
        report_violation("pg_stat_statements.track must be all (statements inside functions count too)")


# --- Network -----------------------------------------------------------------------------------------------

def _covers(rule: Mapping[str, Any], port: int) -> bool:
    protocol = str(rule.get("ipProtocol", rule.get("protocol", "tcp")))
    if protocol in ("-1", "all"):
        return True
    low, high = rule.get("fromPort"), rule.get("toPort")
    return low is not None and high is not None and int(low) <= port <= int(high)


def _ingress_rules(args) -> list[tuple[Mapping[str, Any], list[str], bool]]:
    """(rule, CIDRs, references a security group) for every ingress rule the resource declares."""
    props = _props(args)
    kind = args.resource_type
    if kind == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c]
        return [(props, cidrs, bool(props.get("referencedSecurityGroupId")))]
    if kind == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        cidrs = _as_list(props.get("cidrBlocks")) + _as_list(props.get("ipv6CidrBlocks"))
        return [(props, cidrs, bool(props.get("sourceSecurityGroupId")) or bool(props.get("self")))]
    if kind == "aws:ec2/securityGroup:SecurityGroup":
        return [(rule, _as_list(rule.get("cidrBlocks")) + _as_list(rule.get("ipv6CidrBlocks")),
                 bool(rule.get("securityGroups")) or bool(rule.get("self")))
                for rule in _as_list(props.get("ingress"))]
    return []


def no_public_ingress(args, report_violation: ReportViolation) -> None:
    for _, cidrs, _ in _ingress_rules(args):
        for cidr in cidrs:
            if cidr in OPEN_CIDRS:
                report_violation(f"security group ingress open to {cidr}: name the peer security group")


def database_ingress_from_groups(args, report_violation: ReportViolation) -> None:
    for rule, cidrs, from_group in _ingress_rules(args):
        if _covers(rule, POSTGRES_PORT) and (cidrs or not from_group):
            report_violation(f"ingress on {POSTGRES_PORT} from {cidrs or 'no security group'}: the database "
                             f"takes connections from the application's security groups only")


# --- IAM ---------------------------------------------------------------------------------------------------

def _documents(args) -> list[Any]:
    props = _props(args)
    kind = args.resource_type
    if kind in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy"):
        return [props.get("policy")]
    if kind == "aws:iam/role:Role":
        return [inline.get("policy") for inline in _as_list(props.get("inlinePolicies"))]
    return []


def iam_least_privilege(args, report_violation: ReportViolation) -> None:
    for document in _documents(args):
        if document is None:
            continue
        try:
            parsed = json.loads(document) if isinstance(document, str) else document
        except ValueError:
            report_violation("IAM policy document is not valid JSON")
            continue
        for statement in _as_list(parsed.get("Statement")):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            actions = [str(a) for a in _as_list(statement.get("Action"))]
            if statement.get("NotAction") is not None or statement.get("NotResource") is not None:
                report_violation("IAM statement with NotAction/NotResource grants everything else")
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    report_violation(f"IAM statement allows every action ({action}): name the actions")
            resources = [str(r) for r in _as_list(statement.get("Resource"))]
            if "*" in resources:
                broad = sorted(set(actions) - ALL_RESOURCES_ONLY)
                if broad:
                    report_violation(f"IAM statement allows {', '.join(broad)} on every resource: "
                                     f"name the resources (only {', '.join(sorted(ALL_RESOURCES_ONLY))} need *)")


# --- Secrets, logs, services, storage ----------------------------------------------------------------------

def _plain_secrets(variables: Mapping[str, Any]) -> list[str]:
    found = []
    for name, value in (variables or {}).items():
        if SECRET_NAME.search(str(name)) and not str(name).upper().endswith("_ARN"):
            found.append(f"{name} (a secret's name)")
        elif URL_WITH_PASSWORD.match(str(value)):
            found.append(f"{name} (a URL with a password)")
        elif BEARER_TOKEN.match(str(value)):
            found.append(f"{name} (a bearer token)")
        elif PRIVATE_KEY.search(str(value)):
            found.append(f"{name} (a private key)")
    return found


def _lambda_variables(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return (props.get("environment") or {}).get("variables") or {}


def _task_containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A task definition's container definitions (the engine gives them as JSON text)."""
    definitions = props.get("containerDefinitions")
    return json.loads(definitions) if isinstance(definitions, str) else _as_list(definitions)


def _container_variables(container: Mapping[str, Any]) -> dict[str, Any]:
    return {e.get("name"): e.get("value") for e in _as_list(container.get("environment"))}


def no_plain_secrets(args, report_violation: ReportViolation) -> None:
    props = _props(args)
    if args.resource_type == "aws:lambda/function:Function":
        for found in _plain_secrets(_lambda_variables(props)):
            report_violation(f"Lambda environment holds {found}: pass the secret's ARN and read it at start")
    elif args.resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        for container in _task_containers(props):
            variables = _container_variables(container)
            for found in _plain_secrets(variables):
                report_violation(f"container {container.get('name')} environment holds {found}: inject it "
                                 f"through `secrets` (valueFrom a Secrets Manager ARN)")
            for secret in _as_list(container.get("secrets")):
                if not str(secret.get("valueFrom", "")).startswith("arn:"):
                    report_violation(f"container secret {secret.get('name')} is not a Secrets Manager or "
                                     f"Parameter Store ARN")


def _auth_on(variables: Mapping[str, Any]) -> bool:
    return str(variables.get("AUTH_ENABLED") or "").strip().lower() in AUTH_ON


def auth_key_from_secrets_manager(args, report_violation: ReportViolation) -> None:
    """An API with AUTH_ENABLED on gets its JWT key from Secrets Manager: a Lambda by JWT_SECRET_ARN (read at
    cold start), an ECS container as JWT_SECRET_KEY in `secrets` (injected at task start)."""
    props = _props(args)
    if args.resource_type == "aws:lambda/function:Function":
        variables = _lambda_variables(props)
        if _auth_on(variables) and not SECRETS_MANAGER_ARN.match(str(variables.get("JWT_SECRET_ARN") or "")):
            report_violation("Lambda with AUTH_ENABLED has no JWT_SECRET_ARN naming a Secrets Manager secret: it "
                             "could not verify a token")
    elif args.resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        for container in _task_containers(props):
            if not _auth_on(_container_variables(container)):
                continue
            injected = {s.get("name"): str(s.get("valueFrom") or "") for s in _as_list(container.get("secrets"))}
            if not SECRETS_MANAGER_ARN.match(injected.get("JWT_SECRET_KEY", "")):
                report_violation(f"container {container.get('name')} has AUTH_ENABLED but no JWT_SECRET_KEY "
                                 f"injected through `secrets` from a Secrets Manager secret")


def log_group_retention(args, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return
    retention = _props(args).get("retentionInDays")
    if not retention or int(retention) <= 0:
        report_violation("log group keeps logs forever: set retention_in_days")


def ecs_service_starts_at_zero(args, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:ecs/service:Service":
        return
    count = _props(args).get("desiredCount", 0)
    if count not in (0, None):
        report_violation(f"ECS service starts with {count} tasks: start at 0, the runner scales the API it "
                         f"measures (one at a time)")


def s3_public_access_blocked(args, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return
    props = _props(args)
    missing = [key for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                               "restrictPublicBuckets") if props.get(key) is not True]
    if missing:
        report_violation(f"bucket public access not fully blocked: {', '.join(missing)} must be true")


RULES: tuple[Rule, ...] = (
    Rule("rds-private-encrypted", "RDS instances are not publicly accessible and encrypt their storage.",
         rds_private_encrypted),
    Rule("rds-managed-password", "The RDS master password is generated by RDS and kept in Secrets Manager.",
         rds_managed_password),
    Rule("rds-pg-stat-statements", "PostgreSQL parameter groups preload pg_stat_statements with track=all.",
         rds_pg_stat_statements),
    Rule("no-public-ingress", "No security group accepts traffic from 0.0.0.0/0 or ::/0.", no_public_ingress),
    Rule("database-ingress-from-security-groups",
         "Ingress on PostgreSQL's port names the application's security groups, never a CIDR.",
         database_ingress_from_groups),
    Rule("iam-least-privilege", "No IAM statement allows every action, or every resource where a narrower "
         "one exists.", iam_least_privilege),
    Rule("no-plain-secrets", "Lambda and ECS environments hold no secret (by name, a URL with a password, a bearer "
         "token, a private key); secrets arrive by ARN.", no_plain_secrets),
    Rule("auth-key-from-secrets-manager", "An API with AUTH_ENABLED gets its JWT key from Secrets Manager "
         "(Lambda: JWT_SECRET_ARN; ECS: JWT_SECRET_KEY in `secrets`).", auth_key_from_secrets_manager),
    Rule("log-group-retention", "Every log group has a retention period.", log_group_retention),
    Rule("ecs-service-starts-at-zero", "ECS services start with desired count 0.", ecs_service_starts_at_zero),
    Rule("s3-public-access-blocked", "Every bucket blocks all public access.", s3_public_access_blocked),
)
