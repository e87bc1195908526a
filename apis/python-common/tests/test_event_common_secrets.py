"""The secrets store (contract/CONTRACT.md, "Secrets") against a local HTTP server that answers what each
test scripts: retries with backoff, failed reads, refresh keeping old values, the APIs exiting 1 at
start-up, and (with TEST_DATABASE_URL) a refreshed db-password serving the connections opened after it."""
from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest

from event_common.config import DEFAULT_REST_PORT, Config
from event_common.event import parse_event
from event_common.secret_store import (
    DB_PASSWORD,
    JWT_SECRET_KEY,
    SecretStore,
    SecretUnavailable,
    secret_names,
)
from event_common.store import DatabaseUnavailable, Store

FAST = {"attempt_timeout": 0.3, "backoff": (0.01, 0.01, 0.01, 0.01)}


class ScriptedStore:
    """GET /secrets/<name>: pops the next scripted answer of `name` — (status, body, delay seconds) — or,
    when none is left, answers 200 with the value in `values` (404 without one). Records every request."""

    def __init__(self):
        self.values: dict[str, str] = {}
        self.scripts: dict[str, list[tuple[int, bytes, float]]] = {}
        self.requests: list[tuple[float, str]] = []
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = urllib.parse.unquote(self.path.removeprefix("/secrets/"))
                store.requests.append((time.monotonic(), self.path))
                if store.scripts.get(name):
                    status, body, delay = store.scripts[name].pop(0)
                    time.sleep(delay)
                elif name in store.values:
                    status, body = 200, json.dumps({"name": name, "value": store.values[name]}).encode()
                else:
                    status, body = 404, b'{"error": "not found"}'
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"/secrets/{name}-moved")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have given up (timeouts)
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail(self, name: str, *answers: tuple[int, bytes, float]) -> None:
        self.scripts.setdefault(name, []).extend(answers)

    def requests_for(self, name: str) -> list[float]:
        return [at for at, path in self.requests if path == f"/secrets/{name}"]


@pytest.fixture
def secrets_server():
    server = ScriptedStore()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_secret_is_read_and_the_base_url_may_end_with_a_slash(secrets_server):
    secrets_server.values[DB_PASSWORD] = "p@ss word/é"
    store = SecretStore(secrets_server.url + "/", [DB_PASSWORD])
    took = asyncio.run(store.load())
    assert store.value(DB_PASSWORD) == "p@ss word/é"
    assert store.getter(DB_PASSWORD)() == "p@ss word/é"
    assert 0 <= took < 2
    assert len(secrets_server.requests_for(DB_PASSWORD)) == 1


def test_failed_reads_are_retried_with_the_contracts_backoff(secrets_server):
    secrets_server.values[DB_PASSWORD] = "pw"
    secrets_server.fail(DB_PASSWORD, (500, b"{}", 0), (503, b"{}", 0), (200, b'{"name": "db-password"}', 0))
    store = SecretStore(secrets_server.url, [DB_PASSWORD])
    asyncio.run(store.load())
    assert store.value(DB_PASSWORD) == "pw"
    times = secrets_server.requests_for(DB_PASSWORD)
    assert len(times) == 4
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    for gap, pause in zip(gaps, (0.1, 0.2, 0.4)):
        assert pause <= gap < pause + 0.5, gaps


def test_five_failed_attempts_name_the_secret_never_a_value(secrets_server):
    secrets_server.fail(DB_PASSWORD, *[(500, b'{"value": "not-this"}', 0)] * 5)
    store = SecretStore(secrets_server.url, [DB_PASSWORD])
    started = time.monotonic()
    with pytest.raises(SecretUnavailable, match="db-password") as caught:
        asyncio.run(store.load())
    assert 1.5 <= time.monotonic() - started < 3.5  # 100 + 200 + 400 + 800 ms between the attempts
    assert len(secrets_server.requests_for(DB_PASSWORD)) == 5
    assert "not-this" not in str(caught.value)


@pytest.mark.parametrize("answer", [
    (200, b'{"name": "db-password", "value": 12}', 0), (200, b'{"name": "db-password"}', 0), (200, b"[]", 0),
    (200, b"not json", 0), (204, b"", 0), (302, b"", 0), (404, b"{}", 0), (200, b'{"value": "late"}', 1.0),
])
def test_what_counts_as_a_failed_read(secrets_server, answer):
    secrets_server.values[DB_PASSWORD + "-moved"] = "redirected"
    secrets_server.fail(DB_PASSWORD, *[answer] * 5)
    with pytest.raises(SecretUnavailable):
        asyncio.run(SecretStore(secrets_server.url, [DB_PASSWORD], **FAST).load())


def test_a_jwt_key_shorter_than_32_bytes_is_a_failed_read(secrets_server):
    secrets_server.values[JWT_SECRET_KEY] = "short"
    with pytest.raises(SecretUnavailable, match="jwt-secret-key"):
        asyncio.run(SecretStore(secrets_server.url, [JWT_SECRET_KEY], **FAST).load())


def test_nothing_listening_is_a_failed_read():
    with pytest.raises(SecretUnavailable):
        asyncio.run(SecretStore("http://127.0.0.1:1", [DB_PASSWORD], **FAST).load())


def test_a_refresh_takes_new_values_and_keeps_old_ones_on_failure(secrets_server):
    secrets_server.values.update({DB_PASSWORD: "one", JWT_SECRET_KEY: "k" * 32})
    store = SecretStore(secrets_server.url, [DB_PASSWORD, JWT_SECRET_KEY], **FAST)

    async def scenario():
        await store.load()
        password = store.getter(DB_PASSWORD)
        secrets_server.values.update({DB_PASSWORD: "two", JWT_SECRET_KEY: "n" * 32})
        secrets_server.fail(JWT_SECRET_KEY, *[(500, b"{}", 0)] * 5)
        await store.refresh()
        assert (password(), store.value(JWT_SECRET_KEY)) == ("two", "k" * 32)
        await store.refresh()
        assert store.value(JWT_SECRET_KEY) == "n" * 32
        # The periodic refresh, cancelled at shutdown.
        secrets_server.values[DB_PASSWORD] = "three"
        task = store.start_refreshing(0.05)
        for _ in range(100):
            if password() == "three":
                break
            await asyncio.sleep(0.02)
        task.cancel()
        assert password() == "three"
    asyncio.run(scenario())


def test_which_secrets_a_configuration_reads():
    base = {"DATABASE_URL": "postgres://u@h/db"}
    assert secret_names(Config.from_env(DEFAULT_REST_PORT, base)) == []
    assert SecretStore.for_config(Config.from_env(DEFAULT_REST_PORT, base)) is None
    with_store = {**base, "SECRETS_URL": "http://127.0.0.1:8200"}
    assert secret_names(Config.from_env(DEFAULT_REST_PORT, with_store)) == [DB_PASSWORD]
    assert secret_names(Config.from_env(DEFAULT_REST_PORT, {**with_store, "AUTH_ENABLED": "1"})) == [
        DB_PASSWORD, JWT_SECRET_KEY]


@pytest.mark.parametrize("module", ["python_rest", "python_grpc"])
def test_an_api_without_its_secrets_exits_1_naming_the_secret(secrets_server, module):
    secrets_server.values[DB_PASSWORD] = "pw-7f3a"  # the JWT key is missing (404)
    env = {**os.environ, "DATABASE_URL": "postgres://bench@127.0.0.1:1/events", "SECRETS_URL": secrets_server.url,
           "AUTH_ENABLED": "true", "PORT": "1", "BIND_ADDRESS": "127.0.0.1"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1, result.stderr
    assert "jwt-secret-key" in result.stderr and "pw-7f3a" not in result.stderr
    assert time.monotonic() - started >= 1.5  # every attempt was made
    assert len(secrets_server.requests_for(JWT_SECRET_KEY)) == 5


DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
needs_database = pytest.mark.skipif(not DATABASE_URL, reason="TEST_DATABASE_URL is not set")


@needs_database
def test_a_refreshed_db_password_serves_the_connections_opened_after_it(secrets_server):
    parts = urllib.parse.urlsplit(DATABASE_URL)
    password = urllib.parse.unquote(parts.password or "")
    assert password, "TEST_DATABASE_URL must carry the password for this test"
    without_password = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", "@")))
    secrets_server.values[DB_PASSWORD] = "wrong-" + password
    secrets = SecretStore(secrets_server.url, [DB_PASSWORD], **FAST)
    event = (f'{{"eventHeader": {{"uuid": "{uuid.uuid4()}", "eventName": "A", "eventType": "A"}}, "eventBody":'
             ' {"entities": [{"entityType": "Car", "entityId": "c-secret", "updatedAttributes": {"a": 1}}]}}').encode()

    async def scenario():
        await secrets.load()
        config = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": without_password, "DB_POOL_MAX": "1"})
        store = await Store.open(config, secrets.getter(DB_PASSWORD))
        try:
            with pytest.raises(DatabaseUnavailable):
                await store.save_event(parse_event(event))
            secrets_server.values[DB_PASSWORD] = password
            await secrets.refresh()
            assert await store.save_event(parse_event(event)) is False
        finally:
            await store.close()
        # A password in DATABASE_URL wins over the secret.
        secrets_server.values[DB_PASSWORD] = "wrong"
        await secrets.refresh()
        store = await Store.open(Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": DATABASE_URL}),
                                 secrets.getter(DB_PASSWORD))
        try:
            await store.ping()
        finally:
            await store.close()
    asyncio.run(scenario())
