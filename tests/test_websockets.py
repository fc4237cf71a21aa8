"""The emulated JavaScript WebSocket: pairs, the state machine, events, close codes, the
compatibility-dated behaviours, attachments, and what a 101 response may carry (workerd's
rules and error texts)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from miniflare_py.websocket_client import returned_socket
from miniflare_py.workers import Response, js
from miniflare_py.workers.jsbody import Blob
from miniflare_py.workers.jsbuffer import ArrayBuffer
from miniflare_py.workers.jsobject import JsException
from miniflare_py.workers.jswebsocket import (
    Close,
    Disconnect,
    WebSocket,
    WebSocketCompat,
    websocket_compat,
)
from miniflare_py.workers.pyodide.ffi import create_proxy, to_js

pytestmark = pytest.mark.anyio

NEW = WebSocketCompat.of("2026-06-01")  # every dated behaviour on
OLD = WebSocketCompat.of("2025-11-02")


def pair(compat: WebSocketCompat = OLD) -> tuple[WebSocket, WebSocket]:
    token = websocket_compat.set(compat)
    try:
        client, server = js.WebSocketPair.new().object_values()
    finally:
        websocket_compat.reset(token)
    return client, server


def recorder(ws: WebSocket, *kinds: str) -> list[Any]:
    seen: list[Any] = []
    for kind in kinds or ("message", "close", "error"):
        ws.addEventListener(kind, seen.append)
    return seen


async def turn(times: int = 5) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


# pairs


async def test_a_pair_unpacks_the_ways_python_workers_write_it() -> None:
    made = js.WebSocketPair.new()
    first, second = made.object_values()
    assert first is not second and isinstance(first, js.WebSocket)
    assert list(made) == [first, second]  # iterable, as workerd's WebSocketPair is
    assert made[0] is first and made["1"] is second
    assert list(js.Object.values(made)) == [first, second]
    assert list(js.Object.keys(made)) == ["0", "1"]
    assert made.constructor.name == "WebSocketPair" and first.constructor.name == "WebSocket"
    assert js.WebSocket.OPEN == 1 and WebSocket.CLOSED == 3


async def test_messages_cross_in_order_once_both_ends_are_accepted() -> None:
    client, server = pair()
    got_server, got_client = recorder(server), recorder(client)
    server.accept()
    server.send("before the client accepted")  # waits at the client end, in order
    server.send(b"\x00\x01")
    await turn()
    assert got_client == []
    client.accept()
    client.send("hi")
    client.send(to_js(b"bin"))
    await turn()
    assert [e.data for e in got_server[:1]] == ["hi"]
    assert isinstance(got_server[1].data, ArrayBuffer) and got_server[1].data.to_bytes() == b"bin"
    assert got_client[0].data == "before the client accepted"
    assert got_client[1].data.to_bytes() == b"\x00\x01"
    assert got_client[0].type == "message"


async def test_sending_needs_accept_and_stops_at_close() -> None:
    client, server = pair()
    with pytest.raises(TypeError, match=r"You must call one of accept\(\) or state.accept"):
        server.send("x")
    server.accept()
    server.send(5)  # JavaScript sends String(5)
    with pytest.raises(TypeError, match="WebSocket send\\(\\) takes a str or binary data"):
        server.send({"a": 1})
    server.close(1000, "done")
    with pytest.raises(TypeError, match=r"Can't call WebSocket send\(\) after close\(\)\."):
        server.send("late")
    server.close(1000, "again")  # a second close() is ignored
    client.accept()
    got = recorder(client)
    await turn()
    assert got[0].data == "5"
    assert (got[1].type, got[1].code, got[1].reason, got[1].wasClean) == (
        "close",
        1000,
        "done",
        True,
    )


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 5000, "x"])
async def test_close_refuses_reserved_and_out_of_range_codes(code: Any) -> None:
    _, server = pair()
    server.accept()
    with pytest.raises(JsException) as caught:
        server.close(code)
    assert caught.value.name == "InvalidAccessError"
    assert caught.value.message == f"Invalid WebSocket close code: {code}."
    assert isinstance(caught.value, ValueError)


async def test_a_close_reason_needs_a_code_and_is_limited_from_2026_03_03() -> None:
    _, server = pair()
    server.accept()
    with pytest.raises(ValueError, match="If you specify a WebSocket close reason, you must"):
        server.close(None, "why")
    long = "é" * 62  # 124 UTF-8 bytes
    server.close(4000, long)  # older dates take any length
    _, newer = pair(NEW)
    newer.accept()
    with pytest.raises(JsException, match="must not be longer than 123 bytes") as caught:
        newer.close(4000, long)
    assert caught.value.name == "SyntaxError"
    newer.close(4000, "é" * 61)


async def test_ready_state_and_close_replies_follow_the_compatibility_date() -> None:
    # Before 2026-04-07 the receiver of a Close frame must answer it itself.
    client, server = pair(OLD)
    client.accept()
    server.accept()
    states: list[int] = []
    server.addEventListener("close", lambda event: states.append(server.readyState))
    got = recorder(client, "close")
    client.close(4001, "bye")
    assert client.readyState == 2  # CLOSING: sent, not answered
    await turn()
    assert states == [2] and got == []
    server.close(4002, "answer")
    await turn()
    assert server.readyState == 3 and client.readyState == 3
    assert (got[0].code, got[0].reason) == (4002, "answer")
    # From 2026-04-07 the runtime answers with the same code.
    client, server = pair(NEW)
    client.accept()
    server.accept()
    states.clear()
    server.addEventListener("close", lambda event: states.append(server.readyState))
    got = recorder(client, "close")
    client.close(4001, "bye")
    await turn()
    assert states == [3]
    assert (got[0].code, got[0].reason) == (4001, "bye")
    server.close(1000)  # ignored: already closed


async def test_accept_allow_half_open_keeps_the_old_close_behaviour() -> None:
    client, server = pair(NEW)
    client.accept()
    server.accept(allowHalfOpen=True)
    got = recorder(client, "close")
    client.close(1000)
    await turn()
    assert server.readyState == 2 and got == []


async def test_binary_type_defaults_to_blob_from_2026_03_17() -> None:
    client, server = pair(NEW)
    assert server.binaryType == "blob"
    server.binaryType = "nonsense"  # ignored, as the spec says
    assert server.binaryType == "blob"
    got = recorder(server)
    server.accept()
    client.accept()
    client.send(b"abc")
    await turn()
    assert isinstance(got[0].data, Blob) and await got[0].data.bytes() == b"abc"
    server.binaryType = "arraybuffer"
    client.send(b"def")
    await turn()
    assert got[1].data.to_bytes() == b"def"
    assert pair(OLD)[0].binaryType == "arraybuffer"


async def test_handlers_properties_listeners_once_and_async_listeners() -> None:
    client, server = pair()
    order: list[str] = []
    seen: list[str] = []

    async def later(event: Any) -> None:
        await asyncio.sleep(0)
        seen.append(event.data)

    def listener(event: Any) -> None:
        order.append("listener:" + event.data)

    server.onmessage = lambda event: order.append("onmessage:" + event.data)
    server.addEventListener("message", listener)
    server.addEventListener("message", listener)  # the same listener is added once
    server.addEventListener("message", create_proxy(later))
    server.addEventListener("message", lambda e: order.append("once"), {"once": True})
    server.accept()
    client.accept()
    client.send("a")
    client.send("b")
    await turn(10)
    assert order == ["onmessage:a", "listener:a", "once", "onmessage:b", "listener:b"]
    assert seen == ["a", "b"]
    server.removeEventListener("message", listener)
    server.onmessage = None
    client.send("c")
    await turn(10)
    assert order[-1] == "listener:b" and seen[-1] == "c"


async def test_a_listener_that_raises_is_logged_and_the_socket_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, server = pair()

    def boom(event: Any) -> None:
        raise RuntimeError("listener broke")

    got = recorder(server)
    server.addEventListener("message", boom)
    server.accept()
    client.accept()
    client.send("1")
    client.send("2")
    await turn()
    assert [e.data for e in got] == ["1", "2"]
    assert "A WebSocket message listener raised" in caplog.text
    assert "listener broke" in caplog.text


async def test_a_lost_peer_closes_with_1006_and_later_sends_are_dropped() -> None:
    client, server = pair()
    server.accept()
    got = recorder(server)
    server._receive(Disconnect())
    await turn()
    close = got[0]
    assert (close.code, close.wasClean) == (1006, False)
    assert close.reason == "WebSocket disconnected without sending Close frame."
    server.send("nobody listens")  # silently dropped, as the spec says
    assert list(client._inbox) == []


async def test_accept_refuses_ends_already_used() -> None:
    client, _ = pair()
    client._couple(_Sink())
    with pytest.raises(TypeError, match="Can't accept\\(\\) WebSocket that was already used"):
        client.accept()


# attachments


async def test_attachments_are_copies_and_limited_to_16_kib() -> None:
    _, server = pair()
    assert server.deserializeAttachment() is None
    value = {"user": "ada", "rooms": [1, 2]}
    server.serializeAttachment(value)
    value["user"] = "changed after"
    copy = server.deserializeAttachment()
    assert copy == {"user": "ada", "rooms": [1, 2]}
    assert server.deserializeAttachment() is not copy
    server.serializeAttachment("plain text")
    assert server.deserializeAttachment() == "plain text"
    with pytest.raises(JsException) as caught:
        server.serializeAttachment("x" * 20000)
    assert caught.value.message == (
        "A WebSocket 'attachment' cannot be larger than 16384 bytes. 'attachment' was 20006 bytes."
    )
    assert server.deserializeAttachment() == "plain text"


# responses


async def test_a_101_response_needs_a_socket_and_a_socket_needs_101() -> None:
    client, _ = pair()
    response = Response(None, status=101, web_socket=client)
    assert response.status == 101 and response.js_object.webSocket is client
    with pytest.raises(ValueError, match="Responses with a WebSocket must have status code 101"):
        Response(None, web_socket=client)
    with pytest.raises(ValueError, match="Responses with a WebSocket must have status code 101"):
        js.Response.new(None, status=200, webSocket=client)
    with pytest.raises(ValueError, match="status codes in the range 200 to 599"):
        Response(None, status=101)
    with pytest.raises(TypeError, match="Cannot clone a response to a WebSocket handshake"):
        response.js_object.clone()
    assert js.Response.new(None, status=101, webSocket=client).webSocket is client


async def test_only_an_end_still_pending_may_be_returned() -> None:
    client, server = pair()
    assert returned_socket(Response(None, status=101, web_socket=client)) is client
    server.accept()
    with pytest.raises(
        TypeError, match=r"Can't return WebSocket in a Response after calling accept\(\)\."
    ):
        returned_socket(Response(None, status=101, web_socket=server))
    client._couple(_Sink())
    with pytest.raises(TypeError, match="Can't return WebSocket that was already used"):
        returned_socket(Response(None, status=101, web_socket=client))
    assert returned_socket(Response("plain")) is None


async def test_coupling_hands_the_backlog_then_the_traffic_to_the_link() -> None:
    client, server = pair()
    server.accept()
    server.send("welcome")
    server.close(1000, "bye")
    sink = _Sink()
    client._couple(sink)
    assert sink.sent == ["welcome", Close(1000, "bye")]
    got = recorder(server)
    sink.receiver("from the browser")
    await turn()
    assert got[0].data == "from the browser"


class _Sink:
    """A link that records what it is sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.receiver: Any = None

    def send(self, message: Any) -> None:
        self.sent.append(message)
