"""Values in and out of D1, converted the way a Python Worker sees them on Cloudflare."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..workers.jsdict import JsDict
from .errors import D1Error

__all__ = ["bind_values", "convert_row", "row_lists", "row_objects"]

_PLAIN = frozenset({int, float, str, type(None)})
_SPECIAL = frozenset({float, bytes})
_SAFE = 2**53 - 1
# SQLite's INTEGER range.
_MIN_INT = -(2**63)
_MAX_INT = 2**63 - 1


def _bind_one(value: Any) -> Any:
    kind = type(value)
    if kind is int and not _MIN_INT <= value <= _MAX_INT:
        # Pyodide turns such an int into a JavaScript BigInt, which D1 refuses.
        raise D1Error(f"D1_TYPE_ERROR: Type 'bigint' not supported for value '{value}'")
    if kind in _PLAIN:
        return value
    if kind is bool:
        return 1 if value else 0
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        return 1 if value else 0
    for base in (int, float, str):
        if isinstance(value, base):
            # subclasses (IntEnum, StrEnum...) travel as their plain value
            return _bind_one(base(value))
    # As the JavaScript binding reports it: `typeof value` and `${value}`.
    js_type = "function" if callable(value) else "object"
    raise D1Error(f"D1_TYPE_ERROR: Type '{js_type}' not supported for value '{value}'")


def bind_values(values: Sequence[Any]) -> tuple[Any, ...]:
    """Check and convert `bind()` arguments: raises `D1_TYPE_ERROR` for unsupported types."""
    for value in values:
        kind = type(value)
        if kind not in _PLAIN or (kind is int and not _MIN_INT <= value <= _MAX_INT):
            return tuple(map(_bind_one, values))
    return tuple(values)


def _out(value: Any) -> Any:
    if type(value) is float:
        # JavaScript numbers that are safe integers reach Python as int
        return int(value) if value.is_integer() and -_SAFE <= value <= _SAFE else value
    if type(value) is bytes:
        return list(value)
    return value


def convert_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """REAL that is integral -> int, BLOB -> list of byte ints; other values unchanged."""
    if _SPECIAL.isdisjoint(map(type, row)):
        return row
    return tuple(map(_out, row))


def row_objects(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[JsDict]:
    """Rows as `JsDict`s; a repeated column name keeps the last value, as D1 does."""
    return [JsDict(zip(columns, convert_row(row), strict=False)) for row in rows]


def row_lists(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as lists, every column kept."""
    return [list(convert_row(row)) for row in rows]
