"""The environment contract, read as the Go APIs read it (internal/config)."""
from __future__ import annotations

import logging

import pytest

from event_common.config import DEFAULT_GRPC_PORT, DEFAULT_REST_PORT, Config, ConfigError, database_url_has_password

URL = "postgres://bench:s3cret@127.0.0.1:5433/events"
KEY = "k" * 31 + "é"  # 33 bytes of UTF-8, 32 characters


def test_defaults_of_the_contract():
    config = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL})
    assert (config.port, config.bind_address, config.db_pool_max, config.log_level, config.max_body_bytes) == (
        8080, "0.0.0.0", 20, logging.WARNING, 1048576)
    assert Config.from_env(DEFAULT_GRPC_PORT, {"DATABASE_URL": URL}).port == 9090
    assert (config.db_acquire_timeout_ms, config.auth_enabled, config.jwt_secret_key, config.jwt_issuer,
            config.jwt_audience, config.secrets_url, config.secrets_refresh_interval_ms) == (
        5000, False, None, None, None, None, 60000)


def test_every_setting_read_and_blanks_count_as_unset():
    config = Config.from_env(DEFAULT_REST_PORT, {
        "DATABASE_URL": f" {URL}?sslmode=disable ", "PORT": "9083", "BIND_ADDRESS": "127.0.0.1",
        "DB_POOL_MAX": "7", "LOG_LEVEL": "DEBUG", "MAX_BODY_BYTES": "+2048", "DB_ACQUIRE_TIMEOUT": "250",
        "AUTH_ENABLED": "TRUE", "JWT_SECRET_KEY": KEY, "JWT_ISSUER": "lab", "JWT_AUDIENCE": " events ",
        "SECRETS_REFRESH_INTERVAL": "1500"})
    assert (config.database_url, config.port, config.bind_address, config.db_pool_max, config.log_level,
            config.max_body_bytes) == (f"{URL}?sslmode=disable", 9083, "127.0.0.1", 7, logging.DEBUG, 2048)
    assert (config.db_acquire_timeout_ms, config.db_acquire_timeout, config.auth_enabled, config.jwt_secret_key,
            config.jwt_issuer, config.jwt_audience, config.secrets_url, config.secrets_refresh_interval_ms) == (
        250, 0.25, True, KEY, "lab", "events", None, 1500)
    blank = Config.from_env(DEFAULT_GRPC_PORT, {"DATABASE_URL": URL, "PORT": "  ", "LOG_LEVEL": "", "BIND_ADDRESS": ""})
    assert (blank.port, blank.log_level, blank.bind_address) == (9090, logging.WARNING, "0.0.0.0")


@pytest.mark.parametrize("name, value", [
    ("PORT", "0"), ("PORT", "65536"), ("PORT", "80a"), ("PORT", "8_080"), ("PORT", "٨٠"),
    ("DB_POOL_MAX", "0"), ("DB_POOL_MAX", "10001"), ("DB_POOL_MAX", "-1"),
    ("MAX_BODY_BYTES", "0"), ("MAX_BODY_BYTES", "2147483648"), ("MAX_BODY_BYTES", "1MiB"),
    ("LOG_LEVEL", "trace"), ("DATABASE_URL", "mysql://u:p@h/db"), ("DATABASE_URL", "postgres://h:port/db"),
    ("DB_ACQUIRE_TIMEOUT", "0"), ("DB_ACQUIRE_TIMEOUT", "-5"), ("DB_ACQUIRE_TIMEOUT", "1.5"),
    ("DB_ACQUIRE_TIMEOUT", "5s"), ("AUTH_ENABLED", "yes"), ("AUTH_ENABLED", "on"), ("AUTH_ENABLED", "2"),
    ("SECRETS_URL", "ftp://secrets"), ("SECRETS_URL", "http://"), ("SECRETS_URL", "secrets:8080"),
    ("SECRETS_REFRESH_INTERVAL", "0"), ("SECRETS_REFRESH_INTERVAL", "1m"),
])
def test_broken_settings_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL, name: value})


def test_all_broken_rules_reported_at_once_and_database_url_required():
    with pytest.raises(ConfigError) as caught:
        Config.from_env(DEFAULT_REST_PORT, {"PORT": "x", "LOG_LEVEL": "loud"})
    message = str(caught.value)
    assert "DATABASE_URL is required" in message and "PORT" in message and "LOG_LEVEL" in message


def test_the_password_is_never_shown():
    config = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL})
    assert "s3cret" not in repr(config)
    with pytest.raises(ConfigError) as caught:
        Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": "postgres://bench:s3cret@host:notaport/db"})
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("switch, on", [("true", True), ("True", True), ("1", True), ("false", False),
                                        ("FALSE", False), ("0", False), ("", False), ("  ", False)])
def test_auth_switch(switch, on):
    assert Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL, "AUTH_ENABLED": switch,
                                               "JWT_SECRET_KEY": KEY}).auth_enabled is on


@pytest.mark.parametrize("key, message", [
    (None, "JWT_SECRET_KEY is required"), ("   ", "JWT_SECRET_KEY is required"),
    ("k" * 31, "JWT_SECRET_KEY must be at least 32 bytes"),
])
def test_auth_on_needs_a_key_of_32_bytes(key, message):
    environ = {"DATABASE_URL": URL, "AUTH_ENABLED": "1"}
    if key is not None:
        environ["JWT_SECRET_KEY"] = key
    with pytest.raises(ConfigError, match=message) as caught:
        Config.from_env(DEFAULT_REST_PORT, environ)
    assert "k" * 31 not in str(caught.value)  # the key is never shown


def test_the_key_is_not_needed_with_auth_off_or_from_the_secrets_store():
    assert Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL, "JWT_SECRET_KEY": "short"}).jwt_secret_key is None
    config = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL, "AUTH_ENABLED": "true",
                                                 "JWT_SECRET_KEY": "short", "SECRETS_URL": "http://127.0.0.1:8200/"})
    assert (config.auth_enabled, config.jwt_secret_key, config.secrets_url) == (True, None, "http://127.0.0.1:8200/")
    assert KEY not in repr(Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL, "AUTH_ENABLED": "true",
                                                                "JWT_SECRET_KEY": KEY}))


def test_a_password_in_the_url_is_seen():
    assert database_url_has_password(URL)
    assert database_url_has_password("postgres://bench@h/db?password=x")
    assert not database_url_has_password("postgres://bench@h/db?sslmode=disable")
    assert not database_url_has_password("postgres://bench:@h/db")
