"""The dev server's WebSocket path (`server_websocket`), driven as uvicorn drives an ASGI app:
the handshake from the worker's 101, the pumping both ways, refusals as HTTP responses, and a
101 to a request that did not ask for one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from miniflare_py import Miniflare
from miniflare_py.server import create_app

LAB = Path(__file__).parent / "e2e_workers" / "ws_lab" / "wrangler.toml"
CHATROOM = Path(__file__).resolve().parent.parent / "fixtures" / "chatroom" / "wrangler.jsonc"

pytestmark = pytest.mark.anyio


class Connection:
    """One WebSocket connection as uvicorn's websockets-sansio protocol presents it."""

    def __init__(self, app: Any, path: str, headers: list[tuple[str, str]] | None = None) -> None:
        path, _, query = path.partition("?")
        self.scope = {
            "type": "websocket",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1:8787"),
                (b"upgrade", b"websocket"),
                (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
                *((k.encode(), v.encode()) for k, v in headers or []),
            ],
            "server": ("127.0.0.1", 8787),
            "subprotocols": [],
            "extensions": {"websocket.http.response": {}},
        }
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(app(self.scope, self.inbox.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(message)
        if message["type"] == "websocket.close":  # uvicorn reports its own close at once
            self.inbox.put_nowait(
                {
                    "type": "websocket.disconnect",
                    "code": message["code"],
                    "reason": message["reason"],
                }
            )

    async def sent(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.outbox.get(), 5)

    def client_sends(self, text: str | None = None, data: bytes | None = None) -> None:
        message: dict[str, Any] = {"type": "websocket.receive"}
        message["text" if text is not None else "bytes"] = text if text is not None else data
        self.inbox.put_nowait(message)


@pytest.fixture
async def lab(anyio_backend: str) -> AsyncIterator[Any]:
    async with Miniflare(LAB, clock="real") as runtime:
        yield create_app(lambda: runtime)


async def test_a_101_completes_the_handshake_and_frames_flow_both_ways(lab: Any) -> None:
    conn = Connection(lab, "/?user=ada&tags=t")
    assert await conn.sent() == {"type": "websocket.accept"}
    conn.client_sends("echo:over the wire")
    assert await conn.sent() == {"type": "websocket.send", "text": "over the wire"}
    conn.client_sends(data=b"\x07")
    assert await conn.sent() == {"type": "websocket.send", "text": "ArrayBuffer:07"}
    conn.client_sends("close")
    assert await conn.sent() == {"type": "websocket.close", "code": 4000, "reason": "server closes"}
    await asyncio.wait_for(conn.task, 5)


async def test_a_client_close_reaches_the_object_and_ends_the_connection(
    anyio_backend: str,
) -> None:
    async with Miniflare(LAB, clock="real") as runtime:
        app = create_app(lambda: runtime)
        conn = Connection(app, "/?user=bob")
        await conn.sent()
        conn.inbox.put_nowait({"type": "websocket.disconnect", "code": 4001, "reason": "bye"})
        await asyncio.wait_for(conn.task, 5)
        # uvicorn reports a connection lost without a Close frame with a code and no reason.
        other = Connection(app, "/?user=cy")
        await other.sent()
        other.inbox.put_nowait({"type": "websocket.disconnect", "code": 1005})
        await asyncio.wait_for(other.task, 5)
        await asyncio.sleep(0.01)
        closes = await runtime.env.HUB.getByName("main").closes()
    assert closes == [
        [4001, "bye", True, 0],
        [1006, "WebSocket disconnected without sending Close frame.", False, 0],
    ]


async def test_a_refusal_is_sent_as_an_http_response(anyio_backend: str) -> None:
    async with Miniflare(CHATROOM, clock="real") as runtime:
        conn = Connection(create_app(lambda: runtime), "/nowhere")
        start = await conn.sent()
        body = await conn.sent()
        await asyncio.wait_for(conn.task, 5)
    assert start["type"] == "websocket.http.response.start" and start["status"] == 404
    assert body["body"].startswith(b"Use /room/<name>")


async def test_internal_routes_take_no_websocket(lab: Any) -> None:
    conn = Connection(lab, "/__pyflare/queues")
    start = await conn.sent()
    assert start["status"] == 404


async def test_a_worker_that_raises_answers_500(lab: Any, caplog: pytest.LogCaptureFixture) -> None:
    conn = Connection(lab, "/?case=accepted-client")
    start = await conn.sent()
    body = await conn.sent()
    assert start["status"] == 500
    assert b"Can't return WebSocket in a Response after calling accept()." in body["body"]
    assert "raised" in caplog.text


async def test_a_101_to_a_plain_request_is_workerds_error(lab: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lab), base_url="http://t") as c:
        response = await c.get("/plain")
    assert response.status_code == 500
    assert response.text == (
        "TypeError: Worker tried to return a WebSocket in a response to a request which did "
        'not contain the header "Upgrade: websocket".\n'
    )
