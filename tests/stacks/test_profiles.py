"""The auth/secrets profiles as the program deploys them (under Pulumi's mocks, one process per profile):
which variables every API gets, where the key and the password are, and the secrets store."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from perflab import catalogue, profiles

PASSWORD = "mock-db-password-5f3a"
KEY = "k" * 40


def deploy(profile: str, config: dict | None = None) -> dict:
    env = {**os.environ, "PERFLAB_DB_PASSWORD": PASSWORD, "PERFLAB_JWT_SECRET_KEY": KEY,
           profiles.PROFILE_VARIABLE: profile, "PROFILE_PROGRAM_CONFIG": json.dumps(config or {})}
    done = subprocess.run([sys.executable, "-m", "tests.stacks.profile_program"], cwd=catalogue.ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module", params=list(profiles.PROFILES))
def deployed(request) -> tuple[profiles.Profile, dict]:
    return profiles.profile(request.param), deploy(request.param)


def api_containers(stack: dict) -> dict[str, dict]:
    """Every container that runs API code: container APIs and Lambda emulators (not gateways)."""
    names = {s.name for s in catalogue.APIS if s.deployment == "container"}
    return {name: c for name, c in stack["containers"].items()
            if name in names or any(name.startswith(f"{s.name}-") for s in catalogue.APIS if s.deployment == "lambda")}


def test_every_api_gets_the_profiles_variables_and_nothing_of_another(deployed):
    profile, stack = deployed
    assert stack["outputs"]["profile"] == profile.name
    apis = api_containers(stack)
    assert len(apis) >= len(catalogue.APIS)
    for name, container in apis.items():
        env = container["env"]
        if not profile.auth:
            assert not {"AUTH_ENABLED", "JWT_SECRET_KEY", "SECRETS_URL"} & set(env), name
            continue
        assert env["AUTH_ENABLED"] == "true", name
        assert (env["JWT_ISSUER"], env["JWT_AUDIENCE"]) == (profiles.ISSUER, profiles.AUDIENCE)
        if profile.secrets:
            # Neither the key nor the password in the API's environment: both come from the store.
            assert "JWT_SECRET_KEY" not in env and KEY not in json.dumps(env), name
            assert PASSWORD not in env["DATABASE_URL"] and "PGPASSWORD" not in env, name
            assert env["SECRETS_URL"] == f"http://127.0.0.1:{catalogue.SECRETS_STORE.port}"
            assert int(env["SECRETS_REFRESH_INTERVAL"]) > 0
        else:
            assert env["JWT_SECRET_KEY"] == KEY and PASSWORD in env["DATABASE_URL"], name
            assert container["secret"], f"{name}: an environment holding the key must be secret"


def test_the_secrets_store_runs_only_under_auth_secrets_and_holds_both_secrets(deployed):
    profile, stack = deployed
    store = stack["containers"].get(catalogue.SECRETS_STORE.name)
    if not profile.secrets:
        assert store is None and stack["outputs"]["secretsStore"] is None
        return
    assert store is not None and store["secret"]
    assert store["env"]["SECRET_DB_PASSWORD"] == PASSWORD and store["env"]["SECRET_JWT_SECRET_KEY"] == KEY
    assert store["env"]["SECRETS_LISTEN"] == f"127.0.0.1:{catalogue.SECRETS_STORE.port}"
    assert stack["outputs"]["secretsStore"]["endpoint"] == f"http://127.0.0.1:{catalogue.SECRETS_STORE.port}"
    # Started before the APIs that read it at start-up.
    order = stack["outputs"]["containers"]
    assert order.index("perflab-secrets-store") < min(order.index(f"perflab-{s.name}") for s in catalogue.APIS)


def test_a_short_jwt_key_is_refused_before_anything_is_deployed():
    env = {**os.environ, "PERFLAB_DB_PASSWORD": PASSWORD, "PERFLAB_JWT_SECRET_KEY": "short",
           profiles.PROFILE_VARIABLE: "auth"}
    done = subprocess.run([sys.executable, "-m", "tests.stacks.profile_program"], cwd=catalogue.ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0 and "at least 32 bytes" in done.stderr


def test_tokens_carry_the_claims_the_apis_check():
    import jwt

    token = profiles.token(KEY, ttl_seconds=60, now=1_700_000_000)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience=profiles.AUDIENCE, issuer=profiles.ISSUER,
                        options={"verify_exp": False, "verify_nbf": False})
    assert header["alg"] == "HS256"
    assert claims["exp"] - claims["nbf"] == 60 and claims["iat"] == 1_700_000_000
    with pytest.raises(Exception, match="32 bytes"):
        profiles.token("short")



def test_apis_start_after_the_secrets_store_they_read_at_start_up(deployed):
    profile, stack = deployed
    if not profile.secrets:
        return
    store_urn = stack["urns"][catalogue.SECRETS_STORE.name]
    for name in api_containers(stack):
        assert store_urn in stack["dependencies"][name], f"{name} may start before the secrets store"


def test_pinned_classes_get_their_cores_and_the_others_none():
    from runner.engine.core import stack_config

    limits = json.loads(stack_config("local")["perflab:limits"])
    limits["api"]["cpuset"] = "1"
    limits["database"]["cpuset"] = "2-3"
    stack = deploy("no-auth", {"perflab:limits": json.dumps(limits)})
    cpu_sets = {name: c["cpuSet"] for name, c in stack["containers"].items()}
    assert cpu_sets["postgres"] == "2-3" and cpu_sets["metrics-postgres"] is None
    assert all(cpu_sets[s.name] == "1" for s in catalogue.APIS if s.deployment == "container")
