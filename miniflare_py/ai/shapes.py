"""A text generation in the output shape the caller's model family answers with, whole or as
server-sent events.

- classic: `{response, tool_calls, usage}`; streamed, `data: {"response": "..."}` per piece,
  a last event with `usage`, then `data: [DONE]`;
- chat: OpenAI's `chat.completion`; streamed, `chat.completion.chunk` events and `[DONE]`;
- completion: OpenAI's `text_completion`; streamed, `text_completion` events and `[DONE]`;
- responses: OpenAI's Responses `response`; streamed, `response.created`,
  `response.output_text.delta` ..., `response.completed`;
- guard: `{response: {safe, categories}, usage}` (not streamed).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..workers.jsdict import JsDict
from .generation import Generation

__all__ = ["DONE", "sse", "stream_events", "whole"]

DONE = b"data: [DONE]\n\n"


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event carrying `data` as compact JSON."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {body}\n\n".encode()


def _usage(g: Generation) -> dict[str, int]:
    return JsDict(
        prompt_tokens=g.prompt_tokens,
        completion_tokens=g.completion_tokens,
        total_tokens=g.total_tokens,
    )


def _chat_message(g: Generation) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": g.text or None}
    if g.reasoning:
        message["reasoning_content"] = g.reasoning
    message["tool_calls"] = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments_json},
        }
        for c in g.tool_calls
    ]
    return message


def _responses(g: Generation, model: str, now: int, status: str = "completed") -> dict[str, Any]:
    output: list[dict[str, Any]] = [
        {
            "id": f"rs_{g.id[:24]}",
            "type": "reasoning",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": g.reasoning}],
        }
    ]
    for call in g.tool_calls:
        output.append(
            {
                "id": f"fc_{g.id[:24]}",
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments_json,
                "status": "completed",
            }
        )
    if not g.tool_calls:
        output.append(
            {
                "id": f"msg_{g.id[:24]}",
                "type": "message",
                "role": "assistant",
                "status": status,
                "content": [{"type": "output_text", "text": g.text, "annotations": []}],
            }
        )
    return {
        "id": f"resp_{g.id[:24]}",
        "object": "response",
        "created_at": now,
        "model": model,
        "status": status,
        "output": output,
        "output_text": g.text,
        "usage": {
            "input_tokens": g.prompt_tokens,
            "output_tokens": g.completion_tokens,
            "total_tokens": g.total_tokens,
        },
    }


def whole(shape: str, g: Generation, model: str, now: int) -> Any:
    """The whole answer of a `shape` model (see the module docstring)."""
    if shape == "classic":  # the common case, built as the worker gets it (no copy after)
        return JsDict(
            response=g.text,
            tool_calls=[JsDict(name=c.name, arguments=c.arguments) for c in g.tool_calls],
            usage=_usage(g),
        )
    if shape == "guard":
        return {"response": {"safe": True, "categories": []}, "usage": _usage(g)}
    if shape == "responses":
        return _responses(g, model, now)
    if shape == "completion":
        return {
            "id": f"cmpl-{g.id[:24]}",
            "object": "text_completion",
            "created": now,
            "model": model,
            "choices": [{"index": 0, "text": g.text, "finish_reason": g.finish_reason}],
            "usage": _usage(g),
        }
    return {
        "id": f"chatcmpl-{g.id[:24]}",
        "object": "chat.completion",
        "created": now,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": _chat_message(g),
                "finish_reason": g.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": _usage(g),
    }


async def stream_events(
    shape: str, pieces: AsyncIterator[str | Generation], model: str, now: int, chunk_id: str
) -> AsyncIterator[bytes]:
    """The server-sent events of a streamed answer. `pieces` yields the text as it comes, then
    the finished `Generation` (for its token counts and stop reason); `chunk_id` names the
    chunks of OpenAI-shaped streams."""
    if shape == "responses":
        async for event in _responses_events(pieces, model, now):
            yield event
        return
    async for piece in pieces:
        if isinstance(piece, Generation):
            yield _last_chunk(shape, piece, model, now, chunk_id)
            break
        if shape == "classic" or shape == "guard":
            yield sse({"response": piece})
        elif shape == "completion":
            yield sse(_completion_chunk(chunk_id, model, now, piece, None))
        else:
            yield sse(_chat_chunk(chunk_id, model, now, {"content": piece}, None))
    yield DONE


def _completion_chunk(
    chunk_id: str, model: str, now: int, text: str, finish: str | None
) -> dict[str, Any]:
    return {
        "id": f"cmpl-{chunk_id}",
        "object": "text_completion",
        "created": now,
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
    }


def _chat_chunk(
    chunk_id: str, model: str, now: int, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{chunk_id}",
        "object": "chat.completion.chunk",
        "created": now,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _last_chunk(shape: str, g: Generation, model: str, now: int, chunk_id: str) -> bytes:
    if shape in ("classic", "guard"):
        last: dict[str, Any] = {"response": "", "usage": _usage(g)}
        if g.tool_calls:
            last["tool_calls"] = [{"name": c.name, "arguments": c.arguments} for c in g.tool_calls]
        return sse(last)
    if shape == "completion":
        chunk = _completion_chunk(chunk_id, model, now, "", g.finish_reason)
    else:
        delta: dict[str, Any] = {}
        if g.tool_calls:
            delta["tool_calls"] = _chat_message(g)["tool_calls"]
        chunk = _chat_chunk(chunk_id, model, now, delta, g.finish_reason)
    chunk["usage"] = _usage(g)
    return sse(chunk)


async def _responses_events(
    pieces: AsyncIterator[str | Generation], model: str, now: int
) -> AsyncIterator[bytes]:
    sequence = 0

    def event(kind: str, **data: Any) -> bytes:
        nonlocal sequence
        sequence += 1
        return sse({"type": kind, "sequence_number": sequence - 1, **data}, kind)

    started = False
    async for piece in pieces:
        if isinstance(piece, Generation):
            if not started:
                yield event(
                    "response.created", response=_responses(piece, model, now, "in_progress")
                )
            yield event(
                "response.output_text.done", output_index=1, content_index=0, text=piece.text
            )
            yield event("response.completed", response=_responses(piece, model, now))
            return
        if not started:
            started = True
            created = Generation("", 0, 0)
            yield event("response.created", response=_responses(created, model, now, "in_progress"))
        yield event("response.output_text.delta", output_index=1, content_index=0, delta=piece)
