"""A small JSON-schema checker that words its errors as Workers AI does.

Workers AI checks every input against the model's JSON schema and answers a violation with
`5006: Error: <problem>`. The problems Cloudflare's messages show are worded here the same way:

- `required properties at '/' are 'prompt'`
- `Type mismatch of '/max_tokens', 'integer' not in 'string'` (expected, then given)
- `oneOf at '/' not met, 0 matches: <the problem of each alternative>, ...`
- `Additional or unevaluated properties '/num_steps' at '/' not allowed`

Ranges, lengths and enumerations have no published example; pyflare words them in the same
style (`Value of '/temperature' must be <= 5`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Schema",
    "any_value",
    "array",
    "boolean",
    "check",
    "integer",
    "json_type",
    "number",
    "obj",
    "one_of",
    "string",
]


@dataclass(frozen=True)
class Schema:
    """One node of a schema: the JSON types it allows and the checks on a value of them."""

    types: tuple[str, ...] = ()  # empty: any type
    properties: Mapping[str, Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    additional: bool = True
    items: Schema | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[Any, ...] = ()
    alternatives: tuple[Schema, ...] = ()  # oneOf


def string(
    min_length: int | None = None, max_length: int | None = None, enum: tuple[str, ...] = ()
) -> Schema:
    return Schema(("string",), min_length=min_length, max_length=max_length, enum=enum)


def integer(minimum: float | None = None, maximum: float | None = None) -> Schema:
    return Schema(("integer",), minimum=minimum, maximum=maximum)


def number(minimum: float | None = None, maximum: float | None = None) -> Schema:
    return Schema(("number",), minimum=minimum, maximum=maximum)


def boolean() -> Schema:
    return Schema(("boolean",))


def any_value() -> Schema:
    return Schema()


def array(
    items: Schema | None = None, min_items: int | None = None, max_items: int | None = None
) -> Schema:
    return Schema(("array",), items=items, min_items=min_items, max_items=max_items)


def obj(
    properties: Mapping[str, Schema] | None = None,
    required: tuple[str, ...] = (),
    additional: bool = True,
) -> Schema:
    return Schema(("object",), dict(properties or {}), required, additional)


def one_of(*alternatives: Schema) -> Schema:
    return Schema(alternatives=alternatives)


def json_type(value: Any) -> str:
    """The JSON type name of a Python value as a worker passes it (bytes count as an array of
    byte values, as `list(data)` would)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple | bytes | bytearray | memoryview):
        return "array"
    if callable(getattr(value, "to_bytes", None)):  # a Uint8Array (`to_js(data)`)
        return "array"
    return "object"


def _type_ok(allowed: tuple[str, ...], actual: str) -> bool:
    return actual in allowed or (actual == "integer" and "number" in allowed)


def _at(path: str, key: str | int) -> str:
    return f"{path.rstrip('/')}/{key}"


def check(schema: Schema, value: Any, path: str = "/") -> str | None:
    """The first problem of `value` against `schema`, worded as Workers AI does, or None."""
    if schema.alternatives:
        problems = [check(alternative, value, path) for alternative in schema.alternatives]
        matches = sum(1 for p in problems if p is None)
        if matches == 1:
            return None
        if matches == 0:
            return f"oneOf at '{path}' not met, 0 matches: " + ", ".join(
                p for p in problems if p is not None
            )
        return f"oneOf at '{path}' not met, {matches} matches"
    actual = json_type(value)
    if schema.types and not _type_ok(schema.types, actual):
        return f"Type mismatch of '{path}', '{','.join(schema.types)}' not in '{actual}'"
    if schema.enum and value not in schema.enum:
        listed = ", ".join(repr(v) for v in schema.enum)
        return f"Value of '{path}' must be one of {listed}"
    if actual in ("integer", "number"):
        if schema.minimum is not None and value < schema.minimum:
            return f"Value of '{path}' must be >= {_show(schema.minimum)}"
        if schema.maximum is not None and value > schema.maximum:
            return f"Value of '{path}' must be <= {_show(schema.maximum)}"
    elif actual == "string":
        if schema.min_length is not None and len(value) < schema.min_length:
            return f"Length of '{path}' must be >= {schema.min_length}"
        if schema.max_length is not None and len(value) > schema.max_length:
            return f"Length of '{path}' must be <= {schema.max_length}"
    elif actual == "array":
        return _check_array(schema, value, path)
    elif actual == "object" and isinstance(value, Mapping):
        return _check_object(schema, value, path)
    return None


def _check_array(schema: Schema, value: Any, path: str) -> str | None:
    if schema.min_items is not None and len(value) < schema.min_items:
        return f"Length of '{path}' must be >= {schema.min_items}"
    if schema.max_items is not None and len(value) > schema.max_items:
        return f"Length of '{path}' must be <= {schema.max_items}"
    if schema.items is None or not isinstance(value, list | tuple):
        return None  # bytes and typed arrays hold byte values: nothing more to check
    for index, item in enumerate(value):
        problem = check(schema.items, item, _at(path, index))
        if problem is not None:
            return problem
    return None


def _check_object(schema: Schema, value: Mapping[str, Any], path: str) -> str | None:
    # None arrives as JavaScript's null (the SDK sends None as null), which is present.
    if any(name not in value for name in schema.required):
        return f"required properties at '{path}' are '{','.join(schema.required)}'"
    for key, item in value.items():
        sub = schema.properties.get(key)
        if sub is None:
            if not schema.additional:
                return (
                    f"Additional or unevaluated properties '{_at(path, key)}' at '{path}' "
                    "not allowed"
                )
            continue
        problem = check(sub, item, _at(path, key))
        if problem is not None:
            return problem
    return None


def _show(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)
