"""`pyodide.ffi` as a Python Worker imports it: conversions between Python and the (emulated)
JavaScript values, proxies, `jsnull`, `JsException`, and `run_sync`.

Libraries that detect Pyodide by importing this module take their Pyodide path, so every name
Pyodide 0.28 exports is here. `run_sync` cannot suspend the WebAssembly stack as Pyodide does
(CPython has no JSPI); see its docstring for what it does instead.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ..context import current_loop
from ..jsbuffer import JsBuffer, TypedArray, Uint8Array
from ..jsobject import JsArray, JsException, JsNull, JsProxy, js_class, jsnull

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "IN_BROWSER",
    "ConversionError",
    "JsArray",
    "JsAsyncGenerator",
    "JsAsyncIterable",
    "JsAsyncIterator",
    "JsBuffer",
    "JsCallable",
    "JsCallableDoubleProxy",
    "JsDomElement",
    "JsDoubleProxy",
    "JsException",
    "JsFetchResponse",
    "JsGenerator",
    "JsIterable",
    "JsIterator",
    "JsMap",
    "JsMutableMap",
    "JsNull",
    "JsOnceCallable",
    "JsPromise",
    "JsProxy",
    "JsTypedArray",
    "JsWeakRef",
    "ToJsConverter",
    "can_run_sync",
    "create_once_callable",
    "create_proxy",
    "destroy_proxies",
    "jsnull",
    "register_js_module",
    "run_sync",
    "to_js",
    "unregister_js_module",
]

T = TypeVar("T")

#: Not a browser: libraries that branch on it keep their CPython code paths (real sockets).
IN_BROWSER = False


class ConversionError(Exception):
    """A value could not be converted between Python and JavaScript."""


# Type names Pyodide exports for isinstance checks and annotations. The emulated values subclass
# the ones that apply (a typed array is a JsBuffer, an array a JsArray ...).
class JsIterable(JsProxy):
    __slots__ = ()


class JsIterator(JsProxy):
    __slots__ = ()


class JsAsyncIterable(JsProxy):
    __slots__ = ()


class JsAsyncIterator(JsProxy):
    __slots__ = ()


class JsGenerator(JsIterable):
    __slots__ = ()


class JsAsyncGenerator(JsAsyncIterable):
    __slots__ = ()


class JsPromise(JsProxy):
    __slots__ = ()


class JsCallable(JsProxy):
    __slots__ = ()


class JsOnceCallable(JsCallable):
    __slots__ = ()


class JsWeakRef(JsProxy):
    __slots__ = ()


class JsDomElement(JsProxy):
    __slots__ = ()


class JsFetchResponse(JsProxy):
    __slots__ = ()


JsTypedArray = TypedArray


@js_class("Map")
class JsMap(dict, JsProxy):  # type: ignore[type-arg]
    """A JavaScript `Map` (what `to_js(dict)` gives without a `dict_converter`)."""

    __slots__ = ()

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, default)

    def set(self, key: Any, value: Any) -> JsMap:
        self[key] = value
        return self

    def has(self, key: Any) -> bool:
        return key in self

    def delete(self, key: Any) -> bool:
        return self.pop(key, _MISSING) is not _MISSING

    @property
    def size(self) -> int:
        return len(self)

    def _to_py(self) -> dict[Any, Any]:
        return dict(self)


JsMutableMap = JsMap
_MISSING = object()


class JsDoubleProxy(JsProxy):
    """A Python object handed to JavaScript (`create_proxy`): calls and attributes reach it;
    `destroy()` releases it, `getBuffer()` exposes a buffer's bytes."""

    __slots__ = ("_destroyed", "_target")

    def __init__(self, target: Any) -> None:
        self._target = target
        self._destroyed = False

    def unwrap(self) -> Any:
        return self._target

    def destroy(self) -> None:
        self._destroyed = True

    def copy(self) -> JsDoubleProxy:
        return JsDoubleProxy(self._target)

    def getBuffer(self, type: str | None = None) -> _PyBuffer:
        return _PyBuffer(Uint8Array(bytes(memoryview(self._target))))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def __await__(self) -> Any:
        return _awaitable(self._target).__await__()

    def __repr__(self) -> str:
        return f"PyProxy({self._target!r})"


JsCallableDoubleProxy = JsDoubleProxy


class _PyBuffer:
    """What `proxy.getBuffer()` returns: `.data` (a typed array) and `.release()`."""

    def __init__(self, data: Uint8Array) -> None:
        self.data = data

    def release(self) -> None:
        pass


class ToJsConverter(Protocol):
    def __call__(self, value: Any, convert: Callable[[Any], Any], cache: Any) -> Any: ...


def create_proxy(obj: Any, /, *, capture_this: bool = False, roundtrip: bool = True) -> Any:
    """Hand `obj` to JavaScript by reference (here: a thin wrapper with `destroy()`)."""
    return JsDoubleProxy(obj)


def create_once_callable(obj: Callable[..., T], /, *, _may_syncify: bool = False) -> Any:
    """A JavaScript function that calls `obj` once."""
    return JsDoubleProxy(obj)


def destroy_proxies(pyproxies: Any, /) -> None:
    """Destroy every proxy in `pyproxies`."""
    for proxy in pyproxies or ():
        destroy = getattr(proxy, "destroy", None)
        if destroy is not None:
            destroy()


def to_js(
    obj: Any,
    /,
    *,
    depth: int = -1,
    pyproxies: Any = None,
    create_pyproxies: bool = True,
    dict_converter: Callable[[Iterable[Any]], Any] | None = None,
    default_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None = None,
    eager_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None = None,
) -> Any:
    """Convert `obj` to a JavaScript value, as Pyodide does: a dict becomes a `Map` (or what
    `dict_converter` makes of its entries, e.g. `js.Object.fromEntries`), a list or tuple an
    `Array`, bytes a `Uint8Array` (whose `.buffer` is an `ArrayBuffer`); str, numbers, bools,
    None and JS values stay as they are; other objects are passed by reference."""
    return _ToJs(
        pyproxies, create_pyproxies, dict_converter, default_converter, eager_converter
    ).convert(obj, depth)


class _ToJs:
    """One `to_js` call's options and cache. A class rather than a nested recursive function:
    a closure that calls itself is a reference cycle, garbage only the collector frees, and
    `to_js` runs on hot paths."""

    __slots__ = ("cache", "create_pyproxies", "default", "dict_converter", "eager", "pyproxies")

    def __init__(
        self,
        pyproxies: Any,
        create_pyproxies: bool,
        dict_converter: Callable[[Iterable[Any]], Any] | None,
        default_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None,
        eager_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None,
    ) -> None:
        self.pyproxies = pyproxies
        self.create_pyproxies = create_pyproxies
        self.dict_converter = dict_converter
        self.default = default_converter
        self.eager = eager_converter
        self.cache: dict[int, Any] = {}

    def convert(self, value: Any, level: int) -> Any:
        if type(value) in _PRIMITIVES or value is None:
            return value
        if self.eager is not None and not isinstance(value, JsProxy):
            return self.eager(value, lambda v: self.convert(v, level - 1), self.cache)
        if isinstance(value, (str, int, float, JsProxy, JsNull)) or level == 0:
            return value
        cache = self.cache
        if id(value) in cache:
            return cache[id(value)]
        convert = self.convert
        if isinstance(value, dict):
            # Pairs for the converter (Pyodide hands it [key, value] arrays; any pair works).
            entries = [(convert(k, level - 1), convert(v, level - 1)) for k, v in value.items()]
            converter = self.dict_converter
            result = converter(entries) if converter is not None else JsMap(entries)
            cache[id(value)] = result
            return result
        if isinstance(value, (list, tuple)):
            array = JsArray()
            cache[id(value)] = array
            array.extend([convert(v, level - 1) for v in value])
            return array
        if isinstance(value, (set, frozenset)):
            return _JsSet([convert(v, level - 1) for v in value])
        if isinstance(value, (bytes, bytearray, memoryview)):
            return Uint8Array(bytes(value))
        if self.default is not None:
            return self.default(value, lambda v: self.convert(v, level - 1), cache)
        if not self.create_pyproxies:
            raise ConversionError(f"Cannot convert {value!r} to JavaScript")
        proxy = JsDoubleProxy(value)
        if self.pyproxies is not None:
            self.pyproxies.append(proxy)
        return value if callable(value) else proxy


@js_class("Set")
class _JsSet(set, JsProxy):  # type: ignore[type-arg]
    __slots__ = ()

    def has(self, value: Any) -> bool:
        return value in self

    @property
    def size(self) -> int:
        return len(self)


def _awaitable(value: Any) -> Awaitable[Any]:
    if isinstance(value, JsDoubleProxy):
        value = value._target
    if inspect.isawaitable(value):
        return value
    raise TypeError(f"run_sync expects an awaitable, got {type(value).__name__}")


_PRIMITIVES = frozenset({str, int, float, bool})
_helper_lock = threading.Lock()
_helper: ThreadPoolExecutor | None = None


def _helper_pool() -> ThreadPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            from concurrent.futures import ThreadPoolExecutor

            _helper = ThreadPoolExecutor(1, "pyflare-run-sync")
        return _helper


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_sync(x: Awaitable[T], /) -> T:
    """Block until the awaitable `x` is done and return its result (Pyodide's JSPI `run_sync`).

    CPython cannot suspend the running stack, so:
    - in a thread the worker started (a WSGI app, such as Django or Flask, runs in one), `x`
      runs on the worker's event loop and this thread waits: bindings work as usual;
    - on the event loop's own thread, `x` runs to completion on a private loop in a helper
      thread (awaitables that wait on the worker's loop itself cannot finish there);
    - with no loop at all, on a new loop in this thread.
    """
    awaitable = _awaitable(x)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    home = current_loop.get()
    if running is None and home is not None and home.is_running():
        return cast(T, asyncio.run_coroutine_threadsafe(_await(awaitable), home).result())
    if running is None:
        return cast(T, asyncio.run(_await(awaitable)))
    future = _helper_pool().submit(asyncio.run, _await(awaitable))
    return cast(T, future.result())


def can_run_sync() -> bool:
    """Whether `run_sync` can be used here (always, in pyflare)."""
    return True


def register_js_module(name: str, jsproxy: Any) -> None:
    """Make `jsproxy` importable as the module `name` (its attributes are the module's)."""
    import sys
    import types

    class _JsModule(types.ModuleType):
        def __getattr__(self, attr: str) -> Any:
            return getattr(jsproxy, attr)

    sys.modules[name] = _JsModule(name)


def unregister_js_module(name: str) -> None:
    """Undo `register_js_module(name, ...)`."""
    import sys

    sys.modules.pop(name, None)
