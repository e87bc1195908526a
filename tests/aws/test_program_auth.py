"""The AWS program under the auth profiles (perflab.profiles), under Pulumi's mocks as tests/aws/test_program.py.

Three runs: `auth` with the key as secret config (perflab:jwtSecretKey), `auth+secrets` chosen on the host
(PERFLAB_PROFILE, the key from PERFLAB_JWT_SECRET_KEY) and no-auth. Under auth the key lives in one Secrets
Manager secret: ECS injects it (`secrets`), Lambdas get its ARN, each role may read exactly that ARN, and the
key appears nowhere in plain text — not in an input, an environment or an output.
"""
from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from perflab import catalogue, profiles
from perflab.errors import ConfigError
from tests.aws.mocks import (
    ACCOUNT,
    REGION,
    SECRET_ARN,
    SECRET_MARK,
    SECRET_SIG,
    ProgramRun,
    container_definition,
    policy_violations,
)

KEY = "perflab-config-key-" + "c" * 29  # 48 bytes
HOST_KEY = "perflab-host-key-" + "h" * 31
JWT_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:perflab-aws-jwt-secret-key-Xy12Zq"
CONTAINERS = [s for s in catalogue.APIS if s.deployment == "container"]
LAMBDAS = [s for s in catalogue.APIS if s.deployment == "lambda"]
AUTH_VARIABLES = {"AUTH_ENABLED": "true", "JWT_ISSUER": profiles.ISSUER, "JWT_AUDIENCE": profiles.AUDIENCE}


def _run(overrides: dict | None = None, secret_keys: tuple[str, ...] = (), environment: dict | None = None) -> ProgramRun:
    """One program run; the profile and the key come from `overrides` and `environment` alone, whatever the
    host has set."""
    return ProgramRun(overrides, secret_keys=secret_keys,
                      environment={profiles.PROFILE_VARIABLE: "", "PERFLAB_JWT_SECRET_KEY": "", **(environment or {})})


AUTH = _run({"perflab:profile": "auth", "perflab:jwtSecretKey": KEY}, secret_keys=("perflab:jwtSecretKey",))
FROM_HOST = _run(environment={profiles.PROFILE_VARIABLE: "auth+secrets", "PERFLAB_JWT_SECRET_KEY": HOST_KEY})
NO_AUTH = _run()


def _environment(definition: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in definition.get("environment", [])}


def _secret_reads(run: ProgramRun, policy: str) -> list[list[str]]:
    """The resources of each secretsmanager:GetSecretValue statement of one role's policy."""
    statements = json.loads(run.named("aws:iam/rolePolicy:RolePolicy", policy).inputs["policy"])["Statement"]
    return [st["Resource"] for st in statements if "secretsmanager:GetSecretValue" in st["Action"]]


def _without_secrets(value: Any) -> Any:
    """An input with every secret value taken out: what is left is plain text in the state and the plan."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_MARK:
            return "[secret]"
        return {k: _without_secrets(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_secrets(v) for v in value]
    return value


def _resolved_outputs(run: ProgramRun):
    """{output: (value, is secret)} of the stack's outputs, inside a @pulumi.runtime.test."""
    async def resolve() -> dict:
        pairs = {}
        for name, value in run.stack.outputs.items():
            output = pulumi.Output.from_input(value)
            pairs[name] = (await output.future(), await output.is_secret())
        return pairs
    return pulumi.Output.from_input(resolve())


@pulumi.runtime.test
def test_the_key_lives_in_one_secrets_manager_secret():
    def check(_):
        for run, key in ((AUTH, KEY), (FROM_HOST, HOST_KEY)):
            [secret] = run.of_type("aws:secretsmanager/secret:Secret")
            assert secret.name == profiles.JWT_KEY_SECRET
            assert secret.inputs["namePrefix"] == "perflab-aws-jwt-secret-key-"
            assert secret.inputs["recoveryWindowInDays"] == 0  # `bench down aws` deletes it at once
            [version] = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
            assert version.inputs["secretId"] == f"{profiles.JWT_KEY_SECRET}-id"
            assert version.inputs["secretString"] == {SECRET_SIG: SECRET_MARK, "value": key}  # its text is the key
    return AUTH.then(check)


@pulumi.runtime.test
def test_every_container_api_gets_auth_and_the_key_injected_from_the_secret():
    def check(_):
        for run in (AUTH, FROM_HOST):
            for service in CONTAINERS:
                definition = container_definition(run, service.name)
                env = _environment(definition)
                assert {k: env[k] for k in AUTH_VARIABLES} == AUTH_VARIABLES, service.name
                assert "JWT_SECRET_KEY" not in env and "JWT_SECRET_ARN" not in env and "SECRETS_URL" not in env
                assert definition["secrets"] == [{"name": "PGPASSWORD", "valueFrom": f"{SECRET_ARN}:password::"},
                                                 {"name": "JWT_SECRET_KEY", "valueFrom": JWT_ARN}], service.name
                # ECS reads both at task start: the execution role may read exactly these two secrets.
                assert sorted(_secret_reads(run, f"{service.name}-execution")) == sorted([[SECRET_ARN], [JWT_ARN]])
    return AUTH.then(check)


@pulumi.runtime.test
def test_every_lambda_gets_auth_and_the_secrets_arn_and_may_read_only_that_secret():
    def check(_):
        for run in (AUTH, FROM_HOST):
            for service in LAMBDAS:
                variables = run.named("aws:lambda/function:Function", service.name).inputs["environment"]["variables"]
                assert {k: variables[k] for k in AUTH_VARIABLES} == AUTH_VARIABLES, service.name
                assert variables["JWT_SECRET_ARN"] == JWT_ARN and variables["DATABASE_SECRET_ARN"] == SECRET_ARN
                assert "JWT_SECRET_KEY" not in variables and "SECRETS_URL" not in variables
                assert sorted(_secret_reads(run, service.name)) == sorted([[SECRET_ARN], [JWT_ARN]])
            # The database-admin function verifies no token and the generator task holds none in its definition.
            admin = run.named("aws:lambda/function:Function", "db-admin").inputs["environment"]["variables"]
            assert not {"AUTH_ENABLED", "JWT_SECRET_ARN"} & set(admin)
            assert _secret_reads(run, "db-admin") == [[SECRET_ARN]]
            assert _secret_reads(run, "loadgen-execution") == []
            generator_definition = container_definition(run, "loadgen")
            assert "environment" not in generator_definition and "secrets" not in generator_definition
    return AUTH.then(check)


@pulumi.runtime.test
def test_no_statement_reads_a_secret_other_than_the_database_and_the_key():
    def check(_):
        for run in (AUTH, FROM_HOST, NO_AUTH):
            allowed = {SECRET_ARN, JWT_ARN} if run is not NO_AUTH else {SECRET_ARN}
            for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
                for resources in _secret_reads(run, policy.name):
                    assert len(resources) == 1 and resources[0] in allowed, (policy.name, resources)
    return AUTH.then(check)


@pulumi.runtime.test
def test_the_key_is_in_no_plain_input_environment_or_output():
    def check(pairs):
        for run, key in ((AUTH, KEY), (FROM_HOST, HOST_KEY)):
            for resource in run.mocks.resources:
                plain = json.dumps(_without_secrets(resource.inputs), default=str)
                assert key not in plain, f"{resource.typ} {resource.name} holds the key in plain text"
        # The outputs: `auth` carries the key for the runner's tokens, as a secret; nothing else holds it.
        for name, (value, secret) in pairs.items():
            if KEY in json.dumps(value, default=str):
                assert name == "auth" and secret, f"output {name} holds the key and is not a secret"
        value, secret = pairs["auth"]
        assert secret and value == {"issuer": profiles.ISSUER, "audience": profiles.AUDIENCE, "key": KEY,
                                    "secretArn": JWT_ARN}
        assert pairs["profile"] == ("auth", False)
        assert set(pairs) <= set(AUTH.exports)  # what __main__ exported is what was checked
    return _resolved_outputs(AUTH).apply(check)


@pulumi.runtime.test
def test_auth_secrets_on_aws_is_auth_its_profile_named_as_chosen_on_the_host():
    def check(pairs):
        assert pairs["profile"][0] == "auth+secrets"
        assert pairs["auth"][1] and pairs["auth"][0]["key"] == HOST_KEY
        # The same deployment as auth: same types and names of resources, no SECRETS_URL store anywhere.
        assert sorted((r.typ, r.name) for r in FROM_HOST.mocks.resources) == \
            sorted((r.typ, r.name) for r in AUTH.mocks.resources)
        assert "SECRETS_URL" not in json.dumps([_without_secrets(r.inputs) for r in FROM_HOST.mocks.resources],
                                               default=str)
    return _resolved_outputs(FROM_HOST).apply(check)


@pulumi.runtime.test
def test_no_auth_changes_nothing():
    def check(pairs):
        assert not NO_AUTH.of_type("aws:secretsmanager/secret:Secret")
        assert not NO_AUTH.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        text = json.dumps([_without_secrets(r.inputs) for r in NO_AUTH.mocks.resources], default=str)
        assert "AUTH_ENABLED" not in text and "JWT_" not in text
        for service in CONTAINERS:
            assert [s["name"] for s in container_definition(NO_AUTH, service.name)["secrets"]] == ["PGPASSWORD"]
        assert pairs["profile"] == ("no-auth", False) and pairs["auth"][0] is None
        # Besides the secret and its version, auth adds nothing: the same resources otherwise.
        added = {(r.typ, r.name) for r in AUTH.mocks.resources} - {(r.typ, r.name) for r in NO_AUTH.mocks.resources}
        assert added == {("perflab:aws:JwtKeySecret", profiles.JWT_KEY_SECRET),
                         ("aws:secretsmanager/secret:Secret", profiles.JWT_KEY_SECRET),
                         ("aws:secretsmanager/secretVersion:SecretVersion", profiles.JWT_KEY_SECRET)}
    return _resolved_outputs(NO_AUTH).apply(check)


@pulumi.runtime.test
def test_the_policy_pack_finds_no_violation_under_auth():
    def check(_):
        assert policy_violations(AUTH, FROM_HOST) == []
    return AUTH.then(check)


def test_a_short_key_from_the_host_is_refused():
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        _run(environment={profiles.PROFILE_VARIABLE: "auth", "PERFLAB_JWT_SECRET_KEY": "k" * 31})


def test_a_short_key_in_the_config_is_refused():
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        _run({"perflab:profile": "auth", "perflab:jwtSecretKey": "k" * 31}, secret_keys=("perflab:jwtSecretKey",))


def test_an_auth_profile_without_any_key_says_where_to_put_one(tmp_path):
    with pytest.raises(ConfigError, match="no JWT key for the auth profile"):
        _run(environment={profiles.PROFILE_VARIABLE: "auth", "PERFLAB_STATE": str(tmp_path)})


def test_an_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="unknown profile 'oauth'"):
        _run({"perflab:profile": "oauth"})
