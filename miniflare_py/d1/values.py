"""Values in and out of D1, converted the way a Python Worker sees them on Cloudflare."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..workers.jsdict import JsDict
from .errors import D1Error

__all__ = ["bind_values", "convert_row", "row_lists", "row_objects"]

# Passed through as they are: float, str, None.
_PLAIN = frozenset({float, str, type(None)})
_SPECIAL = frozenset({float, bytes})
_SAFE = 2**53 - 1
# Pyodide hands a Python int to JavaScript as a number up to 2**53 in magnitude, beyond as a
# BigInt, which D1 refuses.
_MAX_NUMBER = 2**53


def _bind_one(value: Any) -> Any:
    kind = type(value)
    if kind is int or kind is bool:
        if not -_MAX_NUMBER <= value <= _MAX_NUMBER:
            raise D1Error(f"D1_TYPE_ERROR: Type 'bigint' not supported for value '{value}'")
        # A Python int reaches D1 as a JavaScript number, which D1 binds as a REAL: `typeof(?)`
        # is 'real', `? / 2` divides as reals, a TEXT column stores '1.0'; a column of INTEGER
        # affinity turns it back into an integer.
        return float(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    for base in (int, float, str):
        if isinstance(value, base):
            # subclasses (IntEnum, StrEnum, bool...) travel as their plain value
            return _bind_one(base(value))
    # As the JavaScript binding reports it: `typeof value` and `${value}`.
    js_type = "function" if callable(value) else "object"
    raise D1Error(f"D1_TYPE_ERROR: Type '{js_type}' not supported for value '{value}'")


def bind_values(values: Sequence[Any]) -> tuple[Any, ...]:
    """Check and convert `bind()` arguments: raises `D1_TYPE_ERROR` for unsupported types.

    Numbers are bound as REAL, as D1 binds every JavaScript number.
    """
    for value in values:
        if type(value) not in _PLAIN:
            return tuple(map(_bind_one, values))
    return tuple(values)


def _out(value: Any) -> Any:
    if type(value) is float:
        # JavaScript numbers that are safe integers reach Python as int
        if value.is_integer():
            return int(value) if -_SAFE <= value <= _SAFE else value
        # An infinite REAL travels to the Worker as JSON, which has no Infinity: null.
        return value if value - value == 0.0 else None
    if type(value) is bytes:
        return list(value)
    return value


def convert_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """REAL that is integral -> int, infinite -> None, BLOB -> list of byte ints; others as is."""
    if _SPECIAL.isdisjoint(map(type, row)):
        return row
    return tuple(map(_out, row))


def row_objects(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[JsDict]:
    """Rows as `JsDict`s; a repeated column name keeps the last value, as D1 does."""
    return [JsDict(zip(columns, convert_row(row), strict=False)) for row in rows]


def row_lists(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as lists, every column kept."""
    return [list(convert_row(row)) for row in rows]
