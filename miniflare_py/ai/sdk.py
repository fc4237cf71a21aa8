"""What the AI binding borrows from the `workers` module: the SDK's binding base class (so
`isinstance(env.AI, _BindingWrapper)` holds and `for _ in env.AI` fails as on Cloudflare),
JavaScript's errors (`JsException`, the type Workers AI errors have in a Python Worker) and
`ReadableStream` (what a streamed or binary answer is)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..workers.jsobject import JsException
from ..workers.jsstream import ReadableStream
from ..workers.rpc import _BindingWrapper as BindingBase

__all__ = ["BindingBase", "JsException", "byte_stream", "is_stream"]


async def byte_stream(chunks: AsyncIterator[bytes]) -> ReadableStream:
    """`chunks` as the `ReadableStream` a worker gets from `env.AI.run`, read lazily: a worker
    reads `Uint8Array` chunks (`chunk.to_bytes()`), or hands the stream to `Response`."""
    return ReadableStream._of_iterator(chunks)


def is_stream(value: Any) -> bool:
    """Whether `value` is a stream `byte_stream` made."""
    return isinstance(value, ReadableStream)
