"""Workers AI, module by module: catalogue, schema checks, the deterministic generators,
embeddings, images, output shapes and the backend settings."""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from typing import Any

import pytest

from miniflare_py.ai.backend_config import parse_model_map, read_backend_config
from miniflare_py.ai.catalogue import TASKS, all_models, lookup
from miniflare_py.ai.conversation import read_conversation
from miniflare_py.ai.embeddings import cosine, embed
from miniflare_py.ai.errors import bad_input, no_such_model, upstream_error
from miniflare_py.ai.generation import Generation, generate, key_terms
from miniflare_py.ai.images import image_info, png
from miniflare_py.ai.local import LocalBackend
from miniflare_py.ai.schemas import schema_for
from miniflare_py.ai.shapes import stream_events, whole
from miniflare_py.ai.validation import check
from miniflare_py.config_base import ConfigError

LLAMA = "@cf/meta/llama-3.1-8b-instruct"


def model(name: str) -> Any:
    found = lookup(name)
    assert found is not None, name
    return found


# -- catalogue -----------------------------------------------------------------------------------


def test_the_catalogue_names_cloudflares_models_with_their_tasks() -> None:
    models = all_models()
    names = [m.name for m in models]
    assert len(names) == len(set(names)) > 90
    assert all(m.task in TASKS for m in models)
    assert all(n.startswith(("@cf/", "@hf/")) for n in names)
    assert model(LLAMA).task_name == "Text Generation"
    assert model("@cf/openai/gpt-oss-120b").family == "gpt-oss"
    assert model("@cf/meta/m2m100-1.2b").task == "translation"
    assert model("@cf/facebook/bart-large-cnn").task == "summarization"
    assert model("@cf/openai/whisper").family == "not-emulated"
    assert lookup("@cf/meta/llama-9-nonexistent") is None


@pytest.mark.parametrize(
    ("name", "dimension"),
    [
        ("@cf/baai/bge-small-en-v1.5", 384),
        ("@cf/baai/bge-base-en-v1.5", 768),
        ("@cf/baai/bge-large-en-v1.5", 1024),
        ("@cf/baai/bge-m3", 1024),
        ("@cf/google/embeddinggemma-300m", 768),
    ],
)
def test_embedding_models_have_their_real_dimension(name: str, dimension: int) -> None:
    assert model(name).dimension == dimension


def test_every_emulated_family_has_a_schema_or_is_declared_unchecked() -> None:
    for m in all_models():
        if m.family == "not-emulated":
            continue
        assert schema_for(m) is not None, m.name


# -- schema checks and their error texts ---------------------------------------------------------


def problem(name: str, inputs: Any) -> str | None:
    schema = schema_for(model(name))
    assert schema is not None
    return check(schema, inputs)


def test_a_text_model_needs_prompt_or_messages_in_cloudflares_words() -> None:
    assert problem(LLAMA, {}) == (
        "oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt', "
        "required properties at '/' are 'messages'"
    )
    assert problem(LLAMA, {"prompt": "hi"}) is None
    assert problem(LLAMA, {"messages": [{"role": "user", "content": "hi"}]}) is None
    both = {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}
    assert problem(LLAMA, both) == "oneOf at '/' not met, 2 matches"


def test_type_mismatches_name_the_path_then_the_expected_and_given_types() -> None:
    said = problem(LLAMA, {"prompt": "hi", "max_tokens": "ten"})
    assert said is not None
    assert "Type mismatch of '/max_tokens', 'integer' not in 'string'" in said
    content = problem(LLAMA, {"messages": [{"role": "assistant", "content": None}]})
    assert content is not None
    assert "Type mismatch of '/messages/0/content', 'string' not in 'null'" in content
    # a model whose messages may hold content parts accepts a list there
    vision = "@cf/meta/llama-4-scout-17b-16e-instruct"
    parts = [{"type": "text", "text": "hi"}]
    assert problem(vision, {"messages": [{"role": "user", "content": parts}]}) is None


def test_ranges_lengths_and_closed_schemas_are_checked() -> None:
    assert "Value of '/temperature' must be <= 5" in str(
        problem(LLAMA, {"prompt": "hi", "temperature": 9})
    )
    assert "Length of '/prompt' must be >= 1" in str(problem(LLAMA, {"prompt": ""}))
    flux = "@cf/black-forest-labs/flux-1-schnell"
    assert problem(flux, {"prompt": "a cat", "num_steps": 4}) == (
        "Additional or unevaluated properties '/num_steps' at '/' not allowed"
    )
    assert problem("@cf/meta/m2m100-1.2b", {"text": "hi"}) == (
        "oneOf at '/' not met, 0 matches: required properties at '/' are 'text,target_lang', "
        "required properties at '/' are 'requests'"
    )
    assert problem("@cf/facebook/bart-large-cnn", {"input_text": "x", "max_length": 0}) == (
        "Value of '/max_length' must be >= 1"
    )


def test_the_documented_errors_read_as_the_binding_raises_them() -> None:
    assert str(no_such_model("@cf/x/y")) == "AiError: 5007: No such model @cf/x/y or task"
    error = bad_input("required properties at '/' are 'text'")
    assert (error.name, error.code, error.status) == ("AiError", 5006, 400)
    assert str(error) == "AiError: 5006: Error: required properties at '/' are 'text'"
    capacity = upstream_error(3040)
    assert capacity.message == "3040: No more data centers to forward the request to"
    assert capacity.status == 429


# -- text generation -----------------------------------------------------------------------------


def conversation(inputs: dict[str, Any], name: str = LLAMA) -> Any:
    return read_conversation(model(name), inputs)


def test_generation_is_deterministic_and_depends_on_the_prompt() -> None:
    a = generate(conversation({"prompt": "Why is the sky blue?"}), LLAMA)
    again = generate(conversation({"prompt": "Why is the sky blue?"}), LLAMA)
    other = generate(conversation({"prompt": "How do volcanoes erupt?"}), LLAMA)
    assert a == again
    assert a.text.startswith("About sky and blue:")
    assert other.text.startswith("About volcanoes and erupt:")
    assert a.text != other.text
    # the model is part of the input: another model answers differently
    assert generate(conversation({"prompt": "Why is the sky blue?"}), "@cf/x/y").text != a.text
    # streaming does not change the answer
    streamed = generate(conversation({"prompt": "Why is the sky blue?", "stream": True}), LLAMA)
    assert streamed.text == a.text


def test_generation_honours_max_tokens_and_counts_usage() -> None:
    full = generate(conversation({"prompt": "Tell me about Paris"}), LLAMA)
    assert 12 <= full.completion_tokens == len(full.text.split()) <= 40
    assert full.finish_reason == "stop"
    assert full.prompt_tokens == 4
    cut = generate(conversation({"prompt": "Tell me about Paris", "max_tokens": 3}), LLAMA)
    assert cut.text == " ".join(full.text.split()[:3])  # a prefix of the whole answer
    assert (cut.completion_tokens, cut.finish_reason) == (3, "length")


def test_messages_are_answered_from_the_last_user_message() -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Describe penguins"},
            {"role": "assistant", "content": "Birds."},
            {"role": "user", "content": "Where do penguins live?"},
        ]
    }
    g = generate(conversation(chat), LLAMA)
    assert g.text.startswith("About penguins and live:")


def test_key_terms_skip_stop_words_and_keep_the_texts_order_and_case() -> None:
    assert key_terms("What is the capital of France?") == ["capital", "France"]
    assert key_terms("why?") == []
    assert key_terms("one two three four five seven eleven", 3) == ["three", "seven", "eleven"]


def test_a_tool_named_by_the_question_is_called_with_arguments() -> None:
    tools = [
        {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "the city"}},
                "required": ["city"],
            },
        }
    ]
    asked = conversation(
        {
            "messages": [{"role": "user", "content": "What is the weather in Lisbon?"}],
            "tools": tools,
        }
    )
    g = generate(asked, LLAMA)
    assert g.finish_reason == "tool_calls"
    [call] = g.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "weather Lisbon"})
    unrelated = conversation(
        {"messages": [{"role": "user", "content": "Tell me a joke"}], "tools": tools}
    )
    assert generate(unrelated, LLAMA).tool_calls == ()


# -- output shapes -------------------------------------------------------------------------------

G = Generation("Hello there world", 5, 3, id="ab" * 16)


def test_whole_answers_have_each_familys_shape() -> None:
    assert whole("classic", G, LLAMA, 7) == {
        "response": "Hello there world",
        "tool_calls": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }
    chat = whole("chat", G, "@cf/zai-org/glm-4.7-flash", 7)
    assert chat["object"] == "chat.completion"
    assert chat["choices"][0]["message"]["content"] == "Hello there world"
    assert chat["choices"][0]["finish_reason"] == "stop"
    responses = whole("responses", G, "@cf/openai/gpt-oss-120b", 7)
    assert [item["type"] for item in responses["output"]] == ["reasoning", "message"]
    assert responses["output"][1]["content"][0] == {
        "type": "output_text",
        "text": "Hello there world",
        "annotations": [],
    }
    assert responses["usage"]["total_tokens"] == 8
    completion = whole("completion", G, "@cf/qwen/qwen3-30b-a3b-fp8", 7)
    assert completion["choices"][0]["text"] == "Hello there world"


async def collect(shape: str) -> list[str]:
    async def pieces() -> Any:
        for piece in G.pieces():
            yield piece
        yield G

    return [chunk.decode() async for chunk in stream_events(shape, pieces(), LLAMA, 7, "id1")]


@pytest.mark.anyio
async def test_a_classic_stream_sends_pieces_then_usage_then_done() -> None:
    events = await collect("classic")
    assert events == [
        'data: {"response":"Hello"}\n\n',
        'data: {"response":" there"}\n\n',
        'data: {"response":" world"}\n\n',
        'data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}'
        "\n\n",
        "data: [DONE]\n\n",
    ]


@pytest.mark.anyio
async def test_chat_and_responses_streams_use_openais_events() -> None:
    chat = await collect("chat")
    first = json.loads(chat[0].removeprefix("data: "))
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"] == {"content": "Hello"}
    last = json.loads(chat[-2].removeprefix("data: "))
    assert last["choices"][0]["finish_reason"] == "stop"
    assert chat[-1] == "data: [DONE]\n\n"
    responses = await collect("responses")
    kinds = [e.split("\n", 1)[0] for e in responses]
    assert kinds[0] == "event: response.created"
    assert kinds[1:4] == ["event: response.output_text.delta"] * 3
    assert kinds[-1] == "event: response.completed"


# -- embeddings and the other local answers ------------------------------------------------------


def test_embeddings_are_unit_length_and_similar_texts_are_closer() -> None:
    cat = embed("The cat sat on the mat", 384)
    cats = embed("A cat was sitting on a mat", 384)
    stocks = embed("Quarterly earnings beat analyst expectations", 384)
    assert len(cat) == 384
    assert math.isclose(math.sqrt(sum(v * v for v in cat)), 1.0)
    assert cosine(cat, cats) > 0.25
    assert cosine(cat, cats) > 2 * cosine(cat, stocks)
    assert embed("The cat sat on the mat", 384) == cat
    assert math.isclose(sum(v * v for v in embed("", 384)), 1.0)


@pytest.mark.anyio
async def test_local_answers_for_the_other_tasks() -> None:
    local = LocalBackend()
    emb = await local.answer(model("@cf/baai/bge-base-en-v1.5"), {"text": ["a", "b c"]})
    assert emb["shape"] == [2, 768] and len(emb["data"][1]) == 768
    assert emb["pooling"] == "mean"

    sentiment = model("@cf/huggingface/distilbert-sst-2-int8")
    happy = await local.answer(sentiment, {"text": "I love it, a great and wonderful day"})
    sad = await local.answer(sentiment, {"text": "This is terrible and I hate it"})
    assert [r["label"] for r in happy] == ["NEGATIVE", "POSITIVE"]
    assert math.isclose(sum(r["score"] for r in happy), 1.0)
    assert happy[1]["score"] > 0.9 and sad[1]["score"] < 0.1
    negated = await local.answer(sentiment, {"text": "not good"})
    assert negated[1]["score"] < 0.5

    m2m = model("@cf/meta/m2m100-1.2b")
    assert await local.answer(m2m, {"text": "Hello", "target_lang": "es"}) == {
        "translated_text": "[es] Hello"
    }
    same = {"text": "Hello", "source_lang": "fr", "target_lang": "fr"}
    assert await local.answer(m2m, same) == {"translated_text": "Hello"}

    bart = model("@cf/facebook/bart-large-cnn")
    text = "One fish. Two fish! Red fish? Blue fish. The end."
    assert await local.answer(bart, {"input_text": text}) == {
        "summary": "One fish. Two fish! Red fish?"
    }
    assert await local.answer(bart, {"input_text": text, "max_length": 3}) == {
        "summary": "One fish. Two"
    }

    rerank = model("@cf/baai/bge-reranker-base")
    contexts = [{"text": "Paris is in France"}, {"text": "Bananas are yellow"}]
    ranked = await local.answer(rerank, {"query": "Where is Paris?", "contexts": contexts})
    assert [r["id"] for r in ranked["response"]] == [0, 1]


def test_png_images_are_valid_deterministic_and_sized() -> None:
    data = png(64, 32, b"\x01\x02\x03\x04\x05\x06")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert image_info(data) == ("PNG", 64, 32)
    assert png(64, 32, b"\x01\x02\x03\x04\x05\x06") == data
    # the IDAT chunk inflates to one filter byte and 3 bytes per pixel on each row
    length = struct.unpack(">I", data[33:37])[0]
    assert len(zlib.decompress(data[41 : 41 + length])) == 32 * (1 + 64 * 3)


def test_image_info_reads_jpeg_and_gif_headers() -> None:
    jpeg = (
        b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + b"\xff\xc0\x00\x11\x08\x00\x20\x00\x40" + b"\x00" * 8
    )
    assert image_info(jpeg) == ("JPEG", 64, 32)
    assert image_info(b"GIF89a\x10\x00\x08\x00") == ("GIF", 16, 8)
    assert image_info(b"not an image") is None


# -- backend settings ----------------------------------------------------------------------------


def test_model_maps_are_pairs_or_json() -> None:
    assert parse_model_map("@cf/a/b=llama3.2, *=qwen\ntext-embeddings=nomic") == {
        "@cf/a/b": "llama3.2",
        "*": "qwen",
        "text-embeddings": "nomic",
    }
    assert parse_model_map('{"@cf/a/b": "x:7b"}') == {"@cf/a/b": "x:7b"}
    with pytest.raises(ConfigError, match=r"PYFLARE_AI_MODEL_MAP: 'oops' is not"):
        parse_model_map("oops")
    with pytest.raises(ConfigError, match=r"PYFLARE_AI_MODEL_MAP: not a JSON object"):
        parse_model_map("{nope")


def test_the_backend_comes_from_the_environment_then_dev_vars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("PYFLARE_AI_"):
            monkeypatch.delenv(name)
    assert read_backend_config({}) is None
    config = read_backend_config(
        {"PYFLARE_AI_BASE_URL": "http://localhost:11434/v1/", "PYFLARE_AI_MODEL_MAP": "*=m"}
    )
    assert config is not None
    assert (config.base_url, config.server_model(LLAMA, "text-generation")) == (
        "http://localhost:11434/v1",
        "m",
    )
    monkeypatch.setenv("PYFLARE_AI_BASE_URL", "http://gpu:8000/v1")
    monkeypatch.setenv("PYFLARE_AI_API_KEY", "k")
    config = read_backend_config({"PYFLARE_AI_BASE_URL": "http://other/v1"})
    assert config is not None and (config.base_url, config.api_key) == ("http://gpu:8000/v1", "k")
    monkeypatch.setenv("PYFLARE_AI_BASE_URL", "localhost:11434")
    with pytest.raises(ConfigError, match=r"PYFLARE_AI_BASE_URL = 'localhost:11434': not an"):
        read_backend_config(None)
    monkeypatch.setenv("PYFLARE_AI_BASE_URL", "http://x/v1")
    monkeypatch.setenv("PYFLARE_AI_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"PYFLARE_AI_TIMEOUT = 'soon'"):
        read_backend_config(None)
