"""A small server that speaks OpenAI's HTTP API the way ollama, llama.cpp's server and vLLM do
(`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, streamed or not), with
predictable answers and no model behind it: what the Workers AI OpenAI-compatible backend is
tested against.

- chat: `"<model> says: <last user message>"`, cut to `max_tokens` words; a request with
  `tools` calls the first tool with `{"city": "Paris"}`;
- completions: `"<model> continues: <prompt>"`;
- embeddings: 8 numbers per input (its length, its vowel count, ...);
- the model "missing" is answered 404 as ollama answers an unknown model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["OpenAIStub", "openai_stub"]


class OpenAIStub:
    """The stub's app and what it was asked (`requests`: `(path, body, headers)`)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/completions", self.completions, methods=["POST"]),
                Route("/v1/embeddings", self.embeddings, methods=["POST"]),
            ]
        )

    async def _body(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        self.requests.append((request.url.path, body, dict(request.headers)))
        return body

    @staticmethod
    def _missing(model: str) -> Response:
        return JSONResponse({"error": {"message": f"model '{model}' not found"}}, status_code=404)

    async def chat(self, request: Request) -> Response:
        body = await self._body(request)
        model = body["model"]
        if model == "missing":
            return self._missing(model)
        user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            call = {"id": "call_1", "type": "function"}
            call["function"] = {"name": name, "arguments": json.dumps({"city": "Paris"})}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            return JSONResponse(_completion(model, "chat.completion", message, "tool_calls", 3))
        words = f"{model} says: {user}".split()
        limit = body.get("max_tokens") or len(words)
        text, finish = " ".join(words[:limit]), "length" if len(words) > limit else "stop"
        if body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage", False)
            return _sse(_chat_chunks(model, text, finish, usage))
        message = {"role": "assistant", "content": text}
        return JSONResponse(
            _completion(model, "chat.completion", message, finish, len(text.split()))
        )

    async def completions(self, request: Request) -> Response:
        body = await self._body(request)
        model = body["model"]
        if model == "missing":
            return self._missing(model)
        text = f"{model} continues: {body['prompt']}"
        if body.get("stream"):
            return _sse(_completion_chunks(model, text))
        answer = _completion(model, "text_completion", None, "stop", len(text.split()))
        answer["choices"][0]["text"] = text
        return JSONResponse(answer)

    async def embeddings(self, request: Request) -> Response:
        body = await self._body(request)
        if body["model"] == "missing":
            return self._missing(body["model"])
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(text)}
            for i, text in enumerate(texts)
        ]
        data.reverse()  # servers may answer out of order: the index says which is which
        return JSONResponse({"object": "list", "model": body["model"], "data": data})


def _vector(text: str) -> list[float]:
    return [
        float(len(text)),
        float(sum(c in "aeiou" for c in text)),
        float(text.count(" ")),
        1.0,
        0.0,
        0.5,
        -0.5,
        float(len(set(text))),
    ]


def _completion(
    model: str, kind: str, message: dict[str, Any] | None, finish: str, tokens: int
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if message is not None:
        choice["message"] = message
    return {
        "id": "stub-1",
        "object": kind,
        "created": 1,
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": 7, "completion_tokens": tokens, "total_tokens": 7 + tokens},
    }


def _sse(events: Iterator[dict[str, Any]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield f"data: {json.dumps(event)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


def _chat_chunks(model: str, text: str, finish: str, usage: bool) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "stub-2",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""}, None)
    for i, word in enumerate(text.split(" ")):
        yield chunk({"content": word if i == 0 else " " + word}, None)
    yield chunk({}, finish)
    if usage:
        count = len(text.split())
        yield {
            "id": "stub-2",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": count, "total_tokens": 7 + count},
        }


def _completion_chunks(model: str, text: str) -> Iterator[dict[str, Any]]:
    for i, word in enumerate(text.split(" ")):
        yield {
            "id": "stub-3",
            "object": "text_completion",
            "choices": [{"index": 0, "text": word if i == 0 else " " + word}],
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def openai_stub() -> Iterator[OpenAIStub]:
    """Run an `OpenAIStub` on a free local port (its `/v1` root is `stub.url`) until the block
    ends."""
    stub = OpenAIStub()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(stub.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the OpenAI stub server did not start")
        time.sleep(0.01)
    stub.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(timeout=10)
