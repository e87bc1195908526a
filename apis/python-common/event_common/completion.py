"""Requests processed to the end (contract/CONTRACT.md, "Saturation"): once a request's body is in, a
client that goes away — a closed connection, a cancelled gRPC call, an expired deadline — must not
interrupt its transaction. Servers cancel the handler's task when that happens (grpc.aio does; uvicorn
does at the end of its shutdown grace), and a cancellation reaching asyncpg mid-transaction would abort
it. So the work runs as a task of its own that the handler only waits for."""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class RunToCompletion:
    """Runs request work in tasks that a cancelled caller does not cancel, and keeps them until they end
    (the event loop itself holds only weak references to tasks)."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """The result of `work`. If the caller is cancelled, `work` goes on; its answer is discarded."""
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody waits for any more is not "never retrieved"

    @property
    def running(self) -> int:
        return len(self._running)

    async def drain(self) -> None:
        """Waits for the work of requests whose callers are gone (at shutdown, before the pool closes)."""
        if self._running:
            await asyncio.wait(set(self._running))
