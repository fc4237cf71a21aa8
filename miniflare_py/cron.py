"""Fire `[triggers] crons` on a clock, as Cloudflare's scheduler does."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .clock import Clock, TimerHandle, spawn

__all__ = ["CronScheduler", "next_fire_time"]

log = logging.getLogger("miniflare_py.cron")


def next_fire_time(cron: str, after: float) -> float:
    """The first time strictly after `after` (epoch seconds, UTC) that `cron` matches."""
    from croniter import croniter  # imported late: only workers with crons pay for it

    return float(croniter(cron, after).get_next(float))


class CronScheduler:
    """Calls `fire(cron, scheduled_time)` each time one of `crons` comes due on `clock`."""

    def __init__(
        self,
        clock: Clock,
        crons: tuple[str, ...],
        fire: Callable[[str, float], Awaitable[Any]],
    ) -> None:
        self._clock = clock
        self._crons = crons
        self._fire = fire
        self._timers: dict[str, TimerHandle] = {}

    def start(self) -> None:
        for cron in self._crons:
            self._schedule(cron, self._clock.now())

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _schedule(self, cron: str, after: float) -> None:
        when = next_fire_time(cron, after)

        def due() -> None:
            spawn(self._clock, self._run(cron, when))
            self._schedule(cron, when)

        self._timers[cron] = self._clock.call_at(when, due)

    async def _run(self, cron: str, when: float) -> None:
        try:
            await self._fire(cron, when)
        except Exception:
            log.exception('Scheduled handler for cron "%s" failed', cron)
