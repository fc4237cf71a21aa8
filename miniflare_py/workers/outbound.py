"""Outbound HTTP: what `workers.fetch`, `js.fetch` and `pyodide.http.pyfetch` send, through httpx.

Every subrequest goes out here, through one `httpx.AsyncClient` per event loop (so a worker's
subrequests share connections, as they do at the edge) built with httpx's default transport.
That is what `respx` intercepts: a test that mocks with respx (its `respx_mock` fixture, or
`with respx.mock:`) mocks every outbound request of the worker, whenever the client was made.

Below respx sits a guard: when a request is about to open a real network connection, the
function given to `set_guard()` (if any) may refuse it. The pytest plugin uses it for
`@pytest.mark.pyflare(outbound="deny")`. A refused or failed connection is a network failure
from the worker's point of view: a `TypeError` from JavaScript's point of view (`JsException`
named "TypeError", also an `OSError`).

Redirects follow the request's `redirect` mode ("follow" by default, as fetch does).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any

from .jsobject import js_error

if TYPE_CHECKING:
    import httpx

    from .jshttp import JsRequest, JsResponse

__all__ = ["Guard", "aclose", "client", "send", "send_sync", "set_guard"]

#: Generous: a local subrequest should not hang forever, and workerd allows long ones.
TIMEOUT_SECONDS = 300.0

#: Called with the URL of a request about to open a network connection; returns None to let it
#: through, or the message of the network error the request fails with.
Guard = Callable[[str], "str | None"]

_guard: Guard | None = None
# The URL being sent, so the guard (called with a host and port) can name the whole URL.
_sending: ContextVar[str | None] = ContextVar("pyflare_outbound_url", default=None)
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


@cache
def _ssl_context() -> ssl.SSLContext:
    # Building the default context loads the CA bundle (milliseconds): once per process.
    import httpx

    return httpx.create_ssl_context()


def set_guard(guard: Guard | None) -> Guard | None:
    """Install `guard` (None removes it); returns the guard it replaces."""
    global _guard
    previous, _guard = _guard, guard
    return previous


def _check(host: Any, port: Any) -> None:
    """Ask the guard about a connection about to open; raise a connect error if it refuses."""
    guard = _guard
    if guard is None:
        return
    url = _sending.get() or f"{_text(host)}:{port}"
    refusal = guard(url)
    if refusal is not None:
        import httpcore

        raise httpcore.ConnectError(refusal)


def _text(host: Any) -> str:
    return host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)


class _GuardedAsyncBackend:
    """httpcore's network backend, asking the guard before each new connection."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        _check(host, port)
        return await self._inner.connect_tcp(host, port, *args, **kwargs)

    async def connect_unix_socket(self, path: str, *args: Any, **kwargs: Any) -> Any:
        _check(path, "unix")
        return await self._inner.connect_unix_socket(path, *args, **kwargs)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedSyncBackend:
    """The synchronous counterpart of `_GuardedAsyncBackend` (for `pyodide.http.open_url`)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        _check(host, port)
        return self._inner.connect_tcp(host, port, *args, **kwargs)

    def connect_unix_socket(self, path: str, *args: Any, **kwargs: Any) -> Any:
        _check(path, "unix")
        return self._inner.connect_unix_socket(path, *args, **kwargs)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _guard_pool(transport: Any, wrapper: type) -> Any:
    # httpx builds its connection pool inside the transport and offers no way to hand it a
    # network backend, so the guard goes into the pool it built. Both attributes have been
    # there since httpcore 1.0; tests/test_pytest_plugin_outbound.py fails if that changes.
    pool = transport._pool
    pool._network_backend = wrapper(pool._network_backend)
    return transport


def client() -> httpx.AsyncClient:
    """The running event loop's client (made on first use): httpx's default transport."""
    import httpx

    loop = asyncio.get_running_loop()
    made = _clients.get(loop)
    if made is None or made.is_closed:
        transport = _guard_pool(
            httpx.AsyncHTTPTransport(verify=_ssl_context()), _GuardedAsyncBackend
        )
        made = httpx.AsyncClient(transport=transport, timeout=TIMEOUT_SECONDS)
        _clients[loop] = made
    return made


async def aclose() -> None:
    """Close the running loop's client and its connections (the next request makes a new one).

    The pytest plugin calls this when a test's runtime closes, so no connection outlives it."""
    made = _clients.pop(asyncio.get_running_loop(), None)
    if made is not None:
        await made.aclose()


async def send(request: JsRequest) -> JsResponse:
    """Send `request` over the network and return the whole response (a WebSocket handshake
    when it asks for `Upgrade: websocket`)."""
    if any(k == "upgrade" for k, _ in request._pairs):
        from .wsoutbound import fetch_websocket, wants_websocket

        if wants_websocket(request):
            return await fetch_websocket(request)
    import httpx

    from .jshttp import JsResponse

    body: bytes | None = None
    if request._body is not None:
        body = await request._consume()
    follow = request.redirect == "follow"
    token = _sending.set(request.url)
    try:
        response = await client().request(
            request.method,
            request.url,
            headers=request._pairs,
            content=body,
            follow_redirects=follow,
        )
        content = response.content  # the client read it all (no streaming here)
    except httpx.HTTPError as exc:
        raise js_error("TypeError", f"fetch failed: {exc or type(exc).__name__}", OSError) from exc
    finally:
        _sending.reset(token)
    if request.redirect == "error" and response.is_redirect:
        raise js_error("TypeError", "Redirect was not allowed (redirect: 'error')", OSError)
    # httpx has already decoded any Content-Encoding, as fetch does; the header stays, as in JS.
    pairs: list[tuple[str, str]] = [
        (name.lower(), value) for name, value in response.headers.multi_items()
    ]
    result = JsResponse._make(content or None, response.status_code, response.reason_phrase, pairs)
    result.url = str(response.url)
    result.redirected = bool(response.history)
    result.type = "basic"
    return result


def send_sync(url: str) -> str:
    """GET `url` synchronously (following redirects) and return its text: `open_url`'s path."""
    import httpx

    token = _sending.set(url)
    try:
        transport = _guard_pool(httpx.HTTPTransport(verify=_ssl_context()), _GuardedSyncBackend)
        with httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS) as sync_client:
            return sync_client.get(url, follow_redirects=True).text
    except httpx.HTTPError as exc:
        # What a failed synchronous XMLHttpRequest raises in Pyodide.
        message = f"Failed to execute 'send' on 'XMLHttpRequest': {exc or type(exc).__name__}"
        raise js_error("NetworkError", message, OSError) from exc
    finally:
        _sending.reset(token)
