"""The `js` module a Python Worker imports (`from js import Response, Headers, URL, fetch`).

In Pyodide, `js` is JavaScript's global scope. Here it holds the globals Python Workers use,
emulated in Python: `Response`, `Request`, `Headers`, `URL`, `URLSearchParams`, `FormData`,
`Blob`, `File`, `ReadableStream`, `fetch`, `crypto`, `console`, `JSON`, `Object`, `Array`,
`Date`, `Error`, `ArrayBuffer`, `Uint8Array`, `TextEncoder`, `TextDecoder`, timers, `atob`,
`btoa`, `WebSocket`, `WebSocketPair`, `WebSocketRequestResponsePair`. A name pyflare does not
emulate (e.g. `HTMLRewriter`) is an AttributeError, so `from js import HTMLRewriter` fails at
import, as a missing global would.
"""

from __future__ import annotations

from typing import Any

from . import jsmisc
from .jsbody import Blob as _Blob
from .jsbody import File as _File
from .jsbody import FormData as _FormData
from .jsbody import URLSearchParams as _URLSearchParams
from .jsbuffer import ArrayBuffer as _ArrayBuffer
from .jsbuffer import Int8Array as _Int8Array
from .jsbuffer import TextDecoder as _TextDecoder
from .jsbuffer import TextEncoder as _TextEncoder
from .jsbuffer import Uint8Array as _Uint8Array
from .jsbuffer import Uint8ClampedArray as _Uint8ClampedArray
from .jsheaders import Headers as _Headers
from .jshttp import JsRequest as _JsRequest
from .jshttp import JsResponse as _JsResponse
from .jsmisc import (
    JSON,
    Array,
    Object,
    atob,
    btoa,
    clearTimeout,
    console,
    crypto,
    queueMicrotask,
    setTimeout,
    structuredClone,
)
from .jsobject import JsClass, jsnull
from .jsstream import ReadableStream as _ReadableStream
from .jsurl import URL as _URL
from .jswebsocket import WebSocket as _WebSocket
from .jswebsocket import WebSocketPair as _WebSocketPair
from .jswebsocket import WebSocketRequestResponsePair as _WebSocketRequestResponsePair
from .wsoutbound import open_websocket as _open_websocket

__all__ = [
    "JSON",
    "URL",
    "Array",
    "ArrayBuffer",
    "Blob",
    "Date",
    "Error",
    "File",
    "FormData",
    "Headers",
    "Int8Array",
    "Object",
    "RangeError",
    "ReadableStream",
    "Request",
    "Response",
    "SyntaxError",
    "TextDecoder",
    "TextEncoder",
    "TypeError",
    "URLSearchParams",
    "Uint8Array",
    "Uint8ClampedArray",
    "WebSocket",
    "WebSocketPair",
    "WebSocketRequestResponsePair",
    "atob",
    "btoa",
    "clearTimeout",
    "console",
    "crypto",
    "fetch",
    "globalThis",
    "null",
    "queueMicrotask",
    "setTimeout",
    "structuredClone",
]


def _constructor(cls: type) -> JsClass:
    return cls._js_class  # type: ignore[attr-defined, no-any-return]


Response = _constructor(_JsResponse)
Request = _constructor(_JsRequest)
Headers = _constructor(_Headers)
URL = _constructor(_URL)
URLSearchParams = _constructor(_URLSearchParams)
FormData = _constructor(_FormData)
Blob = _constructor(_Blob)
File = _constructor(_File)
ReadableStream = _constructor(_ReadableStream)
ArrayBuffer = _constructor(_ArrayBuffer)
Uint8Array = _constructor(_Uint8Array)
Uint8ClampedArray = _constructor(_Uint8ClampedArray)
Int8Array = _constructor(_Int8Array)
TextEncoder = _constructor(_TextEncoder)
TextDecoder = _constructor(_TextDecoder)
WebSocket = _constructor(_WebSocket)
# `new WebSocket(url, protocols)`: an outbound connection (the class itself makes pair ends).
setattr(WebSocket, "new", _open_websocket)  # noqa: B010 - shadows JsClass.new on this class
WebSocketPair = _constructor(_WebSocketPair)
WebSocketRequestResponsePair = _constructor(_WebSocketRequestResponsePair)
Date = _constructor(jsmisc.JsDate)
Error = _constructor(jsmisc.JsError)
TypeError = jsmisc.ERROR_CLASSES["TypeError"]
RangeError = jsmisc.ERROR_CLASSES["RangeError"]
SyntaxError = jsmisc.ERROR_CLASSES["SyntaxError"]
null = jsnull


async def fetch(resource: Any, init: Any = None, **kwargs: Any) -> _JsResponse:
    """JavaScript's `fetch(resource, init)`: a JS `Response`, sent through httpx."""
    from .outbound import send

    request = _JsRequest._js_new(resource, init, **kwargs)
    return await send(request)


class _GlobalThis:
    """`js.globalThis`: the same names as attributes."""

    def __getattr__(self, name: str) -> Any:
        import sys

        return getattr(sys.modules[__name__], name)


globalThis = _GlobalThis()


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"module 'js' has no attribute {name!r} (pyflare does not emulate the JavaScript "
        f"global {name!r})"
    )
