"""Ranged reads: `range={"offset", "length"}`, `range={"suffix"}`, or a `Range` header.

Argument checks are workerd's (RangeError / TypeError before R2 is asked); what R2 then says
about a range that does not fit the object is R2's `InvalidRange` (10039).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..jsnumber import js_number
from .errors import INVALID_RANGE, R2Error
from .options import is_headers

__all__ = ["RangeRequest", "parse_range", "resolve_range"]

# (offset, length, suffix) of a range option, or the text of a Range header.
RangeRequest = tuple[int | None, int | None, int | None] | str

_RANGE_UNIT = re.compile(r"^ *bytes *=", re.IGNORECASE)
_ONE_RANGE = re.compile(r"^ *(\d+)? *- *(\d+)? *$")


def _whole(value: Any, what: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Invalid range. {what} must be a number, got {type(value).__name__}")
    if value < 0:
        raise ValueError(
            f"Invalid {label}. {what} ({_shown(value)}) must be greater than or equal to 0."
        )
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ValueError(
            f"Invalid range. {what} ({_shown(value)}) must be an integer, not floating point."
        )
    return int(value)


def _shown(value: float) -> str:
    """A number as workerd's message writes it (a float as JavaScript's String() does)."""
    return js_number(value) if isinstance(value, float) else str(value)


def parse_range(value: Any) -> RangeRequest | None:
    """The `range` option, checked as workerd checks it; None when absent."""
    if value is None:
        return None
    if is_headers(value):
        header = value.get("range")
        return header if header is not None else None
    if not isinstance(value, dict):
        to_py = getattr(value, "to_py", None)
        if to_py is None:
            raise TypeError(f"range must be a dict or a Headers object, got {type(value).__name__}")
        value = to_py()
    offset, length, suffix = value.get("offset"), value.get("length"), value.get("suffix")
    if offset is not None:
        offset = _whole(offset, "Starting offset", "range")
    if length is not None:
        length = _whole(length, "Length", "range")
    if suffix is not None:
        if offset is not None:
            raise TypeError("Suffix is incompatible with offset.")
        if length is not None:
            raise TypeError("Suffix is incompatible with length.")
        suffix = _whole(suffix, "Suffix", "suffix")
    return (offset, length, suffix)


def resolve_range(request: RangeRequest | None, size: int) -> tuple[int, int] | None:
    """`(start, length)` of the bytes to return from an object of `size` bytes, or None for
    all of it; raises `R2Error` (InvalidRange) for a range R2 would refuse."""
    if request is None:
        return None
    if isinstance(request, str):
        return _header_range(request, size)
    offset, length, suffix = request
    if suffix is not None:
        if suffix <= 0:
            raise R2Error("get", INVALID_RANGE)
        suffix = min(suffix, size)
        offset, length = size - suffix, suffix
    if offset is None:
        offset = 0
    if length is None:
        length = size - offset
    if offset > size or length <= 0:
        raise R2Error("get", INVALID_RANGE)
    return offset, min(length, size - offset)


def _header_range(header: str, size: int) -> tuple[int, int] | None:
    """A `Range: bytes=...` header: one satisfiable range is honoured; an empty, malformed,
    unsatisfiable or multi-range header returns the whole object (as Miniflare does)."""
    unit = _RANGE_UNIT.match(header)
    if unit is None:
        return None
    parts = header[unit.end() :].split(",")
    if len(parts) != 1:
        return None
    match = _ONE_RANGE.match(parts[0])
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first is not None:
        start = int(first)
        end = int(last) if last is not None else size - 1
        if start > end or start >= size:
            return None
        return start, min(end, size - 1) - start + 1
    if last is None:
        return None
    suffix = int(last)
    if suffix == 0 or suffix >= size:
        return None
    return size - suffix, suffix
