"""Values as the explorer shows them: literally, exactly as stored, never interpreted.

Each value goes out as `text` (the literal form a developer would write or read back: JSON text
for JSON, the string itself for text, a Python literal for bytes and for values JSON cannot hold)
and, when JSON holds it exactly, as `json` too, for the page to lay out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["exact_json", "literal_body", "shown"]

_MISSING = object()


def exact_json(value: Any) -> Any:
    """`value` as plain JSON data when JSON holds it without loss, else `_MISSING`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _MISSING
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                return _MISSING
            converted = exact_json(item)
            if converted is _MISSING:
                return _MISSING
            out[key] = converted
        return out
    if isinstance(value, list):
        items = [exact_json(item) for item in value]
        return _MISSING if any(i is _MISSING for i in items) else items
    return _MISSING


def shown(value: Any) -> dict[str, Any]:
    """`{"text": literal, "json": value}` (`json` only when JSON holds the value exactly)."""
    data = exact_json(value)
    if data is _MISSING:
        return {"text": repr(value)}
    return {"text": json.dumps(data, ensure_ascii=False, separators=(",", ":")), "json": data}


def literal_body(body: Any, content_type: str) -> dict[str, Any]:
    """A queue message body as its content type carries it: JSON text for `json`, the string for
    `text`, a bytes literal for `bytes`, a Python literal for `v8` values JSON cannot hold."""
    if content_type == "text" and isinstance(body, str):
        return {"text": body, "json": body}
    if content_type == "bytes":
        return {"text": repr(bytes(body))}
    return shown(body)
