"""Invocations for the Local Explorer: every handler run (fetch, queue batch, scheduled run,
Durable Object alarm, Workers AI call), with its outcome, duration, the binding calls it made
(with timings) and the lines it printed or logged, in a bounded ring buffer.

Nothing here costs the worker anything until the explorer is used: the runtime checks one
attribute (`Miniflare.tracer`, None until then) per handler run, and the binding methods worth
timing are wrapped only while a tracer is enabled (each binding type's explorer view names them,
see `Traced`); `disable()` puts the originals back. A tracer enables itself when the explorer
is used and stops after `IDLE_SECONDS` without a look from it.

While enabled, `sys.stdout` and `sys.stderr` are wrapped so what a handler prints (and
`console.log`) is kept with its invocation, and a logging handler keeps the log records emitted
while it runs; everything still goes where it went before.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import itertools
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TextIO, cast

from ..tracebacks import format_user_exception

__all__ = [
    "CAPACITY",
    "IDLE_SECONDS",
    "KINDS",
    "BindingCall",
    "Invocation",
    "Traced",
    "Tracer",
    "disable_all",
]

#: What an invocation can be.
KINDS = ("fetch", "queue", "scheduled", "alarm", "ai")
#: Invocations kept (the oldest go first).
CAPACITY = 500
#: Binding calls and log lines kept per invocation (further ones are counted, not kept).
MAX_CALLS = 200
MAX_LOGS = 200
#: A log line longer than this is cut (with a note): a handler printing megabytes would
#: otherwise hold them in memory for as long as the invocation is kept.
MAX_LINE = 4000
#: Seconds without a request from the explorer after which tracing stops by itself.
IDLE_SECONDS = 600.0

_current: ContextVar[Invocation | None] = ContextVar("pyflare_invocation", default=None)
_depth: ContextVar[int] = ContextVar("pyflare_call_depth", default=0)


@dataclass
class BindingCall:
    """One call a handler made on a binding (`DB.prepare().all()`, `AI_QUEUE.send()`)."""

    binding: str
    method: str
    detail: str
    start_ms: float
    depth: int
    duration_ms: float | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "binding": self.binding,
            "method": self.method,
            "detail": self.detail,
            "start_ms": round(self.start_ms, 3),
            "duration_ms": None if self.duration_ms is None else round(self.duration_ms, 3),
            "depth": self.depth,
            "error": self.error,
        }


@dataclass
class Invocation:
    """One handler run."""

    id: int
    kind: str
    label: str
    started: float  # seconds since the epoch
    detail: dict[str, Any]
    parent: int | None = None
    duration_ms: float | None = None
    outcome: str = "running"  # then "ok" or "exception"
    status: int | None = None
    error: str | None = None
    calls: list[BindingCall] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    dropped_calls: int = 0
    dropped_logs: int = 0
    _t0: float = field(default_factory=time.perf_counter, repr=False)
    _partial: dict[str, str] = field(default_factory=dict, repr=False)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def add_call(self, call: BindingCall) -> bool:
        if len(self.calls) >= MAX_CALLS:
            self.dropped_calls += 1
            return False
        self.calls.append(call)
        return True

    def add_log(self, level: str, source: str, message: str) -> None:
        if len(self.logs) >= MAX_LOGS:
            self.dropped_logs += 1
            return
        if len(message) > MAX_LINE:
            message = message[:MAX_LINE] + f"... ({len(message) - MAX_LINE} more characters)"
        self.logs.append(
            {
                "at_ms": round(self.elapsed_ms(), 3),
                "level": level,
                "source": source,
                "message": message,
            }
        )

    def write(self, source: str, text: str) -> None:
        """Text printed to stdout or stderr: kept line by line."""
        pending = self._partial.get(source, "") + text
        *lines, rest = pending.split("\n")
        self._partial[source] = rest
        level = "error" if source == "stderr" else "log"
        for line in lines:
            self.add_log(level, source, line)

    def flush_partial(self) -> None:
        for source, rest in self._partial.items():
            if rest:
                self.add_log("error" if source == "stderr" else "log", source, rest)
        self._partial.clear()

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "started": self.started,
            "duration_ms": None if self.duration_ms is None else round(self.duration_ms, 3),
            "outcome": self.outcome,
            "status": self.status,
            "parent": self.parent,
            "detail": self.detail,
            "calls": len(self.calls) + self.dropped_calls,
            "logs": len(self.logs) + self.dropped_logs,
            "error": None if self.error is None else self.error.splitlines()[-1],
        }

    def full(self) -> dict[str, Any]:
        found = self.summary()
        found.update(
            error=self.error,
            binding_calls=[c.as_json() for c in self.calls],
            log_lines=list(self.logs),
            dropped_calls=self.dropped_calls,
            dropped_logs=self.dropped_logs,
        )
        return found


@dataclass(frozen=True)
class Traced:
    """A binding method to time while tracing.

    `owner` is `module:Class`; `describe(tracer, instance, args, kwargs)` gives `(binding,
    detail)` for a call (`("DB", "SELECT ...")`). `kind` "call" records a binding call in the
    invocation that makes it; an invocation kind ("alarm", "ai") also records the call as an
    invocation of its own (an alarm runs outside any handler; an AI run is listed as one).
    """

    owner: str
    method: str
    describe: Callable[[Tracer, Any, tuple[Any, ...], dict[str, Any]], tuple[str, str]]
    kind: str = "call"
    label: str | None = None  # the method's name as shown (default: `method`)
    #: `when(instance, args)`: whether this call is worth recording at all (default: always).
    when: Callable[[Any, tuple[Any, ...]], bool] | None = None
    #: For a method that catches its own failures: `probe(instance, args)` runs before the
    #: call, `failure(instance, args, probed)` after it, giving the error text or None.
    probe: Callable[[Any, tuple[Any, ...]], Any] | None = None
    failure: Callable[[Any, tuple[Any, ...], Any], str | None] | None = None


class Tracer:
    """The ring buffer of invocations, and the switch that turns tracing on and off."""

    def __init__(self, capacity: int = CAPACITY, idle: float = IDLE_SECONDS) -> None:
        self.invocations: deque[Invocation] = deque(maxlen=capacity)
        self.enabled = False
        self.idle = idle
        self.runtime: Any = None
        self._ids = itertools.count(1)
        self._last_used = time.monotonic()
        self._traced: tuple[Traced, ...] = ()

    # -- the switch ----------------------------------------------------------------------------

    def use(self, runtime: Any, traced: Iterable[Traced]) -> None:
        """The explorer was used: trace `runtime` (the current one: a config reload replaces
        it), enabling tracing if it was off (it stays off after `disable()` until `enable()`)."""
        self._last_used = time.monotonic()
        if self.runtime is not runtime:
            if self.runtime is not None and getattr(self.runtime, "tracer", None) is self:
                self.runtime.tracer = None
            self.runtime = runtime
            if self.enabled:
                runtime.tracer = self
        if not self.enabled and not self._stopped_by_hand:
            self.enable(traced)

    _stopped_by_hand = False

    def enable(self, traced: Iterable[Traced] | None = None) -> None:
        """Start recording: wrap the binding methods, the output streams and logging."""
        if traced is not None:
            self._traced = tuple(traced)
        self._stopped_by_hand = False
        self._last_used = time.monotonic()
        if self.enabled:
            return
        self.enabled = True
        if self.runtime is not None:
            self.runtime.tracer = self
        _hooks.acquire(self, self._traced)

    def disable(self, *, by_hand: bool = True) -> None:
        """Stop recording and put every wrapped method and stream back (the worker's path is
        then as if the explorer had never been used). What was recorded stays."""
        self._stopped_by_hand = self._stopped_by_hand or by_hand
        if not self.enabled:
            return
        self.enabled = False
        if self.runtime is not None and getattr(self.runtime, "tracer", None) is self:
            self.runtime.tracer = None
        _hooks.release(self)

    def clear(self) -> None:
        self.invocations.clear()

    def _idle(self) -> bool:
        if time.monotonic() - self._last_used > self.idle:
            self.disable(by_hand=False)
            return True
        return False

    # -- recording -----------------------------------------------------------------------------

    def begin(
        self, kind: str, label: str, detail: dict[str, Any], parent: int | None = None
    ) -> Invocation:
        invocation = Invocation(next(self._ids), kind, label, time.time(), detail, parent)
        self.invocations.append(invocation)
        return invocation

    def since(self, after: int) -> list[Invocation]:
        """Invocations with an id above `after`, and those still running, oldest first."""
        return [i for i in self.invocations if i.id > after or i.outcome == "running"]

    def find(self, invocation_id: int) -> Invocation | None:
        for invocation in self.invocations:
            if invocation.id == invocation_id:
                return invocation
        return None

    async def invoke(self, event: str, payload: Any, call: Awaitable[Any]) -> Any:
        """The runtime's hook: run one handler (`call`) as an invocation of `event`."""
        if not self.enabled or self._idle():
            return await call
        kind, label, detail = _describe_event(event, payload)
        invocation = self.begin(kind, label, detail)
        token = _current.set(invocation)
        depth = _depth.set(0)
        try:
            result = await call
        except BaseException as exc:
            _finish(invocation, exc)
            if kind == "queue":
                _queue_outcome(invocation, payload, raised=True)
            raise
        finally:
            _depth.reset(depth)
            _current.reset(token)
        _finish(invocation, None)
        if kind == "fetch":
            invocation.status = getattr(result, "status", None)
        elif kind == "queue":
            _queue_outcome(invocation, payload, raised=False)
        return result

    # -- helpers for `Traced.describe` ---------------------------------------------------------

    def binding_of(self, match: Callable[[Any], bool], default: str) -> str:
        """The env name of the binding `match` picks (`default` when none does)."""
        env = getattr(self.runtime, "env", None)
        if env is not None:
            for name in env:
                with contextlib.suppress(Exception):
                    if match(env[name]):
                        return str(name)
        return default


def _running() -> Invocation | None:
    """The invocation whose handler is running in this task, if any.

    Tasks copy the context they start in, so a task a handler started (a queue batch its send
    made due, an alarm it set, a `waitUntil`) still sees that invocation once it has ended:
    lines printed there belong to something else (the batch has an invocation of its own).
    Binding calls made there still go to it (`waitUntil` work is part of an invocation).
    """
    current = _current.get()
    return current if current is not None and current.outcome == "running" else None


class _Failed(Exception):
    """A failure a traced method caught and reported its own way (an alarm that raised)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _finish(invocation: Invocation, exc: BaseException | None) -> None:
    invocation.duration_ms = invocation.elapsed_ms()
    invocation.flush_partial()
    if exc is None:
        invocation.outcome = "ok"
    else:
        invocation.outcome = "exception"
        try:
            invocation.error = str(exc) if isinstance(exc, _Failed) else format_user_exception(exc)
        except Exception:  # a traceback that cannot be formatted: keep its line
            invocation.error = f"{type(exc).__name__}: {exc}"


def _describe_event(event: str, payload: Any) -> tuple[str, str, dict[str, Any]]:
    if event == "fetch":
        method = getattr(payload, "method", "GET")
        url = str(getattr(payload, "url", ""))
        path = url.split("://", 1)[-1]
        path = path[path.find("/") :] if "/" in path else "/"
        return "fetch", f"{method} {path}", {"method": method, "url": url}
    if event == "queue":
        queue = getattr(payload, "queue", "?")
        messages = list(getattr(payload, "messages", ()))
        n = len(messages)
        return (
            "queue",
            f"{queue} ({n} message{'' if n == 1 else 's'})",
            {
                "queue": queue,
                "messages": [
                    {"id": getattr(m, "id", None), "attempts": getattr(m, "attempts", None)}
                    for m in messages[:100]
                ],
            },
        )
    if event == "scheduled":
        cron = getattr(payload, "cron", "")
        return (
            "scheduled",
            cron or "scheduled",
            {"cron": cron, "scheduled_time": getattr(payload, "scheduledTime", None)},
        )
    return event, event, {}


def _queue_outcome(invocation: Invocation, batch: Any, *, raised: bool) -> None:
    """What the batch's handler decided: the ids acked and retried (as the broker will)."""
    outcome = getattr(batch, "_outcome", None)
    if outcome is None:
        return
    ids = [m.id for m in getattr(batch, "messages", ())]
    try:
        acked, retried = outcome.resolve(ids, raised)
    except Exception:
        return
    invocation.detail["acked"] = list(acked)
    invocation.detail["retried"] = list(retried)


# -- the hooks: wrapped methods, streams, logging -----------------------------------------------


class _Tee:
    """A stream that also gives what is written to the invocation being run, if any."""

    def __init__(self, stream: TextIO, source: str) -> None:
        self._stream = stream
        self._source = source

    def write(self, text: str) -> int:
        invocation = _running()
        if invocation is not None:
            invocation.write(self._source, text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _LogCatcher(logging.Handler):
    """Keeps the log records emitted while an invocation runs with that invocation."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        invocation = _running()
        if invocation is None or record is self._last:  # seen on both loggers it is on
            return
        self._last = record
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + format_user_exception(record.exc_info[1])
        except Exception:
            message = str(record.msg)
        invocation.add_log(_LEVELS.get(record.levelno, "info"), "logging", message)


_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}


class _Hooks:
    """What enabled tracers share in one process: the wrapped methods, the streams and the
    log handler, installed while at least one tracer is enabled."""

    def __init__(self) -> None:
        self.tracers: list[Tracer] = []
        self._originals: dict[tuple[type, str], tuple[Any, bool]] = {}
        self._streams: tuple[Any, Any] | None = None
        self._catcher: _LogCatcher | None = None

    def acquire(self, tracer: Tracer, traced: tuple[Traced, ...]) -> None:
        self.tracers.append(tracer)
        for spec in traced:
            self._wrap(spec)
        if self._streams is None:
            self._streams = (sys.stdout, sys.stderr)
            sys.stdout = cast(TextIO, _Tee(sys.stdout, "stdout"))
            sys.stderr = cast(TextIO, _Tee(sys.stderr, "stderr"))
            self._catcher = _LogCatcher()
            for name in ("", "miniflare_py"):
                logging.getLogger(name).addHandler(self._catcher)

    def release(self, tracer: Tracer) -> None:
        if tracer in self.tracers:
            self.tracers.remove(tracer)
        if self.tracers:
            return
        for (owner, name), (original, own) in self._originals.items():
            if own:
                setattr(owner, name, original)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
        self._originals.clear()
        if self._streams is not None:
            out, err = self._streams
            if isinstance(sys.stdout, _Tee):
                sys.stdout = out
            if isinstance(sys.stderr, _Tee):
                sys.stderr = err
            self._streams = None
        if self._catcher is not None:
            for name in ("", "miniflare_py"):
                logging.getLogger(name).removeHandler(self._catcher)
            self._catcher = None

    def _wrap(self, spec: Traced) -> None:
        module, _, class_name = spec.owner.partition(":")
        try:
            owner = getattr(importlib.import_module(module), class_name)
        except (ImportError, AttributeError):
            return  # a binding type that is not installed
        key = (owner, spec.method)
        if key in self._originals:
            return
        original = getattr(owner, spec.method, None)
        if original is None:
            return
        self._originals[key] = (
            owner.__dict__.get(spec.method, original),
            spec.method in vars(owner),
        )
        setattr(owner, spec.method, _wrapped(original, spec, self))

    def newest(self) -> Tracer | None:
        return self.tracers[-1] if self.tracers else None


_hooks = _Hooks()


def disable_all() -> None:
    """Stop every tracer of this process (tests use it to leave nothing wrapped behind)."""
    for tracer in list(_hooks.tracers):
        tracer.disable()


def _wrapped(original: Callable[..., Any], spec: Traced, hooks: _Hooks) -> Callable[..., Any]:
    """`original` timed into the current invocation (and, for an invocation kind, run as an
    invocation of its own)."""
    label = spec.label or spec.method

    def start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tracer = hooks.newest()
        # A plain call goes to the invocation of this task even once it has ended (waitUntil
        # work); an alarm or an AI run belongs to a handler only while that one runs.
        current = _current.get() if spec.kind == "call" else _running()
        if tracer is None or (current is None and spec.kind == "call"):
            return None
        if spec.when is not None and not spec.when(instance, args):
            return None
        try:
            binding, detail = spec.describe(tracer, instance, args, kwargs)
        except Exception:
            binding, detail = type(instance).__name__, ""
        call = None
        if current is not None:
            call = BindingCall(binding, label, detail, current.elapsed_ms(), _depth.get())
            if not current.add_call(call):
                call = None
        own = None
        if spec.kind != "call":
            own = tracer.begin(
                spec.kind, f"{binding} {detail}".strip(), {"binding": binding, "detail": detail},
                None if current is None else current.id,
            )  # fmt: skip
        probed = spec.probe(instance, args) if spec.probe is not None else None
        return current, call, own, time.perf_counter(), instance, args, probed

    def finish(state: Any, exc: BaseException | None) -> None:
        _, call, own, t0, instance, args, probed = state
        if exc is None and spec.failure is not None:
            failed = spec.failure(instance, args, probed)
            if failed is not None:
                exc = _Failed(failed)
        if call is not None:
            call.duration_ms = (time.perf_counter() - t0) * 1000
            if exc is not None:
                call.error = f"{type(exc).__name__}: {exc}"
        if own is not None:
            _finish(own, exc)

    if inspect.iscoroutinefunction(original):

        async def traced_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            state = start(self, args, kwargs)
            if state is None:
                return await original(self, *args, **kwargs)
            own = state[2]
            token = _current.set(own) if own is not None else None
            depth = _depth.set(_depth.get() + 1) if own is None else _depth.set(0)
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                finish(state, exc)
                raise
            finally:
                _depth.reset(depth)
                if token is not None:
                    _current.reset(token)
            finish(state, None)
            return result

        traced_async.__wrapped__ = original  # type: ignore[attr-defined]
        traced_async.__name__ = getattr(original, "__name__", spec.method)
        traced_async.__doc__ = getattr(original, "__doc__", None)
        return traced_async

    def traced_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = start(self, args, kwargs)
        if state is None:
            return original(self, *args, **kwargs)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            finish(state, exc)
            raise
        finish(state, None)
        return result

    traced_sync.__wrapped__ = original  # type: ignore[attr-defined]
    traced_sync.__name__ = getattr(original, "__name__", spec.method)
    traced_sync.__doc__ = getattr(original, "__doc__", None)
    return traced_sync
