"""What an explorer API endpoint is: its declaration (`Endpoint`, from which both the route and
its OpenAPI operation are made), its errors (`ApiError`) and its answers.

Answers use the Cloudflare API's envelope, as Miniflare's Local Explorer does:
`{"success": true, "errors": [], "messages": [], "result": ..., "result_info": ...}`, and on
failure `{"success": false, "errors": [{"code": N, "message": "..."}], "messages": [],
"result": null}` with the HTTP status of the failure.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "ApiError",
    "Endpoint",
    "Param",
    "Result",
    "error_response",
    "json_body",
    "json_response",
    "jsonable",
    "query_int",
    "query_str",
]

#: Error codes of the envelope: Cloudflare's generic ones where it has them.
CODE_BAD_REQUEST = 10001
CODE_NOT_FOUND = 10404
CODE_INTERNAL = 10000


class ApiError(Exception):
    """A request the explorer refuses: one line for the envelope's `errors`."""

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else (
            CODE_NOT_FOUND if status == 404 else CODE_BAD_REQUEST if status < 500 else CODE_INTERNAL
        )  # fmt: skip


@dataclass(frozen=True)
class Param:
    """A query parameter (or a request header, with `where="header"`)."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False
    where: str = "query"


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API: `method` and `path` under `/cdn-cgi/local/explorer/api`.

    `path` is written the OpenAPI way (`/queues/{queue_name}`); the names in `slash_params`
    may hold slashes (KV keys, R2 object keys). `body` is the JSON Schema of a JSON request
    body; `raw_body` takes any bytes instead. `result` is the JSON Schema of the envelope's
    `result`; `raw_response` answers with the bytes themselves (a KV value, an R2 object).
    """

    method: str
    path: str
    handler: str
    summary: str
    operation_id: str
    description: str = ""
    params: tuple[Param, ...] = ()
    body: Mapping[str, Any] | None = None
    body_required: bool = True
    raw_body: bool = False
    result: Mapping[str, Any] = field(default_factory=dict)
    result_info: Mapping[str, Any] | None = None
    raw_response: bool = False
    errors: tuple[int, ...] = (400, 404)

    @property
    def changes_state(self) -> bool:
        return self.method not in ("GET", "HEAD")

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    def route_path(self, slash_params: frozenset[str]) -> str:
        """The Starlette path: parameters that may hold slashes use `ANY_PATH`."""
        parts = []
        for part in self.path.split("/"):
            name = part[1:-1] if part.startswith("{") else None
            parts.append(f"{{{name}:{ANY_PATH}}}" if name in slash_params else part)
        return "/".join(parts)


class _AnyPath(Convertor[str]):
    """Like Starlette's `path`, but also across line breaks (a KV key may hold one)."""

    regex = "[\\s\\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


#: The name of the path convertor for keys (registered with Starlette once).
ANY_PATH = "explorer_any_path"
register_url_convertor(ANY_PATH, _AnyPath())


@dataclass
class Result:
    """A result with its `result_info` (paging: count, cursor...)."""

    value: Any
    info: Mapping[str, Any] | None = None


# -- answers ------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """`value` as JSON can carry it: dicts (JsDict too), lists, tuples, sets as lists; datetimes
    as ISO 8601 text; bytes as base64 text; floats that JSON has no word for as strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return repr(value)


def json_response(payload: Any, status: int = 200) -> Response:
    text = json.dumps(jsonable(payload), ensure_ascii=False, separators=(",", ":"))
    return Response(
        text.encode("utf-8", "surrogatepass"),
        status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def envelope(result: Any, info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if info is not None:
        payload["result_info"] = dict(info)
    return payload


def error_response(error: ApiError) -> Response:
    return json_response(
        {
            "success": False,
            "errors": [{"code": error.code, "message": error.message}],
            "messages": [],
            "result": None,
        },
        error.status,
    )


# -- reading a request --------------------------------------------------------------------------


def query_int(
    request: Request, name: str, default: int, *, low: int = 0, high: int | None = None
) -> int:
    """An integer query parameter within [low, high], or `default` when absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        limit = f"{low}-{high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"{name} must be {limit}, got {value}")
    return value


def query_str(request: Request, name: str, default: str | None = None) -> str | None:
    value = request.query_params.get(name)
    return default if value is None or value == "" else value


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The request's JSON body (`Content-Type: application/json` required: a web page cannot
    send that cross-site without the browser asking first)."""
    data = await request.body()
    if not data:
        if required:
            raise ApiError(400, "a JSON request body is required")
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "the request body must be JSON, with Content-Type: application/json")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None


def field_of(body: Any, name: str, kinds: type | tuple[type, ...], default: Any = ...) -> Any:
    """`body[name]`, checked against `kinds` (bool is not an int here); `default` when absent
    (required when no default is given)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if name not in body or body[name] is None:
        if default is ...:
            raise ApiError(400, f"{name} is required")
        return default
    value = body[name]
    wanted = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool) and bool not in wanted:
        raise ApiError(400, f"{name} must be {_kind_names(wanted)}")
    if not isinstance(value, wanted):
        raise ApiError(400, f"{name} must be {_kind_names(wanted)}")
    return value


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "an object",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)
