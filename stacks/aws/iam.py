"""IAM for the lab: one role per workload, inline policies naming the exact resources they touch.

`Resource: "*"` appears only for actions that AWS authorizes on every resource and nothing narrower
(`ALL_RESOURCES_ONLY`); policy/rules.py refuses any other wildcard.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

# Actions with no resource-level permission: "*" is the narrowest resource they accept.
ALL_RESOURCES_ONLY = ("ecr:GetAuthorizationToken", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs")


def assume_role_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def statement(actions: Sequence[str], resources: Sequence[pulumi.Input[str]] | str) -> dict:
    return {"Effect": "Allow", "Action": sorted(actions),
            "Resource": resources if isinstance(resources, str) else list(resources)}


def log_statement(log_group_arn: pulumi.Input[str]) -> dict:
    """Write to one log group (its streams); the group itself is created by the program."""
    return statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                     [pulumi.Output.concat(log_group_arn, ":*")])


def secret_statement(secret_arn: pulumi.Input[str]) -> dict:
    return statement(["secretsmanager:GetSecretValue"], [secret_arn])


def vpc_access_statements(region: str, account: pulumi.Input[str], subnet_ids: Sequence[pulumi.Input[str]],
                          security_group_id: pulumi.Input[str]) -> list[dict]:
    """What AWSLambdaVPCAccessExecutionRole grants on `*`, scoped: the function's own network interfaces
    in its subnets and security group; only the Describe calls (no resource-level support) keep `*`."""
    prefix = pulumi.Output.concat("arn:aws:ec2:", region, ":", account, ":")
    interfaces = pulumi.Output.concat(prefix, "network-interface/*")
    return [
        statement(["ec2:CreateNetworkInterface"], [
            interfaces, pulumi.Output.concat(prefix, "security-group/", security_group_id),
            *[pulumi.Output.concat(prefix, "subnet/", subnet) for subnet in subnet_ids]]),
        statement(["ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface",
                   "ec2:UnassignPrivateIpAddresses"], [interfaces]),
        statement(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "*"),
    ]


class Role(pulumi.ComponentResource):
    """An IAM role for one workload, with one inline policy of exactly `statements`."""
    arn: pulumi.Output[str]

    def __init__(self, name: str, service_principal: str, statements: list[dict],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:Role", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(name, assume_role_policy=assume_role_policy(service_principal), opts=child)
        self.policy = aws.iam.RolePolicy(
            name, role=self.role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}), opts=child)
        self.arn = self.role.arn
        self.name = self.role.name
        self.register_outputs({"arn": self.arn})
