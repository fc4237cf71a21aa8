"""`workers.rpc`: pyflare's binding classes behave as the SDK's wrapped bindings, foreign
objects are wrapped as the SDK wraps them, and values convert as over Workers RPC."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from miniflare_py.d1 import D1Database
from miniflare_py.workers import JsDict, Response, js, python_from_rpc, python_to_rpc
from miniflare_py.workers.context import current_event, pop_test_env, push_test_env
from miniflare_py.workers.jsobject import JsArray, JsObject, JsProxy, js_class, jsnull
from miniflare_py.workers.rpc import (
    _BindingWrapper,
    _EnvWrapper,
    _FetcherWrapper,
    _RpcStubWrapper,
    env,
)
from miniflare_py.workers.utils import patch_env

pytestmark = pytest.mark.anyio


class KvNamespace(_BindingWrapper):
    """A stand-in for a future KV binding: only the class-level name is needed."""

    _js_name = "KvNamespace"

    async def get(self, key: str) -> str:
        return f"value of {key}"


# pyflare's own binding classes


def test_a_binding_class_gets_the_sdks_errors_from_its_js_name() -> None:
    kv = KvNamespace()
    with pytest.raises(TypeError, match=r"KvNamespace.*is not iterable"):
        for _ in kv:
            pass
    with pytest.raises(TypeError, match=r"KvNamespace.*has no len"):
        len(kv)
    with pytest.raises(AttributeError, match="'KvNamespace' object has no attribute 'nope'"):
        kv.nope  # noqa: B018
    assert bool(kv) and not callable(kv)
    assert kv.constructor.name == "KvNamespace" and isinstance(kv, _BindingWrapper)


async def test_a_binding_class_is_called_directly() -> None:
    kv = KvNamespace()
    assert kv.get.__self__ is kv  # a plain bound method: no wrapping per call
    assert await kv.get("k") == "value of k"


def test_d1_classes_are_binding_wrappers_not_stubs() -> None:
    db = D1Database()
    try:
        statement = db.prepare("SELECT 1")
        bound = statement.bind(1)
        session = db.withSession()
        for value, name in (
            (db, "D1Database"),
            (statement, "D1PreparedStatement"),
            (bound, "D1PreparedStatement"),
            (session, "D1DatabaseSession"),
        ):
            assert isinstance(value, _BindingWrapper) and not isinstance(value, _RpcStubWrapper)
            assert not callable(value) and value.constructor.name == name
    finally:
        db.close()


async def test_d1_errors_are_js_exceptions() -> None:
    from miniflare_py.workers.pyodide.ffi import JsException

    db = D1Database()
    try:
        with pytest.raises(JsException, match="syntax error"):
            await db.prepare("SELEC 1").all()
    finally:
        db.close()


# wrapping foreign objects, as the SDK does


@js_class("FakeBinding")
class FakeBinding(JsProxy):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.length = 2

    def echo(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return JsObject(args=JsArray(args), nothing=jsnull, nested=FakeBinding())

    async def later(self) -> Any:
        return JsObject(done=True)

    def __iter__(self) -> Any:
        return iter([JsObject(i=1), JsObject(i=2)])


async def test_a_wrapped_object_converts_arguments_and_results() -> None:
    binding = FakeBinding()
    wrapped = _BindingWrapper(binding)
    result = wrapped.echo(None, {"a": None}, when=datetime.datetime(2026, 1, 1))
    args, kwargs = binding.calls[0]
    assert args[0] is jsnull and args[1].a is jsnull and isinstance(args[1], JsObject)
    assert kwargs["when"].constructor.name == "Date"
    assert type(result) is JsDict and result["nothing"] is None
    assert result["args"] == [None, {"a": None}]
    assert isinstance(result["nested"], FakeBinding)  # python_from_rpc leaves JS objects
    assert await wrapped.later() == {"done": True}
    assert [item["i"] for item in wrapped] == [1, 2]
    assert len(wrapped) == 2 and wrapped.constructor.name == "FakeBinding"


def test_a_wrapped_callable_is_an_rpc_stub() -> None:
    stub = _RpcStubWrapper(js.Object.new)
    assert callable(stub)
    with pytest.raises(TypeError, match="not callable"):
        _RpcStubWrapper.__call__(KvNamespace())  # type: ignore[arg-type]


async def test_a_fetcher_subclass_implements_fetch_request() -> None:
    class Assets(_FetcherWrapper):
        _js_name = "Fetcher"

        async def _fetch_request(self, request: Any) -> Any:
            return js.Response.new(f"{request.method} {request.url}", status=200)

    response = await Assets().fetch("https://assets.local/a.txt", method="HEAD")
    assert isinstance(response, Response) and await response.text() == (
        "HEAD https://assets.local/a.txt"
    )


def test_env_wrapper_wraps_js_bindings_by_class_name() -> None:
    @js_class("R2Bucket")
    class Bucket(JsProxy):
        pass

    @js_class("Fetcher")
    class Service(JsProxy):
        pass

    class Env:
        DB = KvNamespace()
        BUCKET = Bucket()
        SERVICE = Service()
        NAME = "x"

    wrapped = _EnvWrapper(Env())
    assert wrapped.DB is Env.DB and wrapped.NAME == "x"
    assert type(wrapped.BUCKET) is _BindingWrapper and type(wrapped.SERVICE) is _FetcherWrapper


# conversions


def test_python_to_rpc() -> None:
    assert python_to_rpc(None) is jsnull
    value = python_to_rpc({"a": [1, None], "b": None})
    assert isinstance(value, JsObject) and value.a == [1, jsnull] and value.b is jsnull
    assert python_to_rpc(Response("x")).constructor.name == "Response"
    assert python_to_rpc(ValueError("bad")).toString() == "Error: bad"
    kv = KvNamespace()
    assert python_to_rpc(kv) is kv


@pytest.mark.parametrize("value", [(1, 2), bytearray(b"x"), {"a": (1,)}])
def test_values_rpc_cannot_carry_are_type_errors(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot be sent over RPC"):
        python_to_rpc(value)


async def test_an_awaitable_cannot_be_sent() -> None:
    async def nothing() -> None:
        pass

    coroutine = nothing()
    with pytest.raises(TypeError, match="Awaitable"):
        python_to_rpc(coroutine)
    await coroutine


def test_python_from_rpc() -> None:
    assert python_from_rpc(jsnull) is None
    assert python_from_rpc("plain") == "plain"
    result = python_from_rpc(js.JSON.parse('{"a": {"b": null}, "c": [1]}'))
    assert type(result) is JsDict and result.a.b is None and result.c == [1]
    assert bytes(python_from_rpc(js.Uint8Array.new(b"ab").buffer)) == b"ab"
    assert python_from_rpc(js.Date.new(0)) == datetime.datetime.fromtimestamp(0)
    assert isinstance(python_from_rpc(js.Response.new("x")), Response)
    kv = KvNamespace()
    assert python_from_rpc(kv) is kv


# the module-level env


def test_env_outside_a_worker_or_test_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="only available while a worker runs"):
        env.ANYTHING  # noqa: B018


def test_env_follows_the_running_worker_then_the_test() -> None:
    class Env:
        NAME = "test"

    class Worker:
        NAME = "worker"

    test_env = Env()
    push_test_env(test_env)
    try:
        assert env.NAME == "test"
        token = current_event.set((Worker(), None))
        try:
            assert env.NAME == "worker"
        finally:
            current_event.reset(token)
        with patch_env(NAME="patched", EXTRA=1):
            assert (env.NAME, env.EXTRA) == ("patched", 1)
        assert env.NAME == "test"
    finally:
        pop_test_env(test_env)


def test_wait_until_needs_a_running_handler() -> None:
    from miniflare_py.workers import wait_until

    async def work() -> None:
        pass

    coroutine = work()
    with pytest.raises(RuntimeError, match="only be called while a worker handler runs"):
        wait_until(coroutine)
    coroutine.close()

    received = []

    class Ctx:
        def waitUntil(self, awaitable: Any) -> None:
            received.append(awaitable)

    token = current_event.set((None, Ctx()))
    try:
        coroutine = work()
        wait_until(coroutine)
        assert received == [coroutine]
        coroutine.close()
    finally:
        current_event.reset(token)
