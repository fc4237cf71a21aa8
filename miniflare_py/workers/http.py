"""`Request` and `Response`, shaped like the ones in Cloudflare's Python Workers SDK."""

from __future__ import annotations

import json as jsonlib
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from .headers import Headers, HeadersInit
from .jsdict import JsDict

Body = str | bytes | bytearray | memoryview | None

_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def _to_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise TypeError(
        f"Unsupported body type {type(body).__name__!r}: use str, bytes, or Response.json()"
    )


def _loads(data: bytes) -> Any:
    return jsonlib.loads(data, object_hook=JsDict)


class _Body:
    """Reading a body, shared by requests and responses."""

    _body: bytes
    headers: Headers

    @property
    def body(self) -> bytes:
        return self._body

    async def text(self) -> str:
        return self._body.decode()

    async def json(self) -> Any:
        """The body parsed as JSON; objects come back as `JsDict`, as JS objects proxy."""
        return _loads(self._body)

    async def bytes(self) -> bytes:
        return self._body

    arrayBuffer = bytes


class Request(_Body):
    """An incoming HTTP request, as a worker's `fetch` handler receives it."""

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: HeadersInit = None,
        body: Body = None,
        cf: dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.method = method.upper()
        self.headers = Headers(headers)
        self._body = _to_bytes(body)
        self.cf = JsDict(cf or {})

    @property
    def path(self) -> str:
        """The URL's path (an extra: on Cloudflare use `urllib.parse.urlparse(request.url)`)."""
        return urlsplit(self.url).path

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class _JsonMethod:
    """`Response.json(data, status=200, headers=None)` builds a JSON response, as in the SDK;
    `await response.json()` on an instance reads its body."""

    def __get__(self, instance: Response | None, owner: type[Response]) -> Any:
        if instance is None:
            return lambda data, status=200, headers=None, **kw: _json_response(
                owner, data, status, headers, **kw
            )
        return instance._read_json


def _json_response(
    cls: type[Response], data: Any, status: int, headers: HeadersInit, **kwargs: Any
) -> Response:
    # As JSON.stringify writes it (non-ASCII kept), and a caller's content-type wins.
    body = jsonlib.dumps(data, separators=(",", ":"), ensure_ascii=False)
    headers = Headers(headers)
    if not headers.has("content-type"):
        headers.set("content-type", "application/json")
    return cls(body, status, headers, **kwargs)


class Response(_Body):
    """An HTTP response: `Response(body=None, status=200, headers=None)`."""

    def __init__(
        self,
        body: Body = None,
        status: int = 200,
        headers: HeadersInit = None,
        *,
        status_text: str | None = None,
        statusText: str | None = None,
    ) -> None:
        if not 200 <= int(status) <= 599:
            raise ValueError(f"Response status must be in the range 200-599, got {status}")
        self.status = int(status)
        self.headers = Headers(headers)  # a copy, as fetch's Response makes
        self._body = _to_bytes(body)
        if isinstance(body, str) and not self.headers.has("content-type"):
            self.headers.set("content-type", "text/plain;charset=UTF-8")
        text = status_text if status_text is not None else statusText
        self.status_text = _PHRASES.get(self.status, "") if text is None else text

    json = _JsonMethod()

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> Response:
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"Invalid redirect status {status}: use 301, 302, 303, 307 or 308")
        return cls(None, status, {"location": url})

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def status_code(self) -> int:
        """Alias of `status`, for readers used to httpx."""
        return self.status

    @property
    def statusText(self) -> str:
        return self.status_text

    async def _read_json(self) -> Any:
        return _loads(self._body)

    def __repr__(self) -> str:
        return f"<Response [{self.status} {self.status_text}]>"
