"""JavaScript's `ReadableStream`, enough for bodies: `async for chunk in request.body`,
`getReader().read()`, and `new ReadableStream({start, pull, cancel})` with a controller.

Chunks are `Uint8Array`s (`chunk.to_bytes()`), as a worker gets them from a body stream.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from .jsbuffer import Uint8Array, as_bytes
from .jsobject import JsObject, JsProxy, js_class, js_error, option

__all__ = ["ReadableStream"]


class _Controller(JsProxy):
    """The controller a stream's underlying source gets: `enqueue`, `close`, `error`."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ReadableStream) -> None:
        self._stream = stream

    def enqueue(self, chunk: Any) -> None:
        self._stream._queue.append(chunk)

    def close(self) -> None:
        self._stream._closed = True

    def error(self, reason: Any = None) -> None:
        self._stream._error = reason if reason is not None else "stream errored"

    @property
    def desiredSize(self) -> int:
        return 1


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


@js_class("ReadableStream")
class ReadableStream(JsProxy):
    """A stream of byte chunks; made from bytes, an async iterator, or an underlying source."""

    __slots__ = (
        "_cancel",
        "_closed",
        "_disturbed",
        "_error",
        "_iterator",
        "_locked",
        "_pull",
        "_queue",
        "_start",
        "_started",
    )

    def __init__(self, source: Any = None, strategy: Any = None, **kwargs: Any) -> None:
        self._queue: deque[Any] = deque()
        self._closed = False
        self._error: Any = None
        self._iterator: AsyncIterator[Any] | None = None
        self._locked = False
        self._disturbed = False
        self._start = option(source, kwargs, "start")
        self._pull = option(source, kwargs, "pull")
        self._cancel = option(source, kwargs, "cancel")
        self._started = self._start is None

    @classmethod
    def _of_bytes(cls, data: bytes) -> ReadableStream:
        stream = cls()
        if data:
            stream._queue.append(data)
        stream._closed = True
        return stream

    @classmethod
    def _of_iterator(cls, chunks: AsyncIterator[Any]) -> ReadableStream:
        stream = cls()
        stream._iterator = chunks
        return stream

    def _buffered(self) -> bytes | None:
        """All the bytes, without reading, when nothing is left to produce (a bytes body)."""
        if not self._closed or self._disturbed or self._iterator is not None:
            return None
        return b"".join(as_bytes(c) or b"" for c in self._queue)

    @property
    def locked(self) -> bool:
        return self._locked

    async def _next(self) -> bytes | None:
        """The next chunk's bytes, or None at the end."""
        self._disturbed = True
        if not self._started:
            self._started = True
            await _maybe_await(self._start(_Controller(self)))
        while True:
            if self._queue:
                chunk = self._queue.popleft()
                data = as_bytes(chunk)
                if data is None:
                    if isinstance(chunk, str):
                        raise js_error(
                            "TypeError",
                            "This ReadableStream did not return bytes.",
                            TypeError,
                        )
                    data = bytes(chunk)
                return data
            if self._error is not None:
                raise js_error("TypeError", str(self._error), TypeError)
            if self._closed:
                return None
            if self._iterator is not None:
                try:
                    self._queue.append(await self._iterator.__anext__())
                except StopAsyncIteration:
                    self._closed = True
                continue
            if self._pull is None:
                self._closed = True
                continue
            before = len(self._queue)
            await _maybe_await(self._pull(_Controller(self)))
            if len(self._queue) == before and not self._closed and self._error is None:
                self._closed = True  # a pull that produced nothing: nothing more will come

    async def _read_all(self) -> bytes:
        parts = []
        while (chunk := await self._next()) is not None:
            parts.append(chunk)
        return b"".join(parts)

    async def __aiter__(self) -> AsyncIterator[Uint8Array]:
        self._locked = True
        try:
            while (chunk := await self._next()) is not None:
                yield Uint8Array(chunk)
        finally:
            self._locked = False

    def getReader(self, *_: Any, **__: Any) -> _Reader:
        if self._locked:
            raise js_error("TypeError", "ReadableStream is locked", TypeError)
        self._locked = True
        return _Reader(self)

    async def cancel(self, reason: Any = None) -> None:
        self._queue.clear()
        self._closed = True
        if self._cancel is not None:
            await _maybe_await(self._cancel(reason))

    def tee(self) -> list[ReadableStream]:
        """Two streams with the same chunks (reads this one to its end when first read)."""
        source = self
        cache: list[bytes] | None = None

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal cache
            if cache is None:
                cache = []
                while (chunk := await source._next()) is not None:
                    cache.append(chunk)
            for chunk in cache:
                yield chunk

        self._locked = True
        return [ReadableStream._of_iterator(chunks()), ReadableStream._of_iterator(chunks())]

    def __repr__(self) -> str:
        return "ReadableStream()"


class _Reader(JsProxy):
    """`stream.getReader()`: `await read()` gives `{done, value}`."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ReadableStream) -> None:
        self._stream = stream

    async def read(self) -> JsObject:
        chunk = await self._stream._next()
        if chunk is None:
            return JsObject(done=True, value=None)
        return JsObject(done=False, value=Uint8Array(chunk))

    def releaseLock(self) -> None:
        self._stream._locked = False

    async def cancel(self, reason: Any = None) -> None:
        await self._stream.cancel(reason)

    @property
    def closed(self) -> bool:
        return self._stream._closed and not self._stream._queue


def stream_source(
    pull: Callable[..., Any] | None = None, cancel: Callable[..., Any] | None = None
) -> ReadableStream:
    """A stream whose chunks come from `pull(controller)` calls."""
    return ReadableStream({"pull": pull, "cancel": cancel})
