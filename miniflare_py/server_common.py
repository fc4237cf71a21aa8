"""What the server's HTTP path (`server`) and WebSocket path (`server_websocket`) share: the
request the worker sees for an ASGI scope, the access log line, and how a worker's failure is
logged and shown."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import TYPE_CHECKING

from starlette.types import Scope

from .logs import log_fast
from .tracebacks import errors_of, format_user_exception
from .worker import WorkerLoadError

if TYPE_CHECKING:
    from .runtime import Miniflare
    from .workers import Request

__all__ = [
    "INTERNAL_PREFIXES",
    "PHRASES",
    "error_log",
    "http_log",
    "load_failure",
    "log_line",
    "request_headers",
    "request_url",
    "worker_failure",
]

http_log = logging.getLogger("miniflare_py.http")
error_log = logging.getLogger("miniflare_py.errors")

#: Paths of pyflare's own routes (answered by `server`, never by the worker).
INTERNAL_PREFIXES = ("/__pyflare/", "/__scheduled", "/cdn-cgi/")
PHRASES = {s.value: s.phrase for s in HTTPStatus}


def request_url(scope: Scope) -> str:
    """The URL the worker sees for an ASGI `scope`: http(s) also for a WebSocket upgrade, as at
    the edge, where `request.url` is never ws://."""
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = None
    for key, value in scope["headers"]:
        if key == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"")
    url = f"{scheme}://{host}{scope.get('root_path', '')}{path}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def request_headers(scope: Scope) -> list[tuple[str, str]]:
    """The header pairs of an ASGI `scope` as the worker's request holds them."""
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]


def load_failure(mf: Miniflare, exc: WorkerLoadError) -> str:
    """The text of the 500 for a worker that cannot be imported, logged once per failure."""
    if errors_of(mf).count("import", exc) == 1:  # else printed when it failed
        error_log.error("%s", exc.details)
    return exc.details


def worker_failure(mf: Miniflare, request: Request, exc: Exception) -> str:
    """The text of the 500 for a worker that failed to answer `request`, logged."""
    if isinstance(exc, WorkerLoadError):
        return load_failure(mf, exc)
    details = format_user_exception(exc)
    error_log.error("%s %s raised:\n%s", request.method, request.url, details.rstrip())
    return details


def log_line(scope: Scope, status: int, started: float, reason: str = "") -> None:
    """The access log line of a request (`reason`: the status's own phrase by default)."""
    if not http_log.isEnabledFor(logging.INFO):
        return
    elapsed = (time.perf_counter() - started) * 1000
    query = scope.get("query_string", b"")
    path = scope["path"] + (f"?{query.decode('latin-1')}" if query else "")
    log_fast(
        http_log,
        logging.INFO,
        "%s %s %d %s (%dms)",
        scope.get("method", "GET"),  # a WebSocket scope has none: its upgrade is a GET
        path,
        status,
        reason or PHRASES.get(status, ""),
        elapsed,
    )
