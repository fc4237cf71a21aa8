"""JavaScript's conversions, as a Python worker's KV arguments meet them on Cloudflare.

On Cloudflare a Python worker's call crosses into JavaScript: the SDK turns the arguments into
JS values (None -> null, dict -> object, list -> array, bytes -> Uint8Array), then workerd
converts each one to the type its KV API declares. So `put(123, True)` stores the key "123" with
the value "true", `expirationTtl="90"` means 90 and `expirationTtl=None` means 0. This module
holds those conversions; `namespace.py` applies them where workerd does.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..jsnumber import js_number

__all__ = [
    "INT32_RANGE",
    "check_rpc",
    "js_int",
    "js_json",
    "js_number",
    "js_string",
    "js_to_number",
    "to_utf8",
]

INT32_RANGE: Final = "Value out of range. Must be between -2147483648 and 2147483647 (inclusive)."
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_SAFE_INT: Final = 2**53 - 1

# What JavaScript's Number("...") accepts (StringNumericLiteral), after trimming white space.
_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\Z")
_RADIX = re.compile(r"0(?:[xX](?P<x>[0-9a-fA-F]+)|[oO](?P<o>[0-7]+)|[bB](?P<b>[01]+))\Z")
# JavaScript's white space and line terminators (what String.prototype.trim removes).
_JS_SPACE: Final = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
_JS_SPACE_MORE: Final = "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def check_rpc(value: Any) -> None:
    """Raise what the SDK's `python_to_rpc` raises for values it will not send to JavaScript:
    tuples, bytearrays and awaitables, also inside lists and dicts."""
    if isinstance(value, str | bytes | int | float | memoryview) or value is None:
        return
    if isinstance(value, tuple | bytearray):
        raise TypeError(f"{type(value)} cannot be sent over RPC.")
    if inspect.isawaitable(value):
        raise TypeError(f"Awaitable {type(value)} cannot be sent over RPC.")
    if isinstance(value, Mapping):
        for item in value.values():
            check_rpc(item)
    elif isinstance(value, list | set | frozenset):
        for item in value:
            check_rpc(item)


def js_string(value: Any) -> str:
    """`String(value)` of the JavaScript value the SDK makes of a Python value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    if isinstance(value, bytes | memoryview):
        return ",".join(map(str, bytes(value)))
    return str(value)  # a Python object reaches JavaScript as a proxy whose String() is str()


def js_to_number(value: Any) -> float:
    """JavaScript's `Number(value)` for the JS value the SDK makes of `value`."""
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip(_JS_SPACE + _JS_SPACE_MORE)
        if not text:
            return 0.0
        if _DECIMAL.match(text):
            return float(text.replace("Infinity", "inf"))
        radix = _RADIX.match(text)
        if radix:
            base = {"x": 16, "o": 8, "b": 2}[radix.lastgroup or "x"]
            return float(int(radix.group(radix.lastgroup or "x"), base))
        return math.nan
    if isinstance(value, list):
        return js_to_number(js_string(value))
    return math.nan


def js_int(value: Any) -> int:
    """What workerd makes of a value given for an `int` option (`expirationTtl`, `limit`,
    `cacheTtl`): JavaScript's number conversion truncated toward zero; NaN and the infinities
    become 0; a number outside a 32-bit int is a TypeError."""
    if type(value) is int:
        number: float | int = value
    else:
        number = js_to_number(value)
        if math.isnan(number) or math.isinf(number):
            return 0
        number = math.trunc(number)
    if not _INT32_MIN <= number <= _INT32_MAX:
        raise TypeError(INT32_RANGE)
    return int(number)


def to_utf8(text: str) -> bytes:
    """`text` in UTF-8, a lone surrogate written as U+FFFD (as JavaScript encodes it)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def js_json(value: Any, indent: int | None = None) -> str:
    """`JSON.stringify(value, undefined, indent)` of the JavaScript value the SDK makes of
    `value` (compact without `indent`).

    Numbers are written as JavaScript writes them (`1.0` -> `1`, NaN and the infinities ->
    `null`); an int beyond 2**53 - 1 reaches JavaScript as a BigInt, which JSON refuses; a
    `datetime` becomes a Date (an ISO string in UTC, milliseconds). Callables are left out of
    objects and written as null in arrays, as JSON.stringify does with functions.
    """
    out: list[str] = []
    _write_json(value, out, "" if indent is None else " " * indent, "\n" if indent else "")
    return "".join(out)


def _write_json(value: Any, out: list[str], step: str, newline: str) -> None:
    """Append `value`'s JSON to `out`; `newline` is "" (compact) or a newline and the current
    indentation, `step` one more level of it."""
    if value is None:
        out.append("null")
    elif isinstance(value, str):
        out.append(_json_string(value))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        if abs(value) > _SAFE_INT:
            raise TypeError("Do not know how to serialize a BigInt")
        out.append(str(value))
    elif isinstance(value, float):
        out.append("null" if math.isnan(value) or math.isinf(value) else js_number(value))
    elif isinstance(value, Mapping):
        items = [(k, v) for k, v in value.items() if not callable(v)]
        if not items:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        for index, (key, item) in enumerate(items):
            out.append(("," if index else "") + inner)
            out.append(_json_string(js_string(key)))
            out.append(": " if newline else ":")
            _write_json(item, out, step, inner)
        out.append(newline + "}")
    elif isinstance(value, list | set | frozenset):
        # a set reaches JavaScript as a Set, which JSON writes as {}
        if not isinstance(value, list):
            out.append("{}")
            return
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        for index, item in enumerate(value):
            out.append(("," if index else "") + inner)
            if callable(item):
                out.append("null")
            else:
                _write_json(item, out, step, inner)
        out.append(newline + "]")
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.astimezone()
        utc = moment.astimezone(UTC)
        out.append(f'"{utc.strftime("%Y-%m-%dT%H:%M:%S")}.{utc.microsecond // 1000:03d}Z"')
    elif isinstance(value, bytes | memoryview):
        # a Uint8Array: JSON writes its indices as keys
        out.append("{" + ",".join(f'"{i}":{b}' for i, b in enumerate(bytes(value))) + "}")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES["\t"] = "\\t"
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def _json_string(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return f'"{text}"'

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _ESCAPES.get(char) or f"\\u{ord(char):04x}"

    return '"' + _NEEDS_ESCAPE.sub(escape, text) + '"'
