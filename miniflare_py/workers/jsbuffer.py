"""Binary JavaScript values: `ArrayBuffer`, typed arrays such as `Uint8Array`, text codecs.

`pyodide.ffi.to_js(b"...")` gives a `Uint8Array` here as in Pyodide, so `to_js(data).buffer` is
an `ArrayBuffer` a `Response` accepts (the image-generation example does exactly this). A JS
buffer read back into Python is `to_bytes()`, `to_memoryview()` or `to_py()` (a memoryview).
"""

from __future__ import annotations

from typing import Any

from .jsobject import JsProxy, js_class, js_error

__all__ = [
    "ArrayBuffer",
    "JsBuffer",
    "TextDecoder",
    "TextEncoder",
    "TypedArray",
    "Uint8Array",
    "as_bytes",
]


class JsBuffer(JsProxy):
    """An `ArrayBuffer` or a view of one (`pyodide.ffi.JsBuffer`)."""

    __slots__ = ()


@js_class("ArrayBuffer")
class ArrayBuffer(JsBuffer):
    """A fixed-length block of bytes (`new ArrayBuffer(n)` is zero-filled)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes | bytearray | int = 0) -> None:
        self._data = bytearray(data) if not isinstance(data, bytearray) else data

    @classmethod
    def _js_new(cls, length: int = 0) -> ArrayBuffer:
        return cls(int(length))

    @property
    def byteLength(self) -> int:
        return len(self._data)

    def slice(self, begin: int = 0, end: int | None = None) -> ArrayBuffer:
        return ArrayBuffer(bytes(self._data[begin:end]))

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def to_memoryview(self) -> memoryview:
        return memoryview(self._data)

    def _to_py(self) -> memoryview:
        return memoryview(self._data)

    def to_string(self, encoding: str | None = None) -> str:
        return bytes(self._data).decode(encoding or "utf-8")

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ArrayBuffer({len(self._data)} bytes)"


class TypedArray(JsBuffer):
    """A view of an `ArrayBuffer` with elements of one size (only byte-sized ones here)."""

    __slots__ = ("_buffer", "_length", "_offset")

    def __init__(self, source: Any = 0, byte_offset: int = 0, length: int | None = None) -> None:
        if isinstance(source, ArrayBuffer):
            buffer = source
        elif isinstance(source, int):
            buffer = ArrayBuffer(source)
        elif isinstance(source, TypedArray):
            buffer = ArrayBuffer(source.to_bytes())
        elif isinstance(source, (bytes, bytearray, memoryview)):
            buffer = ArrayBuffer(bytes(source))
        else:
            buffer = ArrayBuffer(bytes(list(source)))
        self._buffer = buffer
        self._offset = byte_offset
        end = len(buffer._data) if length is None else byte_offset + length
        self._length = end - byte_offset

    @classmethod
    def _js_new(cls, source: Any = 0, byte_offset: int = 0, length: int | None = None) -> Any:
        return cls(source, byte_offset, length)

    @property
    def buffer(self) -> ArrayBuffer:
        """The whole `ArrayBuffer` this array views."""
        return self._buffer

    @property
    def byteOffset(self) -> int:
        return self._offset

    @property
    def byteLength(self) -> int:
        return self._length

    @property
    def length(self) -> int:
        return self._length

    def _view(self) -> memoryview:
        return memoryview(self._buffer._data)[self._offset : self._offset + self._length]

    def to_bytes(self) -> bytes:
        return bytes(self._view())

    def to_memoryview(self) -> memoryview:
        return self._view()

    def _to_py(self) -> memoryview:
        return self._view()

    def to_string(self, encoding: str | None = None) -> str:
        return self.to_bytes().decode(encoding or "utf-8")

    def subarray(self, begin: int = 0, end: int | None = None) -> TypedArray:
        start, stop, _ = slice(begin, end).indices(self._length)
        return type(self)(self._buffer, self._offset + start, max(0, stop - start))

    def slice(self, begin: int = 0, end: int | None = None) -> TypedArray:
        return type(self)(self.to_bytes()[begin:end])

    def set(self, values: Any, offset: int = 0) -> None:
        data = values.to_bytes() if isinstance(values, TypedArray) else bytes(list(values))
        if offset + len(data) > self._length:
            raise js_error("RangeError", "offset is out of bounds", ValueError)
        start = self._offset + offset
        self._buffer._data[start : start + len(data)] = data

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> int:
        return self._view()[index]

    def __setitem__(self, index: int, value: int) -> None:
        self._view()[index] = value

    def __iter__(self) -> Any:
        return iter(self._view())

    def __repr__(self) -> str:
        return f"{self.constructor.name}({list(self._view())!r})"


@js_class("Uint8Array")
class Uint8Array(TypedArray):
    __slots__ = ()


@js_class("Uint8ClampedArray")
class Uint8ClampedArray(TypedArray):
    __slots__ = ()


@js_class("Int8Array")
class Int8Array(TypedArray):
    __slots__ = ()


def as_bytes(value: Any) -> bytes | None:
    """The bytes of a buffer-like value (Python or JS), or None if `value` is not one."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (ArrayBuffer, TypedArray)):
        return value.to_bytes()
    return None


@js_class("TextEncoder")
class TextEncoder(JsProxy):
    """`new TextEncoder().encode(text)` gives a `Uint8Array` of its UTF-8 bytes."""

    __slots__ = ()
    encoding = "utf-8"

    def encode(self, text: str = "") -> Uint8Array:
        return Uint8Array(text.encode())


@js_class("TextDecoder")
class TextDecoder(JsProxy):
    """`new TextDecoder(label).decode(bytes)`."""

    __slots__ = ("encoding",)

    def __init__(self, label: str = "utf-8", *_: Any, **__: Any) -> None:
        self.encoding = label.lower()

    def decode(self, data: Any = None, *_: Any, **__: Any) -> str:
        raw = as_bytes(data) if data is not None else b""
        if raw is None:
            raise js_error("TypeError", "decode() expects a BufferSource", TypeError)
        return raw.decode(self.encoding, errors="replace")
