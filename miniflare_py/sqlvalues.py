"""Typed access to what SQLite hands back: a row of values, and a value that must be an integer
(a `PRAGMA page_count`, a `count(*)`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import apsw  # `apsw.SQLiteValue` exists only in apsw's type stubs

__all__ = ["SqlRow", "int_value"]

#: One row as apsw returns it.
SqlRow: TypeAlias = "tuple[apsw.SQLiteValue, ...]"


def int_value(value: apsw.SQLiteValue) -> int:
    """`value` as an int; a TypeError if SQLite answered something else (a programming error:
    callers use it for pragmas and aggregates that always give integers)."""
    if isinstance(value, int):
        return value
    raise TypeError(f"expected an integer from SQLite, got {value!r}")
