"""The WebSocket Hibernation API of Durable Objects, in-process through `mf.websocket()`:
accepting with tags, the handlers and their order, closes, attachments across a dropped instance,
the auto-response, and workerd's errors."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from miniflare_py import Miniflare
from miniflare_py.websocket_client import WebSocketClosed, WebSocketTestClient
from miniflare_py.workers.jswebsocket import Disconnect

LAB = Path(__file__).parent / "e2e_workers" / "ws_lab" / "wrangler.toml"

pytestmark = pytest.mark.anyio


@pytest.fixture
async def mf(anyio_backend: str) -> Any:
    async with Miniflare(LAB) as runtime:
        yield runtime


async def join(mf: Miniflare, user: str, tags: str = "", hub: str = "main") -> WebSocketTestClient:
    return await mf.websocket(f"/?user={user}&tags={tags}&hub={hub}")


async def ask(ws: WebSocketTestClient, text: str) -> str:
    await ws.send(text)
    answer = await ws.receive()
    assert isinstance(answer, str)
    return answer


async def closes(mf: Miniflare, hub: str = "main") -> list[list[Any]]:
    return await mf.env.HUB.getByName(hub).closes()  # type: ignore[no-any-return]


async def test_accepted_sockets_are_listed_by_tag_and_answer_through_the_object(
    mf: Miniflare,
) -> None:
    ada = await join(mf, "ada", "red,blue,red")
    bob = await join(mf, "bob", "blue")
    assert json.loads(await ask(ada, "tags")) == ["red", "blue"]  # duplicates dropped
    assert await ask(ada, "count:") == "2"
    assert await ask(ada, "count:blue") == "2"
    assert await ask(bob, "count:red") == "1"
    assert await ask(bob, "count:green") == "0"
    assert await ask(bob, "echo:hello") == "hello"
    stub = mf.env.HUB.getByName("main")
    assert len(mf.durable_objects.websockets(stub)) == 2
    assert len(mf.durable_objects.websockets(stub, "red")) == 1


async def test_binary_messages_arrive_as_array_buffers(mf: Miniflare) -> None:
    ws = await join(mf, "ada")
    await ws.send(b"\x01\xff")
    assert await ws.receive() == "ArrayBuffer:01ff"


async def test_the_messages_of_one_socket_are_handled_one_at_a_time_in_order(
    mf: Miniflare,
) -> None:
    ws = await join(mf, "ada")
    await ws.send("slow:")
    await ws.send("echo:after")
    assert [await ws.receive(), await ws.receive()] == ["slow done", "after"]


async def test_a_broadcast_reaches_every_member_in_order(mf: Miniflare) -> None:
    members = [await join(mf, name) for name in ("ada", "bob", "cy")]
    for n in range(5):
        await members[n % 3].send(f"broadcast:{n}")
    for member in members:
        assert [await member.receive() for _ in range(5)] == ["0", "1", "2", "3", "4"]


async def test_sockets_and_attachments_outlive_the_instance(mf: Miniflare) -> None:
    ws = await join(mf, "ada")
    first = json.loads(await ask(ws, "who"))
    await ws.send("echo:x")
    await ws.receive()
    mf.durable_objects.hibernate(mf.env.HUB.getByName("main"))
    after = json.loads(await ask(ws, "who"))
    assert after["user"] == "ada" and after["built"] == first["built"] + 1
    # The new instance remembers only what it handled itself.
    assert json.loads(await ask(ws, "handled")) == ["who", "handled"]


async def test_a_client_close_calls_web_socket_close_which_answers(mf: Miniflare) -> None:
    ada = await join(mf, "ada")
    bob = await join(mf, "bob")
    await bob.close(4001, "bye")
    assert (bob.close_code, bob.close_reason) == (1000, "closed 4001")
    # During webSocketClose the closing socket is no longer listed.
    assert await closes(mf) == [[4001, "bye", True, 1]]
    assert await ask(ada, "count:") == "1"


async def test_a_close_left_unanswered_ends_the_connection_without_a_close_frame(
    mf: Miniflare,
) -> None:
    ws = await join(mf, "ada")
    await ws.close(4002, "no-reply")
    assert ws.close_code == 1006


async def test_a_server_close_reaches_the_client_and_its_answer_the_object(mf: Miniflare) -> None:
    ws = await join(mf, "ada")
    await ws.send("close")
    with pytest.raises(WebSocketClosed) as closed:
        await ws.receive()
    assert (closed.value.code, closed.value.reason) == (4000, "server closes")
    await asyncio.sleep(0.01)
    # The client (a browser) answered with the same code: the object saw it.
    assert await closes(mf) == [[4000, "server closes", True, 0]]


async def test_a_lost_connection_calls_web_socket_close_with_1006(mf: Miniflare) -> None:
    ws = await join(mf, "ada")
    ws._socket._transmit(Disconnect())  # the connection dropped without a Close frame
    await asyncio.sleep(0.01)
    assert await closes(mf) == [
        [1006, "WebSocket disconnected without sending Close frame.", False, 0]
    ]


async def test_the_auto_response_answers_without_running_the_object(mf: Miniflare) -> None:
    ws = await join(mf, "ada")
    assert await ask(ws, "stamp") == "False"
    assert await ask(ws, "ping") == "pong"
    assert await ask(ws, "stamp") == "True"
    assert json.loads(await ask(ws, "handled")) == ["stamp", "stamp", "handled"]


async def test_a_handler_that_raises_is_logged_and_the_socket_stays(
    mf: Miniflare, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await join(mf, "ada")
    with caplog.at_level(logging.ERROR, "miniflare_py"):
        await ws.send("raise")
        assert await ask(ws, "echo:still here") == "still here"
    assert "Hub.webSocketMessage() raised: RuntimeError: handler broke" in caplog.text


async def test_abort_in_a_handler_resets_the_object_and_keeps_the_socket(mf: Miniflare) -> None:
    ws = await join(mf, "ada")
    before = json.loads(await ask(ws, "who"))["built"]
    await ws.send("abort")
    assert json.loads(await ask(ws, "who"))["built"] == before + 1


async def test_the_event_timeout_cancels_a_long_handler(
    mf: Miniflare, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await join(mf, "ada")
    assert await ask(ws, "timeout:20") == "20"
    await ws.send("sleep:5")
    assert await ask(ws, "echo:next") == "next"
    assert "ran longer than the event timeout (20 ms)" in caplog.text


async def test_the_worker_can_be_the_client_of_the_objects_socket(mf: Miniflare) -> None:
    answer = await (await mf.fetch("/relay")).json()
    assert answer["user"] == "relay"


async def test_what_workerd_refuses_to_return_is_refused(mf: Miniflare) -> None:
    with pytest.raises(TypeError, match=r"after calling accept\(\)\."):
        await mf.websocket("/?case=accepted-client")
    with pytest.raises(TypeError, match=r"after calling acceptWebSocket\(\)\."):
        await mf.websocket("/?case=hibernated-server")


async def test_accept_web_socket_errors(tmp_path: Path) -> None:
    from helpers import write_worker

    source = """
        from js import WebSocketPair
        from workers import DurableObject, Response, WorkerEntrypoint

        class Box(DurableObject):
            async def check(self, case):
                client, server = WebSocketPair.new().object_values()
                try:
                    if case == "twice":
                        self.ctx.acceptWebSocket(server)
                        self.ctx.acceptWebSocket(server)
                    elif case == "accepted":
                        server.accept()
                        self.ctx.acceptWebSocket(server)
                    elif case == "peer-used":
                        client.accept()
                        self.ctx.acceptWebSocket(server)
                    elif case == "tags":
                        self.ctx.acceptWebSocket(server, [str(n) for n in range(11)])
                    elif case == "long-tag":
                        self.ctx.acceptWebSocket(server, ["t" * 257])
                    elif case == "get-tags":
                        server.accept()
                        self.ctx.getTags(server)
                    elif case == "accept-after":
                        self.ctx.acceptWebSocket(server)
                        server.accept()
                except Exception as exc:
                    return f"{type(exc).__name__}: {exc}"
                return "no error"

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response("")
    """
    config = """
        [[durable_objects.bindings]]
        name = "BOX"
        class_name = "Box"
        [[migrations]]
        tag = "v1"
        new_sqlite_classes = ["Box"]
    """
    async with Miniflare(write_worker(tmp_path, source, config)) as mf:
        box = mf.env.BOX.getByName("b")
        accepted = (
            "Error: Cannot call `acceptWebSocket()` if the WebSocket was already accepted via "
            "`accept()`"
        )
        assert await box.check("twice") == "JsError: " + accepted
        assert await box.check("accepted") == "JsError: " + accepted
        assert "its pair has already been accepted" in await box.check("peer-used")
        assert "cannot have more than 10 tags" in await box.check("tags")
        assert "is longer than the max tag length (256 characters)." in await box.check("long-tag")
        assert "only hibernatable websockets can have tags." in await box.check("get-tags")
        assert "Can't accept() WebSocket after enabling hibernation." in await box.check(
            "accept-after"
        )


async def test_an_upgrade_the_worker_refuses_is_a_response(mf: Miniflare) -> None:
    from miniflare_py.websocket_client import WebSocketRejected

    async with Miniflare(
        Path(__file__).resolve().parent.parent / "fixtures" / "chatroom" / "wrangler.jsonc"
    ) as chat:
        with pytest.raises(WebSocketRejected) as refused:
            await chat.websocket("/nowhere")
        assert refused.value.response.status == 404
        assert "Use /room/<name>" in await refused.value.response.text()
