"""Options of the AWS tests. The admin handler test's database: --admin-dsn, else PERFLAB_ADMIN_TEST_DSN,
else the test PostgreSQL the README describes (hb-postgres on 127.0.0.1:16433)."""
from __future__ import annotations

import os
import urllib.request

import pytest

DEFAULT_ADMIN_DSN = "postgresql://bench:perflab-admin-test@127.0.0.1:16433/events"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--admin-dsn", default=None,
                     help="PostgreSQL DSN the db-admin handler test resets and verifies (TRUNCATEs its tables)")


@pytest.fixture(scope="session")
def admin_dsn(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--admin-dsn") or os.environ.get("PERFLAB_ADMIN_TEST_DSN") or DEFAULT_ADMIN_DSN


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server on 127.0.0.1 (a free port), as an AWS endpoint for boto3 in this process and others."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_environment(moto_endpoint, monkeypatch) -> dict[str, str]:
    """Fake credentials and the moto endpoint for every AWS client (boto3 reads AWS_ENDPOINT_URL), on a
    moto emptied for this test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=10)
    values = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
              "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": moto_endpoint}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    return values
