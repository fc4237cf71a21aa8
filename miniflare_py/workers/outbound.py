"""Outbound HTTP: what `workers.fetch`, `js.fetch` and `pyodide.http.pyfetch` send, through httpx.

Every subrequest goes out here, so a test can mock them all with respx (which patches httpx).
Redirects follow the request's `redirect` mode ("follow" by default, as fetch does). A network
failure is a `TypeError` from JavaScript's point of view (`JsException` named "TypeError", also
an `OSError`).
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import TYPE_CHECKING

from .jsobject import js_error

if TYPE_CHECKING:
    from .jshttp import JsRequest, JsResponse

__all__ = ["send"]

#: Generous: a local subrequest should not hang forever, and workerd allows long ones.
TIMEOUT_SECONDS = 300.0


@cache
def _ssl_context() -> ssl.SSLContext:
    # Building the default context loads the CA bundle (milliseconds): once per process.
    import httpx

    return httpx.create_ssl_context()


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
    try:
        async with httpx.AsyncClient(
            verify=_ssl_context(), follow_redirects=follow, timeout=TIMEOUT_SECONDS
        ) as client:
            response = await client.request(
                request.method, request.url, headers=request._pairs, content=body
            )
            content = await response.aread()
    except httpx.HTTPError as exc:
        raise js_error("TypeError", f"fetch failed: {exc or type(exc).__name__}", OSError) from exc
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
