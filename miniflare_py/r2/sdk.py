"""What R2's objects borrow from the `workers` module: the SDK's binding base class (so
`obj["key"]` and `obj.key` both work, and `isinstance(env.BUCKET, _BindingWrapper)` holds) and
JavaScript's `ReadableStream` for `obj.body`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..workers.jsstream import ReadableStream
from ..workers.rpc import _BindingWrapper as BindingBase

__all__ = ["BindingBase", "body_stream"]


def body_stream(chunks: AsyncIterator[bytes]) -> Any:
    """`chunks` as the stream a worker gets as `obj.body`."""
    return ReadableStream._of_iterator(chunks)
