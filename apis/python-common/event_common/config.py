"""The environment contract (contract/CONTRACT.md, "Environment"): the only place an API learns its
settings. The rules are those of the Go APIs (internal/config): a variable set to blanks counts as
unset, every broken rule is reported at once, and nothing here ever shows the database password."""
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

LOG_LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}

_INTEGER = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.ParseInt accepts (no "1_000", no Unicode digits)


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
        log_level = logging.WARNING
        if level := get("LOG_LEVEL"):
            if level.lower() in LOG_LEVELS:
                log_level = LOG_LEVELS[level.lower()]
            else:
                errors.append(f"LOG_LEVEL must be one of error, warn, info, debug, not {level!r}")
        if errors:
            raise ConfigError("; ".join(errors))
        return cls(database_url=database_url, port=port, bind_address=get("BIND_ADDRESS") or DEFAULT_BIND_ADDRESS,
                   db_pool_max=db_pool_max, log_level=log_level, max_body_bytes=max_body_bytes)

    def configure_logging(self) -> logging.Logger:
        """Text log lines on stderr at LOG_LEVEL (nothing per request below debug); returns the API's logger."""
        logging.basicConfig(stream=sys.stderr, level=self.log_level,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
        return logging.getLogger("perflab.api")


def _is_postgres_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("postgres", "postgresql")
