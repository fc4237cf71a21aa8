"""`KvStream`: what `get(key, "stream")` returns, and the stream-like values `put()` takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

__all__ = ["CHUNK", "KvStream", "is_stream_like", "read_stream"]

#: Size of the chunks a `KvStream` yields.
CHUNK = 64 * 1024


class KvStream:
    """A value read as a stream (JavaScript's ReadableStream): iterate it with `async for`
    (chunks of bytes), or read it whole with `await stream.bytes()` / `await stream.text()`.
    It can be read once, like a ReadableStream, and can be given back to `put()`."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    @property
    def locked(self) -> bool:
        """True once the stream has been read."""
        return self._data is None

    def _take(self) -> bytes:
        if self._data is None:
            raise TypeError("This ReadableStream is currently locked to a reader")
        data, self._data = self._data, None
        return data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        data = self._take()
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]

    async def bytes(self) -> bytes:
        return self._take()

    async def text(self) -> str:
        return self._take().decode("utf-8", "replace")


def is_stream_like(value: Any) -> bool:
    """Whether `value` is a stream `put()` reads: a `KvStream`, an async iterable of chunks
    (an async generator, a response body iterator), or a binary file opened for reading."""
    return (
        isinstance(value, KvStream)
        or hasattr(value, "__aiter__")
        or (callable(getattr(value, "read", None)) and not isinstance(value, str | bytes))
    )


async def read_stream(value: Any, limit: int) -> tuple[bytes | None, int]:
    """Read a stream-like value to its end: `(data, length)`, with data None once more than
    `limit` bytes came (the stream is still read to the end, so the length is exact)."""
    chunks: list[bytes] = []
    length = 0
    if isinstance(value, KvStream):
        data = value._take()
        return (data if len(data) <= limit else None), len(data)
    if hasattr(value, "__aiter__"):
        async for chunk in value:
            length = _add(chunks, chunk, length, limit)
    else:
        while True:
            chunk = value.read(CHUNK)
            if hasattr(chunk, "__await__"):
                chunk = await chunk
            if not chunk:
                break
            length = _add(chunks, chunk, length, limit)
    return (b"".join(chunks) if length <= limit else None), length


def _add(chunks: list[bytes], chunk: Any, length: int, limit: int) -> int:
    if not isinstance(chunk, bytes | bytearray | memoryview):
        # a ReadableStream given to KV must carry bytes, as here
        raise TypeError(f"a stream given to KV put() must yield bytes, got {type(chunk).__name__}")
    data = bytes(chunk)
    length += len(data)
    if length <= limit:
        chunks.append(data)
    else:
        chunks.clear()
    return length
