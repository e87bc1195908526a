"""The policy pack's rules, each with a resource that violates it and one that complies.

The policies are the pack's own (policy/pack.py wraps policy/rules.py in pulumi-policy's
ResourceValidationPolicy) and get pulumi-policy's own ResourceValidationArgs, as `pulumi preview
--policy-pack policy` would give them: engine property names, plain values.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from perflab.catalogue import ROOT

sys.path.insert(0, str(ROOT / "policy"))
import pack  # noqa: E402
import rules  # noqa: E402

POLICIES = {policy.name: policy for policy in pack.policies()}
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1"
JWT_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:perflab-aws-jwt-secret-key-Xy12Zq"
# A bearer token (perflab.profiles.token's shape), under a name that does not say so.
BEARER = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwZXJmbGFiLWxvYWRnZW4iLCJleHAiOjE3MDAwMDAwMDB9."
          "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg")


def violations(policy_name: str, resource_type: str, props: dict) -> list[str]:
    args = ResourceValidationArgs(resource_type, props, f"urn:pulumi:aws::perflab::{resource_type}::r", "r",
                                  PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None,
                                                        aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                                        additional_secret_outputs=[]),
                                  None)
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)
    POLICIES[policy_name].validate(args, report)
    return found


def role_policy(*statements: dict) -> dict:
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


RDS = "aws:rds/instance:Instance"
GOOD_RDS: dict[str, Any] = {"publiclyAccessible": False, "storageEncrypted": True, "manageMasterUserPassword": True,
            "engine": "postgres"}
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
GOOD_PARAMS: dict[str, Any] = {"family": "postgres15", "parameters": [
    {"name": "shared_preload_libraries", "value": "pg_stat_statements", "applyMethod": "pending-reboot"},
    {"name": "pg_stat_statements.track", "value": "all", "applyMethod": "immediate"}]}
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
FROM_GROUP: dict[str, Any] = {"securityGroupId": "sg-db", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
              "referencedSecurityGroupId": "sg-apis"}
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SCOPED = {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [SECRET_ARN]}
LAMBDA = "aws:lambda/function:Function"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


def task(environment: dict, secrets: list[dict] | None = None) -> dict:
    return {"containerDefinitions": json.dumps([{
        "name": "go-rest", "environment": [{"name": k, "value": v} for k, v in environment.items()],
        "secrets": secrets or []}])}


# (policy, resource type, complying props, violating props, part of the message)
CASES = [
    ("rds-private-encrypted", RDS, GOOD_RDS, {**GOOD_RDS, "publiclyAccessible": True}, "publicly accessible"),
    ("rds-private-encrypted", RDS, GOOD_RDS, {**GOOD_RDS, "storageEncrypted": False}, "not encrypted"),
    ("rds-managed-password", RDS, GOOD_RDS, {**GOOD_RDS, "manageMasterUserPassword": False, "password": "hunter2"},
     "given in the program"),
    ("rds-pg-stat-statements", PARAMS, GOOD_PARAMS,
     {**GOOD_PARAMS, "parameters": GOOD_PARAMS["parameters"][1:]}, "does not preload pg_stat_statements"),
    ("rds-pg-stat-statements", PARAMS, GOOD_PARAMS,
     {**GOOD_PARAMS, "parameters": [GOOD_PARAMS["parameters"][0],
                                    {"name": "pg_stat_statements.track", "value": "top"}]}, "track must be all"),
    ("rds-pg-stat-statements", PARAMS, GOOD_PARAMS,
     {**GOOD_PARAMS, "parameters": [{**GOOD_PARAMS["parameters"][0], "applyMethod": "immediate"},
                                    GOOD_PARAMS["parameters"][1]]}, "pending-reboot"),
    ("no-public-ingress", INGRESS, FROM_GROUP,
     {"securityGroupId": "sg-nlb", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
     "open to 0.0.0.0/0"),
    ("no-public-ingress", "aws:ec2/securityGroup:SecurityGroup", {"ingress": [], "vpcId": "vpc-1"},
     {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6CidrBlocks": ["::/0"]}]}, "open to ::/0"),
    ("database-ingress-from-security-groups", INGRESS, FROM_GROUP,
     {**{k: v for k, v in FROM_GROUP.items() if k != "referencedSecurityGroupId"}, "cidrIpv4": "10.42.0.0/16"},
     "from ['10.42.0.0/16']"),
    ("database-ingress-from-security-groups", "aws:ec2/securityGroupRule:SecurityGroupRule",
     {"type": "ingress", "protocol": "tcp", "fromPort": 5432, "toPort": 5432, "sourceSecurityGroupId": "sg-apis"},
     {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["10.0.0.0/8"]},
     "the database takes connections"),
    ("iam-least-privilege", ROLE_POLICY, role_policy(SCOPED),
     role_policy({**SCOPED, "Action": ["secretsmanager:*"]}), "every action (secretsmanager:*)"),
    ("iam-least-privilege", ROLE_POLICY, role_policy(SCOPED, {"Effect": "Allow", "Action": [
        "ecr:GetAuthorizationToken"], "Resource": "*"}),
     role_policy({**SCOPED, "Resource": "*"}), "secretsmanager:GetSecretValue on every resource"),
    ("iam-least-privilege", "aws:iam/role:Role", {"inlinePolicies": [role_policy(SCOPED)]},
     {"inlinePolicies": [role_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})]}, "every action (*)"),
    ("no-plain-secrets", LAMBDA, {"environment": {"variables": {
        "DATABASE_URL": "postgres://bench@db:5432/events", "DATABASE_SECRET_ARN": SECRET_ARN}}},
     {"environment": {"variables": {"DATABASE_URL": "postgres://bench:s3cret@db:5432/events"}}},
     "DATABASE_URL (a URL with a password)"),
    ("no-plain-secrets", TASK, task({"PORT": "9083"}, [{"name": "PGPASSWORD", "valueFrom": SECRET_ARN + ":password::"}]),
     task({"PORT": "9083", "PGPASSWORD": "s3cret"}), "PGPASSWORD (a secret's name)"),
    ("no-plain-secrets", TASK, task({"PORT": "9083"}),
     task({"PORT": "9083"}, [{"name": "PGPASSWORD", "valueFrom": "s3cret"}]), "is not a Secrets Manager"),
    ("no-plain-secrets", LAMBDA, {"environment": {"variables": {"JWT_SECRET_ARN": JWT_ARN, "AUTH_ENABLED": "true"}}},
     {"environment": {"variables": {"JWT_SECRET_KEY": "k" * 40}}}, "JWT_SECRET_KEY (a secret's name)"),
    ("no-plain-secrets", TASK, task({"JWT_ISSUER": "perflab"}), task({"LOADGEN_ARGS": BEARER}),
     "LOADGEN_ARGS (a bearer token)"),
    ("no-plain-secrets", LAMBDA, {"environment": {"variables": {"SIGNING": "base64:AAAA"}}},
     {"environment": {"variables": {"SIGNING": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}}}, "SIGNING (a private key)"),
    ("auth-key-from-secrets-manager", LAMBDA, {"environment": {"variables": {"AUTH_ENABLED": "true",
                                                                             "JWT_SECRET_ARN": JWT_ARN}}},
     {"environment": {"variables": {"AUTH_ENABLED": "TRUE"}}}, "no JWT_SECRET_ARN naming a Secrets Manager secret"),
    ("auth-key-from-secrets-manager", LAMBDA, {"environment": {"variables": {"AUTH_ENABLED": "false"}}},
     {"environment": {"variables": {"AUTH_ENABLED": "1", "JWT_SECRET_ARN": "arn:aws:ssm:eu-west-1:123456789012:"
                                                                          "parameter/jwt"}}},
     "no JWT_SECRET_ARN naming a Secrets Manager secret"),
    ("auth-key-from-secrets-manager", TASK, task({"AUTH_ENABLED": "true"}, [{"name": "JWT_SECRET_KEY", "valueFrom": JWT_ARN}]),
     task({"AUTH_ENABLED": "true"}, [{"name": "PGPASSWORD", "valueFrom": SECRET_ARN + ":password::"}]),
     "container go-rest has AUTH_ENABLED but no JWT_SECRET_KEY injected"),
    ("log-group-retention", "aws:cloudwatch/logGroup:LogGroup", {"name": "/perflab", "retentionInDays": 7},
     {"name": "/perflab"}, "keeps logs forever"),
    ("ecs-service-starts-at-zero", "aws:ecs/service:Service", {"desiredCount": 0}, {"desiredCount": 2},
     "starts with 2 tasks"),
    ("s3-public-access-blocked", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
     {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
     {"blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True, "restrictPublicBuckets": True},
     "blockPublicPolicy must be true"),
]


@pytest.mark.parametrize("policy, resource_type, good, bad, message", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_passes_a_complying_resource_and_reports_a_violating_one(policy, resource_type, good, bad, message):
    assert violations(policy, resource_type, good) == []
    found = violations(policy, resource_type, bad)
    assert found and any(message in text for text in found), found


def test_every_rule_is_in_the_pack_mandatory_and_tested():
    assert [p.name for p in pack.policies()] == [r.name for r in rules.RULES]
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in pack.policies())
    assert {case[0] for case in CASES} == set(POLICIES)  # each rule has a violating case above


def test_rules_ignore_resources_they_do_not_govern():
    for policy in POLICIES:
        assert violations(policy, "aws:ec2/vpc:Vpc", {"cidrBlock": "10.42.0.0/16"}) == []


def test_the_labs_own_tokens_are_recognised_as_bearer_tokens():
    from perflab import profiles

    assert rules.BEARER_TOKEN.match(profiles.token("k" * 40, ttl_seconds=60))
    assert not rules.BEARER_TOKEN.match("eyJ-not-a-token")
