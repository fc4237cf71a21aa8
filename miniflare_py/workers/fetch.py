"""`workers.fetch`: outbound HTTP with the SDK's signature, returning a `workers.Response`."""

from __future__ import annotations

import inspect
from http import HTTPMethod
from typing import Any

from . import outbound
from .jshttp import JsResponse
from .jsobject import JsException
from .pyodide.http import AbortError
from .request import Request
from .response import Response

__all__ = ["fetch"]


async def fetch(resource: str | Request | Any, **other_options: Any) -> Response:
    """Send a request (`fetch(url, method="POST", headers={...}, body=...)`), as `fetch()` does
    in JavaScript, and return the `Response`. Requests go out through httpx.

    `fetcher=` sends through a binding instead (what `env.SERVICE.fetch()` does): a callable
    taking the JavaScript `Request` and returning (or awaiting to) a Response.
    """
    fetcher = other_options.pop("fetcher", None)
    if isinstance(other_options.get("method"), HTTPMethod):
        other_options["method"] = other_options["method"].value
    try:
        if isinstance(resource, Request) and not other_options:
            js_request = resource.js_object
        else:
            js_request = Request(resource, **other_options).js_object
        if fetcher is None:
            js_response: Any = await outbound.send(js_request)
        else:
            js_response = fetcher(js_request)
            if inspect.isawaitable(js_response):
                js_response = await js_response
    except JsException as exc:
        if isinstance(exc, OSError):  # the network failed: what pyfetch raises
            raise AbortError(exc) from None
        raise
    if isinstance(js_response, Response):
        return js_response
    if not isinstance(js_response, JsResponse):
        js_response = getattr(js_response, "js_response", js_response)
    return Response(js_response)
