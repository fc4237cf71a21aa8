"""V8's structured-clone wire format (the subset Python values map onto).

Durable Object storage keeps each value as the bytes V8's `ValueSerializer` writes, so a state
folder written by pyflare reads in `wrangler dev` and the other way round, and the 128 KiB value
limit counts the same bytes the edge counts.

| Python                      | V8 (written)                         | read back as            |
|-----------------------------|--------------------------------------|-------------------------|
| None                        | null                                 | None (undefined too)    |
| bool                        | true / false                         | bool                    |
| int in int32 / up to 2**53  | Smi / Number                         | int                     |
| other int                   | BigInt                               | int                     |
| float                       | Number                               | float (integral: int)   |
| str                         | one-byte or two-byte String          | str                     |
| bytes, bytearray, memoryview| Uint8Array over an ArrayBuffer       | bytes                   |
| list, tuple                 | dense Array                          | list                    |
| dict with str keys          | Object                               | `JsDict`                |
| other dict                  | Map                                  | dict                    |
| set, frozenset              | Set                                  | set                     |
| datetime                    | Date                                 | datetime (UTC)          |

Anything else raises `DataCloneError`, as a structured clone of a function does in JavaScript.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

from ..workers.jsdict import JsDict

__all__ = ["DataCloneError", "deserialize", "serialize"]

VERSION = 15
_MAX_DEPTH = 1000
_INT32 = 2**31
_SAFE = 2**53
_double = struct.Struct("<d")


class DataCloneError(TypeError):
    """The value cannot be structured-cloned (a function, a class instance, a cycle...)."""


def _varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _write_str(out: bytearray, s: str) -> None:
    try:
        data = s.encode("latin-1")
    except UnicodeEncodeError:
        data = s.encode("utf-16-le", "surrogatepass")
        # V8 keeps two-byte string data aligned: a padding tag goes first when needed.
        size = len(data)
        header = 1 + len(_varint_bytes(size))
        if (len(out) + header) & 1:
            out.append(0)
        out.append(ord("c"))
        _varint(out, size)
        out += data
        return
    out.append(ord('"'))
    _varint(out, len(data))
    out += data


def _varint_bytes(n: int) -> bytearray:
    b = bytearray()
    _varint(b, n)
    return b


def _write(out: bytearray, value: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise DataCloneError("Value is too deeply nested (or contains a cycle) to be cloned.")
    if value is None:
        out.append(ord("0"))
    elif value is True:
        out.append(ord("T"))
    elif value is False:
        out.append(ord("F"))
    elif isinstance(value, int):
        if -_INT32 <= value < _INT32:
            out.append(ord("I"))
            _varint(out, ((value << 1) ^ (value >> 63)) & 0xFFFFFFFF)
        elif -_SAFE <= value <= _SAFE:
            out.append(ord("N"))
            out += _double.pack(float(value))
        else:
            magnitude = abs(value)
            digits = magnitude.to_bytes((magnitude.bit_length() + 63) // 64 * 8, "little")
            out.append(ord("Z"))
            _varint(out, len(digits) << 1 | (value < 0))
            out += digits
    elif isinstance(value, float):
        out.append(ord("N"))
        out += _double.pack(value)
    elif isinstance(value, str):
        _write_str(out, value)
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        out.append(ord("B"))
        _varint(out, len(data))
        out += data
        out += b"VB"  # an Uint8Array view over the whole buffer
        _varint(out, 0)
        _varint(out, len(data))
        _varint(out, 0)
    elif isinstance(value, list | tuple):
        out.append(ord("A"))
        _varint(out, len(value))
        for item in value:
            _write(out, item, depth + 1)
        out.append(ord("$"))
        _varint(out, 0)
        _varint(out, len(value))
    elif isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            out.append(ord("o"))
            for k, v in value.items():
                _write_str(out, k)
                _write(out, v, depth + 1)
            out.append(ord("{"))
            _varint(out, len(value))
        else:
            out.append(ord(";"))
            for k, v in value.items():
                _write(out, k, depth + 1)
                _write(out, v, depth + 1)
            out.append(ord(":"))
            _varint(out, 2 * len(value))
    elif isinstance(value, set | frozenset):
        out.append(ord("'"))
        for item in value:
            _write(out, item, depth + 1)
        out.append(ord(","))
        _varint(out, len(value))
    elif isinstance(value, datetime):
        out.append(ord("D"))
        out += _double.pack(value.timestamp() * 1000)
    else:
        raise DataCloneError(f"{type(value).__name__} object could not be cloned.")


def serialize(value: Any) -> bytes:
    """The bytes V8 would write for `value` (raises `DataCloneError` for what it cannot)."""
    out = bytearray(b"\xff\x0f")
    _write(out, value, 0)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.objects: list[Any] = []

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ValueError("truncated V8 value")
        self.pos += n
        return chunk

    def double(self) -> float:
        return float(_double.unpack(self.take(8))[0])

    def tag(self) -> int:
        while True:
            t = self.byte()
            if t != 0:  # padding
                return t

    def value(self) -> Any:
        t = chr(self.tag())
        if t in "0_":
            return None
        if t == "T":
            return True
        if t == "F":
            return False
        if t == "I":
            n = self.varint()
            return (n >> 1) ^ -(n & 1)
        if t == "U":
            return self.varint()
        if t == "N":
            return _number(self.double())
        if t == "Z":
            bits = self.varint()
            magnitude = int.from_bytes(self.take(bits >> 1), "little")
            return -magnitude if bits & 1 else magnitude
        if t == '"':
            return self.take(self.varint()).decode("latin-1")
        if t == "c":
            return self.take(self.varint()).decode("utf-16-le", "surrogatepass")
        if t == "S":
            return self.take(self.varint()).decode("utf-8", "surrogatepass")
        if t == "D":
            date = datetime.fromtimestamp(self.double() / 1000, UTC)
            self.objects.append(date)
            return date
        if t == "B":
            buffer = bytes(self.take(self.varint()))
            self.objects.append(buffer)
            if self.pos < len(self.data) and self.data[self.pos] == ord("V"):
                self.pos += 1
                self.byte()  # the view's type
                offset, length = self.varint(), self.varint()
                self.varint()  # flags
                buffer = buffer[offset : offset + length]
                self.objects.append(buffer)
            return buffer
        if t == "o":
            obj = JsDict()
            self.objects.append(obj)
            self._properties(obj, ord("{"))
            return obj
        if t == "A":
            items: list[Any] = []
            self.objects.append(items)
            for _ in range(self.varint()):
                items.append(self.value())
            self._properties({}, ord("$"))
            self.varint()
            return items
        if t == "a":
            sparse: list[Any] = [None] * self.varint()
            self.objects.append(sparse)
            extra: dict[Any, Any] = {}
            self._properties(extra, ord("@"))
            self.varint()
            for k, v in extra.items():
                if str(k).isdigit() and int(k) < len(sparse):
                    sparse[int(k)] = v
            return sparse
        if t == ";":
            mapping: dict[Any, Any] = {}
            self.objects.append(mapping)
            while self.data[self.pos] != ord(":"):
                k = self.value()
                mapping[k] = self.value()
            self.pos += 1
            self.varint()
            return mapping
        if t == "'":
            members: set[Any] = set()
            self.objects.append(members)
            while self.data[self.pos] != ord(","):
                members.add(self.value())
            self.pos += 1
            self.varint()
            return members
        if t == "^":
            return self.objects[self.varint()]
        raise ValueError(f"unsupported V8 value tag {t!r} in stored data")

    def _properties(self, target: dict[Any, Any], end: int) -> None:
        while True:
            while self.data[self.pos] == 0:
                self.pos += 1
            if self.data[self.pos] == end:
                self.pos += 1
                self.varint()
                return
            key = self.value()
            target[key if isinstance(key, str) else str(key)] = self.value()


def _number(x: float) -> int | float:
    # JavaScript has one number type: a whole number reads back as an int, as in Pyodide.
    if x.is_integer() and abs(x) <= _SAFE:
        return int(x)
    return x


def deserialize(data: bytes) -> Any:
    """The Python value of bytes V8 (or `serialize`) wrote."""
    reader = _Reader(bytes(data))
    if reader.data[:1] == b"\xff":
        reader.pos = 2
    return reader.value()
