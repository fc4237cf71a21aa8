"""Outbound WebSockets against a local echo server: `js.WebSocket.new(url)`, a fetch with
`Upgrade: websocket`, a refused handshake, and a worker that proxies a socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Response as HandshakeResponse

from miniflare_py import Miniflare
from miniflare_py.websocket_client import WebSocketClosed
from miniflare_py.workers import fetch, js
from miniflare_py.workers.jsobject import JsException

pytestmark = pytest.mark.anyio


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        if message == "close please":
            await connection.close(4005, "as asked")
            return
        await connection.send(message)


def _refuse(connection: ServerConnection, request: Any) -> HandshakeResponse | None:
    if request.path == "/private":
        return connection.respond(403, "no sockets for you\n")
    return None


@pytest.fixture
async def echo_url(anyio_backend: str) -> AsyncIterator[str]:
    async with serve(_echo, "127.0.0.1", 0, process_request=_refuse) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


def events(ws: Any) -> asyncio.Queue[Any]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for kind in ("open", "message", "close", "error"):
        ws.addEventListener(kind, queue.put_nowait)
    return queue


async def next_event(queue: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(queue.get(), 5)


async def test_new_websocket_connects_opens_echoes_and_closes(echo_url: str) -> None:
    ws = js.WebSocket.new(echo_url + "/echo")
    assert ws.readyState == 0 and ws.url == echo_url + "/echo"
    with pytest.raises(TypeError, match="cannot call accept"):
        ws.accept()
    seen = events(ws)
    assert (await next_event(seen)).type == "open"
    assert ws.readyState == 1
    ws.send("hello")
    ws.send(b"\x00bin")
    assert (await next_event(seen)).data == "hello"
    assert (await next_event(seen)).data.to_bytes() == b"\x00bin"
    ws.send("close please")
    close = await next_event(seen)
    assert (close.type, close.code, close.reason, close.wasClean) == (
        "close",
        4005,
        "as asked",
        True,
    )


async def test_a_failed_connection_fires_error_then_close_1006() -> None:
    ws = js.WebSocket.new("ws://127.0.0.1:9/")  # the discard port: nothing listens
    seen = events(ws)
    error = await next_event(seen)
    close = await next_event(seen)
    assert error.type == "error" and "failed" in error.message
    assert (close.code, close.reason, close.wasClean) == (
        1006,
        "Failed to establish websocket connection",
        False,
    )
    assert ws.readyState == 3


@pytest.mark.parametrize(
    ("url", "protocols", "message"),
    [
        ("http://example.com/", None, "The url scheme must be ws or wss."),
        ("not a url", None, "The url is invalid."),
        ("ws://example.com/#frag", None, "The url fragment must be empty."),
        ("ws://example.com/", "a b", "The protocol header token is invalid."),
        ("ws://example.com/", ["chat", "chat"], "The protocols header cannot have repeating"),
    ],
)
async def test_the_constructor_checks_its_url_and_protocols(
    url: str, protocols: Any, message: str
) -> None:
    with pytest.raises(JsException, match=message) as caught:
        js.WebSocket.new(url, protocols)
    assert caught.value.name == "SyntaxError"
    assert caught.value.message.startswith("WebSocket Constructor: ")


async def test_fetch_with_upgrade_returns_a_socket_to_accept(echo_url: str) -> None:
    http_url = echo_url.replace("ws://", "http://")
    response = await fetch(http_url + "/e", headers={"Upgrade": "websocket"})
    assert response.status == 101
    ws = response.js_object.webSocket
    assert ws.readyState == 1
    seen = events(ws)
    with pytest.raises(TypeError, match="You must call one of accept"):
        ws.send("x")  # not accepted yet
    ws.accept()
    ws.send("after accept")
    assert (await next_event(seen)).data == "after accept"
    ws.close(1000, "bye")
    close = await next_event(seen)
    assert (close.code, close.reason) == (1000, "bye")


async def test_a_refused_handshake_is_the_servers_response(echo_url: str) -> None:
    http_url = echo_url.replace("ws://", "http://")
    response = await fetch(http_url + "/private", headers={"Upgrade": "websocket"})
    assert response.status == 403
    assert response.js_object.webSocket is None
    assert await response.text() == "no sockets for you\n"


async def test_a_worker_can_hand_on_an_outbound_socket(echo_url: str, tmp_path: Path) -> None:
    source = f"""
        from workers import Response, WorkerEntrypoint, fetch

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                upstream = await fetch("{echo_url.replace("ws://", "http://")}/up",
                                       headers={{"Upgrade": "websocket"}})
                return Response(None, status=101, web_socket=upstream.js_object.webSocket)
    """
    async with Miniflare(write_worker(tmp_path, source)) as mf:
        ws = await mf.websocket("/")
        await ws.send("through the worker")
        assert await ws.receive() == "through the worker"
        await ws.send("close please")
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (4005, "as asked")


async def test_the_outbound_guard_refuses_sockets_too(echo_url: str) -> None:
    from miniflare_py.workers import outbound

    seen: list[str] = []

    def deny(url: str) -> str:
        seen.append(url)
        return f"refused {url}"

    previous = outbound.set_guard(deny)
    try:
        with pytest.raises(OSError, match="fetch failed: refused ws://"):
            await fetch(
                echo_url.replace("ws://", "http://") + "/", headers={"Upgrade": "websocket"}
            )
        ws = js.WebSocket.new(echo_url + "/x")
        error = await next_event(events(ws))
        assert error.type == "error" and f"refused {echo_url}/x" in error.message
    finally:
        outbound.set_guard(previous)
    assert seen == [echo_url + "/", echo_url + "/x"]
