"""A text model's input read the same way whatever its family: who said what, how long the
answer may be, and which tools the model may call.

Both backends work from a `Conversation`: the local one hashes it into a deterministic answer,
the OpenAI-compatible one sends its messages to a chat-completions server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .catalogue import ModelInfo

__all__ = ["Conversation", "Tool", "read_conversation", "text_shape"]

#: Default answer lengths (tokens) when the input names none.
_DEFAULT_MAX_TOKENS = {"classic": 256, "guard": 256}
_OPEN_MAX_TOKENS = 4096


@dataclass(frozen=True)
class Tool:
    """A tool (function) the model may call: its name, description and required parameters
    with their JSON types."""

    name: str
    description: str = ""
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Conversation:
    """The messages of one text-generation call, as `(role, text)` pairs, and its limits."""

    messages: tuple[tuple[str, str], ...]
    max_tokens: int
    #: The output shape the caller gets: "classic", "chat", "completion", "responses", "guard".
    shape: str
    raw: bool = False
    tools: tuple[Tool, ...] = ()
    #: Sampling settings the caller gave (temperature, top_p, seed, ...), for a model server.
    sampling: tuple[tuple[str, Any], ...] = ()
    #: Everything that changes the answer except streaming, as one canonical string.
    key: str = field(default="", compare=False)

    @property
    def question(self) -> str:
        """The last thing the user said (the text an answer is about)."""
        for role, text in reversed(self.messages):
            if role == "user":
                return text
        return self.messages[-1][1] if self.messages else ""

    @property
    def prompt_text(self) -> str:
        return "\n".join(text for _, text in self.messages)


def text_shape(model: ModelInfo, inputs: Mapping[str, Any]) -> str:
    """Which output shape a text model answers `inputs` with."""
    family = model.family
    if family == "chat":
        return "completion" if "prompt" in inputs and "messages" not in inputs else "chat"
    if family == "gpt-oss":
        return "chat" if "messages" in inputs else "responses"
    return family  # classic, guard


def _content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return "" if content is None else str(content)


def _messages(items: Any) -> tuple[tuple[str, str], ...]:
    found = []
    for item in items or ():
        if isinstance(item, Mapping):
            found.append((str(item.get("role") or "user"), _content_text(item.get("content"))))
    return tuple(found)


def _tools(inputs: Mapping[str, Any]) -> tuple[Tool, ...]:
    tools = []
    for item in inputs.get("tools") or ():
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        spec: Mapping[str, Any] = function if isinstance(function, Mapping) else item
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            continue
        given = spec.get("parameters")
        parameters: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        properties = parameters.get("properties") or {}
        required = parameters.get("required") or list(properties)
        params = []
        for param in required:
            detail = properties.get(param) if isinstance(properties, Mapping) else None
            kind = detail.get("type") if isinstance(detail, Mapping) else None
            params.append((str(param), str(kind or "string")))
        tools.append(Tool(name, str(spec.get("description") or ""), tuple(params)))
    return tuple(tools)


# Keys that change how much of the answer is delivered, and how, not what it says: a shorter
# `max_tokens` gives a prefix of the same answer, as a model with a fixed seed does.
_DELIVERY_KEYS = frozenset({"stream", "max_tokens", "max_completion_tokens", "max_output_tokens"})


def _canonical(inputs: Mapping[str, Any]) -> str:
    kept = {k: v for k, v in inputs.items() if k not in _DELIVERY_KEYS}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), default=_opaque)


def _opaque(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return repr(value)


_SAMPLING_KEYS = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty")


def _sampling(inputs: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, inputs[k]) for k in _SAMPLING_KEYS if inputs.get(k) is not None)


def _limit(value: Any, default: int) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return default


def read_conversation(model: ModelInfo, inputs: Mapping[str, Any]) -> Conversation:
    """The conversation a text model's (already checked) `inputs` describe."""
    shape = text_shape(model, inputs)
    default = _DEFAULT_MAX_TOKENS.get(shape, _OPEN_MAX_TOKENS)
    if shape == "responses":
        messages: list[tuple[str, str]] = []
        if isinstance(inputs.get("instructions"), str):
            messages.append(("system", inputs["instructions"]))
        given = inputs.get("input")
        if isinstance(given, str):
            messages.append(("user", given))
        else:
            messages.extend(_messages(given))
        max_tokens = _limit(inputs.get("max_output_tokens"), default)
        return Conversation(
            tuple(messages),
            max_tokens,
            shape,
            tools=_tools(inputs),
            sampling=_sampling(inputs),
            key=_canonical(inputs),
        )
    if "messages" in inputs:
        messages_read = _messages(inputs["messages"])
    else:
        messages_read = (("user", str(inputs.get("prompt") or "")),)
    limit = inputs.get("max_completion_tokens", inputs.get("max_tokens"))
    return Conversation(
        messages_read,
        _limit(limit, default),
        shape,
        raw=bool(inputs.get("raw")),
        tools=_tools(inputs),
        sampling=_sampling(inputs),
        key=_canonical(inputs),
    )
