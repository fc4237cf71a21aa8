"""Alarms of one Durable Object class: kept like Miniflare keeps them, fired on the clock.

Persistent: `<persist>/v3/do/<worker>-<Class>/metadata.sqlite`, table `_cf_ALARM (actor_id,
scheduled_time)` in ms, so alarms survive a restart. In memory otherwise. Times go through the
runtime's clock: under the pytest plugin's virtual clock an alarm an hour ahead fires within
`advance(3600)`. An `alarm()` that raises is retried with exponential backoff (2 s, 4 s, 8 s...)
at most `MAX_RETRIES` times, as the edge documents; each failure is logged and recorded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import apsw

from ..clock import Clock, TimerHandle, spawn
from ..sqlvalues import int_value
from ..state import StateError, open_error
from .errors import DurableObjectError

__all__ = ["MAX_RETRIES", "AlarmFailure", "AlarmScheduler"]

log = logging.getLogger("miniflare_py")

MAX_RETRIES = 6
FIRST_RETRY_DELAY = 2.0


#: How a failed `alarm()` is logged (the check finds its traceback by it).
ALARM_FAILED = "Durable Object alarm failed"


@dataclass(frozen=True)
class AlarmFailure:
    """One `alarm()` run that raised."""

    class_name: str
    object_id: str
    retry_count: int
    error: BaseException
    will_retry: bool


def alarm_ms(scheduled_time: Any) -> int:
    """A `setAlarm()` argument as ms since the epoch (workerd's error for anything else)."""
    if isinstance(scheduled_time, datetime):
        return int(scheduled_time.timestamp() * 1000)
    number = isinstance(scheduled_time, int | float) and not isinstance(scheduled_time, bool)
    if number and math.isfinite(scheduled_time):
        return int(scheduled_time)
    raise TypeError("The value cannot be converted because it is not a valid Date.")


class AlarmScheduler:
    """The alarms of one class: stored, timed, fired through `run(object_id, info)`."""

    def __init__(
        self,
        clock: Clock,
        folder: Path | None,
        class_name: str,
        run: Callable[[str, dict[str, Any]], Awaitable[Any]],
    ) -> None:
        self.clock = clock
        self.class_name = class_name
        self._run = run
        self._times: dict[str, int] = {}
        self._timers: dict[str, TimerHandle] = {}
        self._retries: dict[str, int] = {}
        self.failures: list[AlarmFailure] = []
        self._db: apsw.Connection | None = None
        self._folder = folder
        self._stopped = False
        if folder is not None and (folder / "metadata.sqlite").exists():
            path = folder / "metadata.sqlite"
            try:
                rows = self._connect().execute(
                    "SELECT actor_id, scheduled_time FROM _cf_ALARM"
                    " WHERE scheduled_time IS NOT NULL"
                )
                for actor_id, when in rows:
                    self._times[str(actor_id)] = int_value(when)
            except (apsw.Error, TypeError) as exc:
                raise open_error("Cannot read the Durable Object alarms", path, exc) from None

    def _connect(self) -> apsw.Connection:
        """The alarms file, opened on first use; a fault is a `StateError` naming it."""
        if self._db is None:
            assert self._folder is not None
            path = self._folder / "metadata.sqlite"
            db: apsw.Connection | None = None
            try:
                self._folder.mkdir(parents=True, exist_ok=True)
                db = apsw.Connection(str(path))
                db.set_busy_timeout(5000)
                db.execute("PRAGMA journal_mode = WAL").fetchall()
                if db.readonly("main"):
                    raise apsw.ReadOnlyError("the file is read-only")
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS _cf_ALARM (actor_id TEXT PRIMARY KEY,"
                    " scheduled_time INTEGER) WITHOUT ROWID"
                )
            except (apsw.Error, OSError) as exc:
                if db is not None:
                    db.close()
                raise open_error("Cannot open the Durable Object alarms", path, exc) from None
            self._db = db
        return self._db

    def _write(self, sql: str, binds: tuple[Any, ...]) -> None:
        """A write to the alarms file; a fault reaches the worker as one line naming it."""
        assert self._folder is not None
        try:
            self._connect().execute(sql, binds)
        except StateError as exc:
            raise DurableObjectError(str(exc)) from None
        except apsw.Error as exc:
            error = open_error("Cannot write the Durable Object alarms", self._folder, exc)
            raise DurableObjectError(str(error)) from None

    def start(self) -> None:
        """Arm the timers of alarms read from disk."""
        for object_id, when in self._times.items():
            self._arm(object_id, when)

    def get(self, object_id: str) -> int | None:
        return self._times.get(object_id)

    def pending(self) -> dict[str, int]:
        """Every set alarm: object id -> ms since the epoch."""
        return dict(self._times)

    def set(self, object_id: str, scheduled_time: Any) -> None:
        when = alarm_ms(scheduled_time)
        self._times[object_id] = when
        if self._folder is not None:
            self._write(
                "INSERT OR REPLACE INTO _cf_ALARM (actor_id, scheduled_time) VALUES (?, ?)",
                (object_id, when),
            )
        self._retries.pop(object_id, None)
        self._arm(object_id, when)

    def delete(self, object_id: str) -> None:
        self._times.pop(object_id, None)
        self._retries.pop(object_id, None)
        timer = self._timers.pop(object_id, None)
        if timer is not None:
            timer.cancel()
        if self._folder is not None and (
            self._db is not None or (self._folder / "metadata.sqlite").exists()
        ):
            self._write("DELETE FROM _cf_ALARM WHERE actor_id = ?", (object_id,))

    def _arm(self, object_id: str, when_ms: float, scheduled: float | None = None) -> None:
        old = self._timers.pop(object_id, None)
        if old is not None:
            old.cancel()
        if self._stopped:
            return
        self._timers[object_id] = self.clock.call_at(
            when_ms / 1000,
            lambda: self._due(object_id, when_ms if scheduled is None else scheduled),
        )

    def _due(self, object_id: str, when_ms: float) -> None:
        self._timers.pop(object_id, None)
        spawn(self.clock, self.fire(object_id, when_ms))

    async def fire(self, object_id: str, when_ms: float | None = None) -> bool:
        """Run the object's `alarm()` now; False when it has no alarm set."""
        scheduled = self._times.get(object_id)
        if scheduled is None or (when_ms is not None and scheduled != when_ms):
            return False
        timer = self._timers.pop(object_id, None)
        if timer is not None:
            timer.cancel()
        retry_count = self._retries.get(object_id, 0)
        info = {"retryCount": retry_count, "isRetry": retry_count > 0}
        try:
            await self._run(object_id, info)
        except Exception as exc:
            will_retry = retry_count < MAX_RETRIES and self._times.get(object_id) == scheduled
            self.failures.append(
                AlarmFailure(self.class_name, object_id, retry_count, exc, will_retry)
            )
            log.error(
                ALARM_FAILED + ": %s %s (attempt %d)%s",
                self.class_name,
                object_id,
                retry_count + 1,
                "; retrying" if will_retry else "",
                exc_info=exc,
            )
            if will_retry:
                self._retries[object_id] = retry_count + 1
                delay = FIRST_RETRY_DELAY * 2**retry_count
                self._arm(object_id, self.clock.now() * 1000 + delay * 1000, scheduled)
            elif self._times.get(object_id) == scheduled:
                self.delete(object_id)
            return True
        if self._times.get(object_id) == scheduled:  # not set again by alarm() itself
            self.delete(object_id)
        return True

    def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def close(self) -> None:
        self.stop()
        if self._db is not None:
            self._db.close()
            self._db = None
