"""JavaScript's `Request` and `Response` (`js.Request`, `js.Response`), as workerd gives them.

These hold the state; `workers.Request` and `workers.Response` are the SDK's Python wrappers
around them (`.js_object`), exactly as on Cloudflare. A handler may return either.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Self

from .cf import default_cf
from .jsbody import Blob, FormData, extract_body, parse_form_data
from .jsbuffer import ArrayBuffer, Uint8Array
from .jsheaders import HeaderPairs, Headers, get_combined, header_pairs
from .jsobject import JsObject, JsProxy, js_class, js_error, jsnull, option, options
from .jsstream import ReadableStream
from .jsurl import normalize_url

__all__ = ["JsRequest", "JsResponse", "js_stringify"]

Bytes = bytes  # `bytes` is also a method name of the body classes below

NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USED = (
    "Body has already been used. It can only be used once. Use tee() first if you need to "
    "read it twice."
)
_DEFAULT_CF = object()  # the request came in over HTTP: `cf` is the local default object


def js_stringify(value: Any) -> str:
    """`JSON.stringify(value)`: compact, non-ASCII kept, NaN and infinities as null."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class _JsBody(JsProxy):
    """The body of a request or response: read once, as text, JSON, bytes, a blob or a form."""

    __slots__ = ("_body", "_headers", "_pairs", "_used")

    _body: Bytes | ReadableStream | None
    _used: bool
    _pairs: HeaderPairs
    _headers: Headers | None

    @classmethod
    def _blank(cls, body: Bytes | ReadableStream | None, pairs: HeaderPairs) -> Self:
        """A new, unread instance with `body` and header `pairs`; the caller sets the rest."""
        new = cls.__new__(cls)
        new._body = body
        new._used = False
        new._pairs = pairs
        new._headers = None
        return new

    @property
    def headers(self) -> Headers:
        """The live `Headers`."""
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers._over(self._pairs)
        return headers

    @property
    def body(self) -> ReadableStream | None:
        """The body as a `ReadableStream`, or None when there is none."""
        body = self._body
        if body is None or isinstance(body, ReadableStream):
            return body
        stream = self._body = ReadableStream._of_bytes(body)
        stream._disturbed = self._used
        return stream

    @property
    def bodyUsed(self) -> bool:
        body = self._body
        return self._used or (isinstance(body, ReadableStream) and body._disturbed)

    def _check_unused(self) -> None:
        if self.bodyUsed:
            raise js_error("TypeError", _USED, TypeError)

    async def _consume(self) -> Bytes:
        self._check_unused()
        self._used = True
        return await self._wire_body()

    async def _wire_body(self) -> Bytes:
        """All the body's bytes (the engine's read for sending: it does not mark them used)."""
        body = self._body
        if body is None:
            return b""
        if type(body) is bytes:
            return body
        return await body._read_all()  # type: ignore[union-attr]

    async def text(self) -> str:
        return (await self._consume()).decode(errors="replace")

    async def json(self) -> Any:
        """`JSON.parse` of the body: objects come back as JS objects (`JsObject`)."""
        text = (await self._consume()).decode(errors="replace")
        try:
            return json.loads(text, object_hook=JsObject)
        except json.JSONDecodeError as exc:
            raise js_error("SyntaxError", f"Unexpected token in JSON: {exc}", ValueError) from None

    async def arrayBuffer(self) -> ArrayBuffer:
        return ArrayBuffer(await self._consume())

    async def bytes(self) -> Uint8Array:
        return Uint8Array(await self._consume())

    async def blob(self) -> Blob:
        data = await self._consume()
        return Blob([data], type=get_combined(self._pairs, "content-type") or "")

    async def formData(self) -> FormData:
        data = await self._consume()
        return parse_form_data(data, get_combined(self._pairs, "content-type"))

    def _clone_body(self) -> Bytes | ReadableStream | None:
        self._check_unused()
        body = self._body
        if isinstance(body, ReadableStream):
            buffered = body._buffered()
            if buffered is not None:
                return buffered
            first, second = body.tee()
            self._body = first
            return second
        return body


def _with_content_type(pairs: HeaderPairs, content_type: str | None) -> HeaderPairs:
    if content_type is not None and not any(k == "content-type" for k, _ in pairs):
        pairs.append(("content-type", content_type))
    return pairs


def _status(value: Any, web_socket: Any) -> int:
    if value is None or value is jsnull:
        value = 200
    status = int(value.value if isinstance(value, HTTPStatus) else value)
    if web_socket is not None:
        if status != 101:
            raise js_error(
                "RangeError", "Responses with a WebSocket must have status code 101.", ValueError
            )
        return status
    if not 200 <= status <= 599:
        raise js_error(
            "RangeError",
            f"Responses may only be constructed with status codes in the range 200 to 599, "
            f"inclusive. (got {status})",
            ValueError,
        )
    return status


def _response_json(data: Any, init: Any = None, **kwargs: Any) -> JsResponse:
    headers = option(init, kwargs, "headers")
    pairs = header_pairs(headers)
    _with_content_type(pairs, "application/json")
    return JsResponse._js_new(js_stringify(data), init, **{**kwargs, "headers": pairs})


def _response_redirect(url: Any, status: Any = 302) -> JsResponse:
    code = int(status.value if isinstance(status, HTTPStatus) else status)
    if code not in REDIRECT_STATUSES:
        raise js_error("RangeError", "Invalid status code", ValueError)
    try:
        location = normalize_url(str(url))
    except TypeError:
        raise js_error("TypeError", f"Invalid URL: {url}", TypeError) from None
    return JsResponse._make(None, code, "", [("location", location)])


def _response_error() -> JsResponse:
    response = JsResponse._make(None, 200, "", [])
    response.status = 0
    response.type = "error"
    return response


@js_class("Response", json=_response_json, redirect=_response_redirect, error=_response_error)
class JsResponse(_JsBody):
    """JavaScript's `Response`: `js.Response.new(body, {status, statusText, headers})`."""

    __slots__ = ("encodeBody", "redirected", "status", "statusText", "type", "url", "webSocket")

    status: int
    statusText: str
    url: str
    type: str
    redirected: bool
    webSocket: Any
    encodeBody: str

    @classmethod
    def _make(
        cls,
        body: Bytes | ReadableStream | None,
        status: int,
        status_text: str,
        pairs: HeaderPairs,
        web_socket: Any = None,
    ) -> JsResponse:
        """The engine's constructor: arguments already checked."""
        response = cls._blank(body, pairs)
        response.status = status
        response.statusText = status_text
        response.url = ""
        response.type = "default"
        response.redirected = False
        response.webSocket = web_socket
        response.encodeBody = "automatic"
        return response

    @classmethod
    def _js_new(cls, body: Any = None, init: Any = None, **kwargs: Any) -> JsResponse:
        opts = options(init, kwargs)
        web_socket = opts.get("webSocket")
        if web_socket is jsnull:
            web_socket = None
        status = _status(opts.get("status"), web_socket)
        status_text = opts.get("statusText") or ""
        payload, content_type = extract_body(body)
        if payload is not None and status in NULL_BODY_STATUSES:
            raise js_error(
                "TypeError", "Response with null body status cannot have body", TypeError
            )
        pairs = _with_content_type(header_pairs(opts.get("headers")), content_type)
        response = cls._make(payload, status, str(status_text), pairs, web_socket)
        encode = opts.get("encodeBody")
        if encode not in (None, jsnull):
            response.encodeBody = str(encode)
        return response

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    def clone(self) -> JsResponse:
        if self.webSocket is not None:
            raise js_error(
                "TypeError", "Cannot clone a response to a WebSocket handshake.", TypeError
            )
        copy = JsResponse._make(
            self._clone_body(), self.status, self.statusText, list(self._pairs), self.webSocket
        )
        copy.url, copy.type, copy.redirected = self.url, self.type, self.redirected
        return copy

    def __repr__(self) -> str:
        return f"Response({self.status} {self.statusText!r})"


@js_class("Request")
class JsRequest(_JsBody):
    """JavaScript's `Request`: `js.Request.new(url or request, {method, headers, body, ...})`."""

    __slots__ = ("_cf", "fetcher", "integrity", "keepalive", "method", "redirect", "signal", "url")

    method: str
    url: str
    _cf: Any
    redirect: str
    signal: Any
    fetcher: Any
    keepalive: bool
    integrity: str

    @classmethod
    def _make(
        cls,
        url: str,
        method: str,
        pairs: HeaderPairs,
        body: Bytes | ReadableStream | None,
        cf: Any = None,
    ) -> JsRequest:
        """The engine's constructor (url absolute and normalised, method upper-case)."""
        request = cls._blank(body or None, pairs)
        request.method = method
        request.url = url
        request._cf = cf
        request.redirect = "follow"
        request.signal = None
        request.fetcher = None
        request.keepalive = False
        request.integrity = ""
        return request

    @classmethod
    def _incoming(cls, url: str, method: str, pairs: HeaderPairs, body: Bytes) -> JsRequest:
        """A request that came in over HTTP: its `cf` is the local default object."""
        return cls._make(url, method, pairs, body, _DEFAULT_CF)

    @classmethod
    def _checked(cls, url: str, method: Any, pairs: HeaderPairs, body: Any) -> JsRequest:
        """A new request from a URL, a method, validated header pairs and a body."""
        method = _normalize_method(getattr(method, "value", method))
        payload, content_type = extract_body(body)
        if payload is not None and method in ("GET", "HEAD"):
            raise js_error(
                "TypeError", "Request with a GET or HEAD method cannot have a body.", TypeError
            )
        pairs = _with_content_type(pairs, content_type)
        return cls._make(normalize_url(url), method, pairs, payload)

    @classmethod
    def _js_new(cls, input: Any, init: Any = None, **kwargs: Any) -> JsRequest:
        if isinstance(input, JsRequest):
            source: JsRequest | None = input
            url = input.url
        else:
            source = None
            url = normalize_url(str(input))
        opts = options(init, kwargs)
        method = opts.get("method")
        if method is None or method is jsnull:
            method = source.method if source is not None else "GET"
        method = _normalize_method(getattr(method, "value", method))
        headers = opts.get("headers")
        if headers is None or headers is jsnull:
            pairs = list(source._pairs) if source is not None else []
        else:
            pairs = header_pairs(headers)
        body = opts.get("body")
        if body is None or body is jsnull:
            payload: Bytes | ReadableStream | None = None
            if source is not None and source._body is not None:
                payload = source._clone_body()
                source._used = True  # the body moves to the new request, as in JS
        else:
            payload, content_type = extract_body(body)
            _with_content_type(pairs, content_type)
        if payload is not None and method in ("GET", "HEAD"):
            raise js_error(
                "TypeError", "Request with a GET or HEAD method cannot have a body.", TypeError
            )
        cf = opts.get("cf")
        if cf is None or cf is jsnull:
            cf = source._cf if source is not None else None
        request = cls._make(url, method, pairs, payload, cf)
        redirect = opts.get("redirect")
        if redirect not in (None, jsnull):
            if redirect not in ("follow", "manual", "error"):
                raise js_error("TypeError", f"Invalid redirect value: {redirect!r}", TypeError)
            request.redirect = redirect
        elif source is not None:
            request.redirect = source.redirect
        signal = opts.get("signal")
        request.signal = None if signal is jsnull else signal
        return request

    @property
    def cf(self) -> Any:
        cf = self._cf
        if cf is _DEFAULT_CF:
            cf = self._cf = default_cf()
        return cf

    # what workerd answers for the parts of the Fetch spec a server-side request lacks
    cache = None
    credentials = "same-origin"
    destination = ""
    mode = "cors"
    referrer = "about:client"
    referrerPolicy = ""
    isHistoryNavigation = False

    def clone(self) -> JsRequest:
        copy = JsRequest._make(
            self.url, self.method, list(self._pairs), self._clone_body(), self._cf
        )
        copy.redirect = self.redirect
        return copy

    def __repr__(self) -> str:
        return f"Request({self.method} {self.url})"


_STANDARD_METHODS = {m: m for m in ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT")}


def _normalize_method(method: Any) -> str:
    """The Fetch spec's method normalisation: the six standard names upper-cased, others
    (PATCH included) kept as written."""
    text = str(method)
    return _STANDARD_METHODS.get(text.upper(), text)
