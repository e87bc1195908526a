"""The lab's private state on this machine (`.perflab/`, or PERFLAB_STATE): stack records, the generated
database password and the key that encrypts secret outputs. Files here are mode 0600."""
from __future__ import annotations

import os
import pathlib
import secrets

from perflab.catalogue import ROOT


def location() -> pathlib.Path:
    """Where the state lives (nothing is created: reading never writes)."""
    return pathlib.Path(os.environ.get("PERFLAB_STATE", ROOT / ".perflab"))


def state_dir() -> pathlib.Path:
    path = location()
    path.mkdir(parents=True, exist_ok=True)
    return path


def private_file(name: str, make) -> str:
    """The content of `.perflab/<name>`, created once (mode 0600) with `make()` when missing."""
    path = state_dir() / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def database_password() -> str:
    """The local stack's database password: PERFLAB_DB_PASSWORD, else one generated once and kept private.
    The runner makes sure it exists before the Pulumi program runs; the program only reads it."""
    if os.environ.get("PERFLAB_DB_PASSWORD"):
        return os.environ["PERFLAB_DB_PASSWORD"]
    return private_file("db-password", lambda: secrets.token_urlsafe(18))


def jwt_secret_key() -> str:
    """The local stack's JWT key (auth profiles): PERFLAB_JWT_SECRET_KEY, else one generated once (48 random
    bytes, URL-safe text: 64 characters, above HS256's 32-byte minimum) and kept private."""
    if os.environ.get("PERFLAB_JWT_SECRET_KEY"):
        return os.environ["PERFLAB_JWT_SECRET_KEY"]
    return private_file("jwt-secret-key", lambda: secrets.token_urlsafe(48))
