"""A Workers AI app written the way Cloudflare's Python Workers AI example is (a gpt-oss
Responses call answered with `response.output`), plus a streamed chat and an embeddings
search, run in-process and over a real `pyflare dev`, offline; and over `pyflare dev` with an
OpenAI-compatible server behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dev_process import copy_fixture, dev_process
from openai_stub import openai_stub

from miniflare_py import Miniflare

APP = Path(__file__).resolve().parent.parent / "fixtures" / "ai-assistant"
DOCUMENTS = ["The cat sat on the mat.", "Stock markets fell sharply.", "A cat sleeps on a mat."]
OFFLINE = {"PYFLARE_AI_BASE_URL": "", "PYFLARE_AI_MODEL_MAP": ""}


# the local backend, whatever the shell running the tests says
pytestmark = pytest.mark.usefixtures("local_ai")


def sse_text(body: str) -> str:
    events = [e for e in body.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    return "".join(json.loads(e.removeprefix("data: "))["response"] for e in events[:-1])


@pytest.mark.anyio
async def test_the_app_runs_in_process() -> None:
    async with Miniflare(APP / "wrangler.jsonc") as mf:
        output = await (await mf.fetch("/ask?q=Who+wrote+Hamlet%3F")).json()
        assert [item["type"] for item in output] == ["reasoning", "message"]
        assert output[1]["content"][0]["text"].startswith("About wrote and Hamlet:")
        chat = await mf.fetch("/chat?q=Tell+me+about+tides")
        assert chat.headers.get("content-type") == "text/event-stream"
        assert sse_text(await chat.text()).startswith("About tides:")
        found = await mf.fetch(
            "/search", method="POST", json={"query": "cat on a mat", "documents": DOCUMENTS}
        )
        ranked = (await found.json())["ranked"]
        assert ranked[-1] == "Stock markets fell sharply."
        assert [c.model for c in mf.ai.calls] == [
            "@cf/openai/gpt-oss-120b",
            "@cf/meta/llama-3.1-8b-instruct",
            "@cf/baai/bge-base-en-v1.5",
        ]


@pytest.mark.slow
def test_the_app_runs_over_pyflare_dev_offline(tmp_path: Path) -> None:
    project = copy_fixture("ai-assistant", tmp_path)
    with dev_process(["--no-persist"], cwd=project, env=OFFLINE) as dev:
        output = dev.client.get("/ask", params={"q": "Who wrote Hamlet?"}).json()
        assert output[1]["content"][0]["text"].startswith("About wrote and Hamlet:")
        again = dev.client.get("/ask", params={"q": "Who wrote Hamlet?"}).json()
        assert again == output  # deterministic
        chat = dev.client.get("/chat", params={"q": "Tell me about tides"})
        assert chat.headers["content-type"] == "text/event-stream"
        assert sse_text(chat.text).startswith("About tides:")
        ranked = dev.client.post(
            "/search", json={"query": "cat on a mat", "documents": DOCUMENTS}
        ).json()["ranked"]
        assert ranked[-1] == "Stock markets fell sharply."


@pytest.mark.slow
def test_the_app_streams_from_an_openai_compatible_server_over_pyflare_dev(
    tmp_path: Path,
) -> None:
    project = copy_fixture("ai-assistant", tmp_path)
    with openai_stub() as stub:
        env = {"PYFLARE_AI_BASE_URL": stub.url, "PYFLARE_AI_MODEL_MAP": "*=llama3.2"}
        with dev_process(["--no-persist"], cwd=project, env=env) as dev:
            chat = dev.client.get("/chat", params={"q": "Tell me about tides"})
            assert sse_text(chat.text) == "llama3.2 says: Tell me about tides"
            output = dev.client.get("/ask", params={"q": "Hi"}).json()
            assert output[-1]["content"][0]["text"] == "llama3.2 says: Hi"
    assert [path for path, _, _ in stub.requests] == ["/v1/chat/completions"] * 2
