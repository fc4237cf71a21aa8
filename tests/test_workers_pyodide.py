"""`pyodide` as a worker sees it: `pyodide.ffi` conversions and proxies, `run_sync`,
`pyodide.http` errors, `pyodide.webloop` futures."""

from __future__ import annotations

import asyncio
import threading

import pytest

from miniflare_py.workers import pyodide
from miniflare_py.workers.context import current_loop
from miniflare_py.workers.pyodide import ffi
from miniflare_py.workers.pyodide.ffi import (
    JsArray,
    JsBuffer,
    JsException,
    JsMap,
    create_proxy,
    destroy_proxies,
    jsnull,
    run_sync,
    to_js,
)
from miniflare_py.workers.pyodide.http import BodyUsedError, HttpStatusError
from miniflare_py.workers.pyodide.webloop import PyodideFuture

pytestmark = pytest.mark.anyio


def test_the_package_and_its_version() -> None:
    assert pyodide.__version__ == "0.28.2"
    assert {"ffi", "http", "webloop"} <= set(pyodide.__all__)
    for name in ffi.__all__:
        assert hasattr(ffi, name), name


def test_to_js_converts_as_pyodide_does() -> None:
    from miniflare_py.workers.js import Object

    as_map = to_js({"a": 1})
    assert isinstance(as_map, JsMap) and as_map.constructor.name == "Map" and as_map.get("a") == 1
    obj = to_js({"a": {"b": [1, (2, 3)]}}, dict_converter=Object.fromEntries)
    assert obj.constructor.name == "Object" and obj.a.b == [1, [2, 3]]
    assert isinstance(obj.a.b, JsArray) and isinstance(obj.a.b[1], JsArray)
    assert obj.to_py() == {"a": {"b": [1, [2, 3]]}}
    for value in ("s", 1, 1.5, True, None, jsnull):
        assert to_js(value) is value


def test_to_js_of_bytes_is_a_uint8_array_with_a_buffer() -> None:
    array = to_js(b"\x00\x01")
    assert isinstance(array, JsBuffer) and array.constructor.name == "Uint8Array"
    assert array.buffer.to_bytes() == b"\x00\x01"
    assert bytes(array.to_py()) == b"\x00\x01"


def test_to_js_converters() -> None:
    seen = []

    def default(value, convert, cache):  # type: ignore[no-untyped-def]
        seen.append(value)
        return "converted"

    class Thing:
        pass

    thing = Thing()
    assert to_js([thing], default_converter=default) == ["converted"] and seen == [thing]
    with pytest.raises(ffi.ConversionError):
        to_js(thing, create_pyproxies=False)
    assert to_js({"a": {"b": 1}}, depth=1, dict_converter=dict) == {"a": {"b": 1}}


def test_jsnull_is_falsy_and_not_none() -> None:
    assert not jsnull and jsnull is not None and repr(jsnull) == "jsnull"
    assert type(jsnull)() is jsnull


def test_js_exception_has_name_and_message() -> None:
    error = JsException("RangeError", "too big")
    assert (error.name, error.message, str(error)) == (
        "RangeError",
        "too big",
        "RangeError: too big",
    )
    assert JsException("plain text").name == "Error"
    assert isinstance(error, Exception)


def test_create_proxy_forwards_and_can_be_destroyed() -> None:
    proxy = create_proxy(lambda x: x * 2)
    assert proxy(21) == 42
    buffer = create_proxy(b"abc").getBuffer()
    assert buffer.data.to_bytes() == b"abc"
    buffer.release()
    destroy_proxies([proxy])
    assert proxy._destroyed


def test_run_sync_without_a_loop() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert run_sync(add(1, 2)) == 3
    assert ffi.can_run_sync()


async def test_run_sync_on_the_loop_runs_elsewhere() -> None:
    async def where() -> int:
        await asyncio.sleep(0)
        return threading.get_ident()

    assert run_sync(where()) != threading.get_ident()


async def test_run_sync_in_a_worker_thread_uses_the_workers_loop() -> None:
    loop = asyncio.get_running_loop()
    main = threading.get_ident()

    async def on_loop() -> int:
        await asyncio.sleep(0)
        return threading.get_ident()

    def in_thread() -> int:
        current_loop.set(loop)
        return run_sync(on_loop())

    assert await asyncio.to_thread(in_thread) == main


def test_run_sync_needs_an_awaitable() -> None:
    with pytest.raises(TypeError, match="expects an awaitable"):
        run_sync(1)  # type: ignore[arg-type]


def test_register_js_module() -> None:
    import sys

    from miniflare_py.workers.jsobject import JsObject

    ffi.register_js_module("my_js_module", JsObject(answer=42))
    try:
        import my_js_module  # type: ignore[import-not-found]

        assert my_js_module.answer == 42
    finally:
        ffi.unregister_js_module("my_js_module")
    assert "my_js_module" not in sys.modules


def test_http_errors() -> None:
    assert str(BodyUsedError()) == "Response body is already used"
    error = HttpStatusError(500, "Boom", "https://x/")
    assert str(error) == "500 Server Error: Boom for url: https://x/" and isinstance(error, OSError)


async def test_pyodide_future_then_catch_finally() -> None:
    future: PyodideFuture = PyodideFuture()
    doubled = future.then(lambda v: v * 2)
    future.set_result(21)
    assert await doubled == 42
    failing: PyodideFuture = PyodideFuture()
    recovered = failing.catch(lambda e: f"caught {e}")
    failing.set_exception(ValueError("x"))
    assert await recovered == "caught x"
    done = []
    settled: PyodideFuture = PyodideFuture()
    after = settled.finally_(lambda: done.append(True))
    settled.set_result(1)
    assert await after == 1 and done == [True]
