"""Auth and secrets profiles end to end on the local stack: `bench run --profile` brings the stack up under
each profile, the generator sends the stack's token, the APIs read their secrets from the store, and the
report puts each API under auth beside itself without auth. The module leaves the stack under no-auth."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from perflab import catalogue, profiles
from runner import stack
from tests.runner.test_bench_run import invoke, latest_document

APIS = ["go-rest", "python-grpc"]


@pytest.fixture(scope="module", autouse=True)
def back_to_no_auth(outputs):
    yield
    deployed = list(stack.outputs("local").get("apis", {}))  # the same APIs, back under no-auth
    stack.up("local", log=lambda line: None, apis=deployed or None, profile=profiles.DEFAULT)


def _post(url: str, token: str | None) -> tuple[int, dict]:
    event = {"eventHeader": {"uuid": str(uuid.uuid4()), "eventName": "ProfileTest", "eventType": "ProfileTest"},
             "eventBody": {"entities": [{"entityType": "Loan", "entityId": "profile-test", "updatedAttributes": {}}]}}
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(f"{url}/api/v1/events", json.dumps(event).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_run_measures_each_api_under_each_profile_with_the_stacks_token(outputs, results_dir):
    result = invoke("run", "full", *[f"--api={a}" for a in APIS], "--profile", "no-auth,auth+secrets",
                    "--phase-scale", "0.02", "--warmup", "1", "--no-reference", "--results-dir", str(results_dir))
    assert result.exit_code == 0, result.output
    document = latest_document(results_dir)
    assert document["config"]["profiles"] == ["no-auth", "auth+secrets"]
    assert [(r["api"], r["profile"]) for r in document["results"]] == [
        (api, profile) for profile in ("no-auth", "auth+secrets") for api in APIS]
    for item in document["results"]:
        assert item["status"] == "passed", (item["api"], item["profile"], item["problem"])
        assert item["verification"]["passed"] and item["verification"]["acknowledged"] > 0
        # Under auth every request carried a valid token: nothing was refused.
        assert sum(p["failures"] for p in item["phases"]) == 0, item["phases"]

    # The stack now runs auth+secrets: the APIs read both secrets from the store at start-up.
    current = stack.outputs("local")
    assert current["profile"] == "auth+secrets" and current["auth"]["key"]
    with urllib.request.urlopen(f"{current['secretsStore']['endpoint']}/stats", timeout=5) as answer:
        stats = json.loads(answer.read())
    assert stats["served"] >= 2 * len(APIS) and stats["failures"] == stats["timeouts"] == 0, stats

    # The report: each API under auth+secrets beside itself without auth, per phase.
    run_dir = results_dir / document["runId"]
    assert invoke("report", str(run_dir)).exit_code == 0
    markdown = (run_dir / "report.md").read_text()
    assert "## Auth overhead" in markdown and "go-rest (auth+secrets)" in markdown


def test_bench_token_gives_what_the_apis_accept_and_nothing_else_gets_in(outputs):
    stack.up("local", log=lambda line: None, apis=list(stack.outputs("local")["apis"]), profile="auth")
    token = invoke("token", "--ttl", "120").output.strip()
    assert token.count(".") == 2
    url = f"http://127.0.0.1:{catalogue.api('go-rest').port}"
    assert _post(url, token)[0] == 200
    status, body = _post(url, None)
    assert (status, body) == (401, {"error": "missing bearer token", "status": 401})
    assert _post(url, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))[0] == 401
