"""`workers.Response` and `workers.FetchResponse`, as in Cloudflare's Python Workers SDK.

A `Response` wraps a JavaScript `Response` (`.js_object`); the readers (`await r.text()`,
`.json()`, `.bytes()` ...) come from `pyodide.http.FetchResponse`. Where the SDK's behaviour and
pyflare's earlier one differed, the SDK's wins (see the README, "Python Workers SDK parity").
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .blob import Blob
from .formdata import FormData
from .jsbody import extract_body
from .jsheaders import Headers as JsHeaders
from .jsheaders import check_pair, header_pairs
from .jshttp import JsResponse, _response_redirect, _status, js_stringify
from .jsobject import JsException, JsProxy
from .jsstream import ReadableStream
from .pyodide.http import FetchResponse as _PyodideFetchResponse
from .request import _python_error, http_message

if TYPE_CHECKING:
    from .headers import HeaderMessage

__all__ = ["RESPONSE_ACCEPTED_TYPES", "FetchResponse", "Response"]

#: JavaScript values a `Response` body may be (by constructor name), as in the SDK.
RESPONSE_ACCEPTED_TYPES = frozenset(
    {
        "Blob",
        "ArrayBuffer",
        "TypedArray",
        "DataView",
        "Uint8Array",
        "Uint8ClampedArray",
        "Int8Array",
        "Uint16Array",
        "Int16Array",
        "Uint32Array",
        "Int32Array",
        "Float16Array",
        "Float32Array",
        "Float64Array",
        "BigInt64Array",
        "BigUint64Array",
        "FormData",
        "ReadableStream",
        "URLSearchParams",
        "Response",
    }
)
_TEXT = "text/plain;charset=UTF-8"
_JSON = "application/json"


def _pairs(headers: Any) -> list[tuple[str, str]]:
    """Validated header pairs from what the SDK accepts (dict, list of pairs, JS Headers)."""
    if not headers:
        return []
    if type(headers) is dict:
        return [check_pair(k, v) for k, v in headers.items()]
    if isinstance(headers, (list, dict, JsHeaders)):
        return header_pairs(headers)
    raise TypeError("Received unexpected type for headers argument")


class FetchResponse(_PyodideFetchResponse):
    """A response whose headers read as an `http.client.HTTPMessage` (the type `fetch` returns
    is its subclass `Response`)."""

    __slots__ = ()

    @property
    def body(self) -> ReadableStream | None:
        """The body as a JavaScript `ReadableStream`, or None when there is none."""
        return self.js_response.body

    @property
    def js_object(self) -> JsResponse:
        return self.js_response

    @property
    def headers(self) -> HeaderMessage:
        """A snapshot: case-insensitive, a missing header is None, `get_all()` for repeats."""
        return http_message(self.js_response._pairs)  # type: ignore[no-any-return]

    async def formData(self) -> FormData:
        return await self.form_data()

    async def form_data(self) -> FormData:
        self._raise_if_failed()
        try:
            return FormData(await self.js_response.formData())
        except JsException as exc:
            raise _python_error(exc) from exc

    def replace_body(self, body: Any) -> Response:
        """A new Response with this one's status and headers and `body`."""
        if isinstance(body, FormData):
            body = body.js_object
        payload, content_type = extract_body(body)
        pairs = list(self.js_response._pairs)
        if content_type is not None and not any(k == "content-type" for k, _ in pairs):
            pairs.append(("content-type", content_type))
        js = JsResponse._make(payload, self.status, self.status_text, pairs)
        return Response(js)

    async def blob(self) -> Blob:
        self._raise_if_failed()
        return Blob(await self.js_response.blob())

    @staticmethod
    def redirect(url: str, status: HTTPStatus | int = HTTPStatus.FOUND) -> JsResponse:
        """A redirect (301, 302, 303, 307 or 308) to the absolute `url`; as in the SDK, the
        JavaScript `Response` itself (a handler may return it)."""
        try:
            return _response_redirect(url, status)
        except JsException as exc:
            raise _python_error(exc) from exc

    @staticmethod
    def from_json(
        data: Any,
        status: HTTPStatus | int = HTTPStatus.OK,
        status_text: str = "",
        headers: Any = None,
    ) -> Response:
        """A JSON response: the body is `json.dumps(data)`, content type application/json
        (unless `headers` name one). JavaScript values are written by `JSON.stringify`."""
        pairs = _pairs(headers)
        if not any(k == "content-type" for k, _ in pairs):
            pairs.append(("content-type", _JSON))
        try:
            text = js_stringify(data) if isinstance(data, JsProxy) else json.dumps(data)
            code = _status(status or None, None)
        except JsException as exc:
            raise _python_error(exc) from exc
        return Response(JsResponse._make(text.encode(), code, status_text or "", pairs))

    def json(self, *args: Any, **kwargs: Any) -> Any:
        """`await response.json()` reads the body; `Response.json(data, status=...)` (called
        on the class) builds a JSON response, as `from_json` does."""
        if isinstance(self, _PyodideFetchResponse):
            return _PyodideFetchResponse.json(self, *args, **kwargs)
        return Response.from_json(self, *args, **kwargs)


class Response(FetchResponse):
    """An HTTP response: `Response(body=None, status=None, status_text="", headers=None,
    web_socket=None)`, as the SDK and the JavaScript `Response` constructor take it.

    `body` is a str, bytes, a `workers.FormData`, or a JavaScript value a Response accepts (a
    `ReadableStream`, an `ArrayBuffer` or typed array, a `Blob`, `URLSearchParams`, a JS
    `Response` to wrap). A str body gets `content-type: text/plain;charset=UTF-8`.
    """

    __slots__ = ()

    def __init__(
        self,
        body: Any = None,
        status: HTTPStatus | int | None = None,
        status_text: str = "",
        headers: Any = None,
        web_socket: Any = None,
    ) -> None:
        # str, bytes and None first: the common bodies, checked without the general path.
        kind = type(body)
        if kind is str:
            payload: Any = body.encode()
            content_type: str | None = _TEXT
        elif body is None:
            payload = content_type = None
        elif kind is bytes:
            payload, content_type = body, None
        elif isinstance(body, FormData):
            payload, content_type = body.js_object._encode()
        elif isinstance(body, JsProxy):
            name = body.constructor.name
            if name not in RESPONSE_ACCEPTED_TYPES:
                raise TypeError(f"Unsupported type in Response: {name}")
            if isinstance(body, JsResponse):
                if status is not None or status_text or headers is not None:
                    raise ValueError(
                        "Expected no options when constructing Response from a js.Response"
                    )
                self._url = body.url
                self.js_response = body
                self.abort_controller = self.abort_signal = None
                return
            payload, content_type = extract_body(body)
        else:
            raise TypeError(f"Unsupported type in Response: {kind.__name__}")
        code = 200 if not status and web_socket is None else _status(status or None, web_socket)
        if payload is not None and code in (101, 103, 204, 205, 304):
            raise TypeError("Response with null body status cannot have body")
        pairs = _pairs(headers)
        if content_type is not None and not any(k == "content-type" for k, _ in pairs):
            pairs.append(("content-type", content_type))
        js = JsResponse._make(payload, code, status_text or "", pairs, web_socket)
        self._url = ""
        self.js_response = js
        self.abort_controller = self.abort_signal = None

    def __repr__(self) -> str:
        js = self.js_response
        parts = [f"status={js.status}"]
        if js.statusText:
            parts.append(f"status_text={js.statusText!r}")
        content_type = next((v for k, v in js._pairs if k == "content-type"), None)
        if content_type is not None:
            parts.append(f"content_type={content_type!r}")
        if js.url:
            parts.append(f"url={js.url!r}")
        if js.type != "default":
            parts.append(f"type={js.type!r}")
        return f"Response({', '.join(parts)})"
