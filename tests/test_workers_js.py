"""The `js` module: the JavaScript globals a Python Worker uses, emulated."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re

import pytest

from miniflare_py.workers import js
from miniflare_py.workers.jsobject import JsArray, JsException, JsObject, JsProxy, jsnull
from miniflare_py.workers.pyodide.ffi import to_js

pytestmark = pytest.mark.anyio


# Response, Request, Headers


async def test_response_new_folds_keyword_arguments_into_the_init() -> None:
    response = js.Response.new("hi", status=201, statusText="Made", headers={"X-A": "1"})
    assert (response.status, response.statusText, response.ok) == (201, "Made", True)
    assert response.headers.get("x-a") == "1"
    assert response.headers.get("content-type") == "text/plain;charset=UTF-8"
    assert await response.text() == "hi"
    assert response.bodyUsed


async def test_response_new_takes_a_positional_init_object() -> None:
    init = to_js({"status": 404, "headers": {"x-b": "2"}}, dict_converter=js.Object.fromEntries)
    response = js.Response.new(None, init)
    assert response.status == 404 and response.headers.get("X-B") == "2"
    assert response.body is None


async def test_response_new_copies_another_responses_status_and_headers() -> None:
    first = js.Response.new("a", status=202, headers=[("x-c", "3")])
    second = js.Response.new("b", first)
    assert (second.status, second.headers.get("x-c"), await second.text()) == (202, "3", "b")


async def test_static_json_redirect_and_error() -> None:
    response = js.Response.json({"a": [1, None], "é": 1.5}, status=201)
    assert await response.text() == '{"a":[1,null],"é":1.5}'
    assert response.headers.get("content-type") == "application/json"
    redirect = js.Response.redirect("https://example.com/x", 307)
    assert (redirect.status, redirect.headers.get("location")) == (307, "https://example.com/x")
    assert js.Response.error().type == "error"


def test_the_body_used_error_is_workerds() -> None:
    response = js.Response.new("x")
    asyncio.run(response.text())
    with pytest.raises(TypeError, match="Body has already been used"):
        asyncio.run(response.text())


async def test_response_json_reads_js_objects() -> None:
    data = await js.Response.new('{"a": {"b": [1]}}').json()
    assert isinstance(data, JsObject) and data.a.b == [1]


async def test_clone_and_tee() -> None:
    response = js.Response.new("same")
    copy = response.clone()
    assert await copy.text() == await response.text() == "same"


async def test_request_new() -> None:
    request = js.Request.new("https://example.com/a?b=1", method="post", body="x")
    assert (request.method, request.url) == ("POST", "https://example.com/a?b=1")
    assert await request.text() == "x"
    patch = js.Request.new("https://example.com/", method="patch")
    assert patch.method == "patch"  # the Fetch spec upper-cases only the six standard names


def test_headers_follow_the_fetch_spec() -> None:
    headers = js.Headers.new([("B", "1"), ("a", "2"), ("b", "3"), ("Set-Cookie", "x=1")])
    headers.append("set-cookie", "y=2")
    assert headers.get("b") == "1, 3" and headers.has("A") and not headers.has("c")
    assert list(headers) == [
        ("a", "2"),
        ("b", "1, 3"),
        ("set-cookie", "x=1"),
        ("set-cookie", "y=2"),
    ]
    assert headers.getSetCookie() == ["x=1", "y=2"]
    headers.set("b", " 4 ")
    assert headers.get("b") == "4"
    headers.delete("a")
    assert list(headers.keys()) == ["b", "set-cookie", "set-cookie"]
    assert headers.get("missing") is None


def test_headers_reject_invalid_names_and_values() -> None:
    with pytest.raises(TypeError, match="Invalid header name"):
        js.Headers.new({"a b": "1"})
    with pytest.raises(TypeError, match="Invalid header value"):
        js.Headers.new().set("x", "a\nb")


def test_constructor_names_and_isinstance() -> None:
    response = js.Response.new()
    assert isinstance(response, JsProxy)
    assert response.constructor.name == "Response"
    assert response.constructor is js.Response
    assert isinstance(response, js.Response) and not isinstance(response, js.Request)
    assert js.Headers.new().constructor.name == "Headers"


# URL


@pytest.mark.parametrize(
    ("given", "href"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a b?q=x y#f", "http://example.com:8080/a%20b?q=x%20y#f"),
        ("https://user:pw@example.com/", "https://user:pw@example.com/"),
    ],
)
def test_url_normalises_like_whatwg(given: str, href: str) -> None:
    assert js.URL.new(given).href == href


def test_url_parts_and_search_params() -> None:
    url = js.URL.new("https://example.com:8443/path/x?a=1&b=2&a=3#top")
    assert (url.protocol, url.host, url.hostname, url.port) == (
        "https:",
        "example.com:8443",
        "example.com",
        "8443",
    )
    assert (url.pathname, url.search, url.hash, url.origin) == (
        "/path/x",
        "?a=1&b=2&a=3",
        "#top",
        "https://example.com:8443",
    )
    assert url.searchParams.get("a") == "1" and list(url.searchParams.getAll("a")) == ["1", "3"]
    url.searchParams.set("b", "x y")
    assert url.search == "?a=1&b=x%20y&a=3"
    url.pathname = "other"
    assert url.toString() == "https://example.com:8443/other?a=1&b=x%20y&a=3#top"


def test_url_with_a_base_and_invalid_urls() -> None:
    assert js.URL.new("../b?c", "https://example.com/a/x").href == "https://example.com/b?c"
    with pytest.raises(JsException) as info:
        js.URL.new("/relative")
    assert info.value.name == "TypeError" and isinstance(info.value, TypeError)
    assert js.URL.canParse("https://x/") and not js.URL.canParse("nope")


def test_url_search_params() -> None:
    params = js.URLSearchParams.new("?a=1&b=2")
    params.append("c", "x&y")
    assert params.toString() == "a=1&b=2&c=x%26y"
    assert dict(params.entries()) == {"a": "1", "b": "2", "c": "x&y"}


# crypto


def test_random_uuid_is_a_v4_uuid() -> None:
    value = js.crypto.randomUUID()
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )
    assert value != js.crypto.randomUUID()


def test_get_random_values_fills_and_returns_the_array() -> None:
    array = js.Uint8Array.new(32)
    assert js.crypto.getRandomValues(array) is array
    assert array.to_bytes() != bytes(32)
    with pytest.raises(ValueError, match="65536"):
        js.crypto.getRandomValues(js.Uint8Array.new(65537))


async def test_subtle_digest_and_hmac() -> None:
    data = js.TextEncoder.new().encode("hello")
    digest = await js.crypto.subtle.digest("SHA-256", data)
    assert digest.to_bytes() == hashlib.sha256(b"hello").digest()
    key = await js.crypto.subtle.importKey(
        "raw", b"secret", {"name": "HMAC", "hash": "SHA-256"}, False, ["sign", "verify"]
    )
    signature = await js.crypto.subtle.sign("HMAC", key, b"msg")
    assert signature.to_bytes() == hmac.new(b"secret", b"msg", "sha256").digest()
    assert await js.crypto.subtle.verify("HMAC", key, signature, b"msg")
    assert not await js.crypto.subtle.verify("HMAC", key, signature, b"other")
    with pytest.raises(ValueError, match="Unrecognized hash"):
        await js.crypto.subtle.digest("MD5", b"x")


# JSON, Object, Array, Date, console, encoding


def test_json_parse_gives_js_objects_and_stringify_is_compact() -> None:
    value = js.JSON.parse('{"k": {"n": [1, {"m": 2}]}}')
    assert value.k.n[1].m == 2 and isinstance(value.k.n, JsArray)
    assert value.to_py() == {"k": {"n": [1, {"m": 2}]}}
    assert js.JSON.stringify({"x": 1, "y": [None, jsnull], "é": float("nan")}) == (
        '{"x":1,"y":[null,null],"é":null}'
    )
    assert js.JSON.stringify({"a": 1}, None, 2) == '{\n  "a": 1\n}'
    with pytest.raises(ValueError, match="Unexpected token"):
        js.JSON.parse("{")


def test_object_and_array() -> None:
    obj = js.Object.fromEntries([("a", 1), ("b", 2)])
    assert isinstance(obj, JsObject) and obj.b == 2
    assert list(js.Object.keys(obj)) == ["a", "b"]
    assert js.Object.assign(js.Object.new(), obj, {"c": 3}) == {"a": 1, "b": 2, "c": 3}
    assert js.Array.new(1, 2).length == 2 and js.Array.isArray(JsArray())


def test_date() -> None:
    date = js.Date.new(86_400_000)
    assert date.getTime() == 86_400_000 and date.toISOString() == "1970-01-02T00:00:00.000Z"
    assert abs(js.Date.now() - js.Date.new().getTime()) < 5_000
    assert js.Date.new("2026-01-02T03:04:05Z").getUTCHours() == 3


def test_console_prints_as_workerd_does(capsys: pytest.CaptureFixture[str]) -> None:
    js.console.log("a", 1, None, True, {"b": 2})
    js.console.error("bad")
    out, err = capsys.readouterr()
    assert out == 'a 1 undefined true {"b": 2}\n' and err == "bad\n"


def test_text_codecs_and_base64() -> None:
    encoded = js.TextEncoder.new().encode("é")
    assert encoded.to_bytes() == "é".encode() and js.TextDecoder.new().decode(encoded) == "é"
    assert js.btoa("hi") == "aGk=" and js.atob("aGk=") == "hi"


async def test_timers() -> None:
    fired: list[str] = []
    js.setTimeout(lambda: fired.append("a"), 1)
    cancelled = js.setTimeout(lambda: fired.append("b"), 1)
    js.clearTimeout(cancelled)
    js.queueMicrotask(lambda: fired.append("c"))
    await asyncio.sleep(0.05)
    assert sorted(fired) == ["a", "c"]


# buffers, Blob, File, FormData, streams


def test_typed_arrays_view_their_buffer() -> None:
    array = to_js(b"abcdef")
    assert array.constructor.name == "Uint8Array" and array.length == 6
    assert array.buffer.constructor.name == "ArrayBuffer" and array.buffer.byteLength == 6
    sub = array.subarray(2, 4)
    assert sub.to_bytes() == b"cd" and sub.byteOffset == 2 and sub.buffer is array.buffer
    sub[0] = ord("X")
    assert array.to_bytes() == b"abXdef"
    assert bytes(array.to_py()) == b"abXdef"


async def test_blob_file_and_form_data() -> None:
    blob = js.Blob.new(["a", b"b", js.Uint8Array.new(b"c")], type="Text/Plain")
    assert (blob.size, blob.type, await blob.text()) == (3, "text/plain", "abc")
    assert await blob.slice(1).text() == "bc"
    file = js.File.new(["data"], "f.txt", type="text/plain")
    assert (file.name, file.constructor.name) == ("f.txt", "File")
    form = js.FormData.new()
    form.append("a", "1")
    form.append("f", file)
    form.append("a", "2")
    assert form.get("a") == "1" and list(form.getAll("a")) == ["1", "2"]
    request = js.Request.new("https://x/", method="POST", body=form)
    parsed = await request.formData()
    assert list(parsed.getAll("a")) == ["1", "2"]
    assert await parsed.get("f").text() == "data" and parsed.get("f").name == "f.txt"


async def test_readable_stream_from_a_pull_source() -> None:
    chunks = [b"one", b"two"]

    async def pull(controller: object) -> None:
        if chunks:
            controller.enqueue(js.Uint8Array.new(chunks.pop(0)))  # type: ignore[attr-defined]
        else:
            controller.close()  # type: ignore[attr-defined]

    stream = js.ReadableStream.new(pull=pull)
    reader = stream.getReader()
    first = await reader.read()
    assert first.done is False and first.value.to_bytes() == b"one"
    assert stream.locked
    reader.releaseLock()
    rest = [chunk.to_bytes() async for chunk in stream]
    assert rest == [b"two"]
    assert (await reader.read()).done is True


async def test_a_stream_body_is_read_through() -> None:
    async def parts():  # type: ignore[no-untyped-def]
        yield b"a"
        yield b"b"

    from miniflare_py.workers.jsstream import ReadableStream

    response = js.Response.new(ReadableStream._of_iterator(parts()))
    assert await response.text() == "ab"


# unknown globals


def test_an_unknown_global_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="HTMLRewriter"):
        js.HTMLRewriter  # noqa: B018
    assert js.globalThis.Response is js.Response
    assert js.null is jsnull
