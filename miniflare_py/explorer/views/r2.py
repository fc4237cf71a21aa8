"""R2 in the Local Explorer: buckets, objects with their metadata, upload and download, delete.
The paths are Cloudflare's R2 API's (and Miniflare's Local Explorer's): `/r2/buckets`,
`/r2/buckets/{bucket_name}/objects`, `/objects/{object_key}` (`cf-metadata-only: true` for the
metadata alone, `cf-r2-custom-metadata` for custom metadata on upload). Every call goes through
the binding (`R2Bucket`), so R2's limits and errors apply.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from ...r2.errors import R2Error
from ..endpoints import ApiError, Endpoint, Param, Result, json_body, query_int, query_str
from ..schema import BOOL, INT, STR, arr, nullable, obj, ref
from ..trace import Traced, Tracer
from .base import BindingView

__all__ = ["R2View"]

_BUCKET = "/r2/buckets/{bucket_name}"
_OBJECT = obj(
    {
        "key": STR,
        "size": INT,
        "etag": STR,
        "version": STR,
        "uploaded": STR,
        "storage_class": STR,
        "http_metadata": {"type": "object"},
        "custom_metadata": {"type": "object"},
    }
)
#: Object headers the download answer carries from the object's HTTP metadata.
_HTTP_HEADERS = {
    "contentType": "content-type",
    "contentLanguage": "content-language",
    "contentDisposition": "content-disposition",
    "contentEncoding": "content-encoding",
    "cacheControl": "cache-control",
}


def _r2_call(tracer: Tracer, bucket: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    binding = tracer.binding_of(lambda v: v is bucket, getattr(bucket, "name", "R2"))
    detail = ""
    if args:
        first = args[0]
        detail = f"{len(first)} keys" if isinstance(first, list) else str(first)
    return binding, detail


def _object_json(obj_: Any) -> dict[str, Any]:
    return {
        "key": obj_.key,
        "size": obj_.size,
        "etag": obj_.etag,
        "version": obj_.version,
        "uploaded": obj_.uploaded.isoformat().replace("+00:00", "Z"),
        "storage_class": obj_.storageClass,
        "http_metadata": dict(obj_.httpMetadata or {}),
        "custom_metadata": dict(obj_.customMetadata or {}),
    }


class R2View(BindingView):
    title = "R2"
    slash_params = frozenset({"object_key"})
    schemas: ClassVar[dict[str, Any]] = {"R2Object": _OBJECT}
    traced = tuple(
        Traced("miniflare_py.r2.bucket:R2Bucket", m, _r2_call)
        for m in ("head", "get", "put", "delete", "list", "createMultipartUpload")
    )
    endpoints = (
        Endpoint(
            "GET", "/r2/buckets", "list_buckets", "List R2 buckets", "r2-list-buckets",
            result=obj({"buckets": arr(obj({"name": STR, "bindings": arr(STR)}))}),
            result_info=obj({"count": INT}), errors=(),
        ),
        Endpoint(
            "GET", _BUCKET, "get_bucket", "Bucket details", "r2-get-bucket",
            result=obj({"name": STR, "bindings": arr(STR)}), errors=(404,),
        ),
        Endpoint(
            "GET", f"{_BUCKET}/objects", "list_objects", "List objects", "r2-bucket-list-objects",
            params=(
                Param("prefix", STR),
                Param("delimiter", STR),
                Param("cursor", STR),
                Param("per_page", {"type": "integer", "minimum": 1, "maximum": 1000}),
            ),
            result=arr(ref("R2Object")),
            result_info=obj({"cursor": nullable(STR), "is_truncated": BOOL, "per_page": INT,
                             "delimited": arr(STR)}),
        ),
        Endpoint(
            "DELETE", f"{_BUCKET}/objects", "delete_objects", "Delete objects",
            "r2-bucket-delete-objects",
            body=arr(STR, minItems=1), result=arr(obj({"key": STR})),
        ),
        Endpoint(
            "GET", f"{_BUCKET}/objects/{{object_key}}", "get_object", "Download an object",
            "r2-bucket-get-object",
            description="The object's bytes, with its HTTP metadata as headers; with "
            "`cf-metadata-only: true`, its metadata as JSON.",
            params=(Param("cf-metadata-only", {"type": "string", "enum": ["true", "false"]},
                          where="header"),),
            raw_response=True,
        ),
        Endpoint(
            "PUT", f"{_BUCKET}/objects/{{object_key}}", "put_object", "Upload an object",
            "r2-bucket-put-object",
            description="The request body is the object. `Content-Type` becomes its "
            "contentType; `cf-r2-custom-metadata` (JSON object of strings) its custom metadata.",
            params=(Param("cf-r2-custom-metadata", STR, where="header"),),
            raw_body=True, result=ref("R2Object"),
        ),
        Endpoint(
            "DELETE", f"{_BUCKET}/objects/{{object_key}}", "delete_object", "Delete an object",
            "r2-bucket-delete-object", result=obj({"key": STR}),
        ),
    )  # fmt: skip

    def _buckets(self) -> dict[str, Any]:
        return self.resources("by_id")

    def _bindings_of(self, bucket: Any) -> list[str]:
        return [b for b, x in self.instance.buckets.items() if x is bucket]  # type: ignore[union-attr]

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"id": name, "name": name, "binding": ", ".join(self._bindings_of(bucket))}
            for name, bucket in self._buckets().items()
        ]

    def _bucket(self, request: Request) -> Any:
        wanted = request.path_params["bucket_name"]
        buckets = self._buckets()
        if wanted in buckets:
            return buckets[wanted]
        bindings = self.instance.buckets if self.instance is not None else {}  # type: ignore[attr-defined]
        if wanted in bindings:
            return bindings[wanted]
        raise self.not_found("R2 bucket", wanted, sorted(buckets))

    async def list_buckets(self, request: Request) -> Any:
        found = [
            {"name": name, "bindings": self._bindings_of(bucket)}
            for name, bucket in self._buckets().items()
        ]
        return Result({"buckets": found}, {"count": len(found)})

    async def get_bucket(self, request: Request) -> Any:
        bucket = self._bucket(request)
        return {"name": bucket.name, "bindings": self._bindings_of(bucket)}

    async def list_objects(self, request: Request) -> Any:
        bucket = self._bucket(request)
        options: dict[str, Any] = {
            "limit": query_int(request, "per_page", 1000, low=1, high=1000),
            "include": ["httpMetadata", "customMetadata"],
        }
        for name in ("prefix", "delimiter", "cursor"):
            value = query_str(request, name)
            if value is not None:
                options[name] = value
        try:
            listed = await bucket.list(options)
        except (R2Error, ValueError, TypeError) as exc:
            raise ApiError(400, str(exc)) from None
        return Result(
            [_object_json(o) for o in listed["objects"]],
            {
                "cursor": listed.get("cursor"),
                "is_truncated": listed["truncated"],
                "per_page": options["limit"],
                "delimited": list(listed["delimitedPrefixes"]),
            },
        )

    async def get_object(self, request: Request) -> Any:
        bucket = self._bucket(request)
        key = request.path_params["object_key"]
        try:
            if request.headers.get("cf-metadata-only", "").lower() == "true":
                head = await bucket.head(key)
                if head is None:
                    raise ApiError(404, f"The specified key does not exist: {key!r}", 10007)
                return _object_json(head)
            found = await bucket.get(key)
        except R2Error as exc:
            raise ApiError(400, str(exc)) from None
        if found is None:
            raise ApiError(404, f"The specified key does not exist: {key!r}", 10007)
        data = await found.bytes()
        headers = {"etag": found.httpEtag, "cache-control": "no-store"}
        http = found.httpMetadata or {}
        for name, header in _HTTP_HEADERS.items():
            if http.get(name) and header != "cache-control":
                headers[header] = str(http[name])
        headers.setdefault("content-type", "application/octet-stream")
        return Response(data, headers=headers)

    async def put_object(self, request: Request) -> Any:
        bucket = self._bucket(request)
        key = request.path_params["object_key"]
        options: dict[str, Any] = {}
        content_type = request.headers.get("content-type")
        if content_type:
            options["httpMetadata"] = {"contentType": content_type}
        custom = request.headers.get("cf-r2-custom-metadata")
        if custom:
            try:
                parsed = json.loads(custom)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                raise ApiError(400, "cf-r2-custom-metadata must be a JSON object of strings")
            options["customMetadata"] = parsed
        try:
            stored = await bucket.put(key, await request.body(), options)
        except (R2Error, ValueError, TypeError) as exc:
            raise ApiError(400, str(exc)) from None
        return _object_json(stored)

    async def delete_objects(self, request: Request) -> Any:
        bucket = self._bucket(request)
        keys = await json_body(request)
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise ApiError(400, "the request body must be a non-empty array of keys")
        try:
            await bucket.delete(keys)
        except (R2Error, ValueError, TypeError) as exc:
            raise ApiError(400, str(exc)) from None
        return [{"key": k} for k in keys]

    async def delete_object(self, request: Request) -> Any:
        bucket = self._bucket(request)
        key = request.path_params["object_key"]
        try:
            await bucket.delete(key)
        except (R2Error, ValueError, TypeError) as exc:
            raise ApiError(400, str(exc)) from None
        return {"key": key}
