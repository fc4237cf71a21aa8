"""pytest plugin: the `pyflare` and `pyflare_sync` fixtures and the `pyflare` marker.

Registered through the `pytest11` entry point, so installing pyflare is all a project needs:

```python
@pytest.mark.anyio                      # or @pytest.mark.asyncio with pytest-asyncio
async def test_submit(pyflare):
    resp = await pyflare.fetch("/api/tasks", method="POST", json={"user": "ada"})
    await pyflare.queues.drain()
```

Each test gets its own `Miniflare` on a virtual clock with in-memory D1 and queues, built from
`@pytest.mark.pyflare(config=...)`, the `pyflare_config` ini option or the `wrangler.toml` in the
rootdir. Nothing heavy is imported when pytest starts: the runtime is imported when a test first
asks for a fixture, so projects that never use pyflare do not pay for it.

Tests written for Cloudflare's runtime import what a worker imports: in a pytest session the
top-level `workers`, `asgi`, `js` and `pyodide` are pyflare's (loaded on first import), and
while a test's `pyflare` runs, `from workers import env` is that runtime's env.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pytest

if TYPE_CHECKING:
    import asyncio

    from .runtime import Miniflare
    from .workers import Response
    from .workers.headers import HeaderMessage

__all__ = ["PyflareOptions", "PyflareSync", "SyncProxy", "SyncResponse"]

T = TypeVar("T")

_MARKER_KEYS = frozenset({"config", "env", "vars", "migrations", "clock"})
_CLOCKS = ("virtual", "real")
_WORKER_NAMES = frozenset({"workers", "asgi", "js", "pyodide"})
_REPORT_LOG_LINES = 40
_STATS_COLUMNS = ("pending", "delayed", "in_flight", "acked", "retried", "dead_lettered", "dropped")


@dataclass
class _Used:
    """The runtime a test used, kept in `item.stash` for the failure report."""

    mf: Miniflare
    started_at: float


_USED = pytest.StashKey[_Used]()


# -- registration --------------------------------------------------------------------------------


class _WorkerNames(importlib.abc.MetaPathFinder):
    """Makes `import workers` (and `asgi`, `js`, `pyodide`) pyflare's in a pytest session, as in
    a worker; pyflare's modules are imported only when test code first asks for them."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.partition(".")[0] not in _WORKER_NAMES:
            return None
        from .workers import names

        names.install()
        return names.finder().find_spec(fullname, path, target)


# Installed once, when pytest loads the plugin (before any conftest can import `workers`), and
# kept: it answers only for those four names.
sys.meta_path.insert(0, _WorkerNames())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "pyflare_config",
        "wrangler config for the pyflare fixtures, relative to the rootdir "
        "(default: wrangler.toml, wrangler.jsonc or wrangler.json in the rootdir)",
        default="",
    )
    parser.addini("pyflare_env", "[env.NAME] section the pyflare fixtures use", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pyflare(config=None, env=None, vars=None, migrations=True, clock='virtual'): options "
        "for the pyflare fixtures: the wrangler config (relative to the rootdir), an [env.NAME] "
        "section, [vars] overrides, whether to apply D1 migrations, and the clock ('real' for "
        "tests that wait in real time)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        used = item.stash.get(_USED, None)
        if used is not None:
            try:
                report.sections.append(("pyflare: queues and emulator log", _describe(used)))
                report.sections.extend(_binding_sections(used))
            except Exception as exc:  # a report must never hide the test's own failure
                report.sections.append(("pyflare", f"(could not describe the runtime: {exc!r})"))
    return report


# -- options -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PyflareOptions:
    """What a test's runtime is built from: marker options over ini options over defaults."""

    config: Path
    env: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    migrations: bool = True
    clock: Literal["virtual", "real"] = "virtual"

    @classmethod
    def for_request(cls, request: pytest.FixtureRequest) -> PyflareOptions:
        """Merge the `pyflare` markers on the test (closest wins) with the ini options."""
        options: dict[str, Any] = {}
        merged_vars: dict[str, Any] = {}
        for mark in reversed(list(request.node.iter_markers("pyflare"))):
            if len(mark.args) > 1:
                pytest.fail(
                    "@pytest.mark.pyflare takes at most one positional argument (config)",
                    pytrace=False,
                )
            if mark.args:
                options["config"] = mark.args[0]
            unknown = set(mark.kwargs) - _MARKER_KEYS
            if unknown:
                pytest.fail(
                    f"@pytest.mark.pyflare got unknown option(s) {', '.join(sorted(unknown))}; "
                    f"expected {', '.join(sorted(_MARKER_KEYS))}",
                    pytrace=False,
                )
            options.update(mark.kwargs)
            merged_vars.update(mark.kwargs.get("vars") or {})

        ini = request.config
        root = ini.rootpath
        config = options.get("config") or ini.getini("pyflare_config") or None
        if config is None:
            path = _find_config(root)
        else:
            path = Path(config)
            if not path.is_absolute():
                path = root / path
        # A marker's env wins over the ini's pyflare_env, env=None included (no section).
        env = options["env"] if "env" in options else ini.getini("pyflare_env")
        clock = options.get("clock", "virtual")
        if clock not in _CLOCKS:
            pytest.fail(
                f"@pytest.mark.pyflare(clock={clock!r}): expected 'virtual' or 'real'",
                pytrace=False,
            )
        return cls(
            config=path,
            env=env or None,
            vars=merged_vars,
            migrations=bool(options.get("migrations", True)),
            clock=clock,
        )


def _find_config(root: Path) -> Path:
    """`wrangler.toml`, `wrangler.jsonc` or `wrangler.json` in the rootdir, else in the nearest
    folder above it, as wrangler looks for one (`cd tests && pytest` makes `tests` the rootdir
    of a project with no pytest config file)."""
    from .config import ConfigError, find_config

    error = None
    for folder in (root, *root.parents):
        try:
            return find_config(folder)
        except ConfigError as exc:
            error = error or exc
    # Outside the `except` block, so the report shows one message, not a chain of exceptions.
    pytest.fail(
        f"pyflare: {error} or a folder above it; name one with @pytest.mark.pyflare(config=...) "
        "or the pyflare_config ini option",
        pytrace=False,
    )


async def _open(options: PyflareOptions) -> Miniflare:
    """Start a runtime for one test; user mistakes fail the test with one clear message."""
    from .check import user_traceback
    from .config import ConfigError
    from .d1 import MigrationError
    from .runtime import Miniflare
    from .worker import WorkerLoadError

    mf = Miniflare(options.config, env=options.env, vars=options.vars, clock=options.clock)
    try:
        await mf.start()
        if options.migrations:
            await mf.apply_migrations()
    except (ConfigError, MigrationError, WorkerLoadError) as exc:
        await mf.close()
        message = f"pyflare: {exc}"
        if isinstance(exc, WorkerLoadError) and (details := user_traceback(exc)):
            message += f"\n{details}"
    except BaseException:
        await mf.close()
        raise
    else:
        return mf
    # Failed outside the `except` block: the report shows this message alone, not pyflare's
    # exceptions chained before it.
    pytest.fail(message, pytrace=False)


@contextlib.contextmanager
def _test_env(mf: Miniflare) -> Iterator[None]:
    """`from workers import env` in the test means this runtime's env while it runs."""
    from .workers.context import pop_test_env, push_test_env

    push_test_env(mf.env)
    try:
        yield
    finally:
        pop_test_env(mf.env)


async def _session(request: pytest.FixtureRequest, options: PyflareOptions) -> AsyncIterator[Any]:
    with _engine_log_level():
        mf = await _open(options)
        request.node.stash[_USED] = _Used(mf, mf.clock.now())
        try:
            with _test_env(mf):
                yield mf
        finally:
            await mf.close()


@contextlib.contextmanager
def _engine_log_level() -> Iterator[None]:
    """Let the engine's debug lines (batches, retries) reach `mf.logs` during a test."""
    logger = logging.getLogger("miniflare_py")
    previous = logger.level
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.setLevel(previous)


# -- the async fixture ---------------------------------------------------------------------------


@pytest.fixture
def pyflare(request: pytest.FixtureRequest) -> Iterator[Miniflare]:
    """A started `Miniflare` on a virtual clock, with in-memory D1 and queues, for async tests.

    Works under anyio (`@pytest.mark.anyio`) and pytest-asyncio (`@pytest.mark.asyncio` or auto
    mode): the runtime is started and closed on the very event loop the test runs on.
    """
    options = PyflareOptions.for_request(request)
    try:
        yield from _on_test_loop(request, _session, {"request": request, "options": options})
    finally:
        _forget(request)


def _on_test_loop(
    request: pytest.FixtureRequest,
    fixture: Callable[..., AsyncIterator[T]],
    kwargs: dict[str, Any],
) -> Iterator[T]:
    """Run the async generator `fixture(**kwargs)` on the event loop that runs the test.

    The fixture itself is synchronous, so that neither plugin tries to run it on a loop of its
    own choosing (pytest-asyncio runs function-scoped async fixtures on a function-scoped loop
    even when the test uses a module-scoped one); instead it finds the test's runner and uses it.
    """
    item = request.node
    asyncio_plugin = sys.modules.get("pytest_asyncio.plugin")
    test_item_class = getattr(asyncio_plugin, "PytestAsyncioFunction", None)
    if test_item_class is not None and isinstance(item, test_item_class):
        # pytest-asyncio >= 1.0 runs the test on the asyncio.Runner of its loop scope, whose
        # fixture it adds to the item's fixtures; older versions use `event_loop`.
        runner_name = f"_{getattr(item, '_loop_scope', None) or 'function'}_scoped_runner"
        if runner_name in item.fixturenames:
            runner: asyncio.Runner = request.getfixturevalue(runner_name)
            yield from _drive(fixture(**kwargs), runner.run)
            return
        if "event_loop" in item.fixturenames:
            loop: asyncio.AbstractEventLoop = request.getfixturevalue("event_loop")
            yield from _drive(fixture(**kwargs), loop.run_until_complete)
            return
    if "anyio_backend" in item.fixturenames:
        from anyio.pytest_plugin import extract_backend_and_options, get_runner

        backend, backend_options = extract_backend_and_options(
            request.getfixturevalue("anyio_backend")
        )
        if backend != "asyncio":
            pytest.fail(
                f"pyflare runs on asyncio, not {backend}: add an `anyio_backend` fixture that "
                'returns "asyncio" to your conftest.py',
                pytrace=False,
            )
        # Holding the runner keeps anyio's loop alive until the runtime is closed.
        with get_runner(backend, backend_options) as anyio_runner:
            yield from anyio_runner.run_asyncgen_fixture(fixture, kwargs)
        return
    pytest.fail(
        "the pyflare fixture needs an async test run by anyio (@pytest.mark.anyio) or "
        "pytest-asyncio (@pytest.mark.asyncio); in a plain `def` test use pyflare_sync",
        pytrace=False,
    )


def _drive(agen: AsyncIterator[T], run: Callable[[Any], Any]) -> Iterator[T]:
    """Set up and tear down an async generator fixture with a `run(coroutine)` function."""
    value = run(_anext(agen))
    yield value
    try:
        run(_anext(agen))
    except StopAsyncIteration:
        return
    raise RuntimeError("pyflare fixture did not stop after one yield")


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


# -- the sync fixture ----------------------------------------------------------------------------


@pytest.fixture
def pyflare_sync(request: pytest.FixtureRequest) -> Iterator[PyflareSync]:
    """`pyflare` for plain `def` tests: the same calls, each run to completion before it returns.

    The runtime lives on a private event loop that turns only during a call, so the virtual
    clock, queues and D1 never change behind the test's back.
    """
    import asyncio

    options = PyflareOptions.for_request(request)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner, _engine_log_level():
        mf = runner.run(_open(options))
        request.node.stash[_USED] = _Used(mf, mf.clock.now())
        try:
            with _test_env(mf):
                yield PyflareSync(mf, runner)
        finally:
            _forget(request)
            runner.run(mf.close())


def _forget(request: pytest.FixtureRequest) -> None:
    # The failure report was made before teardown; drop the runtime so the item does not keep
    # it (and its databases) alive for the rest of the session.
    if _USED in request.node.stash:
        del request.node.stash[_USED]


class PyflareSync:
    """A `Miniflare` driven from synchronous code.

    `fetch`, `drain`, `advance` and `scheduled` block until done; `env`, `d1`, `queues` and `clock`
    are `SyncProxy` views whose async methods block too, e.g.
    `pyflare_sync.env.DB.prepare("SELECT 1").first()`. `run(awaitable)` runs anything else.
    """

    def __init__(self, mf: Miniflare, runner: asyncio.Runner) -> None:
        self.mf = mf
        self._runner = runner

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run `awaitable` on the runtime's loop and return its result."""
        return self._runner.run(_await(awaitable))

    def fetch(
        self,
        url: str = "/",
        method: str = "GET",
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
        json: Any = None,
    ) -> SyncResponse:
        """`Miniflare.fetch`, returning a response whose `json()` and `text()` are plain calls."""
        return SyncResponse(self.run(self.mf.fetch(url, method, headers, body, json)), self.run)

    def drain(self) -> None:
        """Deliver queued messages until the queues are idle (virtual time jumps ahead)."""
        self.run(self.mf.queues.drain())

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward and run what became due."""
        self.run(self.mf.clock.advance(seconds))  # type: ignore[attr-defined]

    def scheduled(self, cron: str = "* * * * *", scheduled_time: float | None = None) -> Any:
        """Run the `scheduled` handler once; returns `{"outcome", "error", "noRetry"}`."""
        return self.run(self.mf.scheduled(cron, scheduled_time))

    @property
    def env(self) -> Any:
        """The worker's `env`, with blocking binding calls."""
        return SyncProxy(self.mf.env, self.run)

    @property
    def d1(self) -> dict[str, Any]:
        """The D1 databases by binding name, with blocking calls."""
        return {name: SyncProxy(db, self.run) for name, db in self.mf.d1.items()}

    @property
    def queues(self) -> Any:
        """`mf.queues`, with blocking `drain()` and `deliver()`."""
        return SyncProxy(self.mf.queues, self.run)

    @property
    def clock(self) -> Any:
        """The virtual clock, with a blocking `advance()`."""
        return SyncProxy(self.mf.clock, self.run)

    @property
    def config(self) -> Any:
        return self.mf.config

    @property
    def logs(self) -> list[str]:
        return self.mf.logs

    def __repr__(self) -> str:
        return f"<PyflareSync {self.mf.config.path}>"


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class SyncResponse:
    """A `workers.Response` whose body readers are plain calls."""

    def __init__(self, response: Response, run: Callable[[Awaitable[Any]], Any]) -> None:
        self.raw = response
        self._run = run

    @property
    def status(self) -> int:
        return self.raw.status

    @property
    def ok(self) -> bool:
        return self.raw.ok

    @property
    def headers(self) -> HeaderMessage:
        return self.raw.headers

    @property
    def body(self) -> Any:
        return self.raw.body

    @property
    def status_text(self) -> str:
        return self.raw.status_text

    def json(self) -> Any:
        """The body parsed as JSON (plain dicts and lists, as the SDK's `json()` gives)."""
        return self._run(self.raw.json())

    def text(self) -> str:
        return self._run(self.raw.text())

    def bytes(self) -> bytes:
        return self._run(self.raw.bytes())

    def __repr__(self) -> str:
        return repr(self.raw)


_PLAIN = (str, bytes, bytearray, int, float, complex, type(None), dict, list, tuple, set, frozenset)
_PLAIN += (datetime, date, Path)


class SyncProxy:
    """Wraps an engine object for synchronous code: a call that returns an awaitable is run to
    completion, and objects it hands back (other than plain data) are wrapped in turn."""

    __slots__ = ("_run", "_target")

    def __init__(self, target: Any, run: Callable[[Awaitable[Any]], Any]) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_run", run)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, _PLAIN) or inspect.isawaitable(value):
            return value
        return SyncProxy(value, self._run)

    def __getattr__(self, name: str) -> Any:
        return self._wrap(getattr(self._target, name))

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, _unwrap(value))

    def __getitem__(self, key: Any) -> Any:
        return self._wrap(self._target[key])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self._target(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        if inspect.isawaitable(result):
            return self._run(result)
        return self._wrap(result)

    def __iter__(self) -> Iterator[Any]:
        return (self._wrap(value) for value in self._target)

    def __len__(self) -> int:
        return len(self._target)

    def __contains__(self, value: object) -> bool:
        return value in self._target

    def __bool__(self) -> bool:
        return bool(self._target)

    def __repr__(self) -> str:
        return f"SyncProxy({self._target!r})"


def _unwrap(value: Any) -> Any:
    if isinstance(value, SyncProxy):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v) for v in value)
    return value


# -- failure report ------------------------------------------------------------------------------


def _binding_sections(used: _Used) -> list[tuple[str, str]]:
    """Sections bindings add to the report (`failure_report()`: the Workers AI calls, ...)."""
    sections = []
    for name, instance in used.mf.bindings.items():
        describe = getattr(instance, "failure_report", None)
        lines = describe() if describe is not None else None
        if lines:
            sections.append((f"pyflare: {name}", "\n".join(lines)))
    return sections


def _describe(used: _Used) -> str:
    """Queue stats and the last emulator log lines, for the report of a failed test."""
    mf = used.mf
    lines: list[str] = []
    elapsed = mf.clock.now() - used.started_at
    stats = {name: dict(s) for name, s in mf.queues.stats().items()}
    if stats:
        width = max(len("queue"), *(len(name) for name in stats))
        header = "  ".join([f"{'queue':<{width}}", *(f"{c:>{len(c)}}" for c in _STATS_COLUMNS)])
        lines.append(f"queues (virtual clock +{elapsed:g}s since start):")
        lines.append("  " + header)
        for name, s in stats.items():
            cells = [f"{name:<{width}}", *(f"{s.get(c, 0):>{len(c)}}" for c in _STATS_COLUMNS)]
            lines.append("  " + "  ".join(cells))
    else:
        lines.append(f"no queues (virtual clock +{elapsed:g}s since start)")
    logs = mf.logs
    shown = logs[-_REPORT_LOG_LINES:]
    if shown:
        lines.append("")
        of = f" of {len(logs)}" if len(shown) < len(logs) else ""
        lines.append(f"last {len(shown)}{of} emulator log lines:")
        lines.extend(f"  {line}" for line in shown)
    else:
        lines.append("the emulator logged nothing")
    return "\n".join(lines)
