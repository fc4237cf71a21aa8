"""Import a user's worker module, find its entry points and call them.

A worker is either class-based (`class Default(WorkerEntrypoint)` with `fetch`, `queue`,
`scheduled` methods) or uses the older module-level `on_fetch`, `on_queue`, `on_scheduled`
functions. Handlers are called with as many of `(event, env, ctx)` as they accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .tracebacks import format_user_exception
from .workers import shims
from .workers.context import current_event
from .workers.jshttp import JsResponse
from .workers.response import Response

__all__ = ["Env", "ExecutionContext", "Worker", "WorkerLoadError", "load_worker"]

EVENTS = ("fetch", "queue", "scheduled")


class WorkerLoadError(Exception):
    """The worker module could not be imported, or defines no usable entry point."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details or message


class Env:
    """The `env` a worker receives: vars, secrets and bindings as attributes.

    `env.DB`, `env["DB"]`, `getattr(env, "X", None)` and `"X" in env` all work.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)

    def __getitem__(self, name: str) -> Any:
        return self.__dict__[name]

    def __contains__(self, name: object) -> bool:
        return name in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def get(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    def __repr__(self) -> str:
        return f"Env({', '.join(self.__dict__)})"


class ExecutionContext:
    """The `ctx` of an event: `waitUntil()` keeps background work alive past the response."""

    def __init__(self, spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]]) -> None:
        self._spawn = spawn
        self.props: dict[str, Any] = {}

    def waitUntil(self, awaitable: Awaitable[Any]) -> None:
        """Run `awaitable` in the background; the runtime awaits it before it closes."""
        unwrap = getattr(awaitable, "unwrap", None)  # a pyodide.ffi.create_proxy() of a task
        if unwrap is not None and callable(unwrap):
            awaitable = unwrap()
        self._spawn(awaitable)

    wait_until = waitUntil

    def passThroughOnException(self) -> None:
        """Accepted for compatibility; there is no origin to pass through to locally."""

    pass_through_on_exception = passThroughOnException


def _arity(func: Callable[..., Any]) -> int:
    """How many positional arguments `func` accepts (a large number for `*args`)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 4
    count = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return 4
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


async def _call(func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    __tracebackhide__ = True  # pytest shows the user's frames, not ours
    result = func(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


class Worker:
    """A loaded worker module and its entry points."""

    def __init__(self, module: Any, path: Path) -> None:
        self.module = module
        self.path = path
        self._class: type | None = None
        self._functions: dict[str, Callable[..., Any]] = {}
        default = getattr(module, "Default", None)
        functions = {
            event: fn for event in EVENTS if callable(fn := getattr(module, f"on_{event}", None))
        }
        if inspect.isclass(default) and functions:
            raise WorkerLoadError(
                f"{path}: Cannot define multiple default entrypoints "
                f"(class Default and {', '.join('on_' + e for e in functions)})"
            )
        if inspect.isclass(default):
            self._class = default
        self._functions = functions
        # How many of (event, env, ctx) each handler takes, worked out once per load.
        self._arity: dict[str, int] = {}
        for event in EVENTS:
            if default is not None and inspect.isclass(default):
                method = getattr(default, event, None)
                if callable(method):
                    self._arity[event] = max(0, _arity(method) - 1)  # minus `self`
            elif event in functions:
                self._arity[event] = _arity(functions[event])
        if not self.handlers:
            raise WorkerLoadError(
                f"{path}: no entry point found: define `class Default(WorkerEntrypoint)` with "
                "fetch/queue/scheduled methods, or `on_fetch`/`on_queue`/`on_scheduled` functions"
            )

    @property
    def handlers(self) -> frozenset[str]:
        """The events this worker handles."""
        if self._class is not None:
            return frozenset(e for e in EVENTS if callable(getattr(self._class, e, None)))
        return frozenset(self._functions)

    def handles(self, event: str) -> bool:
        return event in self.handlers

    async def dispatch(self, event: str, payload: Any, env: Env, ctx: ExecutionContext) -> Any:
        """Call the `event` handler with `(payload, env, ctx)`, trimmed to its arity.

        While it runs, `workers.env` and `workers.wait_until` mean this env and ctx. A `fetch`
        handler may return a JavaScript `Response` (what `asgi.fetch` gives); it comes back as
        a `workers.Response`.
        """
        __tracebackhide__ = True
        token = current_event.set((env, ctx))
        try:
            if self._class is not None:
                instance = self._class(ctx, env)
                handler = getattr(instance, event, None)
            else:
                handler = self._functions.get(event)
            if handler is None:
                raise RuntimeError(f"Handler does not export a {event}() function.")
            result = await _call(handler, (payload, env, ctx)[: self._arity[event]])
        finally:
            current_event.reset(token)
        if event == "fetch" and isinstance(result, JsResponse):
            return Response(result)
        return result


_loaded_modules: dict[Path, set[str]] = {}


def _forget(root: Path) -> None:
    """Drop the modules a previous load imported from `root`, and their bytecode caches.

    The caches go too because a `.pyc` is checked by the source's mtime in whole seconds and
    its size: an edit within the same second that keeps the size would load the old code.
    """
    for name in _loaded_modules.pop(root, set()):
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if module is not None and _is_under(file, root):
            sys.modules.pop(name, None)
        if file and file.endswith(".py"):
            with contextlib.suppress(OSError, ValueError):
                Path(importlib.util.cache_from_source(file)).unlink(missing_ok=True)


def _evict_shadowing(root: Path) -> None:
    """Drop modules another worker folder loaded under a name that `root` also defines, so
    `import helpers` in this worker finds this folder's `helpers.py`."""
    for other, names in _loaded_modules.items():
        if other == root:
            continue
        for name in names:
            top = name.partition(".")[0]
            if (root / f"{top}.py").exists() or (root / top).is_dir():
                module = sys.modules.get(name)
                if module is not None and not _is_under(getattr(module, "__file__", None), root):
                    sys.modules.pop(name, None)


class _MainModuleLoader(importlib.machinery.SourceFileLoader):
    """Loads the worker's main module, compiling each distinct source text once per process.

    A worker is imported afresh for every test of a pytest session and on every reload of
    `pyflare dev`; compiling it is most of that cost. The cache is keyed by the source text
    itself, so an edit (even one that keeps the size and the mtime) is always compiled anew, and
    no bytecode file is written for it.
    """

    _codes: dict[tuple[str, bytes], Any] = {}
    _KEPT = 32

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        source = self.get_data(path)
        key = (path, source)
        code = self._codes.get(key)
        if code is None:
            code = self.source_to_code(source, path)
            if len(self._codes) >= self._KEPT:
                self._codes.pop(next(iter(self._codes)))  # the oldest
            self._codes[key] = code
        return code


def load_worker(main: Path) -> Worker:
    """Import `main` fresh (dropping modules a previous load imported from its folder).

    The module's folder goes first on `sys.path`, as on Cloudflare, so sibling modules import.
    Raises `WorkerLoadError` with the traceback in `details` when the import fails.
    """
    main = main.resolve()
    root = main.parent
    shims.install()
    _forget(root)
    _evict_shadowing(root)
    if str(root) in sys.path:
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))  # first, so this folder's modules win
    importlib.invalidate_caches()
    before = set(sys.modules)
    name = main.stem
    try:
        spec = importlib.util.spec_from_file_location(
            name, main, loader=_MainModuleLoader(name, str(main))
        )
        if spec is None or spec.loader is None:
            raise WorkerLoadError(f"{main}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except WorkerLoadError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        message = f"{main}: failed to import: {type(exc).__name__}: {exc}"
        raise WorkerLoadError(message, f"{message}\n\n{format_user_exception(exc)}") from exc
    finally:
        _loaded_modules[root] = {
            n
            for n in set(sys.modules) - before | {name}
            if _is_under(getattr(sys.modules.get(n), "__file__", None), root) or n == name
        }
    return Worker(module, main)


def _is_under(file: str | None, root: Path) -> bool:
    if not file:
        return False
    try:
        return Path(file).resolve().is_relative_to(root)
    except OSError:
        return False
