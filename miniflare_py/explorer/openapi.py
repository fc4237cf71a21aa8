"""The OpenAPI 3.1 document of the explorer's API, made from the same `Endpoint` declarations
as its routes (so the two cannot drift apart). Served at `/cdn-cgi/local/explorer/api`."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .endpoints import Endpoint
from .schema import ANY, INT, STR, arr, obj, ref
from .views.base import BindingView

__all__ = ["API_PATH", "document"]

API_PATH = "/cdn-cgi/local/explorer/api"

_MESSAGES = arr(obj({"code": INT, "message": STR}))
_ERROR = obj(
    {"success": {"const": False}, "errors": _MESSAGES, "messages": _MESSAGES, "result": {}}
)
_ERROR_TEXT = {
    400: "The request is wrong (a bad parameter, or an error the binding gave)",
    403: "Refused: not addressed to this server by a loopback name, or sent by another site",
    404: "No such resource",
    415: "The body is not JSON (Content-Type: application/json)",
}


def _version() -> str:
    try:
        return version("miniflare-py")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _envelope(endpoint: Endpoint) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "success": {"const": True},
        "errors": _MESSAGES,
        "messages": _MESSAGES,
        "result": endpoint.result or ANY,
    }
    required = ["success", "errors", "messages", "result"]
    if endpoint.result_info is not None:
        properties["result_info"] = endpoint.result_info
        required.append("result_info")
    return {"type": "object", "properties": properties, "required": required}


def _operation(endpoint: Endpoint, tag: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in endpoint.path_params
    ]
    for param in endpoint.params:
        entry: dict[str, Any] = {
            "name": param.name,
            "in": param.where,
            "required": param.required,
            "schema": dict(param.schema),
        }
        if param.description:
            entry["description"] = param.description
        parameters.append(entry)
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [tag],
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": endpoint.body_required,
            "content": {"application/json": {"schema": dict(endpoint.body)}},
        }
    elif endpoint.raw_body:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    if endpoint.raw_response:
        ok: dict[str, Any] = {
            "description": "The stored bytes (or, where the operation says so, JSON)",
            "content": {"*/*": {"schema": {}}},
        }
    else:
        ok = {
            "description": "Done",
            "content": {"application/json": {"schema": _envelope(endpoint)}},
        }
    responses: dict[str, Any] = {"200": ok}
    statuses = set(endpoint.errors)
    if endpoint.changes_state:
        statuses.add(403)
    if endpoint.body is not None:
        statuses.update((400, 415))
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    operation["responses"] = responses
    return operation


def document(views: Iterable[type[BindingView]]) -> dict[str, Any]:
    """The OpenAPI document of every view's endpoints."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": _ERROR}
    tags = []
    for view in views:
        tags.append({"name": view.title})
        schemas.update(view.schemas)
        for endpoint in view.endpoints:
            paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
                endpoint, view.title
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pyflare Local Explorer API",
            "version": _version(),
            "description": (
                "See and steer the local edge of `pyflare dev`: queues, D1, KV, R2, Durable "
                "Objects and the worker's invocations. Answers use the Cloudflare API's "
                "envelope (`success`, `errors`, `messages`, `result`, `result_info`); paths "
                "follow Cloudflare's API and Miniflare's Local Explorer where they have one. "
                "Only requests addressed to the server by a loopback name and not sent by "
                "another site are answered."
            ),
        },
        "servers": [{"url": API_PATH}],
        "tags": tags,
        "paths": paths,
        "components": {"schemas": schemas},
    }
