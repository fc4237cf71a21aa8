"""WebSockets over a real `pyflare dev`, with real clients (the `websockets` package): the chat
room of fixtures/chatroom (a Durable Object with the Hibernation API), its history after a
restart, a worker's own `accept()`ed socket, FastAPI endpoints, and a proxied outbound socket."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from dev_process import DevProcess, copy_fixture, dev_process
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import serve

pytestmark = pytest.mark.slow


def ws_url(dev: DevProcess, path: str) -> str:
    return dev.url.replace("http://", "ws://") + path


def events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(ws.recv(timeout=10)) for _ in range(count)]


def join(stack: ExitStack, dev: DevProcess, room: str, user: str) -> ClientConnection:
    return stack.enter_context(connect(ws_url(dev, f"/room/{room}?user={user}"), open_timeout=10))


def test_a_chat_room_of_several_clients(tmp_path: Path) -> None:
    room = copy_fixture("chatroom", tmp_path)
    with dev_process(["--no-reload"], room) as dev, ExitStack() as stack:
        ada = join(stack, dev, "lobby", "ada")
        assert events(ada, 2) == [
            {"type": "history", "messages": []},
            {"type": "join", "user": "ada"},
        ]
        bob = join(stack, dev, "lobby", "bob")
        cy = join(stack, dev, "lobby", "cy")
        assert events(bob, 3)[1:] == [
            {"type": "join", "user": "bob"},
            {"type": "join", "user": "cy"},
        ]
        assert events(cy, 2)[1] == {"type": "join", "user": "cy"}
        assert events(ada, 2) == [{"type": "join", "user": "bob"}, {"type": "join", "user": "cy"}]
        assert dev.client.get("/room/lobby/members").json() == ["ada", "bob", "cy"]

        # Messages sent by everyone at once reach every member, all in the same order.
        texts = [
            (member, f"{name}-{n}")
            for n in range(5)
            for member, name in ((ada, "ada"), (bob, "bob"), (cy, "cy"))
        ]
        senders = [
            threading.Thread(target=m.send, args=(json.dumps({"text": t}),)) for m, t in texts
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        seen = {name: events(m, 15) for m, name in ((ada, "ada"), (bob, "bob"), (cy, "cy"))}
        assert seen["ada"] == seen["bob"] == seen["cy"]
        assert [e["id"] for e in seen["ada"]] == list(range(1, 16))
        assert sorted(e["text"] for e in seen["ada"]) == sorted(t for _, t in texts)

        # The auto-response answers without the object; binary frames get an error event.
        bob.send("ping")
        assert bob.recv(timeout=10) == "pong"
        bob.send(b"\x00")
        assert json.loads(bob.recv(timeout=10)) == {"type": "error", "error": "send text frames"}

        # One leaves: the others see it, and the room's answer closes the connection cleanly.
        bob.close(1000, "see you")
        assert bob.close_code == 1000
        assert events(ada, 1) == [{"type": "leave", "user": "bob"}]
        assert events(cy, 1) == [{"type": "leave", "user": "bob"}]
        assert dev.client.get("/room/lobby/members").json() == ["ada", "cy"]

        # A client that vanishes without a Close frame leaves too.
        cy.socket.close()
        assert events(ada, 1) == [{"type": "leave", "user": "cy"}]
        ada.close()
        assert "GET /room/lobby?user=ada 101 Switching Protocols" in dev.output

    # After a restart the sockets are gone; a member who reconnects gets the stored history.
    with dev_process(["--no-reload"], room) as again, ExitStack() as stack:
        dan = join(stack, again, "lobby", "dan")
        history = events(dan, 1)[0]
        assert history["type"] == "history"
        assert [m["id"] for m in history["messages"]] == list(range(1, 16))
        dan.close()


def test_upgrades_the_worker_refuses_get_its_response(tmp_path: Path) -> None:
    room = copy_fixture("chatroom", tmp_path)
    with dev_process(["--no-reload"], room) as dev:
        with pytest.raises(InvalidStatus) as refused, connect(ws_url(dev, "/nowhere")):
            pass
        assert refused.value.response.status_code == 404
        assert refused.value.response.body.startswith(b"Use /room/<name>")
        assert dev.client.get("/room/lobby").status_code == 426  # no Upgrade header

        # A socket the worker itself accepts, with event listeners.
        with connect(ws_url(dev, "/echo")) as echo:
            echo.send("text")
            assert echo.recv(timeout=10) == "text"
            echo.send(b"\x01\x02")
            assert echo.recv(timeout=10) == b"\x02\x01"
            echo.close(4000, "done")
        assert echo.close_code == 4000  # the server answers the client's Close at once

        # Messages are limited to 32 MiB, as at the edge: a larger one closes with 1009.
        with connect(ws_url(dev, "/echo"), max_size=None) as echo:
            echo.send(b"x" * (32 * 1024 * 1024))
            assert len(echo.recv(timeout=30)) == 32 * 1024 * 1024
            echo.send(b"x" * (32 * 1024 * 1024 + 1))
            with pytest.raises(ConnectionClosed):
                echo.recv(timeout=30)
        assert echo.close_code == 1009


def test_fastapi_websocket_endpoints(tmp_path: Path) -> None:
    app = copy_fixture("fastapi-ws", tmp_path)
    with dev_process(["--no-reload"], app) as dev:
        with connect(ws_url(dev, "/chat/ada")) as ws:
            assert ws.recv(timeout=10) == "hello ada"
            ws.send("hi")
            assert json.loads(ws.recv(timeout=10)) == {"from": "ada", "text": "hi"}
            ws.send("quit")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
        assert (ws.close_code, ws.close_reason) == (4001, "asked to quit")
        with connect(ws_url(dev, "/reverse")) as ws:
            ws.send(b"abc")
            assert ws.recv(timeout=10) == b"cba"


@pytest.fixture
def echo_server() -> Iterator[str]:
    def echo(connection: Any) -> None:
        for message in connection:
            connection.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()


def test_a_worker_proxies_an_outbound_socket(tmp_path: Path, echo_server: str) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "proxy"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text(
        "from workers import Response, WorkerEntrypoint, fetch\n\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        f'        upstream = await fetch("{echo_server}/", headers={{"Upgrade": "websocket"}})\n'
        "        return Response(None, status=101, web_socket=upstream.js_object.webSocket)\n"
    )
    with dev_process(["--no-reload"], tmp_path) as dev, connect(ws_url(dev, "/")) as ws:
        for n in range(3):
            ws.send(f"round {n}")
            assert ws.recv(timeout=10) == f"round {n}"
