"""`workers.asgi` WebSockets: FastAPI `@app.websocket` endpoints (fixtures/fastapi-ws) and raw
ASGI apps, through `asgi.websocket` / `process_websocket` as the SDK's adapter runs them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from miniflare_py import Miniflare
from miniflare_py.websocket_client import WebSocketClosed, WebSocketTestClient
from miniflare_py.workers import Request, Response, asgi

FASTAPI_WS = Path(__file__).resolve().parent.parent / "fixtures" / "fastapi-ws" / "wrangler.jsonc"

pytestmark = pytest.mark.anyio


@pytest.fixture
async def mf(anyio_backend: str) -> Any:
    async with Miniflare(FASTAPI_WS) as runtime:
        yield runtime


async def test_a_fastapi_websocket_endpoint_greets_echoes_and_closes(mf: Miniflare) -> None:
    ws = await mf.websocket("/chat/ada")
    assert await ws.receive() == "hello ada"  # the greeting comes from env, through the scope
    await ws.send("hi")
    assert await ws.receive_json() == {"from": "ada", "text": "hi"}
    await ws.send("quit")
    with pytest.raises(WebSocketClosed) as closed:
        await ws.receive()
    assert (closed.value.code, closed.value.reason) == (4001, "asked to quit")


async def test_the_app_sees_the_clients_close_as_a_disconnect(mf: Miniflare) -> None:
    ws = await mf.websocket("/chat/bob")
    await ws.receive()
    await ws.close(4002, "gone")
    assert ws.close_code == 4002  # the adapter's socket answers the Close frame (2026 date)
    await asyncio.sleep(0.01)
    assert await (await mf.fetch("/disconnects")).json() == {"codes": [4002]}


async def test_binary_frames_reach_the_app_as_bytes(mf: Miniflare) -> None:
    ws = await mf.websocket("/reverse")
    await ws.send(b"\x01\x02\x03")
    assert await ws.receive() == b"\x03\x02\x01"


async def test_an_endpoint_that_raises_closes_with_1011(
    mf: Miniflare, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await mf.websocket("/crash")
    await ws.send("go")
    with pytest.raises(WebSocketClosed) as closed:
        await ws.receive()
    assert closed.value.code == 1011
    assert "the endpoint failed" in caplog.text


async def test_http_routes_still_answer(mf: Miniflare) -> None:
    assert (await mf.fetch("/disconnects")).status == 200


# raw ASGI apps, as the SDK's tests write them


async def _client(app: Any, env: Any = None, path: str = "/ws") -> WebSocketTestClient:
    request = Request(f"http://example.com{path}", headers={"Upgrade": "websocket"})
    response = await asgi.websocket(app, request, env)
    assert response.status == 101
    return WebSocketTestClient(response.webSocket, Response(response))


async def test_frames_keep_their_kind_and_empty_frames_arrive(anyio_backend: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket" and scope["env"] == {"marker": "m"}
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": b"bytes=" + message["bytes"]})
            else:
                await send({"type": "websocket.send", "text": "text=" + message["text"]})
                await send({"type": "websocket.send", "text": ""})
                await send({"type": "websocket.send", "bytes": b""})

    ws = await _client(app, {"marker": "m"})
    await ws.send(b"\x00b")
    assert await ws.receive() == b"bytes=\x00b"
    await ws.send("t")
    assert [await ws.receive() for _ in range(3)] == ["text=t", "", b""]
    await ws.close()


async def test_an_app_that_returns_without_closing_closes_with_1000(anyio_backend: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "bye"})

    ws = await _client(app)
    assert await ws.receive() == "bye"
    with pytest.raises(WebSocketClosed) as closed:
        await ws.receive()
    assert closed.value.code == 1000


async def test_the_scope_offers_the_requested_subprotocols(anyio_backend: str) -> None:
    scope = asgi.request_to_scope(
        Request("http://x/ws", headers={"Sec-WebSocket-Protocol": "chat, v2"}), {}, ws=True
    )
    assert scope["type"] == "websocket" and scope["subprotocols"] == ["chat", "v2"]
