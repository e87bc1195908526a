"""PGPASSWORD (contract/CONTRACT.md, "Environment"): when DATABASE_URL carries no password, asyncpg takes
PGPASSWORD from the process environment, as libpq does (how ECS hands over the database secret); a password
in the URL wins. Checked on asyncpg's own parser, with the DSN the store gives it."""
from __future__ import annotations

import pytest
from asyncpg import connect_utils

from event_common.config import DEFAULT_REST_PORT, Config
from event_common.store import split_connect_timeout


def login(database_url: str) -> tuple[str, str | None]:
    """The user and password the pool of `database_url` logs in with (Store.open: split_connect_timeout,
    then asyncpg.create_pool(dsn))."""
    dsn, _ = split_connect_timeout(Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": database_url}).database_url)
    _, params, _ = connect_utils._parse_connect_arguments(
        dsn=dsn, host=None, port=None, user=None, password=None, passfile=None, database=None,
        command_timeout=None, statement_cache_size=100, max_cached_statement_lifetime=300,
        max_cacheable_statement_size=15 * 1024, ssl=None, direct_tls=None, server_settings=None,
        target_session_attrs=None, krbsrvname=None, gsslib=None, service=None, servicefile=None)
    return params.user, params.password


@pytest.fixture(autouse=True)
def no_pgpass(monkeypatch, tmp_path):
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))  # nothing from this machine's ~/.pgpass
    monkeypatch.delenv("PGUSER", raising=False)


def test_pgpassword_when_the_url_has_none(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "from-env p@ss:/")
    assert login("postgres://bench@db.example:5432/events?sslmode=require&connect_timeout=3") == (
        "bench", "from-env p@ss:/")


def test_a_password_in_the_url_wins(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert login("postgres://bench:from%40url@db.example/events") == ("bench", "from@url")


def test_neither_means_no_password(monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    assert login("postgres://bench@db.example/events") == ("bench", None)
