"""`workers.Request`: the SDK's Python view of a JavaScript `Request` (`.js_object`)."""

from __future__ import annotations

import json
from http import HTTPMethod
from typing import TYPE_CHECKING, Any

from .blob import Blob
from .formdata import FormData
from .jsbuffer import ArrayBuffer
from .jsheaders import HeaderPairs, header_pairs
from .jsheaders import Headers as JsHeaders
from .jshttp import _DEFAULT_CF, JsRequest
from .jsobject import JsException, jsnull
from .jsstream import ReadableStream

if TYPE_CHECKING:
    from .headers import HeaderMessage

__all__ = ["Request", "http_message", "js_body", "js_headers"]

_METHODS = {m.value: m for m in HTTPMethod}


def js_headers(headers: Any) -> Any:
    """What the SDK accepts as `headers=`: a dict, a list of pairs or a JS `Headers`."""
    if isinstance(headers, (list, dict, JsHeaders)):
        return headers
    raise TypeError("Received unexpected type for headers argument")


def js_body(body: Any) -> Any:
    """A `workers.FormData` or `Blob` body as the JavaScript value the SDK passes on."""
    if isinstance(body, (FormData, Blob)):
        return body.js_object
    return body


_message_class: Any = None


def http_message(pairs: HeaderPairs) -> Any:
    """A `headers.HeaderMessage` snapshot of `pairs` (what `.headers` of the `workers` classes
    returns). `headers.py` needs `http.client`, slow to import, so it loads on first use."""
    global _message_class
    if _message_class is None:
        from .headers import HeaderMessage

        _message_class = HeaderMessage
    return _message_class(list(pairs))


def _python_error(exc: JsException) -> Exception:
    if exc.name == "RangeError":
        return ValueError(exc.message)
    if exc.name == "TypeError":
        return TypeError(exc.message)
    return exc


class Request:
    """An HTTP request: `Request(url_or_request, method=..., headers=..., body=..., ...)`.

    Wraps a JavaScript `Request`; `request.js_object` is that object. `.headers` is an
    `http.client.HTTPMessage` snapshot (a missing header reads as None), `.method` an
    `http.HTTPMethod`, `.cf` the Cloudflare properties (None when the request has none).
    """

    __slots__ = ("_js_request",)

    def __init__(self, input: Request | str | JsRequest, **other_options: Any) -> None:
        if isinstance(input, JsRequest):
            if other_options:
                raise ValueError("Expected no options when constructing Request from a js.Request")
            self._js_request = input
            return
        method = other_options.get("method")
        if isinstance(method, HTTPMethod):
            other_options["method"] = method.value
        if "headers" in other_options:
            other_options["headers"] = js_headers(other_options["headers"])
        if other_options.get("body") is not None:
            other_options["body"] = js_body(other_options["body"])
        source = input._js_request if isinstance(input, Request) else input
        self._js_request = JsRequest._js_new(source, **other_options)

    @classmethod
    def _make(cls, url: str, method: str, pairs: HeaderPairs, body: bytes | None = None) -> Request:
        """The engine's constructor for a request that came in over HTTP (no checks)."""
        request = cls.__new__(cls)
        request._js_request = JsRequest._incoming(url, method, pairs, body or b"")
        return request

    @classmethod
    def _incoming(
        cls, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Request:
        """A request as if it came in over HTTP, checked as the constructor checks it, with the
        local `cf` object: what `Miniflare.fetch` dispatches (one step, no options dict)."""
        request = cls.__new__(cls)
        request._js_request = JsRequest._checked(url, method, header_pairs(headers), body)
        request._js_request._cf = _DEFAULT_CF
        return request

    def __repr__(self) -> str:
        return f"Request(method={self._js_request.method!r}, url={self._js_request.url!r})"

    @property
    def js_object(self) -> JsRequest:
        return self._js_request

    @property
    def body(self) -> ReadableStream | None:
        """The body as a JavaScript `ReadableStream`, or None."""
        return self._js_request.body

    @property
    def body_used(self) -> bool:
        return self._js_request.bodyUsed

    @property
    def cf(self) -> Any:
        """Cloudflare's request properties (`request.cf.country`); None when absent."""
        cf = self._js_request.cf
        return None if cf is jsnull else cf

    @property
    def cache(self) -> Any:
        return self._js_request.cache

    @property
    def credentials(self) -> str:
        return self._js_request.credentials

    @property
    def destination(self) -> str:
        return self._js_request.destination

    @property
    def headers(self) -> HeaderMessage:
        """A snapshot shaped like `http.client.HTTPMessage` (see `headers.py`)."""
        return http_message(self._js_request._pairs)  # type: ignore[no-any-return]

    @property
    def integrity(self) -> str:
        return self._js_request.integrity

    @property
    def is_history_navigation(self) -> bool:
        return self._js_request.isHistoryNavigation

    @property
    def keepalive(self) -> bool:
        return self._js_request.keepalive

    @property
    def method(self) -> HTTPMethod | str:
        """An `http.HTTPMethod` (a str); a non-standard method stays a plain str."""
        method = self._js_request.method
        return _METHODS.get(method, method)

    @property
    def mode(self) -> str:
        return self._js_request.mode

    @property
    def redirect(self) -> str:
        return self._js_request.redirect

    @property
    def referrer(self) -> str:
        return self._js_request.referrer

    @property
    def referrer_policy(self) -> str:
        return self._js_request.referrerPolicy

    @property
    def url(self) -> str:
        return self._js_request.url

    def _raise_if_failed(self) -> None:
        if self._js_request.bodyUsed:
            raise OSError("Body already used")

    async def buffer(self) -> ArrayBuffer:
        """The body as a JavaScript `ArrayBuffer` (`.to_bytes()`)."""
        self._raise_if_failed()
        return await self._js_request.arrayBuffer()

    async def form_data(self) -> FormData:
        self._raise_if_failed()
        try:
            return FormData(await self._js_request.formData())
        except JsException as exc:
            raise _python_error(exc) from exc

    async def blob(self) -> Blob:
        self._raise_if_failed()
        return Blob(await self._js_request.blob())

    async def bytes(self) -> bytes:
        self._raise_if_failed()
        return await self._js_request._consume()

    def clone(self) -> Request:
        self._raise_if_failed()
        return Request(self._js_request.clone())

    async def json(self, **kwargs: Any) -> Any:
        """`json.loads` of the body: plain dicts and lists; keyword arguments go to it."""
        self._raise_if_failed()
        return json.loads(await self._js_request._consume(), **kwargs)

    async def text(self) -> str:
        self._raise_if_failed()
        return await self._js_request.text()
