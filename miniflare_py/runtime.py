"""`Miniflare`: one worker with its bindings, queue broker and clock, wired together.

This is the engine every front door drives: `pyflare dev` serves it over HTTP, the pytest plugin
hands it to tests, `pyflare check` runs it once. It never imports a front door.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

from .clock import Clock, RealClock, VirtualClock, spawn
from .config import WorkerConfig, load_config
from .cron import CronScheduler
from .d1 import D1Database, open_d1
from .queues import MemoryStore, QueueBroker, Queues, SqliteStore, queue_store_path
from .worker import Env, ExecutionContext, Worker, WorkerLoadError, load_worker
from .workers import JsDict, Request, Response
from .workers.context import inside_handler

__all__ = ["Miniflare", "ScheduledController"]

log = logging.getLogger("miniflare_py")

DEFAULT_ORIGIN = "http://localhost"


class ScheduledController:
    """The `controller` a `scheduled` handler receives."""

    def __init__(self, cron: str, scheduled_time: float) -> None:
        self.cron = cron
        self.scheduledTime = scheduled_time * 1000  # ms since the epoch, as in JS
        self.type = "scheduled"
        self.retry = True

    @property
    def scheduled_time(self) -> datetime:
        return datetime.fromtimestamp(self.scheduledTime / 1000, UTC)

    def noRetry(self) -> None:
        """Do not retry this invocation if it fails."""
        self.retry = False

    no_retry = noRetry


class _LogBuffer(logging.Handler):
    """Keeps the last lines the engine logged, for failure reports."""

    def __init__(self, capacity: int) -> None:
        super().__init__(logging.DEBUG)
        self.records: collections.deque[logging.LogRecord] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)  # formatted only when read: most lines never are

    @property
    def lines(self) -> list[str]:
        return [f"{r.levelname.lower():<7} {r.getMessage()}" for r in self.records]


_engine_level = {"users": 0, "raised": False}


def _hold_engine_log_level() -> None:
    """Let INFO lines (batches) reach `logs` even when the root logger says WARNING.

    Only raises the engine logger's level when nobody configured it and it would otherwise drop
    INFO, so `caplog.set_level(logging.DEBUG)` or a DEBUG root still sees the debug lines; the
    last running `Miniflare` puts the level back on close.
    """
    engine_log = logging.getLogger("miniflare_py")
    if (
        _engine_level["users"] == 0
        and engine_log.level == logging.NOTSET
        and engine_log.getEffectiveLevel() > logging.INFO
    ):
        engine_log.setLevel(logging.INFO)
        _engine_level["raised"] = True
    _engine_level["users"] += 1


def _release_engine_log_level() -> None:
    _engine_level["users"] -= 1
    if _engine_level["users"] == 0 and _engine_level["raised"]:
        _engine_level["raised"] = False
        engine_log = logging.getLogger("miniflare_py")
        if engine_log.level == logging.INFO:
            engine_log.setLevel(logging.NOTSET)


class Miniflare:
    """A local Cloudflare Worker with its Queues and D1, as an async context manager.

    ```python
    async with Miniflare("wrangler.toml", clock="virtual") as mf:
        resp = await mf.fetch("/api/tasks", method="POST", json={...})
        await mf.queues.drain()
    ```

    `persist_to=None` keeps D1 and queues in memory; a folder keeps them where wrangler does
    (`<folder>/v3/...`). `clock="virtual"` starts a `VirtualClock` at the real time, which moves
    only on `clock.advance()` or `queues.drain()`; `"real"` follows the wall clock.
    """

    def __init__(
        self,
        config: str | Path | WorkerConfig | None = None,
        env: str | None = None,
        persist_to: str | Path | None = None,
        clock: Literal["virtual", "real"] | Clock = "virtual",
        vars: Mapping[str, Any] | None = None,
        *,
        crons: bool | None = None,
        log_lines: int = 200,
        inherit: Miniflare | None = None,
    ) -> None:
        self._config_source = config
        self._env_name = env
        self._vars = dict(vars or {})
        self.persist_to = Path(persist_to).resolve() if persist_to is not None else None
        self._clock_option = clock
        self._crons_option = crons
        self._inherit = inherit
        self._log_buffer = _LogBuffer(log_lines)
        self.config: WorkerConfig
        self.clock: Clock
        self.env: Env
        self.queues: Queues
        self.d1: dict[str, D1Database] = {}
        self.worker: Worker | None = None
        self.load_error: WorkerLoadError | None = None
        self._broker: QueueBroker | None = None
        self._store: Any = None
        self._cron: CronScheduler | None = None
        self._started = False
        self._holds_log_level = False
        self._held_for_load_error = False

    # lifecycle

    async def __aenter__(self) -> Miniflare:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self, *, strict: bool = True) -> None:
        """Load the config and the worker, open the bindings and start delivering messages.

        Raises `ConfigError` for a bad config. A worker that cannot be imported raises
        `WorkerLoadError`, or with `strict=False` is kept in `load_error` (fetches raise it, queue
        delivery waits) until a `reload()` succeeds: what `pyflare dev` does.
        """
        if self._started:
            return
        if isinstance(self._config_source, WorkerConfig):
            self.config = self._config_source
        else:
            self.config = load_config(self._config_source, self._env_name, vars=self._vars)
        for warning in self.config.warnings:
            log.warning(warning)
        _hold_engine_log_level()  # keep batch lines for `logs` and failure reports
        self._holds_log_level = True
        logging.getLogger("miniflare_py").addHandler(self._log_buffer)
        self.clock = self._make_clock()
        try:
            self._open_d1()
            self._open_queues()
            self.env = self._build_env()
            assert self._broker is not None
            await self._broker.start()
            self.reload(strict=strict)
        except BaseException:
            await self.close()  # nothing half-open is left behind
            raise
        if self._crons_option if self._crons_option is not None else not self.virtual:
            self._cron = CronScheduler(self.clock, self.config.crons, self._fire_cron)
            self._cron.start()
        self._started = True

    async def close(self, *, keep_state: bool = False) -> None:
        """Stop delivering, wait for work in flight and `waitUntil` tasks, close the stores.

        With `keep_state`, in-memory D1 databases and the queue store stay open for a
        `Miniflare(..., inherit=self)` that replaces this one (hot reload of the config).
        """
        if self._cron is not None:
            self._cron.stop()
        if self._broker is not None:
            await self._broker.close()
            self._broker = None
        await self.clock.settle() if hasattr(self, "clock") else None
        if not keep_state:
            for db in self.d1.values():
                db.close()
            close_store = getattr(self._store, "close", None)
            if close_store is not None:
                close_store()
        logging.getLogger("miniflare_py").removeHandler(self._log_buffer)
        if self._holds_log_level:
            self._holds_log_level = False
            _release_engine_log_level()
        self._started = False

    def reload(self, *, strict: bool = False) -> None:
        """Import the worker module again, keeping bindings, D1 data and queued messages.

        With `strict=False` an import error is kept in `load_error` (fetches then raise it and
        queue delivery pauses) instead of being raised.
        """
        try:
            worker = load_worker(self.config.main)
        except WorkerLoadError as exc:
            self.load_error = exc
            if strict:
                raise
            log.error("%s", exc.details)
            self._set_delivery(paused=True)
            return
        self.worker = worker
        self.load_error = None
        self._set_delivery(paused=False)

    async def apply_migrations(self) -> dict[str, list[str]]:
        """Apply the wrangler migrations of every D1 database whose migrations folder exists.

        Returns the files applied, by binding; raises `MigrationError` naming the file that
        failed (earlier files stay applied, as with wrangler).
        """
        from .d1 import apply_migrations

        applied: dict[str, list[str]] = {}
        root = self.config.root
        for db_config in self.config.d1_databases:
            if (root / db_config.migrations_dir).is_dir():
                applied[db_config.binding] = apply_migrations(
                    self.d1[db_config.binding], db_config, root
                )
        return applied

    # events

    @property
    def virtual(self) -> bool:
        """Whether this runtime runs on a `VirtualClock`."""
        return isinstance(self.clock, VirtualClock)

    @property
    def logs(self) -> list[str]:
        """The last lines the engine logged (queue batches, retries, warnings)."""
        return self._log_buffer.lines

    async def fetch(
        self,
        url: str = "/",
        method: str = "GET",
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
        json: Any = None,
    ) -> Response:
        """Send a request to the worker's `fetch` handler and return its `Response`.

        A relative `url` is resolved against http://localhost. Exceptions the handler raises
        propagate. On a virtual clock, work that became due (a full batch, `waitUntil` tasks)
        has finished when this returns.
        """
        if json is not None:
            import json as jsonlib

            body = jsonlib.dumps(json)
            headers = [*_header_pairs(headers), ("content-type", "application/json")]
        absolute = DEFAULT_ORIGIN + url if url.startswith("/") else urljoin(DEFAULT_ORIGIN, url)
        request = Request._incoming(absolute, method, _header_pairs(headers), body)
        response = await self.dispatch_fetch(request)
        if self.virtual:
            await self.clock.settle()
        return response

    async def dispatch_fetch(self, request: Request) -> Response:
        """Run the `fetch` handler for an already built `Request` (the HTTP server's path)."""
        worker = self._require_worker()
        result = await self._dispatch(worker, "fetch", request)
        if not isinstance(result, Response):
            raise TypeError(
                f"fetch handler returned {type(result).__name__}, expected a workers.Response"
            )
        return result

    async def scheduled(
        self, cron: str = "* * * * *", scheduled_time: float | None = None
    ) -> JsDict:
        """Run the `scheduled` handler once; returns `{"outcome": "ok"|"exception", ...}`."""
        outcome = await self._run_scheduled(
            cron, scheduled_time if scheduled_time is not None else self.clock.now()
        )
        if self.virtual:
            await self.clock.settle()
        return outcome

    async def _run_scheduled(self, cron: str, scheduled_time: float) -> JsDict:
        # No settle() here: the cron scheduler calls this from a task the clock tracks, and
        # settling there would wait for that very task.
        controller = ScheduledController(cron, scheduled_time)
        worker = self._require_worker()
        try:
            await self._dispatch(worker, "scheduled", controller)
        except Exception as exc:
            log.error('Scheduled handler for cron "%s" failed: %s', cron, exc)
            outcome = JsDict(outcome="exception", error=f"{type(exc).__name__}: {exc}")
        else:
            outcome = JsDict(outcome="ok", error=None)
        outcome["noRetry"] = not controller.retry
        return outcome

    async def _fire_cron(self, cron: str, when: float) -> None:
        start = time.perf_counter()
        result = await self._run_scheduled(cron, when)
        log.info(
            "SCHEDULED %s %s (%dms)", cron, result["outcome"], (time.perf_counter() - start) * 1e3
        )

    async def _deliver(self, batch: Any) -> None:
        """The broker's delivery callback: run the worker's `queue` handler on `batch`."""
        worker = self._require_worker()
        try:
            await self._dispatch(worker, "queue", batch)
        except Exception:
            # The broker retries the batch; the developer needs the traceback to see why.
            log.exception('Queue handler raised on a batch from "%s"', batch.queue)
            raise

    async def _dispatch(self, worker: Worker, event: str, payload: Any) -> Any:
        ctx = ExecutionContext(self._spawn)
        token = inside_handler.set(True)
        try:
            return await worker.dispatch(event, payload, self.env, ctx)
        finally:
            inside_handler.reset(token)

    def _spawn(self, awaitable: Awaitable[Any]) -> Any:
        async def background() -> None:
            token = inside_handler.set(True)
            try:
                await awaitable
            except Exception:
                log.exception("A waitUntil() task failed")
            finally:
                inside_handler.reset(token)

        return spawn(self.clock, background())

    def _require_worker(self) -> Worker:
        if self.load_error is not None:
            raise self.load_error
        if self.worker is None:
            raise RuntimeError("Miniflare is not started: use `async with Miniflare(...)`")
        return self.worker

    # wiring

    def _make_clock(self) -> Clock:
        if self._inherit is not None and self._clock_option == self._inherit._clock_option:
            return self._inherit.clock
        option = self._clock_option
        if option == "virtual":
            return VirtualClock()
        if option == "real":
            return RealClock()
        if isinstance(option, str):
            raise ValueError(f'clock must be "virtual", "real" or a Clock, got {option!r}')
        return option

    def _open_d1(self) -> None:
        inherited = self._inherit.d1_by_id() if self._inherit is not None else {}
        for db_config in self.config.d1_databases:
            existing = inherited.pop(db_config.persist_id, None)
            self.d1[db_config.binding] = existing or open_d1(db_config, self.persist_to)
        for leftover in inherited.values():
            leftover.close()

    def d1_by_id(self) -> dict[str, D1Database]:
        """The open D1 databases keyed by the id that names their file."""
        return {c.persist_id: self.d1[c.binding] for c in self.config.d1_databases}

    def _open_queues(self) -> None:
        if self._inherit is not None and self._inherit._store is not None:
            self._store = self._inherit._store
        elif self.persist_to is not None:
            self._store = SqliteStore(queue_store_path(self.persist_to))
        else:
            self._store = MemoryStore()
        names = {p.queue for p in self.config.queue_producers}
        for consumer in self.config.queue_consumers:
            names.add(consumer.queue)
            if consumer.dead_letter_queue:
                names.add(consumer.dead_letter_queue)
        self._broker = QueueBroker(
            clock=self.clock,
            store=self._store,
            consumers=self.config.queue_consumers,
            queue_names=names,
            deliver=self._deliver,
        )
        self.queues = self._broker.queues

    def _set_delivery(self, *, paused: bool) -> None:
        """Hold deliveries while the worker cannot be imported; resume only what this held, so
        a queue paused by a test stays paused across a reload."""
        if self._broker is None or paused == self._held_for_load_error:
            return
        self._held_for_load_error = paused
        for consumer in self.config.queue_consumers:
            handle = self.queues[consumer.queue]
            handle.pause() if paused else handle.resume()

    def _build_env(self) -> Env:
        values: dict[str, Any] = dict(self.config.vars)
        values.update(self.config.secrets)
        values.update(self._vars)  # overrides win over secrets too, as `--var` does in wrangler
        assert self._broker is not None
        for producer in self.config.queue_producers:
            values[producer.binding] = self._broker.producer(
                producer.queue, delivery_delay=producer.delivery_delay
            )
        values.update(self.d1)
        return Env(values)


def _header_pairs(
    headers: Mapping[str, str] | list[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)
