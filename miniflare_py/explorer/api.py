"""The Local Explorer's routes: the page at `/cdn-cgi/local/explorer` (static files shipped in
the package: no build step, no CDN), its JSON API under `/cdn-cgi/local/explorer/api/...`
described by the OpenAPI document at `/cdn-cgi/local/explorer/api`, and the redirect from the
older `/cdn-cgi/explorer`.

The server mounts these among its internal routes, so they answer only requests addressed to
it by a loopback name and not sent by another site (see `miniflare_py.server`). The first use
of the explorer starts recording invocations (`trace.Tracer`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .endpoints import (
    ApiError,
    Endpoint,
    Result,
    envelope,
    error_response,
    json_response,
)
from .local import LocalView
from .openapi import API_PATH, document
from .paths import EXPLORER_PATH, OLD_EXPLORER_PATH, is_quiet
from .trace import Traced, Tracer
from .views import binding_views
from .views.base import BindingView

__all__ = ["EXPLORER_PATH", "OLD_EXPLORER_PATH", "explorer_routes", "is_quiet"]

log = logging.getLogger("miniflare_py.explorer")

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# The page loads only its own files and talks only to this server; no frame may hold it.
_PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


@cache
def _static_files() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, media type, ETag) of the page's files."""
    folder = resources.files("miniflare_py.explorer") / "static"
    found = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _MEDIA_TYPES:
            data = entry.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            found[entry.name] = (data, _MEDIA_TYPES[suffix], etag)
    return found


def _static(name: str, request: Request) -> Response:
    found = _static_files().get(name)
    if found is None:
        return Response("Not found", 404, media_type="text/plain")
    data, media_type, etag = found
    headers = {**_PAGE_HEADERS, "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def explorer_routes(runtime: Callable[[], Any]) -> list[BaseRoute]:
    """The explorer's routes for the server's internal app; `runtime()` is the running
    `Miniflare` (a config reload swaps it)."""
    tracer = Tracer()
    views = binding_views()
    every: tuple[type[BindingView], ...] = (LocalView, *views)
    traced: tuple[Traced, ...] = tuple(t for view in views for t in view.traced)
    openapi = document(every)

    def current() -> Any:
        mf = runtime()
        tracer.use(mf, traced)
        return mf

    def make_view(view: type[BindingView], mf: Any) -> BindingView:
        if view is LocalView:
            return LocalView(None, mf, tracer)
        return view(mf.bindings.get(view.binding_type), mf)

    def api_route(view: type[BindingView], endpoint: Endpoint) -> Route:
        async def handle(request: Request) -> Response:
            try:
                handler = getattr(make_view(view, current()), endpoint.handler)
                result = await handler(request)
            except ApiError as exc:
                return error_response(exc)
            except Exception as exc:
                log.exception("Local Explorer: %s %s failed", request.method, request.url.path)
                return error_response(ApiError(500, f"{type(exc).__name__}: {exc}"))
            if isinstance(result, Response):
                return result
            if isinstance(result, Result):
                return json_response(envelope(result.value, result.info))
            return json_response(envelope(result))

        path = API_PATH + endpoint.route_path(view.slash_params)
        return Route(path, handle, methods=[endpoint.method], name=endpoint.operation_id)

    async def page(request: Request) -> Response:
        current()
        return _static("index.html", request)

    async def static_file(request: Request) -> Response:
        current()
        return _static(request.path_params["name"], request)

    async def api_document(request: Request) -> Response:
        return json_response(openapi)

    async def unknown(request: Request) -> Response:
        return error_response(
            ApiError(404, f"no such explorer API operation: {request.method} {request.url.path}")
        )

    async def moved(request: Request) -> Response:
        rest = request.path_params.get("rest", "")
        target = EXPLORER_PATH + (f"/{rest}" if rest else "")
        if request.url.query:
            target += f"?{request.url.query}"
        return RedirectResponse(target, 308)

    routes: list[BaseRoute] = [
        Route(API_PATH, api_document, methods=["GET"]),
        *(api_route(view, e) for view in every for e in view.endpoints),
        Route(
            API_PATH + "/{rest:path}", unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        ),
        Route(EXPLORER_PATH, page, methods=["GET"]),
        Route(EXPLORER_PATH + "/", page, methods=["GET"]),
        Route(EXPLORER_PATH + "/{name}", static_file, methods=["GET"]),
        Route(OLD_EXPLORER_PATH, moved, methods=["GET", "HEAD"]),
        Route(OLD_EXPLORER_PATH + "/{rest:path}", moved, methods=["GET", "HEAD"]),
    ]
    return routes
