"""The OpenAI-compatible backend: Workers AI calls answered by a model server that speaks
OpenAI's HTTP API (ollama, llama.cpp's `llama-server`, vLLM, LM Studio ...).

| Cloudflare task | server endpoint |
|---|---|
| text generation (`messages`, `prompt`, Responses `input`) | `POST /chat/completions` |
| text generation with `raw: true` | `POST /completions` |
| text embeddings | `POST /embeddings` |
| translation, summarization | `POST /chat/completions` with an instruction |

Answers come back in the Cloudflare model's own shape (`{response, usage}`, ...), streamed
when the worker asked for `stream: true`. A model the map (`PYFLARE_AI_MODEL_MAP`) does not
name, and every other task, is answered by the local deterministic backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .backend_config import OpenAIConfig
from .catalogue import ModelInfo
from .conversation import Conversation, Tool
from .errors import InferenceUpstreamError, upstream_error
from .generation import Generation, ToolCall, count_tokens
from .local import LocalBackend

__all__ = ["OpenAIBackend"]

# The families a chat-completions or embeddings endpoint can answer.
_SERVED_FAMILIES = frozenset(
    {"classic", "chat", "gpt-oss", "embeddings", "embeddings-m3", "translation", "summarization"}
)


def _tool_spec(tool: Tool) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": {
                "type": "object",
                "properties": {name: {"type": kind} for name, kind in tool.parameters},
                "required": [name for name, _ in tool.parameters],
            },
        },
    }


def _tool_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    calls = []
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except ValueError:
                arguments = {"arguments": arguments}
        calls.append(
            ToolCall(str(function.get("name")), arguments or {}, str(call.get("id") or ""))
        )
    return tuple(calls)


class OpenAIBackend:
    """Sends what it can to the configured server; the rest goes to the local backend."""

    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self.local = LocalBackend()
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def serves(self, model: ModelInfo) -> str | None:
        """The server model that answers `model`, or None when the local backend does."""
        if model.family not in _SERVED_FAMILIES:
            return None
        return self.config.server_model(model.name, model.task)

    def answerer(self, model: ModelInfo) -> str:
        """Who answers `model`: the server, or the local backend for what it does not serve."""
        return self.name if self.serves(model) is not None else self.local.name

    # -- HTTP -----------------------------------------------------------------------------------

    def _http(self) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            headers = {"user-agent": "pyflare"}
            if self.config.api_key:
                headers["authorization"] = f"Bearer {self.config.api_key}"
            self._client = httpx.AsyncClient(
                base_url=self.config.base_url + "/", timeout=self.config.timeout, headers=headers
            )
            self._loop = loop
        return self._client

    def _failure(self, path: str, exc: Exception) -> InferenceUpstreamError:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return upstream_error(3007)
        return InferenceUpstreamError(
            f"pyflare: the model server {self.config.base_url}/{path} did not answer: "
            f"{type(exc).__name__}: {exc}"
        )

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        import httpx

        try:
            response = await self._http().post(path, json=body)
        except httpx.HTTPError as exc:
            raise self._failure(path, exc) from None
        if response.status_code >= 400:
            raise self._refused(path, response.status_code, response.text)
        try:
            return response.json()
        except ValueError:
            raise InferenceUpstreamError(
                f"pyflare: the model server {self.config.base_url}/{path} answered with "
                "something that is not JSON"
            ) from None

    def _refused(self, path: str, status: int, text: str) -> InferenceUpstreamError:
        message = text.strip()
        try:
            error = json.loads(text).get("error")
            message = error.get("message", message) if isinstance(error, dict) else error or message
        except (ValueError, AttributeError):
            pass
        return InferenceUpstreamError(
            f"pyflare: the model server {self.config.base_url}/{path} answered {status}: {message}",
            status=status,
        )

    # -- text generation ------------------------------------------------------------------------

    def _request(
        self, server_model: str, conversation: Conversation, stream: bool
    ) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": server_model, "max_tokens": conversation.max_tokens}
        body.update(conversation.sampling)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if conversation.raw:
            body["prompt"] = conversation.prompt_text
            return "completions", body
        body["messages"] = [{"role": r, "content": t} for r, t in conversation.messages]
        if conversation.tools:
            body["tools"] = [_tool_spec(t) for t in conversation.tools]
        return "chat/completions", body

    async def generate(self, model: ModelInfo, conversation: Conversation) -> Generation:
        server_model = self.serves(model)
        if server_model is None:
            return await self.local.generate(model, conversation)
        path, body = self._request(server_model, conversation, stream=False)
        answer = await self._post(path, body)
        choice = (answer.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        text = choice.get("text") if path == "completions" else message.get("content")
        usage = answer.get("usage") or {}
        text = text or ""
        return Generation(
            text,
            int(usage.get("prompt_tokens") or count_tokens(conversation.prompt_text)),
            int(usage.get("completion_tokens") or count_tokens(text)),
            str(choice.get("finish_reason") or "stop"),
            _tool_calls(message),
            str(message.get("reasoning_content") or message.get("reasoning") or ""),
            id=str(answer.get("id") or ""),
        )

    async def stream(
        self, model: ModelInfo, conversation: Conversation
    ) -> AsyncIterator[str | Generation]:
        import httpx

        server_model = self.serves(model)
        if server_model is None:
            async for local_piece in self.local.stream(model, conversation):
                yield local_piece
            return
        path, body = self._request(server_model, conversation, stream=True)
        text: list[str] = []
        usage: dict[str, Any] = {}
        finish = "stop"
        answer_id = ""
        try:
            async with self._http().stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    raise self._refused(
                        path, response.status_code, (await response.aread()).decode()
                    )
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    answer_id = answer_id or str(chunk.get("id") or "")
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or ():
                        piece: str | None = (
                            choice.get("text")
                            if path == "completions"
                            else ((choice.get("delta") or {}).get("content"))
                        )
                        finish = choice.get("finish_reason") or finish
                        if piece:
                            text.append(piece)
                            yield piece
        except httpx.HTTPError as exc:
            raise self._failure(path, exc) from None
        whole = "".join(text)
        yield Generation(
            whole,
            int(usage.get("prompt_tokens") or count_tokens(conversation.prompt_text)),
            int(usage.get("completion_tokens") or count_tokens(whole)),
            str(finish),
            id=answer_id,
        )

    # -- other tasks ----------------------------------------------------------------------------

    async def answer(self, model: ModelInfo, inputs: Mapping[str, Any]) -> Any:
        server_model = self.serves(model)
        if server_model is None or "contexts" in inputs:
            return await self.local.answer(model, inputs)
        if model.task == "text-embeddings":
            text = inputs.get("text")
            texts = [text] if isinstance(text, str) else list(text or ())
            answer = await self._post("embeddings", {"model": server_model, "input": texts})
            rows = sorted(answer.get("data") or (), key=lambda row: row.get("index", 0))
            data = [list(row["embedding"]) for row in rows]
            width = len(data[0]) if data else 0
            return {"shape": [len(data), width], "data": data, "pooling": "mean"}
        if model.family == "translation":
            source = inputs.get("source_lang") or "en"
            instruction = (
                f"Translate the user's text from language code {source} to language code "
                f"{inputs['target_lang']}. Answer with the translation only."
            )
            return {
                "translated_text": await self._instruct(server_model, instruction, inputs["text"])
            }
        limit = inputs.get("max_length") or 1024
        instruction = (
            f"Summarize the user's text in at most {limit} words. Answer with the summary only."
        )
        return {"summary": await self._instruct(server_model, instruction, inputs["input_text"])}

    async def _instruct(self, server_model: str, instruction: str, text: str) -> str:
        body = {
            "model": server_model,
            "messages": [
                {"role": "system", "content": instruction},
                {"role": "user", "content": text},
            ],
        }
        answer = await self._post("chat/completions", body)
        choice = (answer.get("choices") or [{}])[0]
        return str((choice.get("message") or {}).get("content") or "").strip()

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RuntimeError):  # its event loop is gone: nothing to release
                await client.aclose()
