"""The `workers` module's Request, Response and headers, held to the SDK's behaviour
(workers-runtime-sdk 1.9.5; where pyflare chose otherwise, the README says so)."""

from __future__ import annotations

import http.client
import inspect
from collections.abc import Mapping
from http import HTTPMethod, HTTPStatus

import pytest

from miniflare_py import workers
from miniflare_py.workers import FormData, JsDict, Request, Response
from miniflare_py.workers.jshttp import JsRequest, JsResponse
from miniflare_py.workers.jsobject import JsException
from miniflare_py.workers.pyodide.ffi import to_js
from miniflare_py.workers.pyodide.http import BodyUsedError, HttpStatusError

pytestmark = pytest.mark.anyio


# the public names


SDK_NAMES = {
    "Blob", "BlobEnding", "BlobValue", "Body", "Context", "DurableObject", "FetchKwargs",
    "FetchResponse", "File", "FormData", "FormDataValue", "Headers", "JSBody", "Request",
    "RequestInitCfProperties", "Response", "WorkerEntrypoint", "WorkflowEntrypoint", "env",
    "fetch", "handler", "import_from_javascript", "patch_env", "python_from_rpc",
    "python_to_rpc", "waitUntil", "wait_until",
}  # fmt: skip


def test_every_public_name_of_the_sdk_is_exported() -> None:
    assert set(workers.__all__) == SDK_NAMES | {"JsDict"}
    for name in SDK_NAMES:
        assert hasattr(workers, name), name
    assert workers.JsDict is JsDict


def test_signatures_are_the_sdks() -> None:
    assert list(inspect.signature(Response).parameters) == [
        "body",
        "status",
        "status_text",
        "headers",
        "web_socket",
    ]
    assert list(inspect.signature(Request).parameters) == ["input", "other_options"]
    assert list(inspect.signature(Response.from_json).parameters) == [
        "data",
        "status",
        "status_text",
        "headers",
    ]
    assert list(inspect.signature(workers.fetch).parameters) == ["resource", "other_options"]


def test_headers_is_the_sdks_type_alias() -> None:
    assert isinstance(workers.Headers, str) and "js.Headers" in workers.Headers


# Response: construction


def test_response_defaults() -> None:
    response = Response()
    assert (response.status, response.status_text, response.ok) == (200, "", True)
    assert response.body is None
    assert response.url == "" and response.type == "default" and not response.redirected


async def test_a_str_body_is_utf8_text() -> None:
    response = Response("héllo")
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert await response.text() == "héllo"


def test_the_third_positional_argument_is_status_text() -> None:
    response = Response("x", 201, "Made", {"x-a": "1"})
    assert (response.status, response.status_text) == (201, "Made")
    assert response.headers["x-a"] == "1"


def test_status_may_be_an_http_status() -> None:
    assert Response("x", HTTPStatus.ACCEPTED).status == 202


@pytest.mark.parametrize("status", [0, 199, 600, 101])
def test_a_status_outside_200_to_599_is_a_range_error(status: int) -> None:
    with pytest.raises(JsException) as info:
        Response("x", status or 99)
    assert info.value.name == "RangeError"
    assert isinstance(info.value, ValueError)  # also caught by `except ValueError`


def test_status_zero_means_the_default() -> None:
    assert Response("x", 0).status == 200  # the SDK skips a falsy status


def test_a_null_body_status_with_a_body_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="null body status"):
        Response("", 204)
    assert Response(None, 204).status == 204


@pytest.mark.parametrize("body", [bytearray(b"x"), memoryview(b"x"), 123, {"a": 1}])
def test_unsupported_bodies_are_the_sdks_type_error(body: object) -> None:
    with pytest.raises(TypeError, match=f"Unsupported type in Response: {type(body).__name__}"):
        Response(body)


async def test_js_bodies_are_accepted() -> None:
    assert await Response(to_js(b"png").buffer).bytes() == b"png"
    assert await Response(to_js(b"abc")).text() == "abc"
    stream = Request("http://x/", method="POST", body="streamed").body
    assert await Response(stream).text() == "streamed"


def test_a_js_value_of_another_type_is_refused_by_name() -> None:
    from miniflare_py.workers.jsobject import JsObject

    with pytest.raises(TypeError, match="Unsupported type in Response: Object"):
        Response(JsObject(a=1))


async def test_a_js_response_is_wrapped_as_is() -> None:
    js = JsResponse._js_new("x", status=203)
    response = Response(js)
    assert response.js_object is js and response.status == 203
    with pytest.raises(ValueError, match="Expected no options"):
        Response(js, 200)


async def test_form_data_body_is_multipart() -> None:
    form = FormData({"a": "1"})
    response = Response(form)
    assert response.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert (await response.form_data())["a"] == "1"


@pytest.mark.parametrize("headers", [{"X-A": "1"}, [("X-A", "1")], to_js([["X-A", "1"]])], ids=str)
def test_headers_may_be_a_dict_or_a_list_of_pairs(headers: object) -> None:
    assert Response("x", headers=headers).headers["x-a"] == "1"


def test_headers_of_another_type_are_the_sdks_type_error() -> None:
    other = Response("x", headers={"a": "1"}).headers
    with pytest.raises(TypeError, match="unexpected type for headers"):
        Response("x", headers=other)


def test_an_invalid_header_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Invalid header name"):
        Response("x", headers={"bad name": "1"})
    with pytest.raises(TypeError, match="Invalid header value"):
        Response("x", headers={"x": "a\r\nb"})


def test_repr_is_the_sdks() -> None:
    assert repr(Response("x", 201)) == (
        "Response(status=201, content_type='text/plain;charset=UTF-8')"
    )


# Response: json, redirect


async def test_response_json_writes_json_dumps_text() -> None:
    response = Response.json({"a": 1, "é": [1.5, None]})
    assert response.headers["content-type"] == "application/json"
    assert await response.text() == '{"a": 1, "\\u00e9": [1.5, null]}'


def test_response_json_takes_status_status_text_and_headers() -> None:
    response = Response.json({"a": 1}, 201, "Made", {"x-a": "1"})
    assert (response.status, response.status_text, response.headers["x-a"]) == (201, "Made", "1")
    assert Response.json([], status=202).status == 202


def test_from_json_keeps_a_given_content_type() -> None:
    response = Response.from_json({}, headers={"Content-Type": "application/vnd.x+json"})
    assert response.headers.get_all("content-type") == ["application/vnd.x+json"]


async def test_from_json_of_a_js_value_uses_json_stringify() -> None:
    from miniflare_py.workers.jsmisc import Object

    data = to_js({"a": 1, "é": 2}, dict_converter=Object.fromEntries)
    assert await Response.from_json(data).text() == '{"a":1,"é":2}'


async def test_await_json_on_an_instance_reads_plain_python_values() -> None:
    data = await Response('{"a": {"b": [1]}}').json()
    assert data == {"a": {"b": [1]}} and type(data) is dict


async def test_json_keyword_arguments_reach_json_loads() -> None:
    assert await Response('{"a": 1.5}').json(parse_float=str) == {"a": "1.5"}


def test_redirect_is_the_js_response_itself() -> None:
    response = Response.redirect("https://example.com/next", 301)
    assert isinstance(response, JsResponse)
    assert (response.status, response.headers.get("location")) == (
        301,
        "https://example.com/next",
    )
    assert Response.redirect("https://example.com/").status == 302


def test_a_bad_redirect_status_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Invalid status code"):
        Response.redirect("https://example.com/", 200)


def test_a_relative_redirect_is_a_type_error_as_in_js() -> None:
    with pytest.raises(TypeError, match="Invalid URL"):
        Response.redirect("/login")


# Response: reading the body


async def test_the_body_can_be_read_once() -> None:
    response = Response("once")
    assert await response.text() == "once"
    assert response.body_used
    with pytest.raises(BodyUsedError, match="already used"):
        await response.text()


async def test_clone_gives_a_second_reader_and_is_a_fetch_response() -> None:
    response = Response("twice")
    copy = response.clone()
    assert await copy.text() == "twice"
    assert await response.bytes() == b"twice"
    assert type(copy).__name__ == "FetchResponse"


async def test_readers() -> None:
    assert await Response("ab").string() == "ab"
    assert (await Response(b"ab").buffer()).to_bytes() == b"ab"
    assert bytes(await Response(b"ab").memoryview()) == b"ab"
    blob = await Response("ab", headers={"content-type": "text/x"}).blob()
    assert (blob.size, blob.content_type) == (2, "text/x")


def test_raise_for_status() -> None:
    Response("ok").raise_for_status()
    with pytest.raises(HttpStatusError, match="404 Client Error: Gone for url"):
        Response("x", 404, "Gone").raise_for_status()


async def test_replace_body_keeps_status_and_headers() -> None:
    response = Response("a", 201, headers={"x-a": "1"}).replace_body("b")
    assert (response.status, response.headers["x-a"], await response.text()) == (201, "1", "b")


# .headers: an HTTPMessage snapshot


def test_headers_are_an_http_message_and_a_mapping() -> None:
    headers = Response("x", headers={"X-A": "1"}).headers
    assert isinstance(headers, http.client.HTTPMessage)
    assert isinstance(headers, Mapping)


def test_a_missing_header_reads_as_none() -> None:
    headers = Request("http://x/").headers
    assert headers["X-Missing"] is None
    assert headers.get("X-Missing") is None
    assert headers.get("X-Missing", "d") == "d"
    assert "x-missing" not in headers


def test_lookups_ignore_case() -> None:
    headers = Request("http://x/", headers={"Content-Type": "a/b"}).headers
    assert headers["content-type"] == headers["CONTENT-TYPE"] == "a/b"
    assert "Content-type" in headers


def test_repeats_are_combined_except_set_cookie() -> None:
    response = Response(
        "x",
        headers=[
            ("Accept-Encoding", "gzip"),
            ("Set-Cookie", "a=1"),
            ("accept-encoding", "deflate"),
            ("Set-Cookie", "b=2"),
        ],
    )
    headers = response.headers
    assert headers.get_all("Accept-encoding") == ["gzip, deflate"]
    assert headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert headers["set-cookie"] == "a=1"
    assert headers.items() == [
        ("accept-encoding", "gzip, deflate"),
        ("content-type", "text/plain;charset=UTF-8"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ]
    assert len(headers) == 4 and list(headers) == [k for k, _ in headers.items()]


def test_headers_are_a_snapshot() -> None:
    response = Response("x")
    headers = response.headers
    headers["X-New"] = "1"
    assert headers["x-new"] == "1"
    assert response.headers["x-new"] is None
    response.js_object.headers.set("X-Live", "2")
    assert response.headers["x-live"] == "2"


def test_http_message_methods_work() -> None:
    headers = Response("x", headers={"content-type": "text/html; charset=latin-1"}).headers
    assert headers.get_content_type() == "text/html"
    assert headers.get_content_charset() == "latin-1"


# Request


def test_request_from_a_url_and_options() -> None:
    request = Request("https://Example.com", method="post", headers={"X-A": "1"}, body='{"a": 1}')
    assert request.url == "https://example.com/"
    assert request.method == HTTPMethod.POST and request.method == "POST"
    assert request.headers["x-a"] == "1"
    assert request.headers["content-type"] == "text/plain;charset=UTF-8"
    assert repr(request) == "Request(method='POST', url='https://example.com/')"


def test_method_takes_an_http_method() -> None:
    assert Request("http://x/", method=HTTPMethod.DELETE).method == "DELETE"


def test_a_positional_method_is_a_type_error_as_in_the_sdk() -> None:
    with pytest.raises(TypeError):
        Request("http://x/", "POST")  # type: ignore[call-arg]


def test_a_relative_url_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Invalid URL"):
        Request("/relative")


def test_a_get_with_a_body_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="GET or HEAD"):
        Request("http://x/", body="x")


async def test_a_request_copies_another() -> None:
    original = Request("http://x/a", method="PUT", headers={"x-a": "1"}, body="b")
    copy = Request(original, headers={"x-b": "2"})
    assert (copy.method, copy.url, copy.headers["x-b"], copy.headers["x-a"]) == (
        "PUT",
        "http://x/a",
        "2",
        None,
    )
    assert await copy.text() == "b"
    assert original.body_used  # the body moved, as in JavaScript


def test_wrapping_a_js_request() -> None:
    js = JsRequest._js_new("http://x/")
    assert Request(js).js_object is js
    with pytest.raises(ValueError, match="Expected no options"):
        Request(js, method="POST")


async def test_request_readers_and_body_used() -> None:
    request = Request("http://x/", method="POST", body='{"a": [1]}')
    assert request.body is not None and not request.body_used
    assert await request.json() == {"a": [1]}
    assert request.body_used
    with pytest.raises(OSError, match="Body already used"):
        await request.text()
    request = Request("http://x/", method="POST", body="ab")
    assert (await request.buffer()).to_bytes() == b"ab"
    assert Request("http://x/").body is None


async def test_request_form_data_reads_urlencoded_and_multipart() -> None:
    urlencoded = Request(
        "http://x/",
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body="a=1&b=x+y",
    )
    form = await urlencoded.form_data()
    assert (form["a"], form["b"]) == ("1", "x y")
    multipart = Request("http://x/", method="POST", body=FormData({"f": "v"}))
    assert (await multipart.form_data())["f"] == "v"


async def test_form_data_of_a_non_form_body_is_a_type_error() -> None:
    request = Request("http://x/", method="POST", body="x")
    with pytest.raises(TypeError, match="Content-Type"):
        await request.form_data()


async def test_clone_reads_independently() -> None:
    request = Request("http://x/", method="POST", body="b")
    copy = request.clone()
    assert await copy.text() == await request.text() == "b"


def test_other_request_properties_have_workerd_values() -> None:
    request = Request("http://x/")
    assert request.cf is None  # a request built in code has no cf
    assert (request.redirect, request.keepalive, request.integrity) == ("follow", False, "")
    assert (request.credentials, request.referrer) == ("same-origin", "about:client")


def test_an_incoming_request_has_the_local_cf_object() -> None:
    request = Request._make("http://localhost/", "GET", [])
    assert request.cf.country == "US" and request.cf["colo"] == "DFW"
    assert request.cf.to_py()["botManagement"]["score"] == 99
    assert request.cf is request.cf  # one object per request


def test_js_object_is_the_javascript_request() -> None:
    request = Request("http://x/")
    js = request.js_object
    assert js.constructor.name == "Request" and js.method == "GET"
    assert js.headers.get("x") is None
