"""What R2's objects borrow from the `workers` module: the SDK's binding base class (so
`obj["key"]` and `obj.key` both work, and `isinstance(env.BUCKET, _BindingWrapper)` holds) and
JavaScript's `ReadableStream` for `obj.body`.

Until pyflare's `workers` module has them (the SDK-parity work), small stand-ins with the same
observable behaviour are used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

__all__ = ["BindingBase", "body_stream"]

try:  # pragma: no cover - depends on which `workers` module is installed
    from ..workers.rpc import _BindingWrapper as BindingBase  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover

    class BindingBase:  # type: ignore[no-redef]
        """The behaviour the SDK's `_BindingWrapper` gives a JavaScript object."""

        _js_name: ClassVar[str] = ""

        def __getitem__(self, key: Any) -> Any:
            if not isinstance(key, str):
                raise TypeError(f"'{self._js_name}' object is not subscriptable by {key!r}")
            try:
                return getattr(self, key)
            except AttributeError:
                raise KeyError(key) from None

        def __iter__(self) -> Any:
            raise TypeError(f"'{self._js_name}' object is not iterable")

        def __len__(self) -> int:
            raise TypeError(f"'{self._js_name}' object has no len()")

        def __bool__(self) -> bool:
            return True


try:  # pragma: no cover
    from ..workers.jsstream import ReadableStream as _ReadableStream  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    _ReadableStream = None


class _BodyStream:
    """A body as an async iterator of `bytes` chunks (stand-in for a `ReadableStream`)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    def __repr__(self) -> str:
        return "ReadableStream()"


def body_stream(chunks: AsyncIterator[bytes]) -> Any:
    """`chunks` as the stream a worker gets as `obj.body`."""
    if _ReadableStream is not None:
        return _ReadableStream._of_iterator(chunks)
    return _BodyStream(chunks)
