"""What the AI binding borrows from the `workers` module: the SDK's binding base class (so
`isinstance(env.AI, _BindingWrapper)` holds and `for _ in env.AI` fails as on Cloudflare),
JavaScript's `JsException` (the type Workers AI errors have in a Python Worker) and
`ReadableStream` (what a streamed or binary answer is).

pyflare's `workers` module gains these with the SDK-parity work; until it has them, small
stand-ins with the same observable behaviour are used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

__all__ = ["BindingBase", "JsException", "byte_stream", "is_stream"]

try:  # pragma: no cover - depends on which `workers` module is installed
    from ..workers.rpc import _BindingWrapper as BindingBase  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover

    class BindingBase:  # type: ignore[no-redef]
        """The behaviour the SDK's `_BindingWrapper` gives a JavaScript binding object."""

        _js_name: ClassVar[str] = ""

        def __iter__(self) -> Any:
            raise TypeError(f"'{self._js_name}' object is not iterable")

        def __len__(self) -> int:
            raise TypeError(f"'{self._js_name}' object has no len()")

        def __bool__(self) -> bool:
            return True


try:  # pragma: no cover
    from ..workers.jsobject import JsException  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover

    class JsException(Exception):  # type: ignore[no-redef]
        """A JavaScript error raised into Python: `.name` and `.message`, shown as
        `name: message` (what `pyodide.ffi.JsException` prints)."""

        def __init__(self, name: str = "Error", message: str = "") -> None:
            super().__init__(message or name)
            self.name = name
            self.message = message

        def __str__(self) -> str:
            return f"{self.name}: {self.message}" if self.message else self.name


try:  # pragma: no cover
    from ..workers.jsstream import ReadableStream as _ReadableStream  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    _ReadableStream = None


class _BufferedStream(bytes):
    """A whole body standing in for a `ReadableStream` where the `workers` module has none:
    `workers.Response(stream)` takes it as bytes, and `async for chunk in stream` yields it."""

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self:
            yield bytes(self)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def __repr__(self) -> str:
        return "ReadableStream()"


async def byte_stream(chunks: AsyncIterator[bytes]) -> Any:
    """`chunks` as the `ReadableStream` a worker gets from `env.AI.run` (read lazily when the
    `workers` module has streams, gathered first otherwise)."""
    if _ReadableStream is not None:
        return _ReadableStream._of_iterator(chunks)
    return _BufferedStream(b"".join([chunk async for chunk in chunks]))


def is_stream(value: Any) -> bool:
    """Whether `value` is a stream `byte_stream` made."""
    if _ReadableStream is not None and isinstance(value, _ReadableStream):
        return True
    return isinstance(value, _BufferedStream)
