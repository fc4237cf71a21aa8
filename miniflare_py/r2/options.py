"""How R2 methods take their options: a dict (JavaScript object), keyword arguments, or None.

The SDK's tests call `put(k, v, httpMetadata={...})`, `put(k, v, {"customMetadata": ...})` and
`put(k, v, None)`; all three mean the same here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["is_headers", "merge_options"]


def merge_options(options: Any, kwargs: Mapping[str, Any], method: str) -> dict[str, Any]:
    """One options dict from a positional dict (or None) and keyword arguments."""
    if options is None:
        merged: dict[str, Any] = {}
    elif isinstance(options, Mapping):
        merged = dict(options)
    else:
        to_py = getattr(options, "to_py", None)  # a JavaScript object from js / pyodide
        if to_py is None:
            raise TypeError(
                f"R2Bucket.{method}(): options must be a dict, got {type(options).__name__}"
            )
        merged = dict(to_py())
    merged.update(kwargs)
    # JavaScript `undefined`/`null` members mean "not given".
    return {k: v for k, v in merged.items() if v is not None}


def is_headers(value: Any) -> bool:
    """Whether `value` is a Headers object (not a plain options dict): R2 reads HTTP fields,
    conditions and ranges from either."""
    if isinstance(value, dict):
        return False
    return callable(getattr(value, "get", None))
