"""Small builders for the JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ANY", "BOOL", "INT", "NUM", "STR", "arr", "enum", "nullable", "obj", "ref"]

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
ANY: Schema = {}


def obj(
    properties: Mapping[str, Schema], required: tuple[str, ...] | None = None, **extra: Any
) -> Schema:
    """An object; every property is required unless `required` names the ones that are."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties if required is None else required),
        **extra,
    }


def arr(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}
