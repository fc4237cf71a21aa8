"""`workers.Blob` and `workers.File`: the SDK's Python wrappers of JavaScript's Blob and File."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from .jsbody import Blob as JsBlob
from .jsbody import File as JsFile
from .jsbuffer import as_bytes

__all__ = ["Blob", "BlobEnding", "BlobValue", "File"]

BlobValue = "str | bytes | js.ArrayBuffer | js.TypedArray | js.DataView | js.Blob | Blob | File"


class BlobEnding(StrEnum):
    TRANSPARENT = "transparent"
    NATIVE = "native"


def _is_iterable(value: Any) -> bool:
    if isinstance(value, (str, bytes)):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _part(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Blob):
        return value._js_blob
    if isinstance(value, JsBlob):
        return value
    data = as_bytes(value)
    if data is None:
        try:
            data = bytes(memoryview(value))
        except TypeError:
            raise TypeError(f"Don't know how to handle {type(value)} for Blob()") from None
    return data


class Blob:
    """Bytes with a content type: `Blob(parts, content_type=None, endings=None)`."""

    def __init__(
        self,
        blob_parts: Iterable[Any] | Any,
        content_type: str | None = None,
        endings: BlobEnding | str | None = None,
    ) -> None:
        if not _is_iterable(blob_parts) or isinstance(blob_parts, JsBlob):
            # A single Blob or File: keep its type unless one is given (a File's name is lost).
            if not content_type and isinstance(blob_parts, Blob):
                content_type = blob_parts.content_type
            if not content_type and isinstance(blob_parts, JsBlob):
                content_type = blob_parts.type
            blob_parts = [blob_parts]
        self._js_blob = JsBlob([_part(p) for p in blob_parts], type=content_type or "")

    @property
    def size(self) -> int:
        return self._js_blob.size

    @property
    def content_type(self) -> str:
        return self._js_blob.type

    @property
    def js_object(self) -> JsBlob:
        return self._js_blob

    async def text(self) -> str:
        return await self._js_blob.text()

    async def bytes(self) -> bytes:
        return await self._js_blob.bytes()

    def slice(
        self, start: int | None = None, end: int | None = None, content_type: str | None = None
    ) -> Blob:
        return Blob([self._js_blob.slice(start, end, content_type)])

    def __repr__(self) -> str:
        return f"Blob(size={self.size}, content_type={self.content_type!r})"


class File(Blob):
    """A `Blob` with a file name: `File(parts, filename, content_type=None, ...)`."""

    def __init__(
        self,
        blob_parts: Iterable[Any] | Any,
        filename: str,
        content_type: str | None = None,
        endings: BlobEnding | str | None = None,
        last_modified: int | None = None,
    ) -> None:
        if not _is_iterable(blob_parts) or isinstance(blob_parts, JsBlob):
            if not content_type and isinstance(blob_parts, Blob):
                content_type = blob_parts.content_type
            if not last_modified and isinstance(blob_parts, File):
                last_modified = blob_parts.last_modified
            if isinstance(blob_parts, JsBlob):
                content_type = content_type or blob_parts.type
                if isinstance(blob_parts, JsFile) and not last_modified:
                    last_modified = blob_parts.lastModified
            blob_parts = [blob_parts]
        self._js_blob = JsFile(
            [_part(p) for p in blob_parts],
            filename,
            type=content_type or "",
            lastModified=last_modified,
        )

    @property
    def name(self) -> str:
        return self._js_blob.name  # type: ignore[attr-defined, no-any-return]

    @property
    def last_modified(self) -> int:
        return self._js_blob.lastModified  # type: ignore[attr-defined, no-any-return]

    def __repr__(self) -> str:
        return f"File(name={self.name!r}, size={self.size}, content_type={self.content_type!r})"
