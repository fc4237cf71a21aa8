"""Message content types: how a body is checked and stored at send, and rebuilt at delivery.

| type    | accepts                      | stored as          | consumer gets               |
|---------|------------------------------|--------------------|-----------------------------|
| `json`  | what `json.dumps` encodes    | compact JSON       | `json.loads` of it, objects |
|         | (the default)                | (UTF-8)            | as `JsDict`; NaN and        |
|         |                              |                    | infinities as `None`        |
| `text`  | `str`                        | UTF-8              | `str`                       |
| `bytes` | bytes, bytearray, memoryview | the bytes          | `bytes`                     |
| `v8`    | structured-clone values      | tagged JSON        | an equal copy               |

The serialized size (what the 128000-byte limit counts) is the length of what is stored, except
for `v8`: its size is the length of V8's structured clone of the value, as the edge measures it
(`v8_size`), whatever pyflare stores.

Strings follow JavaScript, where a Python `str` becomes UTF-16: two surrogate code points that
make a pair are one character, and a lone surrogate (a `str` may hold one, UTF-8 cannot) becomes
U+FFFD in a `text` body, is escaped as `\\udXXX` in a `json` body (as `JSON.stringify` does), and
is kept as it is in a `v8` body.

A `json` body is written as JavaScript's `JSON.stringify` writes it, so `NaN`, `Infinity` and
`-Infinity` become `null` (the consumer gets `None`), and `None` itself is `null`.

`v8` stands in for V8's structured clone with a tagged JSON encoding (never pickle, so a store
never runs code when read). `None`, `bool`, `int`, `float` and `str` are written as themselves;
every other value is a one-key object whose key names its type:

| Python value             | encoded as                         | decoded as                       |
|--------------------------|------------------------------------|----------------------------------|
| `list`                   | `{"l": [items]}`                   | `list`                           |
| `tuple`                  | `{"t": [items]}`                   | `tuple`                          |
| `dict` (any clonable key)| `{"d": [[key, value], ...]}`       | `JsDict` (a `dict`)              |
| `set` / `frozenset`      | `{"s": [items]}`                   | `set` / `frozenset`              |
| `bytes` / `bytearray` /  | `{"b": "<base64>"}`                | `bytes`                          |
| `memoryview`             |                                    |                                  |
| `datetime.datetime`      | `{"dt": "<isoformat>"}`            | `datetime` (same tzinfo offset)  |
| `float` NaN / infinities | `{"f": "nan" / "inf" / "-inf"}`    | `float`                          |

Anything else (a class instance, a function, a `date` without time) raises at send, as a
structured clone of an unclonable value does. Cycles are not supported.
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import datetime
from typing import Any, Final

from ..workers.jsdict import JsDict
from .errors import QueueSendError, QueueSendTypeError

__all__ = ["CONTENT_TYPES", "decode", "encode", "encode_sized", "parse_content_type", "v8_size"]

CONTENT_TYPES: Final = ("text", "bytes", "json", "v8")

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_json_decoder = json.JSONDecoder(object_hook=JsDict)
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_content_type(content_type: Any) -> str:
    """The canonical name of a content type (case-insensitive, as on the edge); json if None."""
    if content_type is None:
        return "json"
    lowered = content_type.lower() if isinstance(content_type, str) else None
    if lowered in CONTENT_TYPES:
        return lowered
    raise QueueSendTypeError(f"Unsupported queue message content type: {content_type}")


def encode(body: Any, content_type: str) -> bytes:
    """Check `body` against `content_type` and serialize it; raises `QueueSendError`."""
    if content_type == "json":
        try:
            try:
                text = _dumps(body)
            except ValueError as exc:
                if not str(exc).startswith("Out of range float"):
                    raise
                # A NaN or an infinity (the fast path refuses them): write `null` instead, as
                # JSON.stringify does. Rare, so only this path pays for the walk.
                text = _dumps(_finite(body))
        except (TypeError, ValueError, RecursionError) as exc:
            raise QueueSendTypeError(
                f"Queue send failed: message body cannot be serialized as JSON: {exc}"
            ) from None
        try:
            return text.encode()
        except UnicodeEncodeError:
            return _escape_surrogates(text).encode()
    if content_type == "text":
        if not isinstance(body, str):
            raise QueueSendTypeError(
                'Content Type "text" requires a value of type string, '
                f"but received: {type(body).__name__}"
            )
        try:
            return body.encode()
        except UnicodeEncodeError:
            # What TextEncoder does with the UTF-16 of the string.
            return body.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode()
    if content_type == "bytes":
        if not isinstance(body, bytes | bytearray | memoryview):
            raise QueueSendTypeError(
                'Content Type "bytes" requires a value of type ArrayBufferView, '
                f"but received: {type(body).__name__}"
            )
        return bytes(body)
    try:
        text = _dumps(_tag(body))
    except RecursionError:
        raise QueueSendError(
            'Queue send failed: Content Type "v8" cannot serialize a value this deeply nested '
            "(or one that contains itself)"
        ) from None
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _escape_surrogates(text).encode()  # json.loads turns them back into themselves


def encode_sized(body: Any, content_type: str) -> tuple[bytes, int]:
    """`encode(body, content_type)` and the message's size as the edge counts it."""
    data = encode(body, content_type)
    return data, (v8_size(body) if content_type == "v8" else len(data))


def _escape_surrogates(text: str) -> str:
    """`text` with surrogate pairs joined and lone surrogates written as JSON escapes."""
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", joined)


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinite float (in lists, tuples and dict values) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def decode(data: bytes, content_type: str) -> Any:
    """Rebuild a fresh body from what `encode` stored (a new object on every call)."""
    if content_type == "json":
        return _json_decoder.decode(data.decode())
    if content_type == "text":
        return data.decode()
    if content_type == "bytes":
        return bytes(data)
    return _untag(json.loads(data.decode()))


def _tag(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"f": repr(value)}
    if isinstance(value, list):
        return {"l": [_tag(v) for v in value]}
    if isinstance(value, tuple):
        return {"t": [_tag(v) for v in value]}
    if isinstance(value, dict):
        return {"d": [[_tag(k), _tag(v)] for k, v in value.items()]}
    if isinstance(value, frozenset):
        return {"fs": [_tag(v) for v in value]}
    if isinstance(value, set):
        return {"s": [_tag(v) for v in value]}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    raise QueueSendError(
        f'Queue send failed: Content Type "v8" cannot serialize a value of type '
        f"{type(value).__name__}: it could not be cloned"
    )


def _untag(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "l":
        return [_untag(v) for v in inner]
    if tag == "t":
        return tuple(_untag(v) for v in inner)
    if tag == "d":
        return JsDict((_untag(k), _untag(v)) for k, v in inner)
    if tag == "s":
        return {_untag(v) for v in inner}
    if tag == "fs":
        return frozenset(_untag(v) for v in inner)
    if tag == "b":
        return base64.b64decode(inner)
    if tag == "dt":
        return datetime.fromisoformat(inner)
    if tag == "f":
        return float(inner)
    raise ValueError(f"unknown v8 tag {tag!r} in a stored queue message")


# -- the size of V8's structured clone ---------------------------------------------------------
#
# workerd serializes a v8 body with V8's ValueSerializer (wire format 15, with its header), and
# the limit counts those bytes. A Python value reaches it as the SDK converts it (`python_to_rpc`):
# dict -> Object, list / tuple -> Array, set -> Set, bytes -> Uint8Array, datetime -> Date,
# int beyond 2**53 -> BigInt. `v8_size` adds up what the serializer would write for that value.

_WIRE_VERSION = 15
# Integers V8 keeps as small integers (31 bits with pointer compression, as workerd builds V8).
_SMI_MIN, _SMI_MAX = -(2**30), 2**30 - 1
_MAX_SAFE = 2**53
_MAX_INDEX = 2**32 - 2


def _varint(n: int) -> int:
    """Bytes of an unsigned LEB128 varint."""
    return max(1, (n.bit_length() + 6) // 7)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 31)


def v8_size(value: Any) -> int:
    """Bytes of V8's structured clone (wire format 15, header included) of `value`."""
    sizer = _V8Sizer()
    sizer.add(value)
    return sizer.size


class _V8Sizer:
    def __init__(self) -> None:
        self.size = 1 + _varint(_WIRE_VERSION)  # header: 0xFF, version
        self._ids: dict[int, int] = {}  # id() of a container -> its object id
        self._keep: list[Any] = []  # keeps ids stable while sizing

    def _object(self, value: Any) -> bool:
        """Give `value` the next object id; True when it was seen before (a back-reference)."""
        known = self._ids.get(id(value))
        if known is not None:
            self.size += 1 + _varint(known)
            return True
        self._ids[id(value)] = len(self._ids)
        self._keep.append(value)
        return False

    def _number(self, value: float | int) -> None:
        if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
            n = int(value)
            if _SMI_MIN <= n <= _SMI_MAX:
                self.size += 1 + _varint(_zigzag(n) & 0xFFFFFFFF)
                return
        self.size += 9  # tag + IEEE double

    def _string(self, text: str) -> None:
        if text.isascii() or max(map(ord, text)) < 256:
            self.size += 1 + _varint(len(text)) + len(text)
            return
        length = len(text.encode("utf-16-le", "surrogatepass"))
        if (self.size + 1 + _varint(length)) & 1:
            self.size += 1  # padding, so the two-byte characters are aligned
        self.size += 1 + _varint(length) + length

    def _key(self, key: Any) -> None:
        """A property key of an object: array indices are written as numbers."""
        if isinstance(key, bool) or key is None:
            key = "true" if key is True else "false" if key is False else "null"
        if isinstance(key, int) and 0 <= key <= _MAX_INDEX:
            self._number(key)
            return
        text = key if isinstance(key, str) else _js_key(key)
        if text.isdigit() and (text == "0" or text[0] != "0") and int(text) <= _MAX_INDEX:
            self._number(int(text))
        else:
            self._string(text)

    def add(self, value: Any) -> None:
        if value is None or isinstance(value, bool):
            self.size += 1
        elif isinstance(value, int):
            if -_MAX_SAFE <= value <= _MAX_SAFE:
                self._number(value)
            else:  # a BigInt: tag, bitfield (byte length and sign), 64-bit digits
                length = 8 * -(-abs(value).bit_length() // 64)
                self.size += 1 + _varint(length << 1 | (value < 0)) + length
        elif isinstance(value, float):
            self._number(value)
        elif isinstance(value, str):
            self._string(value)
        elif self._object(value):
            return
        elif isinstance(value, list | tuple):
            # dense array: tag, length, elements, end tag, property count 0, length
            self.size += 1 + _varint(len(value))
            for item in value:
                self.add(item)
            self.size += 2 + _varint(len(value))
        elif isinstance(value, dict):
            self.size += 1  # begin object
            for key, item in value.items():
                self._key(key)
                self.add(item)
            self.size += 1 + _varint(len(value))
        elif isinstance(value, set | frozenset):
            self.size += 1
            for item in value:
                self.add(item)
            self.size += 1 + _varint(len(value))
        elif isinstance(value, bytes | bytearray | memoryview):
            n = memoryview(value).nbytes
            self._ids[id(object())] = len(self._ids)  # the view's ArrayBuffer is an object too
            # ArrayBuffer: tag, length, bytes; then the Uint8Array view on it: tag, subtag,
            # offset, length, flags.
            self.size += 1 + _varint(n) + n + 3 + _varint(0) + _varint(n)
        elif isinstance(value, datetime):
            self.size += 9  # tag + time value as a double
        else:  # encode() has refused it already
            self.size += 1


def _js_key(key: Any) -> str:
    """`String(key)` in JavaScript, for the keys JSON and SDK conversion allow."""
    if isinstance(key, float):
        if key.is_integer() and abs(key) < 1e21:
            return str(int(key))
        return repr(key)
    if isinstance(key, tuple | list):
        return ",".join(_js_key(k) if not isinstance(k, str) else k for k in key)
    return str(key)
