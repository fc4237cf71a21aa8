"""Workers AI as a worker sees it: `[ai]` in the config, `env.AI.run` in every calling form,
answers a worker can read and return, the documented errors, streams and images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.ai import AiHandle, AiInternalError, InferenceUpstreamError
from miniflare_py.config import load_config
from miniflare_py.config_base import ConfigError

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
AI = '[ai]\nbinding = "AI"\n'

# the local backend, whatever the shell running the tests says
pytestmark = pytest.mark.usefixtures("local_ai")

ECHO_WORKER = """
import json
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        body = json.loads(await request.text())
        try:
            answer = await self.env.AI.run(*body["args"], **body.get("kwargs", {}))
        except Exception as error:
            return Response.json(
                {"error": str(error), "name": getattr(error, "name", None)}, status=500
            )
        return Response.json(answer)
"""


async def run(mf: Miniflare, *args: Any, **kwargs: Any) -> Any:
    response = await mf.fetch("/", method="POST", json={"args": args, "kwargs": kwargs})
    return await response.json()


# -- config --------------------------------------------------------------------------------------


def test_the_ai_section_names_the_binding_and_is_not_inherited(tmp_path: Path) -> None:
    path = write_worker(tmp_path, ECHO_WORKER, AI + "[env.staging]\nvars = { X = 1 }\n")
    assert load_config(path).binding("ai").binding == "AI"
    assert load_config(path, env="staging").binding("ai") is None
    assert load_config(path).warnings == ()


def test_a_bad_ai_section_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = write_worker(tmp_path, ECHO_WORKER, "[ai]\nbindng = 'AI'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f'{path}: ai is missing required key "binding"'
    path = write_worker(tmp_path, ECHO_WORKER, "[ai]\nbinding = 'AI'\nremote = true\ncolour = 1\n")
    assert load_config(path).warnings == (f'{path}: unknown key "ai.colour"',)


@pytest.mark.anyio
async def test_env_ai_and_mf_ai_exist_only_with_the_section(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        assert type(mf.env.AI).__name__ == "Ai"
        assert isinstance(mf.ai, AiHandle)
        with pytest.raises(TypeError, match="'Ai' object is not iterable"):
            iter(mf.env.AI)
        assert mf.env.AI.lastRequestId is None
        await mf.env.AI.run(LLAMA, {"prompt": "hi"})
        assert len(mf.env.AI.lastRequestId) == 36
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, "")) as mf:
        assert "AI" not in mf.env


# -- calling forms and answers -------------------------------------------------------------------


@pytest.mark.anyio
async def test_inputs_come_as_a_dict_or_as_keyword_arguments(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        positional = await run(mf, LLAMA, {"prompt": "Why is the sky blue?"})
        keywords = await run(mf, LLAMA, prompt="Why is the sky blue?")
        with_options = await run(mf, LLAMA, {"prompt": "Why is the sky blue?"}, {"gateway": {}})
        options_as_keywords = await run(
            mf, LLAMA, {"prompt": "Why is the sky blue?"}, gateway={"id": "g", "skipCache": True}
        )
        assert positional == keywords == with_options == options_as_keywords
        assert positional["response"].startswith("About sky and blue:")
        assert set(positional) == {"response", "tool_calls", "usage"}
        calls = list(mf.ai.calls)
        assert [c.inputs for c in calls] == [{"prompt": "Why is the sky blue?"}] * 4
        assert calls[3].options == {"gateway": {"id": "g", "skipCache": True}}


@pytest.mark.anyio
async def test_answers_read_as_items_or_attributes(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        answer = await mf.env.AI.run(LLAMA, {"prompt": "hello"})
        assert answer.response == answer["response"]
        assert answer.usage.total_tokens == answer["usage"]["total_tokens"]
        assert answer.to_py() == dict(answer)
        embedded = await mf.env.AI.run("@cf/baai/bge-small-en-v1.5", {"text": "hi"})
        assert embedded.shape == [1, 384] and len(embedded.data[0]) == 384


@pytest.mark.anyio
async def test_each_task_answers_with_its_documented_shape(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        embeddings = await run(mf, "@cf/baai/bge-large-en-v1.5", {"text": ["a", "b"]})
        assert embeddings["shape"] == [2, 1024]
        labels = await run(mf, "@cf/huggingface/distilbert-sst-2-int8", {"text": "great!"})
        assert [item["label"] for item in labels] == ["NEGATIVE", "POSITIVE"]
        translated = await run(mf, "@cf/meta/m2m100-1.2b", text="Hi", target_lang="de")
        assert translated == {"translated_text": "[de] Hi"}
        summary = await run(mf, "@cf/facebook/bart-large-cnn", {"input_text": "A. B. C. D."})
        assert summary == {"summary": "A. B. C."}
        chat = await run(
            mf, "@cf/zai-org/glm-4.7-flash", {"messages": [{"role": "user", "content": "Hi"}]}
        )
        assert chat["object"] == "chat.completion"
        assert chat["choices"][0]["message"]["role"] == "assistant"
        oss = await run(mf, "@cf/openai/gpt-oss-20b", {"input": "Name a colour"})
        assert oss["object"] == "response" and oss["output"][-1]["type"] == "message"
        described = await run(mf, "@cf/llava-hf/llava-1.5-7b-hf", {"image": [1, 2, 3]})
        assert described["description"].startswith("An image of 3 bytes")
        flux = await run(mf, "@cf/black-forest-labs/flux-1-schnell", {"prompt": "a red fox"})
        assert isinstance(flux["image"], str)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_unknown_model_and_a_bad_input_get_the_documented_errors(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        unknown = await run(mf, "@cf/meta/llama-9", {"prompt": "hi"})
        assert unknown == {
            "error": "AiError: 5007: No such model @cf/meta/llama-9 or task",
            "name": "AiError",
        }
        bad = await run(mf, "@cf/baai/bge-small-en-v1.5", {"txt": "hi"})
        assert bad["error"].startswith("AiError: 5006: Error: oneOf at '/' not met, 0 matches: ")
        assert "required properties at '/' are 'text'" in bad["error"]
        with pytest.raises(InferenceUpstreamError) as info:
            await mf.env.AI.run(LLAMA, {"prompt": "hi", "max_tokens": None})
        assert info.value.code == 5006
        assert "Type mismatch of '/max_tokens', 'integer' not in 'null'" in info.value.message
        assert mf.env.AI.lastRequestHttpStatusCode == 400
        assert mf.env.AI.lastRequestInternalStatusCode == 5006
        [*_, last] = mf.ai.calls
        assert (last.outcome, last.error) == ("error", str(info.value))


@pytest.mark.anyio
async def test_models_pyflare_cannot_run_offline_say_so_and_point_to_respond(
    tmp_path: Path,
) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        said = await run(mf, "@cf/openai/whisper", {"audio": [1, 2]})
        assert said["name"] == "AiNotEmulatedError"
        assert "mf.ai.respond('@cf/openai/whisper', output)" in said["error"]
        mf.ai.respond("@cf/openai/whisper", {"text": "hello"})
        assert await run(mf, "@cf/openai/whisper", {"audio": [1, 2]}) == {"text": "hello"}


# -- streams, images and raw responses -----------------------------------------------------------

STREAM_WORKER = """
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/image"):
            png = await self.env.AI.run(
                "@cf/stabilityai/stable-diffusion-xl-base-1.0",
                {"prompt": "a lighthouse", "width": 256, "height": 256},
            )
            return Response(png, headers={"content-type": "image/png"})
        if request.url.endswith("/raw"):
            return await self.env.AI.run(
                "@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi"}, {"returnRawResponse": True}
            )
        stream = await self.env.AI.run(
            "@cf/meta/llama-3.1-8b-instruct",
            {"messages": [{"role": "user", "content": "Tell me about tides"}], "stream": True},
        )
        return Response(stream, headers={"content-type": "text/event-stream"})
"""


@pytest.mark.anyio
async def test_a_stream_is_a_response_body_of_server_sent_events(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, STREAM_WORKER, AI)) as mf:
        response = await mf.fetch("/")
        assert response.headers.get("content-type") == "text/event-stream"
        text = await response.text()
        events = text.split("\n\n")
        assert events[-2:] == ["data: [DONE]", ""]
        payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
        pieces = "".join(p["response"] for p in payloads)
        whole = await mf.env.AI.run(
            LLAMA, {"messages": [{"role": "user", "content": "Tell me about tides"}]}
        )
        assert pieces == whole["response"]
        assert payloads[-1]["usage"] == whole["usage"]
        assert mf.ai.calls[0].stream is True


@pytest.mark.anyio
async def test_text_to_image_answers_png_bytes_and_raw_responses_are_responses(
    tmp_path: Path,
) -> None:
    async with Miniflare(write_worker(tmp_path, STREAM_WORKER, AI)) as mf:
        image = await mf.fetch("/image")
        data = await image.bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert int.from_bytes(data[16:20], "big") == 256
        again = await (await mf.fetch("/image")).bytes()
        assert again == data
        raw = await mf.fetch("/raw")
        assert raw.headers.get("content-type") == "application/json"
        assert (await raw.json())["response"].startswith("Here is a thought:")


@pytest.mark.anyio
async def test_the_model_catalogue_can_be_searched(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        embeddings = await mf.env.AI.models({"task": "Text Embeddings"})
        names = {m["name"] for m in embeddings}
        assert "@cf/baai/bge-small-en-v1.5" in names
        assert all(m["task"]["name"] == "Text Embeddings" for m in embeddings)
        meta = await mf.env.AI.models(author="meta", search="llama-3.1")
        assert LLAMA in {m.name for m in meta}
        assert len(await mf.env.AI.models(per_page=5, page=2)) == 5


JS_WORKER = """
from js import Object
from pyodide.ffi import to_js
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        chat = await self.env.AI.run(
            "@cf/meta/llama-3.1-8b-instruct",
            to_js(
                {"messages": [{"role": "user", "content": "Describe Lisbon"}], "max_tokens": 4},
                dict_converter=Object.fromEntries,
            ),
        )
        png = b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR" + bytes([0, 0, 0, 2, 0, 0, 0, 3])
        seen = await self.env.AI.run("@cf/llava-hf/llava-1.5-7b-hf", {"image": to_js(png)})
        return Response.json({"chat": chat.response, "seen": seen.description})
"""


@pytest.mark.anyio
async def test_javascript_objects_and_typed_arrays_are_inputs_too(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, JS_WORKER, AI)) as mf:
        answer = await (await mf.fetch("/")).json()
    chat = answer["chat"].split()
    assert chat[:2] == ["About", "Lisbon:"] and len(chat) == 4  # max_tokens 4
    assert answer["seen"].startswith("A 2x3 PNG image")


@pytest.mark.anyio
async def test_what_pyflare_does_not_emulate_says_so(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, ECHO_WORKER, AI)) as mf:
        ai = mf.env.AI
        batched = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # a model with the batch API
        with pytest.raises(AiInternalError, match=r"batch API \(queueRequest, requests\)"):
            await ai.run(batched, {"requests": [{"prompt": "a"}, {"prompt": "b"}]})
        with pytest.raises(AiInternalError, match="batch API"):
            await ai.run(LLAMA, {"prompt": "a"}, {"queueRequest": True})
        with pytest.raises(AiInternalError, match="over WebSockets"):
            await ai.run(LLAMA, {"prompt": "a"}, websocket=True)
        with pytest.raises(AiInternalError, match=r"AI Gateway \(env.AI.gateway\('g'\)\)"):
            ai.gateway("g")
        with pytest.raises(AiInternalError, match="toMarkdown"):
            ai.toMarkdown([])
        assert (await ai.run(LLAMA, {"prompt": "a"}, None)).response  # null options: none
