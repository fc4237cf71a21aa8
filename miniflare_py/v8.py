"""V8's structured-clone wire format, as workerd writes it: one codec for the whole engine.

workerd serializes a value with V8's `ValueSerializer` (wire format 15, header included) both
for Durable Object storage and for a queue message sent with `contentType: "v8"`, and the limits
of both (131072 bytes per stored value, 128000 per message) count those bytes. Durable Object
storage keeps these bytes (so one state folder reads in `wrangler dev` and in pyflare);
the queue measures them (`serialized_size`).

A Python value reaches V8 as the SDK converts it (`python_to_rpc`, which calls Pyodide's `to_js`
with `dict_converter=Object.fromEntries`), so:

| Python                       | V8 (written)                             | read back as           |
|------------------------------|------------------------------------------|------------------------|
| None                         | null                                     | None (undefined too)   |
| bool                         | true / false                             | bool                   |
| int: Smi / up to 2**53       | Smi / Number (double)                    | int                    |
| other int                    | BigInt                                   | int                    |
| float                        | Number (Smi when whole and small)        | float (whole: int)     |
| str                          | one-byte or two-byte String              | str                    |
| bytes, bytearray, memoryview | Uint8Array over its own ArrayBuffer      | bytes                  |
| list, tuple                  | dense Array                              | list                   |
| dict (any keys)              | Object; keys become property keys        | `JsDict` (str keys)    |
| set, frozenset               | Set                                      | set                    |
| datetime                     | Date (whole milliseconds)                | datetime (UTC)         |

A dict becomes an Object whatever its keys, as `Object.fromEntries` makes it: a key is turned
into a string as JavaScript's `String()` does (`1` -> "1", `None` -> "null", `(1, 2)` -> "1,2"),
two keys with the same string are one property (the last value wins), and V8 writes the
properties in JavaScript's order: integer indices ascending (as numbers), then the other keys in
insertion order. An object met twice (the same Python object) is written once and then as a
back-reference, as V8 does for a shared or cyclic JavaScript object. Maps and sparse arrays that
JavaScript wrote read back as dict and list. Anything else raises `DataCloneError`, as a
structured clone of a function does in JavaScript.

This module imports nothing but the standard library and `JsDict`: the engine (Durable Objects,
queues) and the tools share it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .jsnumber import js_number
from .workers.jsdict import JsDict

__all__ = [
    "SMI_MAX",
    "SMI_MIN",
    "VERSION",
    "DataCloneError",
    "deserialize",
    "serialize",
    "serialized_size",
]

VERSION = 15
_HEADER = bytes((0xFF, VERSION))

# V8 writes an integer it holds as a small integer (Smi) as a zigzag varint ("I") and any other
# number as a double ("N"). How wide a Smi is depends on the build: with pointer compression it
# has 31 bits, without it 32. workerd builds V8 with pointer compression: its compile flags
# (`compile_flags.txt` in cloudflare/workerd) carry -DV8_COMPRESS_POINTERS and
# -DV8_31BIT_SMIS_ON_64BIT_ARCH, and the bytes workerd (Miniflare 4.20260426.0) stores for
# 2**30 - 1 are "I" while those for 2**30 are a double (see tests/test_v8.py). Node's own builds
# have no pointer compression, so `node -e 'v8.serialize(2**30)'` writes "I": do not check
# Smi boundaries against Node.
SMI_MIN, SMI_MAX = -(2**30), 2**30 - 1
_MAX_SAFE = 2**53
_MAX_INDEX = 2**32 - 2  # the largest array index, so the largest integer property key
_double = struct.Struct("<d")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Tags of the wire format.
_NULL, _TRUE, _FALSE = b"0", b"T", b"F"
_SMI, _DOUBLE, _BIGINT = 0x49, 0x4E, 0x5A  # I N Z
_ONE_BYTE, _TWO_BYTE = 0x22, 0x63  # " c
_PADDING = 0


class DataCloneError(TypeError):
    """The value cannot be structured-cloned (a function, a class instance...)."""


# -- the shapes both the writer and the sizer use -----------------------------------------------


def _varint_size(n: int) -> int:
    """Bytes of `n` as an unsigned LEB128 varint."""
    return (n.bit_length() + 6) // 7 or 1


def _zigzag(n: int) -> int:
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def _smi(x: float) -> int | None:
    """`x` as a Smi, or None when V8 keeps it as a double (-0.0, fractions, large values)."""
    if isinstance(x, int):
        return x if SMI_MIN <= x <= SMI_MAX else None
    if x.is_integer() and SMI_MIN <= x <= SMI_MAX and (x != 0 or math.copysign(1.0, x) > 0):
        return int(x)
    return None


def _index(key: str) -> int | None:
    """The array index `key` spells (canonical decimal, 0 ... 2**32 - 2), or None."""
    if not key.isascii() or not key.isdigit() or (key[0] == "0" and len(key) > 1):
        return None
    n = int(key)
    return n if n <= _MAX_INDEX else None


def _key_text(key: Any) -> str:
    """`String(key)` in JavaScript, for a dict key after the SDK's conversion."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return js_number(key)
    if isinstance(key, tuple):  # an Array: its elements joined by commas, null as ""
        return ",".join("" if k is None else _key_text(k) for k in key)
    if isinstance(key, bytes | memoryview):  # a Uint8Array
        return ",".join(map(str, bytes(key)))
    if isinstance(key, frozenset):
        return "[object Set]"
    if isinstance(key, datetime):
        when = _EPOCH + timedelta(milliseconds=_time_value(key))
        return when.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
    raise DataCloneError(f"{type(key).__name__} object could not be cloned.")


def _properties(mapping: Mapping[Any, Any]) -> Iterable[tuple[int | str, Any]]:
    """The properties of the Object V8 gets for `mapping`, in the order V8 writes them."""
    if all(type(k) is str and not k[:1].isdigit() for k in mapping):
        return mapping.items()  # the common case: plain string keys, no index among them
    props: dict[int | str, Any] = {}
    for key, value in mapping.items():
        text = _key_text(key)
        index = _index(text)
        props[text if index is None else index] = value  # a repeated key keeps its place
    indices = sorted((k, v) for k, v in props.items() if isinstance(k, int))
    return indices + [(k, v) for k, v in props.items() if isinstance(k, str)]


def _one_byte(text: str) -> bytes | None:
    """`text` as Latin-1 bytes when V8 would hold it as a one-byte string, else None."""
    if text.isascii():
        return text.encode("ascii")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _time_value(when: datetime) -> float:
    """The Date's time value: milliseconds since the epoch, truncated toward zero as `new Date()`
    does (TimeClip). Computed exactly: `timestamp() * 1000` can be off by one far from 1970."""
    try:
        if when.tzinfo is None:
            when = when.astimezone(UTC)  # local time, as `timestamp()` reads a naive datetime
        delta = when - _EPOCH
    except (OverflowError, OSError, ValueError):
        raise DataCloneError(f"{when!r} is outside the range of a Date.") from None
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return float(us // 1000 if us >= 0 else -(-us // 1000))


_TOO_DEEP = "Value is too deeply nested to be cloned."


# -- writing ------------------------------------------------------------------------------------


class _Writer:
    __slots__ = ("ids", "next_id", "out")

    def __init__(self) -> None:
        self.out = bytearray(_HEADER)
        self.ids: dict[int, int] = {}  # id() of an object written -> its object id
        self.next_id = 0

    def varint(self, n: int) -> None:
        out = self.out
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)

    def number(self, x: float) -> None:
        small = _smi(x)
        if small is not None:
            self.out.append(_SMI)
            self.varint(_zigzag(small))
        else:
            self.out.append(_DOUBLE)
            self.out += _double.pack(x)

    def string(self, text: str) -> None:
        data = _one_byte(text)
        if data is not None:
            self.out.append(_ONE_BYTE)
        else:
            data = text.encode("utf-16-le", "surrogatepass")
            # V8 keeps two-byte characters aligned: a padding byte goes first when needed.
            if (len(self.out) + 1 + _varint_size(len(data))) & 1:
                self.out.append(_PADDING)
            self.out.append(_TWO_BYTE)
        self.varint(len(data))
        self.out += data

    def key(self, key: int | str) -> None:
        if isinstance(key, int):
            self.number(key)
        else:
            self.string(key)

    def seen(self, value: object) -> bool:
        """Give `value` the next object id; True (and a back-reference written) if it had one."""
        known = self.ids.get(id(value))
        if known is not None:
            self.out.append(0x5E)  # ^
            self.varint(known)
            return True
        self.ids[id(value)] = self.next_id
        self.next_id += 1
        return False

    def value(self, value: Any) -> None:
        out = self.out
        if value is None:
            out += _NULL
        elif value is True:
            out += _TRUE
        elif value is False:
            out += _FALSE
        elif isinstance(value, int):
            if -_MAX_SAFE <= value <= _MAX_SAFE:
                self.number(value)
            else:  # a BigInt: bitfield (byte length, sign), then 64-bit digits
                magnitude = abs(value)
                length = (magnitude.bit_length() + 63) // 64 * 8
                out.append(_BIGINT)
                self.varint(length << 1 | (value < 0))
                out += magnitude.to_bytes(length, "little")
        elif isinstance(value, float):
            self.number(value)
        elif isinstance(value, str):
            self.string(value)
        elif isinstance(value, list | tuple | dict | set | frozenset | datetime):
            if not self.seen(value):
                self.container(value)
        elif isinstance(value, bytes | bytearray | memoryview):
            # The view's ArrayBuffer is written first and takes the id before the view's.
            known = self.ids.get(id(value))
            if known is not None:
                out.append(0x5E)
                self.varint(known)
                return
            data = value.tobytes() if isinstance(value, memoryview) else value
            # The ArrayBuffer (never shared: each bytes value gets its own) takes an id.
            self.ids[id(value)] = self.next_id + 1
            self.next_id += 2
            out.append(0x42)  # B: ArrayBuffer
            self.varint(len(data))
            out += data
            out += b"VB\x00"  # a Uint8Array view: offset 0 ...
            self.varint(len(data))  # ... over the whole buffer ...
            out.append(0)  # ... no flags
        else:
            raise DataCloneError(f"{type(value).__name__} object could not be cloned.")

    def container(self, value: Any) -> None:
        out = self.out
        if isinstance(value, list | tuple):
            out.append(0x41)  # A: dense array
            self.varint(len(value))
            for item in value:
                self.value(item)
            out += b"$\x00"  # end, no extra properties
            self.varint(len(value))
        elif isinstance(value, dict):
            out.append(0x6F)  # o: object
            count = 0
            for key, item in _properties(value):
                self.key(key)
                self.value(item)
                count += 1
            out.append(0x7B)  # {
            self.varint(count)
        elif isinstance(value, set | frozenset):
            out.append(0x27)  # ': Set
            for item in value:
                self.value(item)
            out.append(0x2C)  # ,
            self.varint(len(value))
        else:  # datetime
            out.append(0x44)  # D
            out += _double.pack(_time_value(value))


def serialize(value: Any) -> bytes:
    """The bytes workerd's V8 writes for `value` (raises `DataCloneError` for what it cannot)."""
    writer = _Writer()
    try:
        writer.value(value)
    except RecursionError:
        raise DataCloneError(_TOO_DEEP) from None
    return bytes(writer.out)


# -- sizing -------------------------------------------------------------------------------------


class _Sizer:
    """Adds up what `_Writer` would write, without writing it (`serialized_size`)."""

    __slots__ = ("ids", "next_id", "size")

    def __init__(self) -> None:
        self.size = len(_HEADER)
        self.ids: dict[int, int] = {}
        self.next_id = 0

    def number(self, x: float) -> None:
        small = _smi(x)
        self.size += 9 if small is None else 1 + _varint_size(_zigzag(small))

    def string(self, text: str) -> None:
        top = "" if text.isascii() else max(text)
        if top <= "\xff":  # one byte a character
            n = len(text)
        else:
            # two bytes a UTF-16 code unit; a character past U+FFFF is a surrogate pair
            n = 2 * len(text) if top <= "\uffff" else len(text.encode("utf-16-le", "surrogatepass"))
            if (self.size + 1 + _varint_size(n)) & 1:
                self.size += 1
        self.size += 1 + _varint_size(n) + n

    def seen(self, value: object) -> bool:
        known = self.ids.get(id(value))
        if known is not None:
            self.size += 1 + _varint_size(known)
            return True
        self.ids[id(value)] = self.next_id
        self.next_id += 1
        return False

    def value(self, value: Any) -> None:
        if value is None or isinstance(value, bool):
            self.size += 1
        elif isinstance(value, int):
            if -_MAX_SAFE <= value <= _MAX_SAFE:
                self.number(value)
            else:
                length = (abs(value).bit_length() + 63) // 64 * 8
                self.size += 1 + _varint_size(length << 1 | (value < 0)) + length
        elif isinstance(value, float):
            self.number(value)
        elif isinstance(value, str):
            self.string(value)
        elif isinstance(value, list | tuple):
            if not self.seen(value):
                # in the order they are written: a padding byte depends on the position
                n = _varint_size(len(value))
                self.size += 1 + n
                for item in value:
                    self.value(item)
                self.size += 2 + n
        elif isinstance(value, dict):
            if not self.seen(value):
                self.size += 1
                count = 0
                for key, item in _properties(value):
                    if isinstance(key, int):
                        self.number(key)
                    else:
                        self.string(key)
                    self.value(item)
                    count += 1
                self.size += 1 + _varint_size(count)
        elif isinstance(value, set | frozenset):
            if not self.seen(value):
                self.size += 1
                for item in value:
                    self.value(item)
                self.size += 1 + _varint_size(len(value))
        elif isinstance(value, datetime):
            if not self.seen(value):
                self.size += 9
        elif isinstance(value, bytes | bytearray | memoryview):
            known = self.ids.get(id(value))
            if known is not None:
                self.size += 1 + _varint_size(known)
                return
            self.ids[id(value)] = self.next_id + 1
            self.next_id += 2
            n = memoryview(value).nbytes
            self.size += 1 + _varint_size(n) + n + 4 + _varint_size(n)
        else:
            raise DataCloneError(f"{type(value).__name__} object could not be cloned.")


def serialized_size(value: Any) -> int:
    """`len(serialize(value))`, computed without building the bytes."""
    sizer = _Sizer()
    try:
        sizer.value(value)
    except RecursionError:
        raise DataCloneError(_TOO_DEEP) from None
    return sizer.size


# -- reading ------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.objects: list[Any] = []

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ValueError("truncated V8 value")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def peek(self) -> int:
        while self.pos < len(self.data) and self.data[self.pos] == _PADDING:
            self.pos += 1
        if self.pos >= len(self.data):
            raise ValueError("truncated V8 value")
        return self.data[self.pos]

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

    def value(self) -> Any:
        self.peek()
        t = chr(self.byte())
        if t in "0_-":  # null, undefined, an array hole
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
            ms = self.double()
            if not math.isfinite(ms):
                raise ValueError("an invalid Date (pyflare has no value for it)")
            date = _EPOCH + timedelta(milliseconds=ms)  # exact, unlike fromtimestamp(ms / 1000)
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
                if k.isdigit() and int(k) < len(sparse):
                    sparse[int(k)] = v
            return sparse
        if t == ";":
            mapping: dict[Any, Any] = {}
            self.objects.append(mapping)
            while self.peek() != ord(":"):
                k = self.value()
                mapping[k] = self.value()
            self.pos += 1
            self.varint()
            return mapping
        if t == "'":
            members: set[Any] = set()
            self.objects.append(members)
            while self.peek() != ord(","):
                members.add(self.value())
            self.pos += 1
            self.varint()
            return members
        if t == "^":
            return self.objects[self.varint()]
        raise ValueError(f"unsupported V8 value tag {t!r} in stored data")

    def _properties(self, target: dict[Any, Any], end: int) -> None:
        while True:
            if self.peek() == end:
                self.pos += 1
                self.varint()
                return
            key = self.value()
            target[key if isinstance(key, str) else str(key)] = self.value()


def _number(x: float) -> int | float:
    # JavaScript has one number type: a whole number reads back as an int, as in Pyodide
    # (-0 stays a float).
    if x.is_integer() and abs(x) <= _MAX_SAFE and (x != 0 or math.copysign(1.0, x) > 0):
        return int(x)
    return x


def deserialize(data: bytes) -> Any:
    """The Python value of bytes V8 (or `serialize`) wrote; ValueError if they are damaged."""
    reader = _Reader(bytes(data))
    if reader.data[:1] == b"\xff":
        reader.pos = 2
    try:
        return reader.value()
    except (IndexError, OverflowError, RecursionError, UnicodeDecodeError) as exc:
        raise ValueError(f"damaged V8 value: {exc}") from None
