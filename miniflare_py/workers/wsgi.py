"""`workers.wsgi`: run a WSGI app (Flask, Django...) as a worker, as the SDK's adapter does.

```python
from workers import WorkerEntrypoint, wsgi

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await wsgi.fetch(app, request, self.env)
```

The environ carries `environ["workers.env"]` (the worker's env). On Cloudflare the app runs on
the event loop's own stack and blocks it; here it runs in one dedicated thread (one request at
a time, as a blocking app serves them there), so `pyodide.ffi.run_sync` inside the app (how
libraries such as django-cf reach D1) hands the awaitable back to the worker's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import io
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .context import current_loop
from .entrypoints import WorkerEntrypoint
from .gateway import BaseOptions
from .jsheaders import check_pair, combined
from .jshttp import NULL_BODY_STATUSES, JsRequest, JsResponse
from .request import Request

__all__ = ["Options", "build_environ", "entrypoint", "fetch", "process_request"]

logger = logging.getLogger("wsgi")

_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _thread() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(1, "pyflare-wsgi")
    return _executor


@dataclass(frozen=True, kw_only=True)
class Options(BaseOptions):
    """Options of the WSGI adapter (see `BaseOptions`)."""


DEFAULT_OPTIONS = Options()


def _native(value: str) -> str:
    """A WSGI "native string": UTF-8 bytes seen through latin-1 (PEP 3333)."""
    return value.encode("utf-8").decode("latin-1")


def _js_request(req: Request | JsRequest) -> JsRequest:
    return req.js_object if isinstance(req, Request) else req


def build_environ(req: Request | JsRequest, env: Any, body: bytes | io.IOBase) -> dict[str, Any]:
    """The WSGI environ of a request; `environ["workers.env"]` is the worker's env."""
    js = _js_request(req)
    if isinstance(body, (bytes, bytearray)):
        stream: Any = io.BytesIO(body)
        length: int | None = len(body)
    else:
        stream, length = body, None
    url = urlsplit(js.url)
    if not url.scheme:
        raise ValueError(f"Request URL is not absolute: {js.url!r}")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": str(js.method),
        "SCRIPT_NAME": "",
        "PATH_INFO": _native(unquote(url.path or "/")),
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.hostname or "localhost",
        "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme,
        "wsgi.input": stream,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "workers.env": env,
    }
    for name, value in combined(js._pairs):
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        elif f"HTTP_{key}" in environ:
            environ[f"HTTP_{key}"] += "," + value
        else:
            environ[f"HTTP_{key}"] = value
    if "CONTENT_LENGTH" not in environ and length:
        environ["CONTENT_LENGTH"] = str(length)
    return environ


def process_request(
    app: Callable[..., Any],
    req: Request | JsRequest,
    env: Any,
    body: bytes | io.IOBase,
    options: Options = DEFAULT_OPTIONS,
) -> JsResponse:
    """Call the WSGI app (blocking) and return the JavaScript `Response`."""
    environ = build_environ(req, env, body)
    state: dict[str, Any] = {"status": None, "headers": None}
    written: list[bytes] = []

    def write(chunk: bytes) -> None:
        if state["status"] is None:
            raise AssertionError("write() called before start_response()")
        if chunk:
            written.append(bytes(chunk))

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None:
            try:
                if state["status"] is not None and state.get("sent"):
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif state["status"] is not None:
            raise AssertionError("start_response() called more than once")
        state["status"] = status
        state["headers"] = headers
        return write

    result = app(environ, start_response)
    try:
        for chunk in result:
            if chunk:
                state["sent"] = True
                written.append(bytes(chunk))
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if state["status"] is None:
        raise RuntimeError("The WSGI application did not call start_response()")
    code_text, _, reason = str(state["status"]).partition(" ")
    code = int(code_text)
    pairs = [check_pair(k, v) for k, v in state["headers"] or []]
    payload = None if code in NULL_BODY_STATUSES else b"".join(written)
    response = JsResponse._make(payload, code, reason, pairs)
    init = options.response_init()
    if "encodeBody" in init:
        response.encodeBody = init["encodeBody"]
    return response


async def fetch(
    app: Callable[..., Any],
    req: Request | JsRequest,
    env: Any,
    ctx: Any = None,
    *,
    options: Options | None = None,
) -> JsResponse:
    """Serve `req` with the WSGI `app`; returns the JavaScript `Response`."""
    js = _js_request(req)
    logger.debug("WSGI request: %s %s", js.method, js.url)
    body = await js._consume() if js._body is not None else b""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(current_loop.set, loop)
    try:
        return await loop.run_in_executor(
            _thread(), context.run, process_request, app, js, env, body, options or DEFAULT_OPTIONS
        )
    except Exception:
        logger.exception("WSGI request failed")
        raise


def entrypoint(app: Any, *, options: Options | None = None) -> type[WorkerEntrypoint]:
    """A `Default` entrypoint class serving the WSGI `app`."""

    class Default(WorkerEntrypoint):
        async def fetch(self, request: Request) -> JsResponse:
            return await fetch(app, request, self.env, options=options)

    return Default
