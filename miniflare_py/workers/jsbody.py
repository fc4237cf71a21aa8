"""JavaScript body values (`Blob`, `File`, `FormData`, `URLSearchParams`) and the Fetch rules
that turn a body into bytes and a default content type, or bytes back into form data."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from .jsbuffer import ArrayBuffer, TypedArray, as_bytes
from .jsobject import JsArray, JsProxy, js_class, js_error, jsnull, option, to_entries
from .jsstream import ReadableStream

__all__ = ["Blob", "File", "FormData", "URLSearchParams", "extract_body", "parse_form_data"]


@js_class("Blob")
class Blob(JsProxy):
    """JavaScript's `Blob`: immutable bytes with a MIME `type`."""

    __slots__ = ("_data", "type")
    _data: bytes
    type: str

    def __init__(self, parts: Any = None, options: Any = None, **kwargs: Any) -> None:
        chunks = []
        for part in [] if parts is None or parts is jsnull else parts:
            if isinstance(part, str):
                chunks.append(part.encode())
            elif isinstance(part, Blob):
                chunks.append(part._data)
            else:
                data = as_bytes(part)
                if data is None:
                    chunks.append(str(part).encode())  # JS stringifies anything else
                else:
                    chunks.append(data)
        self._data = b"".join(chunks)
        content_type = option(options, kwargs, "type") or ""
        self.type = str(content_type).lower()

    @property
    def size(self) -> int:
        return len(self._data)

    async def text(self) -> str:
        return self._data.decode(errors="replace")

    async def arrayBuffer(self) -> ArrayBuffer:
        return ArrayBuffer(self._data)

    async def bytes(self) -> bytes:
        return self._data

    def slice(self, start: int | None = None, end: int | None = None, type: Any = None) -> Blob:
        return Blob([self._data[start:end]], type="" if type in (None, jsnull) else type)

    def stream(self) -> ReadableStream:
        return ReadableStream._of_bytes(self._data)

    def __repr__(self) -> str:
        return f"Blob(size={self.size}, type={self.type!r})"


@js_class("File")
class File(Blob):
    """JavaScript's `File`: a `Blob` with a `name` and `lastModified` (ms since the epoch)."""

    __slots__ = ("lastModified", "name")

    def __init__(self, parts: Any = None, name: str = "", options: Any = None, **kwargs: Any):
        super().__init__(parts, options, **kwargs)
        self.name = str(name)
        modified = option(options, kwargs, "lastModified")
        self.lastModified = int(time.time() * 1000) if modified in (None, jsnull) else modified

    def __repr__(self) -> str:
        return f"File(name={self.name!r}, size={self.size}, type={self.type!r})"


@js_class("FormData")
class FormData(JsProxy):
    """JavaScript's `FormData`: ordered (name, value) entries; values are str or `File`."""

    __slots__ = ("_entries",)

    def __init__(self, *_: Any) -> None:
        self._entries: list[tuple[str, Any]] = []

    @staticmethod
    def _value(value: Any, filename: Any = None) -> Any:
        if isinstance(value, Blob):
            if isinstance(value, File) and filename in (None, jsnull):
                return value
            name = "blob" if filename in (None, jsnull) else str(filename)
            return File([value], name, type=value.type)
        return str(value)

    def append(self, name: str, value: Any, filename: Any = None) -> None:
        self._entries.append((str(name), self._value(value, filename)))

    def set(self, name: str, value: Any, filename: Any = None) -> None:
        name = str(name)
        new = self._value(value, filename)
        index = next((i for i, (k, _) in enumerate(self._entries) if k == name), None)
        self._entries = [(k, v) for k, v in self._entries if k != name]
        self._entries.insert(len(self._entries) if index is None else index, (name, new))

    def get(self, name: str) -> Any:
        return next((v for k, v in self._entries if k == name), None)

    def getAll(self, name: str) -> JsArray:
        return JsArray(v for k, v in self._entries if k == name)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._entries)

    def delete(self, name: str) -> None:
        self._entries = [(k, v) for k, v in self._entries if k != name]

    def entries(self) -> Iterator[tuple[str, Any]]:
        return iter(list(self._entries))

    def keys(self) -> Iterator[str]:
        return iter([k for k, _ in self._entries])

    def values(self) -> Iterator[Any]:
        return iter([v for _, v in self._entries])

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return self.entries()

    def _encode(self) -> tuple[bytes, str]:
        boundary = f"----pyflareFormBoundary{os.urandom(12).hex()}"
        parts = []
        for name, value in self._entries:
            disposition = f'form-data; name="{_escape(name)}"'
            if isinstance(value, File):
                disposition += f'; filename="{_escape(value.name)}"'
                head = (
                    f"Content-Disposition: {disposition}\r\n"
                    f"Content-Type: {value.type or 'application/octet-stream'}\r\n\r\n"
                )
                data = value._data
            else:
                head = f"Content-Disposition: {disposition}\r\n\r\n"
                data = value.encode()
            parts.append(f"--{boundary}\r\n".encode() + head.encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts), f"multipart/form-data; boundary={boundary}"

    def __repr__(self) -> str:
        return f"FormData({self._entries!r})"


def _escape(text: str) -> str:
    return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


@js_class("URLSearchParams")
class URLSearchParams(JsProxy):
    """JavaScript's `URLSearchParams` (`application/x-www-form-urlencoded` pairs)."""

    __slots__ = ("_on_change", "_pairs")
    _pairs: list[tuple[str, str]]

    def __init__(self, init: Any = None) -> None:
        self._on_change: Any = None
        if init is None or init is jsnull:
            pairs: list[tuple[str, str]] = []
        elif isinstance(init, str):
            pairs = parse_qsl(init[1:] if init.startswith("?") else init, keep_blank_values=True)
        elif isinstance(init, URLSearchParams):
            pairs = list(init._pairs)
        else:
            pairs = [(str(k), str(v)) for k, v in to_entries(init)]
        self._pairs = pairs

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._pairs if k == name), None)

    def getAll(self, name: str) -> JsArray:
        return JsArray(v for k, v in self._pairs if k == name)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._pairs)

    def append(self, name: str, value: Any) -> None:
        self._pairs.append((str(name), str(value)))
        self._changed()

    def set(self, name: str, value: Any) -> None:
        index = next((i for i, (k, _) in enumerate(self._pairs) if k == name), None)
        self._pairs = [(k, v) for k, v in self._pairs if k != name]
        self._pairs.insert(len(self._pairs) if index is None else index, (str(name), str(value)))
        self._changed()

    def delete(self, name: str) -> None:
        self._pairs = [(k, v) for k, v in self._pairs if k != name]
        self._changed()

    def sort(self) -> None:
        self._pairs.sort(key=lambda pair: pair[0])
        self._changed()

    def entries(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._pairs))

    def keys(self) -> Iterator[str]:
        return iter([k for k, _ in self._pairs])

    def values(self) -> Iterator[str]:
        return iter([v for _, v in self._pairs])

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return self.entries()

    @property
    def size(self) -> int:
        return len(self._pairs)

    def toString(self) -> str:
        return urlencode(self._pairs, quote_via=quote, safe="*-._")

    def __str__(self) -> str:
        return self.toString()

    def __repr__(self) -> str:
        return f"URLSearchParams({self.toString()!r})"


_TEXT = "text/plain;charset=UTF-8"


def extract_body(body: Any) -> tuple[bytes | ReadableStream | None, str | None]:
    """The Fetch spec's "extract a body": the payload and the content type it implies.

    Accepts str, bytes-like values, `ArrayBuffer` and typed arrays, `Blob`/`File`, `FormData`,
    `URLSearchParams` and `ReadableStream`; None or `jsnull` is no body. Anything else is a
    TypeError (JavaScript would send its `toString()`, which is never what was meant).
    """
    if body is None or body is jsnull:
        return None, None
    if isinstance(body, str):
        return body.encode(), _TEXT
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, (bytearray, memoryview, ArrayBuffer, TypedArray)):
        return as_bytes(body), None
    if isinstance(body, Blob):
        return body._data, body.type or None
    if isinstance(body, FormData):
        return body._encode()
    if isinstance(body, URLSearchParams):
        return body.toString().encode(), "application/x-www-form-urlencoded;charset=UTF-8"
    if isinstance(body, ReadableStream):
        buffered = body._buffered()
        return (buffered if buffered is not None else body), None
    raise js_error(
        "TypeError",
        f"Unsupported body type {type(body).__name__}: use str, bytes, FormData, Blob, "
        "URLSearchParams, an ArrayBuffer or a ReadableStream",
        TypeError,
    )


def parse_form_data(data: bytes, content_type: str | None) -> FormData:
    """A body read back as `FormData` (multipart or urlencoded), as `formData()` does."""
    form = FormData()
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(data.decode(), keep_blank_values=True):
            form.append(name, value)
        return form
    if kind != "multipart/form-data":
        raise js_error(
            "TypeError",
            "Unrecognized Content-Type header value. FormData can only parse the following "
            "MIME types: multipart/form-data, application/x-www-form-urlencoded",
            TypeError,
        )
    import email.parser  # only here: the email package is slow to import
    import email.policy

    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + data)
    if not message.is_multipart():
        raise js_error("TypeError", "Failed to parse body as FormData.", TypeError)
    for part in message.iter_parts():
        field = part.get_param("name", header="content-disposition")
        if not isinstance(field, str):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        filename = part.get_filename(None)
        if filename is None:
            form.append(field, payload.decode(part.get_content_charset() or "utf-8"))
        else:
            form.append(field, File([payload], filename, type=part.get_content_type()))
    return form
