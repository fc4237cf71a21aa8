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

from .bindings import BindingHost, BindingInstance, UnemulatedBinding, binding_types
from .clock import Clock, RealClock, VirtualClock, spawn
from .config import WorkerConfig, load_config
from .cron import CronScheduler
from .tracebacks import errors_of, log_exception
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
    """A local Cloudflare Worker with its bindings, as an async context manager.

    ```python
    async with Miniflare("wrangler.toml", clock="virtual") as mf:
        resp = await mf.fetch("/api/tasks", method="POST", json={...})
        await mf.queues.drain()
    ```

    `persist_to=None` keeps every binding's state in memory; a folder keeps it where wrangler
    does (`<folder>/v3/...`). Each binding type with a `runtime_attribute` is reachable as
    `mf.<attribute>`: `mf.d1` (databases by binding name), `mf.queues`.

    `clock="virtual"` starts a `VirtualClock` at the real time, which moves only on
    `clock.advance()` or `queues.drain()`; `"real"` follows the wall clock.
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
        self.worker: Worker | None = None
        self.load_error: WorkerLoadError | None = None
        #: The open bindings of each type, by registry name.
        self.bindings: dict[str, BindingInstance] = {}
        self._cron: CronScheduler | None = None
        #: Wraps each handler run while the Local Explorer traces invocations (None otherwise:
        #: a worker pays nothing for it). Kept across a config reload.
        self.tracer: Any = inherit.tracer if inherit is not None else None
        self._started = False
        self._holds_log_level = False

    def __getattr__(self, name: str) -> Any:
        # `mf.d1`, `mf.queues`, ...: what each binding type offers tests and tools.
        if not name.startswith("_"):
            for binding_type in binding_types():
                if binding_type.runtime_attribute == name:
                    instance = self.__dict__.get("bindings", {}).get(binding_type.name)
                    if instance is None:
                        raise AttributeError(f"mf.{name} is available once the runtime is started")
                    return instance.handle()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
            self._open_bindings()
            self.env = self._build_env()
            for instance in self.bindings.values():
                await instance.start()
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
        instances = list(self.bindings.values())
        for instance in instances:
            await instance.stop()
        await self.clock.settle() if hasattr(self, "clock") else None
        for instance in instances:
            # Kept in `bindings`: a runtime that replaces this one takes them over, and a test
            # reading `mf.d1` after close gets the binding's own "closed" error.
            await instance.close(keep_state=keep_state)
        logging.getLogger("miniflare_py").removeHandler(self._log_buffer)
        if self._holds_log_level:
            self._holds_log_level = False
            _release_engine_log_level()
        self._started = False

    def reload(self, *, strict: bool = False) -> None:
        """Import the worker module again, keeping bindings and their state.

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
            errors_of(self).count("import", exc)  # printed here; requests do not repeat it
            self._worker_changed(None)
            return
        self.worker = worker
        self.load_error = None
        self._worker_changed(worker)

    def _worker_changed(self, worker: Worker | None) -> None:
        for instance in self.bindings.values():
            instance.worker_changed(worker)

    async def apply_migrations(self) -> dict[str, list[str]]:
        """Apply the migrations every binding keeps (each D1 database's wrangler migrations,
        when its folder exists).

        Returns what ran, by binding; raises `MigrationError` naming the file that failed
        (earlier files stay applied, as with wrangler).
        """
        applied: dict[str, list[str]] = {}
        for instance in self.bindings.values():
            applied.update(await instance.migrate())
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

        As at the edge, `[assets]` answer first when they hold the path (unless
        `run_worker_first`). A relative `url` is resolved against http://localhost. Exceptions
        the handler raises propagate. On a virtual clock, work that became due (a full batch,
        `waitUntil` tasks) has finished when this returns.
        """
        request = incoming_request(url, method, headers, body, json)
        response = self._answer_first(request) or await self.dispatch_fetch(request)
        if self.virtual:
            await self.clock.settle()
        return response

    def _answer_first(self, request: Request) -> Response | None:
        """What a binding answers before the worker (static assets), as at the edge."""
        for instance in self.bindings.values():
            answer = instance.answer_first(request)
            if answer is not None:
                return answer  # type: ignore[no-any-return]
        return None

    async def websocket(
        self,
        url: str = "/",
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        protocols: list[str] | None = None,
    ) -> Any:
        """Open a WebSocket to the worker in-process: its `fetch` gets the upgrade request; a
        client with `send`, `receive`, `close` (see `websocket_client`)."""
        from .websocket_client import connect

        return await connect(self, url, headers=headers, protocols=protocols)

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
            log_exception(
                log, self, "scheduled", 'Scheduled handler for cron "%s" failed', cron, exc=exc
            )
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

    async def _dispatch(self, worker: Worker, event: str, payload: Any) -> Any:
        ctx = ExecutionContext(self._spawn)
        token = inside_handler.set(True)
        try:
            if self.tracer is not None:
                call = worker.dispatch(event, payload, self.env, ctx)
                return await self.tracer.invoke(event, payload, call)
            return await worker.dispatch(event, payload, self.env, ctx)
        finally:
            inside_handler.reset(token)

    def _spawn(self, awaitable: Awaitable[Any]) -> Any:
        async def background() -> None:
            token = inside_handler.set(True)
            try:
                await awaitable
            except Exception as exc:
                log_exception(log, self, "waitUntil", "A waitUntil() task failed", exc=exc)
            finally:
                inside_handler.reset(token)

        return spawn(self.clock, background())

    def _require_worker(self) -> Worker:
        if self.load_error is not None:
            # Without its old traceback: re-raising one stored exception would otherwise grow
            # its traceback by this frame on every request.
            raise self.load_error.with_traceback(None)
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

    def _open_bindings(self) -> None:
        host = BindingHost(
            self.config,
            self.clock,
            self.persist_to,
            self._dispatch_event,
            worker=lambda: self.worker,
            env=lambda: self.__dict__.get("env"),
            log_failure=self._log_failure,
        )
        previous = self._inherit.bindings if self._inherit is not None else {}
        for binding_type in binding_types():
            self.bindings[binding_type.name] = binding_type.open(
                host,
                self.config.binding(binding_type.name),
                previous.get(binding_type.name),
            )

    async def _dispatch_event(self, event: str, payload: Any) -> Any:
        """Run a worker handler for a binding (a queue batch, an alarm)."""
        return await self._dispatch(self._require_worker(), event, payload)

    def _log_failure(self, where: str, message: str, *args: Any, exc: BaseException) -> None:
        log_exception(log, self, where, message, *args, exc=exc)

    def _build_env(self) -> Env:
        values: dict[str, Any] = dict(self.config.vars)
        values.update(self.config.secrets)
        values.update(self._vars)  # overrides win over secrets too, as `--var` does in wrangler
        for key, name in self.config.unemulated:
            if name is not None:
                values[name] = UnemulatedBinding(key, name)
        for instance in self.bindings.values():
            values.update(instance.env_values())
        return Env(values)


def _header_pairs(
    headers: Mapping[str, str] | list[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def incoming_request(
    url: str,
    method: str,
    headers: Mapping[str, str] | list[tuple[str, str]] | None,
    body: str | bytes | None,
    json: Any,
) -> Request:
    """The request `Miniflare.fetch` gives the worker: a relative `url` resolved against
    http://localhost, `json` (when not None) sent as the body with its content-type."""
    pairs = _header_pairs(headers)
    if json is not None:
        import json as jsonlib

        body = jsonlib.dumps(json)
        pairs.append(("content-type", "application/json"))
    absolute = DEFAULT_ORIGIN + url if url.startswith("/") else urljoin(DEFAULT_ORIGIN, url)
    return Request._incoming(absolute, method, pairs, body)
