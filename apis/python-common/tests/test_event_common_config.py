"""The environment contract, read as the Go APIs read it (internal/config)."""
from __future__ import annotations

import logging

import pytest

from event_common.config import DEFAULT_GRPC_PORT, DEFAULT_REST_PORT, Config, ConfigError

URL = "postgres://bench:s3cret@127.0.0.1:5433/events"


def test_defaults_of_the_contract():
    config = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": URL})
    assert (config.port, config.bind_address, config.db_pool_max, config.log_level, config.max_body_bytes) == (
        8080, "0.0.0.0", 20, logging.WARNING, 1048576)
    assert Config.from_env(DEFAULT_GRPC_PORT, {"DATABASE_URL": URL}).port == 9090


def test_every_setting_read_and_blanks_count_as_unset():
    config = Config.from_env(DEFAULT_REST_PORT, {
        "DATABASE_URL": f" {URL}?sslmode=disable ", "PORT": "9083", "BIND_ADDRESS": "127.0.0.1",
        "DB_POOL_MAX": "7", "LOG_LEVEL": "DEBUG", "MAX_BODY_BYTES": "+2048", "AUTH_ENABLED": "true"})
    assert (config.database_url, config.port, config.bind_address, config.db_pool_max, config.log_level,
            config.max_body_bytes) == (f"{URL}?sslmode=disable", 9083, "127.0.0.1", 7, logging.DEBUG, 2048)
    blank = Config.from_env(DEFAULT_GRPC_PORT, {"DATABASE_URL": URL, "PORT": "  ", "LOG_LEVEL": "", "BIND_ADDRESS": ""})
    assert (blank.port, blank.log_level, blank.bind_address) == (9090, logging.WARNING, "0.0.0.0")


@pytest.mark.parametrize("name, value", [
    ("PORT", "0"), ("PORT", "65536"), ("PORT", "80a"), ("PORT", "8_080"), ("PORT", "٨٠"),
    ("DB_POOL_MAX", "0"), ("DB_POOL_MAX", "10001"), ("DB_POOL_MAX", "-1"),
    ("MAX_BODY_BYTES", "0"), ("MAX_BODY_BYTES", "2147483648"), ("MAX_BODY_BYTES", "1MiB"),
    ("LOG_LEVEL", "trace"), ("DATABASE_URL", "mysql://u:p@h/db"), ("DATABASE_URL", "postgres://h:port/db"),
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
