"""Static assets in front of the worker, for the HTTP server of `pyflare dev`.

As at the edge, a request that names an asset (or a redirect to one, or a navigation that
`not_found_handling` answers) is served from the assets folder without running the worker,
unless `run_worker_first` says the worker goes first. Everything else goes to the worker.
This runs on the raw ASGI scope, before any `Request` is built, since it is a hot path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import Scope, Send

if TYPE_CHECKING:
    # Only a worker with `[assets]` imports the asset server (its binding opens one).
    from .assets import AssetServer
    from .runtime import Miniflare

__all__ = ["asset_folders", "refresh_assets", "serve_asset"]


def _server(mf: Miniflare) -> AssetServer | None:
    instance = mf.bindings.get("assets")
    return None if instance is None else instance.handle()


async def serve_asset(mf: Miniflare, scope: Scope, send: Send) -> int | None:
    """Answer the request from the assets when they take it; the status sent, or None when
    the worker should answer."""
    server = _server(mf)
    if server is None:
        return None
    headers: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        headers.setdefault(key.lower(), value)

    def header(name: str) -> str | None:
        value = headers.get(name.encode())
        return None if value is None else value.decode("latin-1")

    raw = scope.get("raw_path")
    path = raw.decode("latin-1").partition("?")[0] if raw else scope["path"]
    method = scope["method"]
    if not server.goes_to_assets(method, path, header):
        return None
    answer = server.respond(method, path, scope.get("query_string", b"").decode("latin-1"), header)
    out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    if answer.status not in (204, 304) and not any(
        k == "content-length" for k, _ in answer.headers
    ):
        out.append(
            (b"content-length", str(answer.size if answer.file else len(answer.body)).encode())
        )
    await send({"type": "http.response.start", "status": answer.status, "headers": out})
    if answer.file is None:
        await send({"type": "http.response.body", "body": answer.body})
    else:
        for chunk in answer.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    return answer.status


def asset_folders(mf: Miniflare) -> list[Path]:
    """The assets folder of the running worker, to watch for changes."""
    server = _server(mf)
    return [] if server is None else [server.folder]


def refresh_assets(mf: Miniflare, changed: set[Path]) -> bool:
    """List the assets folder again when every changed path is inside it; False when some
    change is elsewhere (the worker's own files: reload the worker)."""
    server = _server(mf)
    if server is None or not changed:
        return False
    folder = server.folder
    if not all(p.resolve().is_relative_to(folder) for p in changed):
        return False
    server.refresh()
    return True
