"""What a text model produced, whatever produced it, and the deterministic local generator.

The local generator is a stand-in for a language model in tests: the same conversation always
gives the same answer, the answer names the key terms of the question (so a test can see which
question it answers), it is 12 to 31 words long and never longer than `max_tokens` words, and a
tool whose name or description shares a word with the question is called instead of answering.
It does not understand anything; it is fast (a few microseconds) and reproducible.
The rest of the answer is stock phrases picked by hashing the conversation.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from .conversation import Conversation, Tool

__all__ = ["Generation", "ToolCall", "count_tokens", "digest", "generate", "key_terms"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_MASK = (1 << 64) - 1

# Words left out of key terms: they say little about what a question is about.
_STOPWORD_TEXT = """\
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our out over own same
    she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your please tell give explain describe"""
_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())

# The local model's own phrases: neutral fragments that read as a (vague) answer.
_PHRASES: Final = tuple(
    phrase.split()
    for phrase in (
        "it depends on the context",
        "the details matter here",
        "one simple idea explains most of it",
        "a closer look shows a clear pattern",
        "several factors play a part",
        "the short answer is yes, with caveats",
        "the evidence points one way",
        "it is worth checking the sources",
        "this holds in most cases",
        "there are a few exceptions",
        "the usual explanation is simple",
        "experts mostly agree on this",
        "it helps to start from the basics",
        "the effect is small but real",
        "history offers a useful example",
        "a careful reading settles it",
    )
)


@dataclass(frozen=True)
class ToolCall:
    """One call a model asks for: the tool's name and its arguments."""

    name: str
    arguments: dict[str, Any]
    id: str = ""

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, separators=(",", ":"))


@dataclass(frozen=True)
class Generation:
    """A finished text generation: the text, token counts and why it stopped."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"  # "length" when max_tokens cut it, "tool_calls"
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""
    #: Stable id for the answer (chat completion and Responses ids are built from it).
    id: str = field(default="", compare=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def pieces(self) -> list[str]:
        """The text in the pieces a stream delivers it in: one word (with its leading space)
        at a time."""
        words = self.text.split(" ")
        return [words[0]] + [" " + w for w in words[1:]] if self.text else []


def count_tokens(text: str) -> int:
    """A token count in the spirit of a tokenizer: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def digest(text: str) -> bytes:
    """16 stable bytes for `text` (the same in every process, unlike `hash()`)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def key_terms(text: str, limit: int = 3) -> list[str]:
    """Up to `limit` words that say what `text` is about: the longest words that are not stop
    words, in the order the text uses them."""
    seen: dict[str, tuple[int, str]] = {}
    for position, match in enumerate(_WORD.finditer(text)):
        word = match.group().strip("'-")
        lower = word.lower()
        if len(lower) > 2 and lower not in _STOPWORDS and lower not in seen:
            seen[lower] = (position, word)
    chosen = sorted(seen, key=lambda w: (-len(w), seen[w][0]))[:limit]
    return [seen[w][1] for w in sorted(chosen, key=lambda w: seen[w][0])]


def _lead(terms: list[str]) -> str:
    if not terms:
        return "Here is a thought:"
    if len(terms) == 1:
        return f"About {terms[0]}:"
    return "About " + ", ".join(terms[:-1]) + f" and {terms[-1]}:"


def _choose_tool(tools: tuple[Tool, ...], terms: set[str]) -> Tool | None:
    for tool in tools:
        text = f"{tool.name.replace('_', ' ')} {tool.description}"
        words = {w.lower() for w in _WORD.findall(text)}
        if words & terms:
            return tool
    return None


def _argument(kind: str, terms: list[str], seed: int) -> Any:
    if kind in ("integer", "number"):
        return seed % 100
    if kind == "boolean":
        return bool(seed & 1)
    if kind == "array":
        return list(terms)
    if kind == "object":
        return {}
    return " ".join(terms) or "value"


def generate(conversation: Conversation, model: str) -> Generation:
    """The local model's answer to `conversation` (see the module docstring)."""
    raw = digest(f"{model}\x1f{conversation.key}")
    seed = int.from_bytes(raw[:8], "little")
    answer_id = raw.hex()
    question = conversation.question
    terms = key_terms(question)
    prompt_tokens = count_tokens(conversation.prompt_text)
    last_role = conversation.messages[-1][0] if conversation.messages else "user"
    if conversation.tools and last_role != "tool":
        wanted = {t.lower() for t in key_terms(question, 12)}
        tool = _choose_tool(conversation.tools, wanted)
        if tool is not None:
            arguments = {name: _argument(kind, terms, seed) for name, kind in tool.parameters}
            call = ToolCall(tool.name, arguments, f"call_{answer_id[:24]}")
            return Generation(
                "", prompt_tokens, 1 + len(arguments), "tool_calls", (call,), id=answer_id
            )
    natural = 12 + seed % 20
    words = _lead(terms).split(" ")
    state = seed | 1
    last = -1
    while len(words) < natural:
        state = (state * 6364136223846793005 + 1442695040888963407) & _MASK
        pick = (state >> 33) % len(_PHRASES)
        last = pick = (pick + 1) % len(_PHRASES) if pick == last else pick
        words += _PHRASES[pick]
        words[-1] += ";" if len(words) < natural else "."
    finish = "stop"
    if len(words) > conversation.max_tokens:
        words = words[: conversation.max_tokens]
        finish = "length"
    reasoning = f"The question is about {', '.join(terms) or 'nothing specific'}."
    return Generation(
        " ".join(words), prompt_tokens, len(words), finish, reasoning=reasoning, id=answer_id
    )
