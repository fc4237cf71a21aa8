"""The OpenAI-compatible backend against a server that speaks the protocol (`openai_stub`): what
it sends, how the answers come back in Cloudflare's shapes, streamed or not, and its errors."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker
from openai_stub import OpenAIStub, openai_stub

from miniflare_py import Miniflare
from miniflare_py.ai import InferenceUpstreamError

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
WORKER = """
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        stream = await self.env.AI.run(
            "@cf/meta/llama-3.1-8b-instruct",
            {"messages": [{"role": "user", "content": "Tell me a story"}], "stream": True},
        )
        return Response(stream, headers={"content-type": "text/event-stream"})
"""
CONFIG = '[ai]\nbinding = "AI"\n'
MAP = f"{LLAMA}=llama3.2, text-embeddings=nomic-embed-text, @cf/meta/m2m100-1.2b=llama3.2"


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    with openai_stub() as server:
        yield server


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, stub: OpenAIStub) -> None:
    for name in list(os.environ):
        if name.startswith("PYFLARE_AI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYFLARE_AI_BASE_URL", stub.url)
    monkeypatch.setenv("PYFLARE_AI_MODEL_MAP", MAP)
    stub.requests.clear()


@pytest.fixture
async def mf(tmp_path: Path) -> Any:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as runtime:
        yield runtime


@pytest.mark.anyio
async def test_a_prompt_goes_to_chat_completions_and_comes_back_in_cloudflares_shape(
    mf: Miniflare, stub: OpenAIStub
) -> None:
    assert mf.ai.backend == "openai"
    answer = await mf.env.AI.run(LLAMA, {"prompt": "Why is the sky blue?", "temperature": 0.2})
    assert answer == {
        "response": "llama3.2 says: Why is the sky blue?",
        "tool_calls": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 7, "total_tokens": 14},  # the server's
    }
    [(path, body, headers)] = stub.requests
    assert path == "/v1/chat/completions"
    assert body == {
        "model": "llama3.2",
        "max_tokens": 256,
        "temperature": 0.2,
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    assert "authorization" not in headers
    assert mf.ai.calls[0].answered_by == "openai"


@pytest.mark.anyio
async def test_max_tokens_and_a_raw_prompt(mf: Miniflare, stub: OpenAIStub) -> None:
    cut = await mf.env.AI.run(
        LLAMA, {"messages": [{"role": "user", "content": "a b c d"}], "max_tokens": 3}
    )
    assert cut.response == "llama3.2 says: a"
    raw = await mf.env.AI.run(LLAMA, {"prompt": "<s>[INST] hi [/INST]", "raw": True})
    assert raw.response == "llama3.2 continues: <s>[INST] hi [/INST]"
    assert [path for path, _, _ in stub.requests] == ["/v1/chat/completions", "/v1/completions"]


@pytest.mark.anyio
async def test_a_stream_is_relayed_as_cloudflares_server_sent_events(
    mf: Miniflare, stub: OpenAIStub
) -> None:
    response = await mf.fetch("/")
    text = await response.text()
    events = [e for e in text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert "".join(p["response"] for p in payloads) == "llama3.2 says: Tell me a story"
    assert payloads[-1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
    [(_, body, _)] = stub.requests
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    raw = await mf.env.AI.run(LLAMA, {"prompt": "go", "raw": True, "stream": True})
    raw_text = b"".join([chunk.to_bytes() async for chunk in raw]).decode()
    assert '"response":"llama3.2"' in raw_text and raw_text.endswith("data: [DONE]\n\n")


@pytest.mark.anyio
async def test_other_shapes_tools_embeddings_and_translation(
    mf: Miniflare, stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = [
        {
            "name": "get_weather",
            "description": "weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    called = await mf.env.AI.run(
        LLAMA, {"messages": [{"role": "user", "content": "weather?"}], "tools": tools}
    )
    assert called.tool_calls == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    sent_tools = stub.requests[-1][1]["tools"]
    assert sent_tools[0]["function"]["name"] == "get_weather"

    vectors = await mf.env.AI.run("@cf/baai/bge-small-en-v1.5", {"text": ["ab", "abc e"]})
    assert vectors.shape == [2, 8]
    assert vectors.data[0][0] == 2.0 and vectors.data[1][0] == 5.0  # in input order
    assert stub.requests[-1][1] == {"model": "nomic-embed-text", "input": ["ab", "abc e"]}

    translated = await mf.env.AI.run("@cf/meta/m2m100-1.2b", {"text": "Hallo", "target_lang": "en"})
    assert translated == {"translated_text": "llama3.2 says: Hallo"}
    instruction = stub.requests[-1][1]["messages"][0]["content"]
    assert "from language code en to language code en" in instruction

    oss = await mf.env.AI.run(
        "@cf/openai/gpt-oss-120b", {"input": "Hi", "instructions": "Be brief"}
    )
    assert oss.output[-1]["content"][0]["text"].startswith("Here is a thought")  # unmapped: local
    count = len(stub.requests)
    monkeypatch.setenv("PYFLARE_AI_MODEL_MAP", "*=qwen3")
    async with Miniflare(mf.config.path) as other:
        oss = await other.env.AI.run(
            "@cf/openai/gpt-oss-120b", {"input": "Hi", "instructions": "Be brief"}
        )
        assert oss.output[-1]["content"][0]["text"] == "qwen3 says: Hi"
        assert stub.requests[count][1]["messages"] == [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "Hi"},
        ]
        # a task the server has no endpoint for stays local, whatever the map says
        labels = await other.env.AI.run("@cf/huggingface/distilbert-sst-2-int8", {"text": "ok"})
        assert len(labels) == 2 and len(stub.requests) == count + 1


@pytest.mark.anyio
async def test_an_unmapped_model_is_answered_locally(mf: Miniflare, stub: OpenAIStub) -> None:
    answer = await mf.env.AI.run("@cf/meta/llama-3.2-1b-instruct", {"prompt": "Name a river"})
    assert answer.response.startswith("About Name and river:")  # the deterministic answer
    assert stub.requests == []
    assert mf.ai.calls[0].answered_by == "local"


@pytest.mark.anyio
async def test_server_errors_are_upstream_errors_naming_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub: OpenAIStub
) -> None:
    monkeypatch.setenv("PYFLARE_AI_MODEL_MAP", "*=missing")
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        with pytest.raises(InferenceUpstreamError) as info:
            await mf.env.AI.run(LLAMA, {"prompt": "hi"})
        assert info.value.message == (
            f"pyflare: the model server {stub.url}/chat/completions answered 404: "
            "model 'missing' not found"
        )
        # A stream fails at run(), before the worker has a body to return (as on Cloudflare,
        # where the binding checks the service's status first).
        with pytest.raises(InferenceUpstreamError, match="answered 404"):
            await mf.fetch("/")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PYFLARE_AI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("PYFLARE_AI_MODEL_MAP", "*=llama3.2")
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        with pytest.raises(InferenceUpstreamError) as info:
            await mf.env.AI.run(LLAMA, {"prompt": "hi"})
        assert info.value.message.startswith(
            f"pyflare: the model server http://127.0.0.1:{port}/v1/chat/completions did not "
            "answer: ConnectError"
        )


@pytest.mark.anyio
async def test_dev_vars_choose_the_backend_and_send_the_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub: OpenAIStub
) -> None:
    monkeypatch.delenv("PYFLARE_AI_BASE_URL")
    monkeypatch.delenv("PYFLARE_AI_MODEL_MAP")
    config = write_worker(tmp_path, WORKER, CONFIG)
    (tmp_path / ".dev.vars").write_text(
        f"PYFLARE_AI_BASE_URL={stub.url}\nPYFLARE_AI_MODEL_MAP=*=llama3.2\nPYFLARE_AI_API_KEY=sk-1\n"
    )
    async with Miniflare(config) as mf:
        assert (await mf.env.AI.run(LLAMA, {"prompt": "x"})).response == "llama3.2 says: x"
    assert stub.requests[0][2]["authorization"] == "Bearer sk-1"
