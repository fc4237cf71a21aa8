"""`pyflare check`: boot a worker once on a virtual clock, make requests, drain its queues, judge.

The verdict, in the order the run meets them (the first failure decides the exit code):

| exit | kind | meaning |
|---|---|---|
| 0 | | everything passed |
| 1 | `internal` | pyflare itself failed (a bug: please report it) |
| 2 | | bad command line (click's usage error) |
| 3 | `config` | the wrangler config is invalid, or a D1 migration failed |
| 4 | `worker` | the worker cannot be imported, or has consumers but no `queue` handler |
| 5 | `request` | a `--fetch` got a 5xx or raised; a `waitUntil` or `--scheduled` task raised |
| 6 | `queue` | a message was dead-lettered or dropped, or the queues did not drain |

Only the config and worker checks stop the run; otherwise every request is made and every queue
is drained, so one report shows all that went wrong, and the lowest code among the failures is
the exit code. A 4xx is reported but is not a failure (a smoke run may probe a 404 on purpose).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bindings import Finding
    from .runtime import Miniflare

__all__ = [
    "EXIT_CODES",
    "CheckOptions",
    "CheckReport",
    "FetchSpec",
    "Problem",
    "RequestResult",
    "run_check",
    "user_traceback",
]

EXIT_CODES: Mapping[str, int] = {
    "internal": 1,
    "config": 3,
    "worker": 4,
    "request": 5,
    "queue": 6,
}

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NO_BODY = object()


@dataclass(frozen=True)
class FetchSpec:
    """One `--fetch "METHOD PATH [JSON]"` request."""

    method: str
    path: str
    body: Any = _NO_BODY

    @classmethod
    def parse(cls, text: str) -> FetchSpec:
        """Parse `"POST /api/tasks {...}"`, `"GET /x"` or just `"/x"` (a GET).

        Raises `ValueError` with a message fit for the command line.
        """
        usage = 'expected "METHOD PATH [JSON]"'
        words = text.strip().split(None, 1)
        if not words:
            raise ValueError(f"empty request: {usage}")
        if words[0].startswith("/"):
            method, rest = "GET", text.strip()
        else:
            method, rest = words[0].upper(), words[1] if len(words) > 1 else ""
            if method not in _METHODS:
                raise ValueError(f"unknown method {words[0]!r} in {text!r}: {usage}")
        path, _, raw_body = rest.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"no path starting with / in {text!r}: {usage}")
        if not raw_body.strip():
            return cls(method, path)
        try:
            body = json.loads(raw_body)
        except ValueError as exc:
            raise ValueError(f"the body in {text!r} is not valid JSON ({exc})") from None
        return cls(method, path, body)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class CheckOptions:
    """What `pyflare check` runs."""

    config: Path | None = None
    env: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    fetches: Sequence[FetchSpec] = ()
    scheduled: Sequence[str] = ()
    drain: bool = False


@dataclass
class Problem:
    """Something that makes the check fail; `details` holds a traceback when there is one."""

    kind: str
    message: str
    details: str | None = None


@dataclass
class RequestResult:
    method: str
    path: str
    status: int | None
    ms: float
    error: str | None = None
    traceback: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.status is not None and self.status >= 500)


@dataclass
class ScheduledResult:
    cron: str
    outcome: str
    ms: float
    error: str | None = None


@dataclass
class CheckReport:
    """Everything `pyflare check` found; `exit_code` is the verdict."""

    config: str | None = None
    worker: str | None = None
    failures: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    migrations: dict[str, list[str]] = field(default_factory=dict)
    requests: list[RequestResult] = field(default_factory=list)
    scheduled: list[ScheduledResult] = field(default_factory=list)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    drained: bool = False
    virtual_seconds: float = 0.0
    output: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        if not self.failures:
            return 0
        return min(EXIT_CODES.get(p.kind, 1) for p in self.failures)

    def fail(self, kind: str, message: str, details: str | None = None) -> None:
        self.failures.append(Problem(kind, message, details))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: what `pyflare check --json` prints."""
        data = asdict(self)
        data["ok"] = self.ok
        data["exit_code"] = self.exit_code
        for request in data["requests"]:
            request["ms"] = round(request["ms"], 3)
        for event in data["scheduled"]:
            event["ms"] = round(event["ms"], 3)
        return data


class _Capture(logging.Handler):
    """Keeps what the engine logs during a check (the runtime's own buffer starts later)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.levelname.lower():<7} {_message(r)}" for r in self.records]

    def count(self, starts_with: str) -> int:
        return sum(1 for r in self.records if str(r.msg).startswith(starts_with))

    def last_traceback(self, starts_with: str, *args: Any) -> str | None:
        """The user's traceback of the last exception logged with this message (and args)."""
        for record in reversed(self.records):
            if (
                str(record.msg).startswith(starts_with)
                and (not args or tuple(record.args or ())[: len(args)] == args)
                and record.exc_info
                and record.exc_info[1] is not None
            ):
                return user_traceback(record.exc_info[1])
        return None


def _message(record: logging.LogRecord) -> str:
    """A log record's message, with the exception it carries when the message does not already
    name it (the log line alone would say that a handler raised, but not what)."""
    message = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        what = f"{type(error).__name__}: {error}"
        if what not in message:
            message += f": {what}"
    return message


def user_traceback(exc: BaseException) -> str | None:
    """The traceback of what a worker raised (or what made it fail to import), without
    pyflare's and importlib's frames; None when no frame of the user's is left."""
    from .tracebacks import format_user_exception, has_user_frames

    error = exc.__cause__ or exc
    if not has_user_frames(error) and not isinstance(error, SyntaxError):
        return None
    return format_user_exception(error)


async def run_check(options: CheckOptions) -> CheckReport:
    """Run the check described by `options`; never raises for a user mistake."""
    report = CheckReport()
    engine_log = logging.getLogger("miniflare_py")
    capture = _Capture()
    engine_log.addHandler(capture)
    previous_level = engine_log.level
    engine_log.setLevel(logging.DEBUG)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            await _run(options, report, capture)
    except Exception as exc:  # a bug in pyflare, not the user's: say so, keep the report
        details = "".join(traceback.format_exception(exc))
        report.fail("internal", f"pyflare failed: {type(exc).__name__}: {exc}", details)
    finally:
        engine_log.removeHandler(capture)
        engine_log.setLevel(previous_level)
    report.output = output.getvalue().splitlines()
    report.logs = capture.lines()
    return report


async def _run(options: CheckOptions, report: CheckReport, capture: _Capture) -> None:
    from .config import ConfigError, load_config
    from .runtime import Miniflare
    from .worker import WorkerLoadError

    try:
        config = load_config(options.config, options.env, vars=options.vars)
    except ConfigError as exc:
        report.fail("config", str(exc))
        return
    report.config = str(config.path)
    report.worker = str(config.main)
    report.warnings.extend(config.warnings)

    mf = Miniflare(config, clock="virtual")
    try:
        await mf.start()
    except WorkerLoadError as exc:
        report.fail("worker", str(exc), user_traceback(exc))
        await mf.close()
        return
    started_at = mf.clock.now()
    try:
        if not _check_serving(mf, report):
            return
        if not await _migrate(mf, report):
            return
        for spec in options.fetches:
            report.requests.append(await _fetch(mf, spec))
        for result in report.requests:
            if result.failed:
                what = result.error or f"status {result.status}"
                report.fail("request", f"{result.method} {result.path}: {what}", result.traceback)
        for cron in options.scheduled:
            report.scheduled.append(await _scheduled(mf, cron, report))
        if options.drain:
            await _drain(mf, report)
        failed_background = capture.count("A waitUntil() task failed")
        if failed_background:
            report.fail(
                "request",
                f"{failed_background} waitUntil() task(s) failed (see the log)",
                capture.last_traceback("A waitUntil() task failed"),
            )
        _judge(mf, report, capture, drained=options.drain)
        report.virtual_seconds = mf.clock.now() - started_at
    finally:
        await mf.close()


def _check_serving(mf: Miniflare, report: CheckReport) -> bool:
    """What each binding needs of the worker (a consumer needs a `queue` handler, ...), and a
    cron without a `scheduled` handler; a failure here stops the check."""
    worker = mf.worker
    assert worker is not None
    serving = True
    for instance in mf.bindings.values():
        for finding in instance.check_worker(worker):
            serving = _record(report, finding) and serving
    if mf.config.crons and not worker.handles("scheduled"):
        report.warnings.append(
            f"[triggers] crons are set but {mf.config.main.name} defines no scheduled handler"
        )
    return serving


def _record(report: CheckReport, finding: Finding) -> bool:
    """Put a binding's finding in the report; False when it is a failure."""
    if finding.kind is None:
        report.warnings.append(finding.message)
        return True
    report.fail(finding.kind, finding.message, finding.details)
    return False


async def _migrate(mf: Miniflare, report: CheckReport) -> bool:
    from .d1 import D1Error

    try:
        report.migrations = await mf.apply_migrations()
    except D1Error as exc:
        report.fail("config", f"D1 migrations: {exc}")
        return False
    return True


async def _fetch(mf: Miniflare, spec: FetchSpec) -> RequestResult:
    started = time.perf_counter()
    try:
        if spec.body is _NO_BODY:
            response = await mf.fetch(spec.path, method=spec.method)
        else:
            response = await mf.fetch(
                spec.path,
                method=spec.method,
                body=json.dumps(spec.body),
                headers={"content-type": "application/json"},
            )
    except Exception as exc:
        elapsed = (time.perf_counter() - started) * 1e3
        error = f"{type(exc).__name__}: {exc}"
        return RequestResult(spec.method, spec.path, None, elapsed, error, user_traceback(exc))
    elapsed = (time.perf_counter() - started) * 1e3
    return RequestResult(spec.method, spec.path, response.status, elapsed)


async def _scheduled(mf: Miniflare, cron: str, report: CheckReport) -> ScheduledResult:
    started = time.perf_counter()
    result = await mf.scheduled(cron)
    elapsed = (time.perf_counter() - started) * 1e3
    if result["outcome"] != "ok":
        report.fail("request", f'scheduled "{cron}": {result["error"]}')
    return ScheduledResult(cron, result["outcome"], elapsed, result.get("error"))


async def _drain(mf: Miniflare, report: CheckReport) -> None:
    """Deliver everything the bindings hold (queued messages, ...), jumping virtual time."""
    drained = True
    for instance in mf.bindings.values():
        for finding in await instance.drain():
            drained = _record(report, finding) and drained
    report.drained = drained


def _judge(mf: Miniflare, report: CheckReport, capture: _Capture, *, drained: bool) -> None:
    report.queues = {name: dict(stats) for name, stats in mf.queues.stats().items()}
    for instance in mf.bindings.values():
        for finding in instance.judge(drained=drained, logged=capture.last_traceback):
            _record(report, finding)
