"""`pyodide.http` as Pyodide 0.28 has it: `pyfetch`, `FetchResponse` (the base class of
`workers.Response`), `open_url`, and the errors `BodyUsedError`, `HttpStatusError`,
`AbortError`. Requests go out through httpx (see `workers.outbound`)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from ..jsbuffer import ArrayBuffer
from ..jsheaders import combined
from ..jshttp import JsRequest, JsResponse
from ..jsobject import JsException, jsnull

__all__ = ["AbortError", "BodyUsedError", "FetchResponse", "HttpStatusError", "open_url", "pyfetch"]


class HttpStatusError(OSError):
    """Raised by `FetchResponse.raise_for_status()` for a 4xx or 5xx status."""

    def __init__(self, status: int, status_text: str, url: str) -> None:
        self.status = status
        self.status_text = status_text
        self.url = url
        if 400 <= status < 500:
            kind = "Client Error"
        elif 500 <= status < 600:
            kind = "Server Error"
        else:
            kind = "Invalid error code not between 400 and 599"
        super().__init__(f"{status} {kind}: {status_text} for url: {url}")


class BodyUsedError(OSError):
    """The body was read already (read it once, or `clone()` first)."""

    def __init__(self, *args: Any) -> None:
        super().__init__("Response body is already used")


class AbortError(OSError):
    """The fetch failed or was aborted."""

    def __init__(self, reason: Any = None) -> None:
        super().__init__(getattr(reason, "message", None) or str(reason or "aborted"))


class FetchResponse:
    """A fetch `Response` with its body read as Python values (`await r.json()`, `.text()`,
    `.bytes()`...). `js_response` is the JavaScript `Response` it wraps."""

    __slots__ = ("_url", "abort_controller", "abort_signal", "js_response")

    def __init__(
        self,
        url: str,
        js_response: JsResponse,
        abort_controller: Any = None,
        abort_signal: Any = None,
    ) -> None:
        self._url = url
        self.js_response = js_response
        self.abort_controller = abort_controller
        self.abort_signal = abort_signal

    @property
    def body_used(self) -> bool:
        return self.js_response.bodyUsed

    @property
    def headers(self) -> Any:
        """The headers as a dict (as Pyodide gives them; `workers.Response` gives more)."""
        return dict(combined(self.js_response._pairs))

    @property
    def ok(self) -> bool:
        return self.js_response.ok

    @property
    def redirected(self) -> bool:
        return self.js_response.redirected

    @property
    def status(self) -> int:
        return self.js_response.status

    @property
    def status_text(self) -> str:
        return self.js_response.statusText

    @property
    def type(self) -> str:
        return self.js_response.type

    @property
    def url(self) -> str:
        return self.js_response.url

    def _raise_if_failed(self) -> None:
        signal = self.abort_signal
        if signal is not None and getattr(signal, "aborted", False):
            raise AbortError(getattr(signal, "reason", None))
        if self.js_response.bodyUsed:
            raise BodyUsedError

    def raise_for_status(self) -> None:
        """Raise `HttpStatusError` if the status is 4xx or 5xx."""
        if 400 <= self.status < 600:
            raise HttpStatusError(self.status, self.status_text, self.url)

    def clone(self) -> FetchResponse:
        if self.js_response.bodyUsed:
            raise BodyUsedError
        return FetchResponse(
            self._url, self.js_response.clone(), self.abort_controller, self.abort_signal
        )

    async def buffer(self) -> ArrayBuffer:
        """The body as a JavaScript `ArrayBuffer` (`.to_bytes()`, `.to_memoryview()`)."""
        self._raise_if_failed()
        return await self.js_response.arrayBuffer()

    async def text(self) -> str:
        self._raise_if_failed()
        return await self.js_response.text()

    async def string(self) -> str:
        return await self.text()

    async def json(self, **kwargs: Any) -> Any:
        """`json.loads` of the body (plain dicts and lists); keyword arguments go to it."""
        self._raise_if_failed()
        return json.loads(await self.js_response.text(), **kwargs)

    async def memoryview(self) -> memoryview:
        self._raise_if_failed()
        return (await self.buffer()).to_memoryview()

    async def bytes(self) -> bytes:
        self._raise_if_failed()
        return await self.js_response._consume()

    async def unpack_archive(
        self, *, extract_dir: str | None = None, format: str | None = None
    ) -> None:
        """Unpack the body (a zip or tar archive) into `extract_dir` (default: the cwd)."""
        import shutil
        import tempfile
        from pathlib import Path
        from urllib.parse import urlsplit

        data = await self.bytes()
        name = Path(urlsplit(self.url or self._url).path).name or "archive"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            shutil.unpack_archive(str(path), extract_dir, format)

    def abort(self, reason: Any = None) -> None:
        if self.abort_controller is None:
            raise ValueError("abort_controller is not set")
        self.abort_controller.abort(reason)


async def pyfetch(url: Any, /, *, signal: Any = None, fetcher: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    """Fetch `url` (keyword arguments are fetch's options: method, headers, body, redirect...)
    and return a `FetchResponse`."""
    from .. import outbound

    try:
        request = JsRequest._js_new(url, **{k: v for k, v in kwargs.items() if v is not None})
        if fetcher is not None:
            js_response = fetcher(request)
            if hasattr(js_response, "__await__"):
                js_response = await js_response
            js_response = getattr(js_response, "js_response", js_response)
        else:
            js_response = await outbound.send(request)
    except JsException as exc:
        raise AbortError(exc) from None
    return FetchResponse(str(url), js_response, None, None if signal is jsnull else signal)


def open_url(url: str) -> StringIO:
    """Fetch `url` synchronously and return its text (Pyodide uses XMLHttpRequest)."""
    from ..outbound import send_sync

    return StringIO(send_sync(url))
