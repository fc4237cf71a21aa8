"""JavaScript globals a Python Worker reaches through `js`: `Date`, `Error`, `JSON`, `Object`,
`Array`, `console`, `crypto`, timers, `atob`/`btoa`."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import itertools
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from .jsbuffer import ArrayBuffer, TypedArray, as_bytes
from .jsobject import JsArray, JsClass, JsObject, JsProxy, js_class, js_error, jsnull, to_entries

__all__ = ["JSON", "Array", "JsDate", "JsError", "Object", "console", "crypto"]

log = logging.getLogger("miniflare_py.worker")


# -- Date ---------------------------------------------------------------------------------------


def _now_ms() -> float:
    return float(int(time.time() * 1000))


@js_class(
    "Date",
    now=lambda: _now_ms(),
    parse=lambda text: JsDate._parse(text),
)
class JsDate(JsProxy):
    """JavaScript's `Date`: milliseconds since the epoch (UTC)."""

    __slots__ = ("_ms",)

    def __init__(self, value: Any = None) -> None:
        if value is None or value is jsnull:
            self._ms = _now_ms()
        elif isinstance(value, JsDate):
            self._ms = value._ms
        elif isinstance(value, str):
            self._ms = JsDate._parse(value)
        elif isinstance(value, dt.datetime):
            self._ms = value.timestamp() * 1000
        else:
            self._ms = float(value)

    @staticmethod
    def _parse(text: str) -> float:
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return float("nan")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp() * 1000

    def _utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._ms / 1000, dt.UTC)

    def getTime(self) -> float:
        return self._ms

    valueOf = getTime

    def toISOString(self) -> str:
        return self._utc().strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(self._ms % 1000):03d}Z"

    toJSON = toISOString

    def toString(self) -> str:
        return self._utc().strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")

    def toUTCString(self) -> str:
        return self._utc().strftime("%a, %d %b %Y %H:%M:%S GMT")

    def getUTCFullYear(self) -> int:
        return self._utc().year

    def getUTCMonth(self) -> int:
        return self._utc().month - 1

    def getUTCDate(self) -> int:
        return self._utc().day

    def getUTCHours(self) -> int:
        return self._utc().hour

    getFullYear, getMonth, getDate, getHours = (
        getUTCFullYear,
        getUTCMonth,
        getUTCDate,
        getUTCHours,
    )

    def __repr__(self) -> str:
        return f"Date({self.toISOString()})"


# -- Error --------------------------------------------------------------------------------------


@js_class("Error")
class JsError(JsProxy):
    """A JavaScript `Error` value (`js.Error.new("message")`); raise it as a `JsException`."""

    __slots__ = ("message", "name")

    def __init__(self, message: Any = "", *_: Any) -> None:
        self.name = "Error"
        self.message = "" if message is None else str(message)

    def toString(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name

    def __repr__(self) -> str:
        return self.toString()


def _error_class(name: str) -> JsClass:
    def make(message: Any = "", *_: Any) -> JsError:
        error = JsError(message)
        error.name = name
        return error

    return JsClass(name, JsError, new=make)


ERROR_CLASSES = {name: _error_class(name) for name in ("TypeError", "RangeError", "SyntaxError")}


# -- JSON, Object, Array ------------------------------------------------------------------------


def _js_values(value: Any) -> Any:
    if isinstance(value, dict):
        return JsObject((k, _js_values(v)) for k, v in value.items())
    if isinstance(value, list):
        return JsArray(_js_values(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    if value is jsnull:
        return None
    if isinstance(value, JsDate):
        return value.toISOString()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


class JSON:
    """`JSON.parse` (objects come back as JS objects) and `JSON.stringify`."""

    @staticmethod
    def parse(text: Any, reviver: Any = None) -> Any:
        try:
            value = json.loads(str(text))
        except json.JSONDecodeError as exc:
            raise js_error("SyntaxError", f"Unexpected token in JSON: {exc}", ValueError) from None
        return _js_values(value)

    @staticmethod
    def stringify(value: Any, replacer: Any = None, space: Any = None) -> str | None:
        if value is None:
            return None  # JSON.stringify(undefined) is undefined
        indent: int | str | None = space if isinstance(space, int) and space > 0 else None
        if isinstance(space, str) and space:
            indent = space
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(_plain(value), separators=separators, indent=indent, ensure_ascii=False)


def _from_entries(entries: Iterable[Any]) -> JsObject:
    return JsObject((k, v) for k, v in to_entries(entries))


def _keys(value: Any) -> JsArray:
    if isinstance(value, dict):
        return JsArray(value.keys())
    if isinstance(value, JsProxy):
        return JsArray(value.object_keys())
    return JsArray(k for k in dir(value) if not k.startswith("_"))


def _values(value: Any) -> JsArray:
    if isinstance(value, dict):
        return JsArray(value.values())
    if isinstance(value, JsProxy):  # an emulated JS object (a WebSocketPair: its two ends)
        return JsArray(value.object_values())
    return JsArray()


def _assign(target: Any, *sources: Any) -> Any:
    for source in sources:
        if source is None or source is jsnull:
            continue
        for key, value in to_entries(source):
            target[key] = value
    return target


Object = JsClass(
    "Object",
    JsObject,
    fromEntries=_from_entries,
    keys=_keys,
    values=_values,
    entries=lambda value: JsArray(
        JsArray(pair) for pair in (value.items() if isinstance(value, dict) else [])
    ),
    assign=_assign,
)
Object.new = lambda *args: JsObject(*(a for a in args if a is not None))  # type: ignore[method-assign]

Array = JsClass(
    "Array",
    JsArray,
    isArray=lambda value: isinstance(value, list),
    of=lambda *items: JsArray(items),
)
Array.new = lambda *items: JsArray(items)  # type: ignore[method-assign]
setattr(Array, "from", lambda items, fn=None: JsArray(fn(i) if fn else i for i in items))


# -- console ------------------------------------------------------------------------------------


def _format(args: tuple[Any, ...]) -> str:
    return " ".join(a if isinstance(a, str) else _describe(a) for a in args)


def _describe(value: Any) -> str:
    if value is None:
        return "undefined"
    if value is jsnull:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(_plain(value), ensure_ascii=False)
        except (TypeError, ValueError):
            return repr(value)
    return str(value)


class console:
    """`console.log(...)` and friends print as workerd does (errors and warnings to stderr)."""

    @staticmethod
    def log(*args: Any) -> None:
        print(_format(args), flush=True)

    info = debug = log

    @staticmethod
    def warn(*args: Any) -> None:
        print(_format(args), file=sys.stderr, flush=True)

    error = warn


# -- crypto -------------------------------------------------------------------------------------

_DIGESTS = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _algorithm(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict):
        return dict(value)
    return {k: getattr(value, k) for k in ("name", "hash") if hasattr(value, k)}


def _hash_name(value: Any) -> str:
    name = value if isinstance(value, str) else _algorithm(value).get("name", "")
    digest = _DIGESTS.get(str(name).upper())
    if digest is None:
        raise js_error("NotSupportedError", f"Unrecognized hash algorithm: {name}", ValueError)
    return digest


def _data(value: Any) -> bytes:
    data = as_bytes(value)
    if data is None:
        raise js_error(
            "TypeError", "Expected a BufferSource (bytes, ArrayBuffer, Uint8Array)", TypeError
        )
    return data


@js_class("CryptoKey")
class CryptoKey(JsProxy):
    __slots__ = ("_secret", "algorithm", "extractable", "type", "usages")

    def __init__(self, secret: bytes, algorithm: JsObject, extractable: bool, usages: Any):
        self._secret = secret
        self.algorithm = algorithm
        self.extractable = extractable
        self.usages = JsArray(usages or [])
        self.type = "secret"


class _Subtle:
    """`crypto.subtle`: `digest` (SHA-1/256/384/512) and HMAC `importKey`/`sign`/`verify`."""

    async def digest(self, algorithm: Any, data: Any) -> ArrayBuffer:
        return ArrayBuffer(hashlib.new(_hash_name(algorithm), _data(data)).digest())

    async def importKey(
        self, fmt: str, key: Any, algorithm: Any, extractable: bool = False, usages: Any = None
    ) -> CryptoKey:
        spec = _algorithm(algorithm)
        if fmt != "raw" or str(spec.get("name", "")).upper() != "HMAC":
            raise js_error(
                "NotSupportedError",
                "pyflare's crypto.subtle imports raw HMAC keys only",
                ValueError,
            )
        _hash_name(spec.get("hash"))
        return CryptoKey(_data(key), JsObject(spec), bool(extractable), usages)

    async def sign(self, algorithm: Any, key: CryptoKey, data: Any) -> ArrayBuffer:
        digest = _hash_name(key.algorithm.get("hash"))
        return ArrayBuffer(hmac.new(key._secret, _data(data), digest).digest())

    async def verify(self, algorithm: Any, key: CryptoKey, signature: Any, data: Any) -> bool:
        expected = (await self.sign(algorithm, key, data)).to_bytes()
        return hmac.compare_digest(expected, _data(signature))


class crypto:
    """`crypto.randomUUID()`, `crypto.getRandomValues(array)`, `crypto.subtle`."""

    subtle = _Subtle()

    @staticmethod
    def randomUUID() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def getRandomValues(array: TypedArray) -> TypedArray:
        if not isinstance(array, TypedArray):
            raise js_error("TypeError", "getRandomValues expects an integer typed array", TypeError)
        if array.byteLength > 65536:
            raise js_error(
                "QuotaExceededError",
                "The ArrayBufferView's byte length exceeds the number of bytes of entropy "
                "available via this API (65536)",
                ValueError,
            )
        array.set(os.urandom(array.byteLength))
        return array


# -- timers, base64 -----------------------------------------------------------------------------

_timer_ids = itertools.count(1)
_timers: dict[int, asyncio.TimerHandle | asyncio.Handle] = {}
_timer_tasks: set[asyncio.Task[Any]] = set()  # coroutines a timer started, kept until done


def setTimeout(callback: Callable[..., Any], delay: float = 0, *args: Any) -> int:
    """Call `callback(*args)` after `delay` ms on the running loop; returns an id."""
    loop = asyncio.get_running_loop()
    timer_id = next(_timer_ids)

    def fire() -> None:
        _timers.pop(timer_id, None)
        result = callback(*args)
        if asyncio.iscoroutine(result):
            task = loop.create_task(result)
            _timer_tasks.add(task)
            task.add_done_callback(_timer_tasks.discard)

    _timers[timer_id] = loop.call_later(max(0.0, float(delay or 0)) / 1000, fire)
    return timer_id


def clearTimeout(timer_id: Any) -> None:
    handle = _timers.pop(timer_id, None) if isinstance(timer_id, int) else None
    if handle is not None:
        handle.cancel()


def queueMicrotask(callback: Callable[[], Any]) -> None:
    asyncio.get_running_loop().call_soon(callback)


def btoa(text: str) -> str:
    try:
        return base64.b64encode(str(text).encode("latin-1")).decode()
    except UnicodeEncodeError:
        raise js_error(
            "InvalidCharacterError",
            "Cannot encode a string with characters above U+00FF",
            ValueError,
        ) from None


def atob(text: str) -> str:
    try:
        return base64.b64decode(str(text).encode(), validate=False).decode("latin-1")
    except (binascii.Error, ValueError):
        raise js_error("InvalidCharacterError", "Invalid base64 string", ValueError) from None


def structuredClone(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)
