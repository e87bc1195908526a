"""Pulumi mocks for the AWS program: computed outputs as AWS would return them, and the invokes it makes.

Inputs come back as outputs (as a real provider echoes them); what AWS computes — ARNs, ids, endpoints,
the RDS-managed secret, repository URLs, image digests — is added per type. Invokes the program does not
answer here fail the run: an unexpected data-source call is a finding, not something to ignore.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import pathlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pulumi
import yaml

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0b5e-mock-AbCdEf"
ECR_PASSWORD = "mock-ecr-token-7d1c0ffee"  # a secret value the program receives: must never be exported
# How a secret input reaches the mocks: {SECRET_SIG: SECRET_MARK, "value": ...} (pulumi.runtime.rpc).
SECRET_SIG, SECRET_MARK = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
STAND_IN_TAG = "0123456789abcdef"  # every image's content tag in a ProgramRun: nothing is built


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
            # Secrets Manager appends six random characters to the name it makes from the prefix.
            "aws:secretsmanager/secret:Secret": lambda: {
                "arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{args.inputs.get('namePrefix', name)}Xy12Zq"},
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


@contextlib.contextmanager
def _without_artifacts() -> Iterator[None]:
    """The program's look-ups of built artifacts, answered without a build: every image's content tag is
    STAND_IN_TAG and every required file or folder is taken as it is. Put back afterwards, so that a test of
    the real look-ups sees them."""
    from stacks.aws import admin, container_service, function, generator

    stand_ins: list[tuple[Any, str, Any]] = [
        (container_service, "content_tag", lambda service, base_image_id=None: STAND_IN_TAG),
        (generator, "content_tag", lambda service, base_image_id=None: STAND_IN_TAG),
        (function, "require_file", lambda path: path), (admin, "require_file", lambda path: path),
        (admin, "require_dir", lambda path: path)]
    with contextlib.ExitStack() as patches:
        for module, name, value in stand_ins:
            patches.enter_context(mock.patch.object(module, name, value))
        yield


class ProgramRun:
    """The program (__main__.py) run once under fresh mocks with the AWS stack's configuration, without built
    artifacts (_without_artifacts).

    Each run gets its own root stack resource (its exports) and leaves the previous root and whatever
    another test module registered untouched: pending work is settled under its own mocks first.
    """

    def __init__(self, overrides: dict | None = None, stack: str = "aws", secret_keys: tuple[str, ...] = (),
                 environment: dict[str, str] | None = None) -> None:
        """`overrides`: config values (those named in `secret_keys` are secret config); `environment`: host
        variables the program reads (PERFLAB_PROFILE...), set for this run only."""
        import os
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
        pulumi.runtime.set_all_config(stack_config(stack, overrides), list(secret_keys))
        saved = {key: os.environ.get(key) for key in (environment or {})}
        os.environ.update(environment or {})
        try:
            with _without_artifacts():
                self.namespace = runpy.run_path(str(ROOT / "__main__.py"))
                _settle()
            self.root = settings.get_root_resource()
        finally:
            settings.ROOT.set(previous_root)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
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


def container_definition(run: ProgramRun, name: str) -> dict:
    """The one container definition of task definition `name`."""
    [definition] = json.loads(run.named("aws:ecs/taskDefinition:TaskDefinition", name).inputs["containerDefinitions"])
    return definition


def policy_rules() -> types.ModuleType:
    """policy/rules.py, the policy pack's rules, loaded as a module (the pack's folder is no package)."""
    from perflab.catalogue import ROOT

    spec = importlib.util.spec_from_file_location("perflab_policy_rules", ROOT / "policy" / "rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def policy_violations(*runs: ProgramRun) -> list[tuple[str, str, str]]:
    """(rule, resource, message) of every policy-pack violation among the resources of `runs`."""
    rules = policy_rules()
    violations = []
    for run in runs:
        for resource in run.mocks.resources:
            args = types.SimpleNamespace(resource_type=resource.typ, props=resource.inputs, name=resource.name,
                                         urn=resource.name)
            for rule in rules.RULES:
                rule.validate(args, lambda message, urn=None, r=resource, n=rule.name:
                              violations.append((n, r.name, message)))
    return violations
