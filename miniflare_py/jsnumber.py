"""JavaScript's `String(number)` (ECMAScript's Number::toString), for every place pyflare writes
a number as JavaScript would: KV's JSON, V8-serialized object keys, D1's SQL dump, R2's error
texts."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Final

__all__ = ["js_number"]

_SAFE_INT: Final = 2**53 - 1


def js_number(value: float) -> str:
    """`String(x)` of a JavaScript number: `1.0` -> "1", `1e21` -> "1e+21", `1e-7` -> "1e-7"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"  # -0 too
    if value.is_integer() and abs(value) <= _SAFE_INT:
        return str(int(value))
    # repr() gives the same shortest round-tripping digits as JavaScript; only the layout
    # differs. Lay them out as ECMAScript's Number::toString does: value = digits * 10**(n-k).
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k
    sign = "-" if value < 0 else ""
    if k <= n <= 21:
        return f"{sign}{digits}{'0' * (n - k)}"
    if 0 < n <= 21:
        return f"{sign}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    head = digits[0] + (f".{digits[1:]}" if k > 1 else "")
    return f"{sign}{head}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
