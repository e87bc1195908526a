"""The environment contract (contract/CONTRACT.md, "Environment"): the only place an API learns its
settings. The rules are those of the Go APIs (internal/config): a variable set to blanks counts as
unset, every broken rule is reported at once, and nothing here ever shows the database password or the
JWT key."""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Mapping

DEFAULT_REST_PORT = 8080
DEFAULT_GRPC_PORT = 9090
DEFAULT_BIND_ADDRESS = "0.0.0.0"
DEFAULT_DB_POOL_MAX = 20
DEFAULT_MAX_BODY_BYTES = 1048576
DEFAULT_DB_ACQUIRE_TIMEOUT_MS = 5000
DEFAULT_SECRETS_REFRESH_INTERVAL_MS = 60000
MIN_JWT_KEY_BYTES = 32  # HS256 wants a key at least as long as its hash

LOG_LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}

_INTEGER = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.ParseInt accepts (no "1_000", no Unicode digits)
_ON = ("true", "1")
_OFF = ("false", "0", "")


class ConfigError(ValueError):
    """The environment breaks the contract; the message names every broken rule, never a password."""


@dataclasses.dataclass(frozen=True)
class Config:
    database_url: str = dataclasses.field(repr=False)  # holds the password: never printed
    port: int
    bind_address: str
    db_pool_max: int
    log_level: int
    max_body_bytes: int
    db_acquire_timeout_ms: int = DEFAULT_DB_ACQUIRE_TIMEOUT_MS
    auth_enabled: bool = False
    # The HS256 key from the environment; None when auth is off or the key comes from SECRETS_URL.
    jwt_secret_key: str | None = dataclasses.field(default=None, repr=False)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    secrets_url: str | None = None  # base URL of the secrets store (contract: "Secrets")
    secrets_refresh_interval_ms: int = DEFAULT_SECRETS_REFRESH_INTERVAL_MS

    @classmethod
    def from_env(cls, default_port: int, environ: Mapping[str, str] | None = None) -> Config:
        """Reads the process environment (or `environ`). `default_port` is the protocol's default port."""
        return cls.from_lookup((os.environ if environ is None else environ).get, default_port)

    @classmethod
    def from_lookup(cls, lookup: Callable[[str], str | None], default_port: int) -> Config:
        def get(name: str) -> str:
            return (lookup(name) or "").strip()

        errors: list[str] = []
        database_url = get("DATABASE_URL")
        if not database_url:
            errors.append("DATABASE_URL is required")
        elif not _is_postgres_url(database_url):
            errors.append("DATABASE_URL is not a valid postgres://user:password@host:port/db URL")

        def integer(name: str, default: int, lowest: int, highest: int) -> int:
            text = get(name)
            if not text:
                return default
            if _INTEGER.fullmatch(text) and lowest <= int(text) <= highest:
                return int(text)
            errors.append(f"{name} must be an integer from {lowest} to {highest}, not {text!r}")
            return default

        port = integer("PORT", default_port, 1, 65535)
        db_pool_max = integer("DB_POOL_MAX", DEFAULT_DB_POOL_MAX, 1, 10000)
        max_body_bytes = integer("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, 2**31 - 1)
        db_acquire_timeout_ms = integer("DB_ACQUIRE_TIMEOUT", DEFAULT_DB_ACQUIRE_TIMEOUT_MS, 1, 2**31 - 1)
        secrets_refresh_interval_ms = integer("SECRETS_REFRESH_INTERVAL", DEFAULT_SECRETS_REFRESH_INTERVAL_MS,
                                              1, 2**31 - 1)
        log_level = logging.WARNING
        if level := get("LOG_LEVEL"):
            if level.lower() in LOG_LEVELS:
                log_level = LOG_LEVELS[level.lower()]
            else:
                errors.append(f"LOG_LEVEL must be one of error, warn, info, debug, not {level!r}")
        auth_enabled = False
        if (switch := get("AUTH_ENABLED").lower()) in _ON:
            auth_enabled = True
        elif switch not in _OFF:
            errors.append(f"AUTH_ENABLED must be true, 1, false or 0, not {get('AUTH_ENABLED')!r}")
        secrets_url = get("SECRETS_URL") or None
        if secrets_url is not None and not _is_http_url(secrets_url):
            errors.append("SECRETS_URL is not a valid http:// or https:// URL")
        jwt_secret_key = None
        if auth_enabled and secrets_url is None:
            # The key as given (its UTF-8 bytes are the key), but a key of blanks counts as unset.
            jwt_secret_key = lookup("JWT_SECRET_KEY") or ""
            if not jwt_secret_key.strip():
                errors.append("JWT_SECRET_KEY is required when AUTH_ENABLED is on and SECRETS_URL is not set")
            elif len(jwt_secret_key.encode()) < MIN_JWT_KEY_BYTES:
                errors.append(f"JWT_SECRET_KEY must be at least {MIN_JWT_KEY_BYTES} bytes")
        if errors:
            raise ConfigError("; ".join(errors))
        return cls(database_url=database_url, port=port, bind_address=get("BIND_ADDRESS") or DEFAULT_BIND_ADDRESS,
                   db_pool_max=db_pool_max, log_level=log_level, max_body_bytes=max_body_bytes,
                   db_acquire_timeout_ms=db_acquire_timeout_ms, auth_enabled=auth_enabled,
                   jwt_secret_key=jwt_secret_key, jwt_issuer=get("JWT_ISSUER") or None,
                   jwt_audience=get("JWT_AUDIENCE") or None, secrets_url=secrets_url,
                   secrets_refresh_interval_ms=secrets_refresh_interval_ms)

    @property
    def db_acquire_timeout(self) -> float:
        """DB_ACQUIRE_TIMEOUT in seconds."""
        return self.db_acquire_timeout_ms / 1000

    def configure_logging(self) -> logging.Logger:
        """Text log lines on stderr at LOG_LEVEL (nothing per request below debug); returns the API's logger."""
        logging.basicConfig(stream=sys.stderr, level=self.log_level,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
        return logging.getLogger("perflab.api")


def _split_url(url: str) -> urllib.parse.SplitResult | None:
    """The parts of `url`, or None when it does not parse or its port is not a number."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    return parts


def _is_postgres_url(url: str) -> bool:
    parts = _split_url(url)
    return parts is not None and parts.scheme in ("postgres", "postgresql")


def database_url_has_password(url: str) -> bool:
    """Whether DATABASE_URL carries a password (which wins over the secrets store and PGPASSWORD)."""
    parts = urllib.parse.urlsplit(url)
    return bool(parts.password) or any(
        key == "password" for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def _is_http_url(url: str) -> bool:
    parts = _split_url(url)
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
