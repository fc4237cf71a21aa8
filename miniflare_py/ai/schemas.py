"""The input schema of each model family (see `catalogue`), written from Cloudflare's
documented model schemas: the required keys, each key's type and its documented range.

Keys a schema does not name are let through (the documented schemas of most models do not
forbid them), except where Cloudflare's schema is closed (the FLUX.1 image model).
"""

from __future__ import annotations

import functools
from typing import Final

from .catalogue import ModelInfo
from .validation import (
    Schema,
    any_value,
    array,
    boolean,
    integer,
    number,
    obj,
    one_of,
    string,
)

__all__ = ["schema_for"]

_PROMPT_LIMIT = 131072
_BYTE = number(0, 255)
_IMAGE = one_of(array(_BYTE), string())
_TEXTS = one_of(string(min_length=1), array(string(), min_items=1, max_items=100))

# What every prompt-or-messages text model accepts besides its prompt or messages.
_SAMPLING: Final[dict[str, Schema]] = {
    "raw": boolean(),
    "stream": boolean(),
    "max_tokens": integer(),
    "temperature": number(0, 5),
    "top_p": number(0, 2),
    "top_k": integer(1, 50),
    "seed": integer(1, 9999999999),
    "repetition_penalty": number(0, 2),
    "frequency_penalty": number(-2, 2),
    "presence_penalty": number(-2, 2),
    "lora": string(),
    "image": _IMAGE,
    "response_format": obj({"type": string()}),
    "guided_json": any_value(),
}

_TEXT_CONTENT = string(max_length=_PROMPT_LIMIT)
_PARTS_CONTENT = one_of(_TEXT_CONTENT, array(obj()))
_MESSAGE = obj({"role": string(), "content": _TEXT_CONTENT}, required=("role", "content"))
_PARTS_MESSAGE = obj({"role": string(), "content": _PARTS_CONTENT}, required=("role", "content"))
_TOOL = obj()
_FUNCTION = obj({"name": string(), "code": string()}, required=("name", "code"))


def _classic(batch: bool, parts: bool) -> Schema:
    prompt = obj(
        {"prompt": string(min_length=1, max_length=_PROMPT_LIMIT), **_SAMPLING},
        required=("prompt",),
    )
    messages = obj(
        {
            "messages": array(_PARTS_MESSAGE if parts else _MESSAGE),
            "tools": array(_TOOL),
            "functions": array(_FUNCTION),
            **_SAMPLING,
        },
        required=("messages",),
    )
    if batch:
        return one_of(prompt, messages, _requests())
    return one_of(prompt, messages)


def _requests() -> Schema:
    return obj({"requests": array(obj(), min_items=1)}, required=("requests",))


# OpenAI's chat completions, as the newer models take them.
_CHAT_OPTIONS: Final[dict[str, Schema]] = {
    "model": string(),
    "stream": boolean(),
    "max_tokens": integer(1),
    "max_completion_tokens": integer(1),
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "seed": integer(),
    "n": integer(1, 1),
    "frequency_penalty": number(-2, 2),
    "presence_penalty": number(-2, 2),
    "tools": array(_TOOL),
    "response_format": obj({"type": string()}),
}
_CHAT_CONTENT = one_of(string(), array(obj()))
_CHAT_MESSAGE = obj({"role": string(), "content": _CHAT_CONTENT}, required=("role",))
_CHAT = obj({"messages": array(_CHAT_MESSAGE, min_items=1), **_CHAT_OPTIONS}, ("messages",))
_COMPLETION = obj(
    {"prompt": string(min_length=1), **_CHAT_OPTIONS, "raw": boolean()}, required=("prompt",)
)
_RESPONSES = obj(
    {
        "input": one_of(string(), array(obj())),
        "instructions": string(),
        "max_output_tokens": integer(1),
        "temperature": number(0, 2),
        "top_p": number(0, 1),
        "stream": boolean(),
        "reasoning": obj({"effort": string(), "summary": string()}),
        "tools": array(_TOOL),
        "text": obj(),
    },
    required=("input",),
)

_GUARD = obj(
    {
        "messages": array(
            obj(
                {"role": string(enum=("user", "assistant")), "content": string()},
                required=("role", "content"),
            ),
            min_items=1,
        ),
        "max_tokens": integer(),
        "temperature": number(0, 5),
        "response_format": obj({"type": string()}),
    },
    required=("messages",),
)

_POOLING = string(enum=("mean", "cls"))
_CONTEXTS = array(obj({"text": string()}), min_items=1)

_IMAGE_TO_TEXT = obj(
    {
        "image": _IMAGE,
        "prompt": string(),
        "messages": array(_MESSAGE),
        "max_tokens": integer(),
        "temperature": number(0, 5),
        "top_p": number(0, 2),
        "top_k": integer(1, 50),
        "seed": integer(),
        "raw": boolean(),
    },
    required=("image",),
)

_SIDE = integer(256, 2048)

_SCHEMAS: Final[dict[str, Schema]] = {
    "chat": one_of(_CHAT, _COMPLETION),
    "gpt-oss": one_of(_RESPONSES, _CHAT),
    "guard": _GUARD,
    "embeddings": obj({"text": _TEXTS, "pooling": _POOLING}, required=("text",)),
    "embeddings-m3": one_of(
        obj({"text": _TEXTS, "truncate_inputs": boolean()}, required=("text",)),
        obj(
            {"query": string(), "contexts": _CONTEXTS, "truncate_inputs": boolean()},
            required=("contexts",),
        ),
    ),
    "embeddings-qwen3": obj(
        {
            "text": _TEXTS,
            "queries": _TEXTS,
            "documents": _TEXTS,
            "instruction": string(),
        }
    ),
    "rerank": obj(
        {"query": string(min_length=1), "contexts": _CONTEXTS, "top_k": integer(1)},
        required=("query", "contexts"),
    ),
    "classification": obj({"text": string(min_length=1)}, required=("text",)),
    "translation": obj(
        {"text": string(min_length=1), "source_lang": string(), "target_lang": string()},
        required=("text", "target_lang"),
    ),
    "indictrans": obj(
        {"text": _TEXTS, "target_language": string()}, required=("text", "target_language")
    ),
    "summarization": obj(
        {"input_text": string(min_length=1), "max_length": integer(1)}, required=("input_text",)
    ),
    "image-to-text": one_of(_IMAGE_TO_TEXT, string(min_length=1)),
    "image-classification": obj({"image": _IMAGE}, required=("image",)),
    "object-detection": obj({"image": _IMAGE}, required=("image",)),
    "sd": obj(
        {
            "prompt": string(min_length=1),
            "negative_prompt": string(),
            "height": _SIDE,
            "width": _SIDE,
            "image": array(_BYTE),
            "image_b64": string(),
            "mask": array(_BYTE),
            "num_steps": integer(1, 20),
            "strength": number(0, 1),
            "guidance": number(),
            "seed": integer(),
        },
        required=("prompt",),
    ),
    "flux": obj(
        {
            "prompt": string(min_length=1, max_length=2048),
            "steps": integer(1, 8),
            "seed": integer(),
        },
        required=("prompt",),
        additional=False,
    ),
    "leonardo": obj(
        {
            "prompt": string(min_length=1),
            "guidance": number(0, 10),
            "seed": integer(0),
            "height": integer(0, 2500),
            "width": integer(0, 2500),
            "num_steps": integer(1, 50),
            "steps": integer(1, 40),
            "negative_prompt": string(),
        },
        required=("prompt",),
    ),
}


@functools.cache
def schema_for(model: ModelInfo) -> Schema | None:
    """The input schema of `model`, or None when pyflare does not check its inputs."""
    if model.family == "classic":
        return _classic(model.batch, model.content_parts)
    schema = _SCHEMAS.get(model.family)
    if schema is None or not model.batch:
        return schema
    alternatives = schema.alternatives or (schema,)
    return one_of(*alternatives, _requests())
