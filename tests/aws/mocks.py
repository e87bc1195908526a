"""Pulumi mocks for the AWS program: computed outputs as AWS would return them, and the invokes it makes.

Inputs come back as outputs (as a real provider echoes them); what AWS computes — ARNs, ids, endpoints,
the RDS-managed secret, repository URLs, image digests — is added per type. Invokes the program does not
answer here fail the run: an unexpected data-source call is a finding, not something to ignore.
"""
from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from typing import Any

import pulumi
import yaml

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0b5e-mock-AbCdEf"
ECR_PASSWORD = "mock-ecr-token-7d1c0ffee"  # a secret value the program receives: must never be exported


class AwsMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[pulumi.runtime.MockCallArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        name = args.name
        service = args.typ.split(":")[1].split("/")[0]
        outputs = dict(args.inputs)
        outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}")
        outputs.setdefault("name", name)
        computed: dict[str, Callable[[], dict[str, Any]]] = {
            "aws:rds/instance:Instance": lambda: {
                "address": f"{name}.abc123.{REGION}.rds.amazonaws.com", "identifier": f"perflab-aws-{name}",
                "endpoint": f"{name}.abc123.{REGION}.rds.amazonaws.com:5432",
                "masterUserSecrets": [{"secretArn": SECRET_ARN, "secretStatus": "active",
                                       "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mock"}]},
            "aws:ecr/repository:Repository": lambda: {
                "registryId": ACCOUNT,
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{args.inputs.get('name', name)}"},
            "docker:index/image:Image": lambda: {
                "repoDigest": f"{str(args.inputs['imageName']).split(':')[0]}@sha256:{'ab' * 32}"},
            "aws:lb/loadBalancer:LoadBalancer": lambda: {"dnsName": f"{name}-0123.elb.{REGION}.amazonaws.com"},
            "aws:apigatewayv2/api:Api": lambda: {
                "apiEndpoint": f"https://{name}-api.execute-api.{REGION}.amazonaws.com",
                "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{name}-api"},
            "aws:lambda/function:Function": lambda: {
                "invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/functions/{name}/invocations"},
            "aws:ec2/vpcEndpoint:VpcEndpoint": lambda: {"prefixListId": "pl-6da54004"},
            "aws:ec2/eip:Eip": lambda: {"allocationId": f"eipalloc-{name}"},
            "aws:s3/bucket:Bucket": lambda: {"bucket": f"{args.inputs.get('bucketPrefix', name)}0123abcd"},
            "aws:ecs/cluster:Cluster": lambda: {"name": args.inputs.get("name", name)},
        }
        if args.typ in computed:
            outputs.update(computed[args.typ]())
        return f"{name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
                    "zoneIds": ["euw1-az1", "euw1-az2", "euw1-az3"], "id": REGION}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"userName": "AWS", "password": ECR_PASSWORD, "authorizationToken": "QVdTOm1vY2s=",
                    "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com", "id": REGION}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/mock", "userId": "AIDAMOCK",
                    "id": ACCOUNT}
        raise NotImplementedError(f"the AWS program made an invoke the mocks do not know: {args.token}")


def stack_config(stack: str = "aws", overrides: dict | None = None) -> dict[str, str]:
    """Pulumi.<stack>.yaml as the engine hands it to the program: every value as text (JSON for objects)."""
    root = pathlib.Path(__file__).resolve().parents[2]
    values = (yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {})["config"]
    values.update(overrides or {})
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}


def resolve(output) -> object:
    """An output's value, inside a @pulumi.runtime.test."""
    return pulumi.Output.from_input(output)


def _settle() -> None:
    """Run the event loop until every outstanding registration of the current program is done."""
    @pulumi.runtime.test
    def settle() -> None:
        return None
    settle()


class ProgramRun:
    """The program (__main__.py) run once under fresh mocks with the AWS stack's configuration.

    Each run gets its own root stack resource (its exports) and leaves the previous root and whatever
    another test module registered untouched: pending work is settled under its own mocks first.
    """

    def __init__(self, overrides: dict | None = None, stack: str = "aws") -> None:
        import runpy

        from pulumi.runtime import settings

        from perflab.catalogue import ROOT

        try:
            _settle()  # another module's program finishes under its own mocks
        except Exception:  # noqa: BLE001 — nothing configured yet: nothing pending
            pass
        previous_root = settings.ROOT.get()
        settings.ROOT.set(None)
        self.mocks = AwsMocks()
        pulumi.runtime.set_mocks(self.mocks, project="perflab", stack=stack, preview=False)
        pulumi.runtime.set_all_config(stack_config(stack, overrides), [])
        try:
            self.namespace = runpy.run_path(str(ROOT / "__main__.py"))
            _settle()
            self.root = settings.get_root_resource()
        finally:
            settings.ROOT.set(previous_root)
        self.stack = self.namespace["stack"]
        self.exports = dict(getattr(self.root, "outputs", {}))

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.mocks.resources if r.typ == typ]

    def named(self, typ: str, name: str) -> pulumi.runtime.MockResourceArgs:
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, f"{typ} {name}: {len(found)} registered"
        return found[0]

    def then(self, check):
        """Assert inside an apply on the stack's outputs (so @pulumi.runtime.test sees the failure)."""
        return pulumi.Output.from_input(self.stack.outputs).apply(lambda outputs: check(outputs))
