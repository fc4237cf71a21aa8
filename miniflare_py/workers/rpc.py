"""`workers.rpc`: binding wrappers and the Python <-> JavaScript conversions of RPC.

On Cloudflare a binding is a JavaScript object and the SDK wraps it in `_BindingWrapper` (or
`_RpcStubWrapper` for a callable stub, `_FetcherWrapper` for anything with `fetch`), which
converts arguments and results on every call. pyflare's bindings are Python objects already, so
they subclass these classes instead and pay nothing per call; they get the SDK's observable
behaviour from one class attribute:

    class D1Database(_BindingWrapper):
        _js_name = "D1Database"          # the JavaScript class name workerd gives the binding

With it, an instance is a `_BindingWrapper` (the SDK's own tests check `isinstance`), is not
callable, is truthy, has `.constructor.name == "D1Database"`, and raises the SDK's errors:
`for _ in env.KV` is `TypeError: 'KvNamespace' object is not iterable`, `len(env.KV)` is
`TypeError: 'KvNamespace' object has no len()`, a missing attribute is
`AttributeError: 'KvNamespace' object has no attribute 'x'`. Objects a binding returns that are
themselves JavaScript classes on Cloudflare (a D1 statement, an R2 object, a KV list cursor) do
the same with their own name (`D1PreparedStatement`, ...). How a future binding plugs in:

- a plain binding (KV `KvNamespace`, R2 `R2Bucket`, Queues `WorkerQueue`, AI `Ai`, ...):
  subclass `_BindingWrapper`, set `_js_name`, write the methods with Cloudflare's names and
  keyword options; accept a trailing options dict, keyword arguments, and None (JS null) alike;
- something called like a function (an RPC method of a Durable Object stub or a service):
  subclass `_RpcStubWrapper` and define `__call__`;
- anything with `fetch()` (static assets `ASSETS`, a service binding, a Durable Object stub):
  subclass `_FetcherWrapper`, set `_js_name` ("Fetcher" for assets and services) and implement
  `async def _fetch_request(self, request) -> Response` taking a JavaScript `Request`
  (`workers.Request(request)` gives the SDK view); `fetch(url, method=..., ...)` with the SDK's
  signature and result type comes from the base class;
- a binding type pyflare does not emulate yet is put in `env` by the binding registry as an
  object whose `__pyflare_unemulated__` is true.

Called with a foreign object (`_BindingWrapper(obj)`), the classes wrap it as the SDK does:
attributes and calls are forwarded, arguments pass `python_to_rpc` and results
`python_from_rpc`.
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from .blob import Blob, File
from .context import bound_env
from .formdata import FormData
from .jsbody import Blob as JsBlob
from .jsbody import File as JsFile
from .jsbody import FormData as JsFormData
from .jsdict import JsDict
from .jshttp import JsRequest, JsResponse
from .jsobject import JsClass, JsObject, JsProxy, jsnull
from .pyodide.ffi import create_proxy, to_js
from .request import Request
from .response import RESPONSE_ACCEPTED_TYPES, Response

__all__ = [
    "JsDict",
    "_BindingWrapper",
    "_EnvWrapper",
    "_FetcherWrapper",
    "_RpcStubWrapper",
    "python_from_rpc",
    "python_to_rpc",
]

_PASSTHROUGH = RESPONSE_ACCEPTED_TYPES | {"Headers"}
_NOT_SET = object()


def _js_name_of(value: Any) -> str | None:
    constructor = getattr(value, "constructor", None)
    return getattr(constructor, "name", None) if constructor is not None else None


# -- conversions --------------------------------------------------------------------------------


def _from_rpc_converter(value: Any, convert: Callable[[Any], Any], cache: Any) -> Any:
    from .jsmisc import JsDate, JsError

    if value is jsnull:
        return None
    if isinstance(value, JsResponse):
        return Response(value)
    if isinstance(value, JsFormData):
        return FormData(value)
    if isinstance(value, JsFile):
        return File(value, value.name)
    if isinstance(value, JsBlob):
        return Blob(value)
    if isinstance(value, JsRequest):
        return Request(value)
    if isinstance(value, JsDate):
        return datetime.datetime.fromtimestamp(value.getTime() / 1000)
    if isinstance(value, JsError):
        return Exception(value.toString())
    return value


def _null_to_none(value: Any) -> Any:
    if value is jsnull:
        return None
    if isinstance(value, dict):
        return JsDict((k, _null_to_none(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_null_to_none(v) for v in value]
    return value


def python_from_rpc(obj: Any) -> Any:
    """A JavaScript value received over RPC as Python: null is None, objects are `JsDict`s,
    arrays lists, an `ArrayBuffer` a memoryview, a `Date` a datetime, a JS `Response`
    (`Request`, `FormData`, `Blob`, `File`) the `workers` class of that name; Python values and
    bindings pass unchanged."""
    if obj is jsnull:
        return None
    if isinstance(obj, _BindingWrapper) or not isinstance(obj, JsProxy):
        return obj
    if obj.constructor.name == "TestController":
        return None
    return _null_to_none(obj.to_py(default_converter=_from_rpc_converter))


def _raise_on_disabled_type(value: Any) -> None:
    if isinstance(value, _BindingWrapper) or (callable(value) and not isinstance(value, type)):
        return
    if _js_name_of(value) == "RegExp":
        raise TypeError("RegExp cannot be sent over RPC.")
    if isinstance(value, (tuple, bytearray)):
        raise TypeError(f"{type(value)} cannot be sent over RPC.")
    if inspect.isawaitable(value):
        raise TypeError(f"Awaitable {type(value)} cannot be sent over RPC.")
    if isinstance(value, dict):
        for item in value.values():
            _raise_on_disabled_type(item)
    elif isinstance(value, (list, set, frozenset)):
        for item in value:
            _raise_on_disabled_type(item)


def _to_rpc_converter(value: Any, convert: Callable[[Any], Any], cache: Any) -> Any:
    from .jsmisc import JsDate, JsError

    if value is None:
        return jsnull
    if isinstance(value, _BindingWrapper):
        return value._binding_or_self()
    js_object = getattr(value, "js_object", None)
    if js_object is not None:
        return js_object
    if isinstance(value, datetime.datetime):
        return JsDate(value.timestamp() * 1000)
    if isinstance(value, Exception):
        return JsError(str(value))
    if callable(value) and not isinstance(value, type):
        return create_proxy(value)
    _raise_on_disabled_type(value)
    return value


def _none_to_null(value: Any) -> Any:
    if value is None:
        return jsnull
    if isinstance(value, dict):
        return {k: _none_to_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_none_to_null(v) for v in value]
    return value


def _object_from_entries(entries: Any) -> JsObject:
    return JsObject((k, v) for k, v in entries)


def python_to_rpc(value: Any) -> Any:
    """A Python value as JavaScript gets it over RPC: None is null, a dict a plain object, a
    list an array, a datetime a `Date`, an exception an `Error`, a `workers.Response` (or any
    value with `js_object`) its JavaScript object, a callable a proxy. Tuples, bytearrays,
    awaitables and RegExps raise `TypeError: ... cannot be sent over RPC.`"""
    if value is None:
        return jsnull
    if isinstance(value, _BindingWrapper):
        return value._binding_or_self()
    value = _none_to_null(value)
    _raise_on_disabled_type(value)
    return to_js(value, default_converter=_to_rpc_converter, dict_converter=_object_from_entries)


# -- binding wrappers ---------------------------------------------------------------------------


class _BindingWrapper:
    """A binding, or an object a binding returned (see the module docstring)."""

    #: The JavaScript class name; set by pyflare's binding classes.
    _js_name: ClassVar[str] = ""
    _js_class: ClassVar[JsClass] = JsClass("Object")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_js_name"):
            cls._js_class = JsClass(cls._js_name, cls)

    def __init__(self, binding: Any = _NOT_SET) -> None:
        if binding is self or binding is _NOT_SET:
            return  # pyflare's own binding: nothing to forward to
        self._binding = binding

    def _forwarded(self) -> Any:
        """The wrapped foreign object, or _NOT_SET for pyflare's own binding classes."""
        try:
            return object.__getattribute__(self, "_binding")
        except AttributeError:
            return _NOT_SET

    def _binding_or_self(self) -> Any:
        binding = self._forwarded()
        return self if binding is _NOT_SET else binding

    @property
    def constructor(self) -> Any:
        binding = self._forwarded()
        if binding is _NOT_SET:
            return self._js_class
        return getattr(binding, "constructor", None) or self._js_class

    @property
    def _real_name(self) -> str:
        binding = self._forwarded()
        if binding is _NOT_SET:
            return self._js_name or type(self).__name__
        return _js_name_of(binding) or type(self).__name__

    # forwarding (only for wrapped foreign objects)

    def _wrap_js_value(self, value: Any) -> Any:
        name = _js_name_of(value)
        if not isinstance(value, JsProxy) or not name or name in _PASSTHROUGH:
            return value
        if callable(value):
            return _RpcStubWrapper(value)
        return type(self)(value) if type(self) is _BindingWrapper else _BindingWrapper(value)

    def _convert_result(self, result: Any) -> Any:
        converted = python_from_rpc(result)
        if isinstance(converted, list):
            return [self._wrap_js_value(item) for item in converted]
        return self._wrap_js_value(converted)

    def _invoke(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = fn(
            *[python_to_rpc(a) for a in args], **{k: python_to_rpc(v) for k, v in kwargs.items()}
        )
        if inspect.isawaitable(result):

            async def settle() -> Any:
                return self._convert_result(await result)

            return settle()
        return self._convert_result(result)

    def __getattr__(self, name: str) -> Any:
        binding = self._forwarded()
        if binding is _NOT_SET or name.startswith("__"):
            raise AttributeError(f"'{self._real_name}' object has no attribute '{name}'")
        attr = getattr(binding, name)
        if not callable(attr):
            return self._convert_result(attr)

        def method(*args: Any, **kwargs: Any) -> Any:
            return self._invoke(attr, args, kwargs)

        return method

    def __getitem__(self, key: Any) -> Any:
        binding = self._forwarded()
        if isinstance(key, int) and binding is not _NOT_SET:
            return self._convert_result(binding[key])
        return getattr(self, key)

    def __iter__(self) -> Iterator[Any]:
        binding = self._forwarded()
        if binding is _NOT_SET or not hasattr(binding, "__iter__"):
            raise TypeError(f"'{self._real_name}' object is not iterable")
        return (self._convert_result(item) for item in binding)

    def __len__(self) -> int:
        binding = self._forwarded()
        length = None if binding is _NOT_SET else getattr(binding, "length", None)
        if not isinstance(length, int):
            raise TypeError(f"'{self._real_name}' object has no len()")
        return length

    def __bool__(self) -> bool:
        return self._forwarded() is not None


class _RpcStubWrapper(_BindingWrapper):
    """A function or RPC target received over RPC: calling it calls the remote side."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        binding = self._forwarded()
        if binding is _NOT_SET:
            raise TypeError(f"'{self._real_name}' object is not callable")
        return self._invoke(binding, args, kwargs)


class _FetcherWrapper(_BindingWrapper):
    """A binding with `fetch()`: a service, static assets, a Durable Object stub."""

    _js_name: ClassVar[str] = ""

    async def _fetch_request(self, request: JsRequest) -> Any:
        """Answer `request` (pyflare's fetcher bindings implement this)."""
        binding = self._forwarded()
        if binding is _NOT_SET:
            raise NotImplementedError(f"{type(self).__name__} must implement _fetch_request")
        result = binding.fetch(request)
        return await result if inspect.isawaitable(result) else result

    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        """`await binding.fetch(url_or_request, method=..., headers=..., body=...)`: a
        `workers.Response`, as `workers.fetch` gives."""
        from .fetch import fetch

        return fetch(*args, fetcher=self._fetch_request, **kwargs)


class _DurableObjectNamespaceWrapper:
    """A Durable Object namespace from JavaScript: `get()` gives a fetcher-wrapped stub."""

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    def __getattr__(self, name: str) -> Any:
        return getattr(self._binding, name)

    def get(self, *args: Any, **kwargs: Any) -> _FetcherWrapper:
        return _FetcherWrapper(self._binding.get(*args, **kwargs))

    def getByName(self, *args: Any, **kwargs: Any) -> _FetcherWrapper:
        return _FetcherWrapper(self._binding.getByName(*args, **kwargs))

    def jurisdiction(self, *args: Any, **kwargs: Any) -> _DurableObjectNamespaceWrapper:
        return _DurableObjectNamespaceWrapper(self._binding.jurisdiction(*args, **kwargs))


class _EnvWrapper:
    """An `env` whose JavaScript bindings are wrapped as the SDK wraps them (pyflare's own
    bindings are wrapper classes already and pass unchanged)."""

    _BINDING_TYPES = frozenset(
        {
            "KvNamespace",
            "R2Bucket",
            "D1Database",
            "WorkerQueue",
            "Ai",
            "VectorizeIndexImpl",
            "AnalyticsEngine",
            "AnalyticsEngineDataset",
            "LocalAnalyticsEngineDataset",
            "ImagesBindingImpl",
            "HostedImagesBindingImpl",
            "Ratelimit",
        }
    )

    def __init__(self, env: Any) -> None:
        if env is self:
            return
        self._env = env

    def _target(self) -> Any:
        return self._env

    def _wrap(self, binding: Any) -> Any:
        if isinstance(binding, _BindingWrapper) or not isinstance(binding, JsProxy):
            return binding
        name = _js_name_of(binding)
        if name == "Fetcher":
            return _FetcherWrapper(binding)
        if name == "DurableObjectNamespace":
            return _DurableObjectNamespaceWrapper(binding)
        if name in self._BINDING_TYPES:
            return _BindingWrapper(binding)
        return binding

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        result = self._wrap(getattr(self._target(), name))
        setattr(self, name, result)
        return result


class _EnvProxy(_EnvWrapper):
    """`from workers import env`: the env of the worker running now, or of the running test's
    `pyflare` fixture; looked up at each use, so it can be imported at module level."""

    def __init__(self) -> None:
        pass

    def _target(self) -> Any:
        env = bound_env()
        if env is None:
            raise RuntimeError(
                "workers.env is only available while a worker runs, or in a test that uses "
                "the pyflare fixture"
            )
        return env

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._wrap(getattr(self._target(), name))

    def __getitem__(self, name: str) -> Any:
        return self._wrap(self._target()[name])

    def __contains__(self, name: object) -> bool:
        return name in self._target()

    def __iter__(self) -> Iterator[str]:
        return iter(self._target())

    def __repr__(self) -> str:
        env = bound_env()
        return f"<workers.env of {env!r}>" if env is not None else "<workers.env (unbound)>"


env = _EnvProxy()
