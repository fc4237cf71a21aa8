"""`env.ASSETS`: a Fetcher whose `fetch()` asks the assets directly (never the worker)."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from ..workers import Response
from ..workers.rpc import _FetcherWrapper
from .responder import AssetResponse, AssetServer

__all__ = ["AssetsFetcher", "to_response"]


def to_response(answer: AssetResponse) -> Any:
    """A `workers.Response` holding what the assets answered."""
    return Response(answer.read() or None, status=answer.status, headers=list(answer.headers))


class AssetsFetcher(_FetcherWrapper):
    """`await env.ASSETS.fetch(url_or_request)`: the asset's `Response` (404 when none)."""

    _js_name: ClassVar[str] = "Fetcher"

    def __init__(self, server: AssetServer) -> None:
        self._server = server

    def __repr__(self) -> str:
        return f"Fetcher(assets={str(self._server.folder)!r})"

    def _answer(self, url: str, method: str, headers: Any) -> Any:
        parts = urlsplit(
            url if "://" in url else "http://localhost" + ("" if url.startswith("/") else "/") + url
        )

        def header(name: str) -> str | None:
            if headers is None:
                return None
            value = headers.get(name)
            return None if value is None else str(value)

        answer = self._server.respond(method, parts.path or "/", parts.query, header)
        return to_response(answer)

    async def _fetch_request(self, request: Any) -> Any:
        """The SDK's fetcher hook: answer a JavaScript `Request`."""
        return self._answer(str(request.url), str(request.method), request.headers)
