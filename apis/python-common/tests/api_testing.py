"""What the REST and gRPC surface tests share: a fake store (and one whose writes wait for a gate) and
tokens for an auth-enabled API. Importable through apis/python-common/test.sh's PYTHONPATH."""
from __future__ import annotations

import asyncio
import time

import jwt

from event_common.store import DatabaseUnavailable

KEY = "an-hs256-key-of-at-least-32-bytes!"


def token(exp_in: int = 3600, key: str = KEY) -> str:
    """An HS256 JWT signed with `key` that expires `exp_in` seconds from now (negative: already expired)."""
    return jwt.encode({"exp": int(time.time()) + exp_in}, key, algorithm="HS256")


class FakeStore:
    """The store's interface in memory. `fail_with` is raised by every write, or only by the write of
    `fail_on_uuid` when that is set; `healthy = False` makes the ping fail; `closed` records the shutdown."""

    def __init__(self) -> None:
        self.saved: list = []
        self.fail_with: Exception | None = None
        self.fail_on_uuid: str | None = None
        self.healthy = True
        self.closed = False

    @property
    def uuids(self) -> set[str]:
        """The normalized uuids of the saved events."""
        return {saved.normalized_uuid for saved in self.saved}

    async def save_event(self, event) -> bool:
        if self.fail_with is not None and self.fail_on_uuid in (None, event.uuid):
            raise self.fail_with
        duplicate = event.normalized_uuid in self.uuids
        if not duplicate:
            self.saved.append(event)
        return duplicate

    async def ping(self) -> None:
        if not self.healthy:
            raise DatabaseUnavailable("database unavailable")


class GatedStore(FakeStore):
    """A store whose writes wait until `gate` opens, so a test can cancel the request or call meanwhile;
    `writing` is set once a write has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def save_event(self, event) -> bool:
        self.writing.set()
        await self.gate.wait()
        return await super().save_event(event)
