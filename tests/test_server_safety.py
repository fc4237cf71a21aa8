"""The HTTP front door's safety rules (DESIGN.md §12): internal routes answer only this server's
own loopback Host and refuse cross-site requests; request bodies over 100 MB get 413 unread.

The ASGI scopes here are built as uvicorn builds them: `server` is the local address of the
connection, the Host header is whatever the client sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from miniflare_py import Miniflare
from miniflare_py import server as server_module
from miniflare_py.server import create_app

ECHO = Path(__file__).parent / "workers" / "echo"
PORT = 8787


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def mf(anyio_backend: str) -> AsyncIterator[Miniflare]:
    async with Miniflare(ECHO / "wrangler.toml", clock="real") as runtime:
        yield runtime


class Exchange:
    """One request through the ASGI app: what it sent back and how much body it read."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.body = b""
        self.receives = 0


async def call(
    runtime: Miniflare,
    path: str,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    host: bytes | None = b"localhost:8787",
    server: tuple[str, int] = ("127.0.0.1", PORT),
    body_chunks: list[bytes] | None = None,
) -> Exchange:
    path, _, query = path.partition("?")
    all_headers = ([(b"host", host)] if host is not None else []) + (headers or [])
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": all_headers,
        "server": server,
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "root_path": "",
    }
    chunks = list(body_chunks or [b""])
    exchange = Exchange()

    async def receive() -> dict[str, Any]:
        exchange.receives += 1
        if not chunks:
            return {"type": "http.disconnect"}
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = dict(message.get("headers", []))
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    await create_app(lambda: runtime)(scope, receive, send)
    return exchange


def scheduled_runs(runtime: Miniflare) -> list[Any]:
    assert runtime.worker is not None
    return runtime.worker.module.SCHEDULED


# -- Host: DNS rebinding ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["/__scheduled", "/cdn-cgi/handler/scheduled", "/__pyflare/queues"]
)
@pytest.mark.parametrize(
    "host", [b"evil.example", b"evil.example:8787", b"localhost.evil.example:8787", None]
)
async def test_internal_routes_refuse_a_foreign_host(
    mf: Miniflare, path: str, host: bytes | None
) -> None:
    exchange = await call(mf, path, host=host)
    assert exchange.status == 403
    assert b"internal routes" in exchange.body
    assert scheduled_runs(mf) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "server"),
    [
        (b"localhost:8787", ("127.0.0.1", PORT)),
        (b"LOCALHOST:8787", ("127.0.0.1", PORT)),
        (b"127.0.0.1:8787", ("127.0.0.1", PORT)),
        (b"[::1]:8787", ("::1", PORT)),
        (b"192.168.1.5:8787", ("192.168.1.5", PORT)),  # its own address when bound beyond loopback
        (b"localhost", ("127.0.0.1", 80)),
    ],
)
async def test_internal_routes_answer_the_servers_own_names(
    mf: Miniflare, host: bytes, server: tuple[str, int]
) -> None:
    exchange = await call(mf, "/__scheduled?cron=1+*+*+*+*", host=host, server=server)
    assert exchange.status == 200, exchange.body
    assert [cron for cron, _ in scheduled_runs(mf)] == ["1 * * * *"]


@pytest.mark.anyio
@pytest.mark.parametrize("host", [b"localhost:9999", b"127.0.0.1", b"10.0.0.9:8787"])
async def test_another_port_or_address_is_not_this_server(mf: Miniflare, host: bytes) -> None:
    assert (await call(mf, "/__pyflare/queues", host=host)).status == 403


# -- cross-site requests (CSRF) -----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"http://evil.example")],
        [(b"origin", b"null")],
        [(b"origin", b"http://localhost:3000")],
        [(b"sec-fetch-site", b"cross-site")],
        [(b"sec-fetch-site", b"same-site")],
        [(b"origin", b"http://localhost:8787"), (b"sec-fetch-site", b"cross-site")],
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_cross_site_requests_cannot_fire_internal_routes(
    mf: Miniflare, headers: list[tuple[bytes, bytes]], method: str
) -> None:
    exchange = await call(mf, "/__scheduled", method=method, headers=headers)
    assert exchange.status == 403
    assert b"another site" in exchange.body
    assert scheduled_runs(mf) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        [],  # curl
        [(b"sec-fetch-site", b"none")],  # typed in the address bar
        [(b"origin", b"http://localhost:8787"), (b"sec-fetch-site", b"same-origin")],
        [(b"origin", b"http://127.0.0.1:8787")],
    ],
)
async def test_same_origin_requests_fire_them(
    mf: Miniflare, headers: list[tuple[bytes, bytes]]
) -> None:
    exchange = await call(mf, "/__scheduled", method="POST", headers=headers)
    assert exchange.status == 200, exchange.body
    assert len(scheduled_runs(mf)) == 1


# -- worker routes stay open -------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_worker_sees_any_host_and_origin(mf: Miniflare) -> None:
    exchange = await call(
        mf,
        "/echo",
        host=b"evil.example",
        headers=[(b"origin", b"http://evil.example"), (b"sec-fetch-site", b"cross-site")],
    )
    assert exchange.status == 200
    assert b'"url":"http://evil.example/echo"' in exchange.body.replace(b" ", b"")


@pytest.mark.anyio
async def test_cdn_cgi_paths_never_reach_the_worker(mf: Miniflare) -> None:
    exchange = await call(mf, "/cdn-cgi/trace")
    assert exchange.status == 404
    assert b"not found" not in exchange.body  # the echo worker's own 404 body


# -- request body size ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_declared_body_over_100_mb_gets_413_without_being_read(mf: Miniflare) -> None:
    exchange = await call(
        mf,
        "/echo",
        method="POST",
        headers=[(b"content-length", b"100000001")],
        body_chunks=[b"x" * 65536, b"x" * 65536],
    )
    assert exchange.status == 413
    assert exchange.receives == 0
    assert exchange.headers.get(b"connection") == b"close"  # the rest is dropped, not read


@pytest.mark.anyio
async def test_a_body_of_100_mb_is_accepted(mf: Miniflare) -> None:
    exchange = await call(
        mf, "/echo", method="PUT", headers=[(b"content-length", b"100000000")], body_chunks=[b"ok"]
    )
    assert exchange.status == 200


@pytest.mark.anyio
async def test_a_chunked_body_growing_past_the_limit_gets_413_and_is_not_read_on(
    mf: Miniflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "MAX_BODY_BYTES", 1000)
    chunks = [b"x" * 400] * 10  # no content-length: only the running total can tell
    exchange = await call(mf, "/echo", method="POST", body_chunks=chunks)
    assert exchange.status == 413
    assert exchange.receives == 3  # stopped at the chunk that crossed the limit
    small = await call(mf, "/echo", method="POST", body_chunks=[b"x" * 400, b"y" * 600])
    assert small.status == 200
