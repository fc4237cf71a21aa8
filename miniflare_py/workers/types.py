"""`workers.types`: the SDK's type names (aliases and typed dicts, for annotations)."""

from __future__ import annotations

from collections.abc import Awaitable
from http import HTTPMethod
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypedDict

from .formdata import FormData

if TYPE_CHECKING:
    from . import js
    from .jsbuffer import JsBuffer

__all__ = ["Body", "Context", "FetchKwargs", "Headers", "JSBody", "RequestInitCfProperties"]


class Context(Protocol):
    def waitUntil(self, other: Awaitable[Any]) -> None: ...


JSBody: TypeAlias = "js.Blob | JsBuffer | js.FormData | js.ReadableStream | js.URLSearchParams"
Body: TypeAlias = "str | FormData | JSBody"
Headers: TypeAlias = "dict[str, str] | list[tuple[str, str]] | js.Headers"


class RequestInitCfProperties(TypedDict, total=False):
    """The `cf` options of an outbound request (caching, image resizing...)."""

    apps: bool | None
    cacheEverything: bool | None
    cacheKey: str | None
    cacheTags: list[str] | None
    cacheTtl: int
    cacheTtlByStatus: dict[str, int]
    image: Any | None
    mirage: bool | None
    polish: str | None
    resolveOverride: str | None
    scrapeShield: bool | None
    webp: bool | None


class FetchKwargs(TypedDict, total=False):
    """The options of `workers.fetch` and `workers.Request`."""

    headers: Headers | None
    body: Body | None
    method: HTTPMethod | None
    redirect: str | None
    cf: RequestInitCfProperties | None
    fetcher: Any | None
