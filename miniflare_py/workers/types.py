"""`workers.types`: the SDK's type names (aliases and typed dicts, for annotations)."""

from __future__ import annotations

from collections.abc import Awaitable
from http import HTTPMethod
from typing import Any, Protocol, TypedDict

from .formdata import FormData

__all__ = ["Body", "Context", "FetchKwargs", "Headers", "JSBody", "RequestInitCfProperties"]


class Context(Protocol):
    def waitUntil(self, other: Awaitable[Any]) -> None: ...


# As in the SDK, these name types in strings (for reading, not for type checkers here: the `js`
# names are JavaScript classes).
JSBody = "js.Blob | JsBuffer | js.FormData | js.ReadableStream | js.URLSearchParams"
Body = "str | FormData | JSBody"
Headers = "dict[str, str] | list[tuple[str, str]] | js.Headers"


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

    headers: dict[str, str] | list[tuple[str, str]] | Any | None
    body: str | FormData | Any | None
    method: HTTPMethod | None
    redirect: str | None
    cf: RequestInitCfProperties | None
    fetcher: Any | None
