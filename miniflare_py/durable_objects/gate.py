"""The input gate of one Durable Object.

Storage calls here never yield to the event loop (SQLite answers synchronously), so no other
event can run between a storage call and the code after it: that is workerd's input-gate
guarantee without a lock, and a call back into the same object cannot deadlock. What does need a
gate is `blockConcurrencyWhile()` and `transaction()`: while one runs, new events wait here, in
arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["InputGate"]


class InputGate:
    __slots__ = ("_closed", "_waiters")

    def __init__(self) -> None:
        self._closed = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def closed(self) -> bool:
        return self._closed > 0

    async def wait_open(self) -> None:
        """Return once no `blockConcurrencyWhile()` holds the object (at once if none does)."""
        while self._closed:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def close(self) -> None:
        self._closed += 1

    def open(self) -> None:
        self._closed -= 1
        if self._closed == 0:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
