"""Clocks: all time in pyflare goes through one of these.

`RealClock` follows the wall clock and the event loop. `VirtualClock` starts at the real time and
moves only when told to (`advance()`), so a test of "retry twice, then dead-letter" with a 30 s
batch timeout runs in milliseconds.

Both clocks also *track* background work (queue deliveries) so that `VirtualClock.advance()` can
return only after the handlers that became due have finished.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["Clock", "RealClock", "TimerHandle", "VirtualClock"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the engine needs from time."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, when: float, callback: Callable[[], Any]) -> TimerHandle:
        """Run `callback()` (synchronous) once `now() >= when`."""
        ...

    def track(self, task: asyncio.Task[Any]) -> None:
        """Register background work that `settle()` must wait for."""
        ...

    async def settle(self) -> None:
        """Return once no timer is due and no tracked work is running."""
        ...


class _TrackedWork:
    """Counts tracked tasks that are running, so waiting for them costs one future, not a
    callback on every task (this sits on the path of every queue delivery)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._active = 0  # tracked tasks neither finished nor parked (see VirtualClock.sleep)
        self._idle: list[asyncio.Future[None]] = []  # one per waiter: cancelling one is local

    def track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        self._active += 1
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._deactivate()

    def _deactivate(self) -> None:
        self._active -= 1
        if self._active == 0 and self._idle:
            for waiter in self._idle:
                if not waiter.done():
                    waiter.set_result(None)
            self._idle.clear()

    async def _wait_tracked(self) -> bool:
        """Wait until no tracked task is running; True if there was any to wait for."""
        if not self._active:
            return False
        while self._active:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._idle:
                    self._idle.remove(waiter)
        return True


class RealClock(_TrackedWork):
    """Wall-clock time; timers run on the asyncio event loop."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_at(self, when: float, callback: Callable[[], Any]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, when - time.time()), callback)

    async def settle(self) -> None:
        while await self._wait_tracked():
            pass


class _VirtualTimer:
    __slots__ = ("callback", "cancelled", "seq", "when")

    def __init__(self, when: float, seq: int, callback: Callable[[], Any]) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: _VirtualTimer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class VirtualClock(_TrackedWork):
    """Time that moves only on `advance()` (or when a runtime drains its queues).

    Timers already due when they are set run on the next turn of the event loop, without an
    `advance()`: work that is due now is never held back by virtual time.
    """

    def __init__(self, start: float | None = None) -> None:
        super().__init__()
        self._now = time.time() if start is None else float(start)
        self._timers: list[_VirtualTimer] = []
        self._seq = itertools.count()
        self._kick_scheduled = False
        # Tracked tasks blocked in `sleep()` are parked: only a later `advance()` can wake them,
        # so `settle()` must not wait for them (it would wait forever).
        self._parked: set[asyncio.Task[Any]] = set()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()

        def wake() -> None:
            self._unpark(task)
            if not future.done():
                future.set_result(None)

        handle = self.call_at(self._now + seconds, wake)
        if task is not None and task in self._tasks:
            self._parked.add(task)
            self._deactivate()
        try:
            await future
        finally:
            handle.cancel()
            self._unpark(task)

    def _unpark(self, task: asyncio.Task[Any] | None) -> None:
        if task in self._parked:
            self._parked.discard(task)
            self._active += 1

    def call_at(self, when: float, callback: Callable[[], Any]) -> TimerHandle:
        timer = _VirtualTimer(when, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        if when <= self._now:
            self._schedule_kick()
        return timer

    def next_deadline(self) -> float | None:
        """When the earliest pending timer is due, or None when none is set."""
        self._drop_cancelled()
        return self._timers[0].when if self._timers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, firing timers in order, and return once the work
        they started (queue handlers included) has finished."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (advance({seconds}))")
        await self.advance_to(self._now + seconds)

    async def advance_to(self, target: float) -> None:
        """Move time forward to the absolute time `target`, as `advance()` does."""
        while True:
            await self.settle()
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            self._now = max(self._now, deadline)
        self._now = max(self._now, target)
        await self.settle()

    async def settle(self) -> None:
        while True:
            fired = self._fire_due()
            waited = await self._wait_tracked()
            if not fired and not waited:
                if not self._kick_scheduled:
                    return
                # A timer came due from outside the loop: give its kick a turn.
                await asyncio.sleep(0)
                if not self._due() and not self._active:
                    return

    def _due(self) -> bool:
        self._drop_cancelled()
        return bool(self._timers) and self._timers[0].when <= self._now

    def _fire_due(self) -> bool:
        fired = False
        while self._due():
            timer = heapq.heappop(self._timers)
            fired = True
            timer.callback()
        return fired

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)

    def _schedule_kick(self) -> None:
        if self._kick_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._kick_scheduled = True

        def kick() -> None:
            self._kick_scheduled = False
            self._fire_due()

        loop.call_soon(kick)


def spawn(clock: Clock, coro: Awaitable[Any]) -> asyncio.Task[Any]:
    """Start `coro` as a task the clock tracks."""
    task = asyncio.ensure_future(coro)
    clock.track(task)
    return task
