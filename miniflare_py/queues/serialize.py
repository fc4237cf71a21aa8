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
(`miniflare_py.v8.serialized_size`, the codec Durable Object storage writes with), whatever
pyflare stores.

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

__all__ = ["CONTENT_TYPES", "decode", "encode", "encode_sized", "parse_content_type"]

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
    if content_type != "v8":
        return data, len(data)
    from ..v8 import DataCloneError, serialized_size  # the V8 codec, with the first v8 body

    try:
        return data, serialized_size(body)
    except DataCloneError as exc:  # a dict key JavaScript cannot turn into a property key
        raise QueueSendError(
            f'Queue send failed: Content Type "v8" cannot serialize it: {exc}'
        ) from None


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
