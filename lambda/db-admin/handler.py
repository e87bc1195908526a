"""The database-admin function: the runner's own database steps, run inside the VPC against private RDS.

Invoked by the runner (runner/aws.py `admin`) with {"action": ...}:
- "schema": apply db/schema.sql (idempotent)                          -> {"applied": true}
- "reset": schema, empty the tables, zero pg_stat_statements          -> {"reset": true}
- "counts": rows per table                                            -> {"events": n, "entities": n}
- "snapshot": statement statistics etc. ({"top": 10})                 -> runner.database.snapshot(...)
- "verify": {"acknowledged": n, "ambiguous": n}                       -> runner.verify.Verification.as_dict()
The code is runner/database.py and runner/verify.py, packaged unchanged (stacks/aws/admin.py), so a
result verified here means what it means locally. Errors are answered as {"error": message} (never the
DSN or the password); the function itself never fails on a bad request.

The connection: DB_HOST, DB_PORT, DB_NAME, DB_SSLMODE from the environment, user and password from the
RDS-managed secret DATABASE_SECRET_ARN (read once per execution environment).
"""
from __future__ import annotations

import functools
import json
import os
import urllib.parse
from collections.abc import Callable
from typing import Any

import psycopg2

from runner import database, verify

ACTIONS = ("schema", "reset", "counts", "snapshot", "verify")


class BadRequest(Exception):
    pass


@functools.cache
def _credentials() -> tuple[str, str]:
    import boto3  # in the Lambda runtime; imported here so the local tests need it only for this path

    arn = os.environ.get("DATABASE_SECRET_ARN")
    if not arn:
        raise BadRequest("DATABASE_SECRET_ARN is not set")
    secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    return secret["username"], secret["password"]


def dsn() -> str:
    user, password = _credentials()
    host = os.environ["DB_HOST"]
    port = os.environ.get("DB_PORT", "5432")
    name = os.environ.get("DB_NAME", "events")
    sslmode = os.environ.get("DB_SSLMODE", "require")
    return (f"postgresql://{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
            f"@{host}:{port}/{name}?sslmode={sslmode}")


def _whole(event: dict, key: str, default: int | None = None) -> int:
    value = event.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"{key} must be a whole number >= 0, not {value!r}")
    return value


def _schema(target: str, event: dict) -> dict:
    with psycopg2.connect(target, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute(database.SCHEMA.read_text())
    conn.close()
    return {"applied": True}


def _reset(target: str, event: dict) -> dict:
    database.reset(target)
    return {"reset": True}


def _verify(target: str, event: dict) -> dict:
    result = verify.verify(target, _whole(event, "acknowledged"), _whole(event, "ambiguous", 0),
                           _whole(event, "entitiesPerEvent", 1))
    return result.as_dict()


HANDLERS: dict[str, Callable[[str, dict], Any]] = {
    "schema": _schema,
    "reset": _reset,
    "counts": lambda target, event: database.counts(target),
    "snapshot": lambda target, event: database.snapshot(target, _whole(event, "top", 10)),
    "verify": _verify,
}


def handler(event: dict, context: object = None) -> dict:
    action = event.get("action") if isinstance(event, dict) else None
    if action not in HANDLERS:
        return {"error": f"unknown action {action!r}; one of {', '.join(ACTIONS)}"}
    try:
        return {"action": action, "result": HANDLERS[action](dsn(), event)}
    except BadRequest as error:
        return {"action": action, "error": str(error)}
    except psycopg2.Error as error:
        # psycopg2's messages name the server and the problem, never the password.
        return {"action": action, "error": f"database: {str(error).strip() or type(error).__name__}"}
