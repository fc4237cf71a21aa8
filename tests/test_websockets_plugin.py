"""`await pyflare.websocket(path)` in a user's tests: the chat room of fixtures/chatroom tested
through the pytest plugin, as a user project would (pytester, the plugin from its entry point)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

CHATROOM = Path(__file__).resolve().parent.parent / "fixtures" / "chatroom"

USER_TESTS = """\
import json

import pytest

from miniflare_py.websocket_client import WebSocketClosed, WebSocketRejected


@pytest.mark.anyio
async def test_two_members_chat(pyflare):
    async with await pyflare.websocket("/room/a?user=ada") as ada:
        assert await ada.receive_json() == {"type": "history", "messages": []}
        assert await ada.receive_json() == {"type": "join", "user": "ada"}
        bob = await pyflare.websocket("/room/a?user=bob")
        await bob.receive_json()
        assert await ada.receive_json() == {"type": "join", "user": "bob"}
        await bob.send_json({"text": "hi ada"})
        for member in (ada, bob):
            while (event := await member.receive_json())["type"] != "message":
                pass
            assert event == {"type": "message", "id": 1, "user": "bob", "text": "hi ada"}
        await bob.close()
        assert await ada.receive_json() == {"type": "leave", "user": "bob"}
    stub = pyflare.env.ROOMS.getByName("a")
    assert pyflare.durable_objects.websockets(stub) == []


@pytest.mark.anyio
async def test_each_test_starts_with_an_empty_room(pyflare):
    ws = await pyflare.websocket("/room/a?user=cy")
    assert await ws.receive_json() == {"type": "history", "messages": []}
    await ws.close()


@pytest.mark.asyncio
async def test_a_refused_upgrade(pyflare):
    with pytest.raises(WebSocketRejected) as refused:
        await pyflare.websocket("/elsewhere")
    assert refused.value.response.status == 404
"""

CONFTEST = """\
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def test_a_user_project_opens_websockets_to_its_worker(pytester: pytest.Pytester) -> None:
    shutil.copytree(CHATROOM, pytester.path, dirs_exist_ok=True)
    pytester.makepyfile(test_chat=USER_TESTS, conftest=CONFTEST)
    pytester.makeini(
        textwrap.dedent(
            """\
            [pytest]
            asyncio_default_fixture_loop_scope = function
            pyflare_config = wrangler.jsonc
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
