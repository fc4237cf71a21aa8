"""The `workers` compatibility module: Request, Response, Headers, JsDict and the shims."""

from __future__ import annotations

import copy
import json
import pickle
import sys
import textwrap
from pathlib import Path

import pytest

from miniflare_py import workers
from miniflare_py.worker import ExecutionContext, load_worker
from miniflare_py.workers import (
    Headers,
    JsDict,
    Request,
    Response,
    WorkerEntrypoint,
    handler,
)

# Response


def test_response_defaults_to_an_empty_200() -> None:
    response = Response()
    assert response.status == 200
    assert response.status_text == "OK"
    assert response.ok
    assert response.body == b""
    assert "content-type" not in response.headers


def test_response_takes_body_status_and_headers_positionally() -> None:
    response = Response("created", 201, {"X-Id": "7"})
    assert response.status == 201
    assert response.status_code == 201
    assert response.status_text == "Created"
    assert response.statusText == "Created"
    assert response.body == b"created"
    assert response.headers["x-id"] == "7"


def test_a_text_body_defaults_to_plain_text_utf8() -> None:
    response = Response("héllo")
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert response.body == "héllo".encode()


def test_a_given_content_type_is_kept_for_a_text_body() -> None:
    response = Response("<p>hi</p>", headers={"Content-Type": "text/html"})
    assert response.headers.get_all("content-type") == ["text/html"]


@pytest.mark.parametrize("body", [b"\x00\x01", bytearray(b"\x00\x01"), memoryview(b"\x00\x01")])
def test_a_binary_body_gets_no_content_type(body: bytes) -> None:
    response = Response(body)
    assert response.body == b"\x00\x01"
    assert isinstance(response.body, bytes)
    assert "content-type" not in response.headers


def test_an_unsupported_body_type_is_an_error_that_names_the_type() -> None:
    with pytest.raises(TypeError, match="dict"):
        Response({"not": "serialised"})  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [0, 99, 199, 600, 1000])
def test_a_status_outside_200_to_599_is_an_error(status: int) -> None:
    with pytest.raises(ValueError, match=str(status)):
        Response("x", status)


def test_status_text_defaults_to_the_standard_phrase() -> None:
    assert Response(status=404).status_text == "Not Found"
    assert Response(status=204).status_text == "No Content"
    assert Response(status=599).status_text == ""  # no standard phrase


def test_status_text_can_be_given_in_either_spelling() -> None:
    assert Response(status=200, status_text="Fine").status_text == "Fine"
    assert Response(status=200, statusText="Fine").statusText == "Fine"


def test_ok_is_true_only_for_2xx() -> None:
    assert Response(status=299).ok
    assert not Response(status=300).ok
    assert not Response(status=500).ok


def test_response_headers_are_a_copy_of_the_given_headers() -> None:
    shared = Headers({"x-a": "1"})
    text = Response("text", headers=shared)
    binary = Response(b"bin", headers=shared)
    assert "content-type" not in shared
    assert "content-type" not in binary.headers
    assert text.headers["content-type"].startswith("text/plain")


def test_repr_shows_status() -> None:
    assert repr(Response(status=418)) == "<Response [418 I'm a Teapot]>"


@pytest.mark.anyio
async def test_response_body_can_be_read_as_text_bytes_and_array_buffer() -> None:
    response = Response("héllo")
    assert await response.text() == "héllo"
    assert await response.bytes() == "héllo".encode()
    assert await response.arrayBuffer() == "héllo".encode()


# Response.json


def test_response_json_on_the_class_builds_a_json_response() -> None:
    response = Response.json({"ok": True, "n": [1, 2]})
    assert isinstance(response, Response)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body) == {"ok": True, "n": [1, 2]}


def test_response_json_is_compact_like_json_stringify() -> None:
    response = Response.json({"a": 1, "b": "é"})
    assert response.body == '{"a":1,"b":"é"}'.encode()


def test_response_json_takes_status_and_headers() -> None:
    response = Response.json({"error": "nope"}, status=404, headers={"X-Trace": "t1"})
    assert response.status == 404
    assert response.status_text == "Not Found"
    assert response.headers["x-trace"] == "t1"
    assert response.headers["content-type"] == "application/json"


def test_response_json_takes_status_and_headers_positionally() -> None:
    response = Response.json([1], 201, {"x-a": "b"})
    assert (response.status, response.headers["x-a"]) == (201, "b")


def test_response_json_keeps_a_content_type_the_caller_set() -> None:
    response = Response.json({"title": "bad"}, headers={"Content-Type": "application/problem+json"})
    assert response.headers.get_all("content-type") == ["application/problem+json"]


@pytest.mark.parametrize("data", [None, 3, "text", [1, "a"], {"nested": {"x": [None]}}])
def test_response_json_accepts_any_json_value(data: object) -> None:
    assert json.loads(Response.json(data).body) == data


def test_response_json_rejects_values_json_cannot_encode() -> None:
    with pytest.raises(TypeError):
        Response.json({"when": object()})


@pytest.mark.anyio
async def test_await_json_on_an_instance_reads_the_body() -> None:
    response = Response('{"id": 7, "tags": ["a"], "inner": {"k": "v"}}')
    data = await response.json()
    assert data == {"id": 7, "tags": ["a"], "inner": {"k": "v"}}
    assert isinstance(data, JsDict)
    assert data.inner.k == "v"


@pytest.mark.anyio
async def test_a_json_response_round_trips() -> None:
    assert await Response.json({"ok": True}).json() == {"ok": True}


@pytest.mark.anyio
async def test_await_json_on_a_body_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        await Response("not json").json()


def test_response_json_works_on_a_subclass() -> None:
    class MyResponse(Response):
        pass

    assert isinstance(MyResponse.json({}), MyResponse)


# Response.redirect


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_sets_location_and_status(status: int) -> None:
    response = Response.redirect("https://example.com/next", status)
    assert response.status == status
    assert response.headers["location"] == "https://example.com/next"
    assert response.body == b""


def test_redirect_defaults_to_302() -> None:
    assert Response.redirect("/elsewhere").status == 302


@pytest.mark.parametrize("status", [200, 300, 304, 404])
def test_redirect_with_a_non_redirect_status_is_an_error(status: int) -> None:
    with pytest.raises(ValueError, match=str(status)):
        Response.redirect("/x", status)


# Headers


def test_headers_lookups_ignore_case() -> None:
    headers = Headers({"Content-Type": "text/html"})
    assert headers["content-type"] == "text/html"
    assert headers["CONTENT-TYPE"] == "text/html"
    assert headers.get("Content-type") == "text/html"
    assert headers.has("CoNtEnT-TyPe")
    assert "content-TYPE" in headers


def test_headers_missing_name() -> None:
    headers = Headers()
    assert headers.get("x-missing") is None
    assert headers.get("x-missing", "fallback") == "fallback"
    assert not headers.has("x-missing")
    assert "x-missing" not in headers
    assert 42 not in headers
    with pytest.raises(KeyError):
        headers["x-missing"]


def test_headers_get_joins_repeated_values_with_a_comma() -> None:
    headers = Headers([("Accept", "text/html"), ("accept", "application/json")])
    assert headers.get("accept") == "text/html, application/json"
    assert headers["ACCEPT"] == "text/html, application/json"


def test_headers_get_all_and_get_set_cookie_keep_values_apart() -> None:
    headers = Headers()
    headers.append("Set-Cookie", "a=1; Path=/")
    headers.append("set-cookie", "b=2")
    assert headers.get_all("SET-COOKIE") == ["a=1; Path=/", "b=2"]
    assert headers.getAll("set-cookie") == ["a=1; Path=/", "b=2"]
    assert headers.getSetCookie() == ["a=1; Path=/", "b=2"]
    assert headers.get_all("x-none") == []


def test_headers_set_replaces_every_value() -> None:
    headers = Headers([("x-a", "1"), ("X-A", "2")])
    headers.set("X-a", "3")
    assert headers.get_all("x-a") == ["3"]
    headers["x-a"] = "4"
    assert headers["x-a"] == "4"


def test_headers_delete_removes_every_value() -> None:
    headers = Headers([("x-a", "1"), ("X-A", "2"), ("x-b", "3")])
    headers.delete("X-A")
    assert "x-a" not in headers
    del headers["X-B"]
    assert len(headers) == 0
    headers.delete("x-never-there")  # no error


def test_headers_values_are_stored_as_strings() -> None:
    headers = Headers()
    headers.set("content-length", 12)  # type: ignore[arg-type]
    headers.append("x-n", 3)  # type: ignore[arg-type]
    assert headers["content-length"] == "12"
    assert headers["x-n"] == "3"


def test_headers_iterate_lower_cased_names_once_in_first_seen_order() -> None:
    headers = Headers([("B", "1"), ("a", "2"), ("b", "3")])
    assert list(headers) == ["b", "a"]
    assert len(headers) == 2
    assert dict(headers) == {"b": "1, 3", "a": "2"}


def test_headers_entries_and_multi_items_keep_every_pair() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("X-Y", "z"), ("set-cookie", "b=2")])
    expected = [("set-cookie", "a=1"), ("x-y", "z"), ("set-cookie", "b=2")]
    assert headers.multi_items() == expected
    assert list(headers.entries()) == expected


def test_headers_built_from_headers_keep_repeated_values_apart() -> None:
    original = Headers([("set-cookie", "a=1"), ("set-cookie", "b=2")])
    copied = Headers(original)
    assert copied.get_all("set-cookie") == ["a=1", "b=2"]
    copied.append("set-cookie", "c=3")
    assert original.get_all("set-cookie") == ["a=1", "b=2"]


def test_headers_accept_a_generator_of_pairs() -> None:
    headers = Headers((k, v) for k, v in [("A", "1"), ("B", "2")])
    assert headers.multi_items() == [("a", "1"), ("b", "2")]


# Request


def test_request_exposes_method_url_headers_and_path() -> None:
    request = Request(
        "https://example.com/api/tasks?x=1", "post", {"Content-Type": "application/json"}
    )
    assert request.method == "POST"
    assert request.url == "https://example.com/api/tasks?x=1"
    assert request.path == "/api/tasks"
    assert request.headers["content-type"] == "application/json"
    assert repr(request) == "<Request POST https://example.com/api/tasks?x=1>"


def test_request_defaults_to_get_without_a_body() -> None:
    request = Request("http://localhost/")
    assert request.method == "GET"
    assert request.body == b""
    assert len(request.headers) == 0
    assert request.cf == {}


@pytest.mark.anyio
async def test_request_body_reads_as_text_json_and_bytes() -> None:
    request = Request("http://x/", "POST", body='{"user": "ana", "n": [1]}')
    assert await request.text() == '{"user": "ana", "n": [1]}'
    assert await request.bytes() == b'{"user": "ana", "n": [1]}'
    data = await request.json()
    assert data == {"user": "ana", "n": [1]}
    assert data.user == "ana"


@pytest.mark.anyio
async def test_request_body_can_be_read_more_than_once() -> None:
    request = Request("http://x/", "POST", body=b"abc")
    assert await request.text() == "abc"
    assert await request.text() == "abc"
    assert await request.arrayBuffer() == b"abc"


@pytest.mark.anyio
async def test_request_text_decodes_utf8() -> None:
    request = Request("http://x/", "POST", body="ünïcode".encode())
    assert await request.text() == "ünïcode"


@pytest.mark.anyio
async def test_request_json_of_invalid_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        await Request("http://x/", "POST", body="{oops").json()


def test_request_cf_allows_attribute_access() -> None:
    request = Request("http://x/", cf={"country": "PT"})
    assert request.cf.country == "PT"


def test_request_headers_are_a_copy_of_the_given_headers() -> None:
    given = Headers({"x-a": "1"})
    request = Request("http://x/", headers=given)
    request.headers.set("x-a", "2")
    assert given["x-a"] == "1"


# JsDict


def test_jsdict_is_a_dict_with_attribute_access() -> None:
    row = JsDict({"id": 1, "name": "ana"})
    assert isinstance(row, dict)
    assert row.id == 1
    assert row["name"] == "ana"
    assert row == {"id": 1, "name": "ana"}


def test_jsdict_attribute_writes_and_deletes_are_key_writes_and_deletes() -> None:
    row = JsDict()
    row.status = "done"
    assert row == {"status": "done"}
    del row.status
    assert row == {}


def test_jsdict_missing_attribute_raises_attribute_error() -> None:
    row = JsDict(a=1)
    with pytest.raises(AttributeError, match="missing"):
        row.missing  # noqa: B018
    with pytest.raises(AttributeError):
        del row.missing
    assert getattr(row, "missing", "default") == "default"
    assert not hasattr(row, "missing")


def test_jsdict_keys_shadowed_by_dict_methods_stay_reachable_by_index() -> None:
    row = JsDict({"items": 3, "keys": 4})
    assert row["items"] == 3
    assert callable(row.items)


def test_jsdict_to_py_gives_plain_dicts_all_the_way_down() -> None:
    result = JsDict(
        success=True,
        meta=JsDict(changes=1),
        results=[JsDict(id=1, tags=[JsDict(t="x")]), JsDict(id=2)],
    )
    plain = result.to_py()
    assert plain == {
        "success": True,
        "meta": {"changes": 1},
        "results": [{"id": 1, "tags": [{"t": "x"}]}, {"id": 2}],
    }
    assert type(plain) is dict
    assert type(plain["meta"]) is dict
    assert type(plain["results"][0]) is dict
    assert type(plain["results"][0]["tags"][0]) is dict


def test_jsdict_to_py_is_a_copy() -> None:
    row = JsDict(a=1)
    plain = row.to_py()
    plain["a"] = 2
    assert row.a == 1


def test_jsdict_survives_copy_deepcopy_and_pickle() -> None:
    row = JsDict(id=1, inner=JsDict(k="v"))
    for clone in (copy.copy(row), copy.deepcopy(row), pickle.loads(pickle.dumps(row))):
        assert clone == row
        assert isinstance(clone, JsDict)
        assert clone.inner.k == "v"


def test_jsdict_serialises_as_a_json_object() -> None:
    assert json.loads(json.dumps(JsDict(a=JsDict(b=1)))) == {"a": {"b": 1}}


# WorkerEntrypoint and handler


def test_worker_entrypoint_keeps_ctx_and_env() -> None:
    ctx, env = object(), object()
    entry = WorkerEntrypoint(ctx, env)
    assert entry.ctx is ctx
    assert entry.env is env


def test_handler_decorator_returns_the_function_itself() -> None:
    async def on_fetch(request):  # pragma: no cover - never called
        return Response()

    assert handler(on_fetch) is on_fetch


def test_module_exports_the_sdk_names() -> None:
    for name in ("Request", "Response", "WorkerEntrypoint", "handler", "JsDict", "Headers"):
        assert hasattr(workers, name), name


# Shims, as a loaded worker sees them

SHIM_WORKER = """\
import workers
from js import JSON, Object
from pyodide.ffi import to_js
from workers import JsDict, Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        converted = to_js({"a": 1, "b": [2]}, dict_converter=Object.fromEntries)
        return Response.json(
            {
                "same_module": workers.Response is Response,
                "from_entries_is_jsdict": isinstance(converted, JsDict),
                "converted": converted,
                "attr": converted.a,
                "plain": to_js([1, 2]),
                "parsed": JSON.parse('{"k": {"n": 1}}').k.n,
                "stringified": JSON.stringify({"x": 1}),
            }
        )
"""


@pytest.mark.anyio
async def test_a_loaded_worker_can_import_workers_js_and_pyodide_ffi(tmp_path: Path) -> None:
    main = tmp_path / "shim_worker.py"
    main.write_text(SHIM_WORKER)
    worker = load_worker(main)
    assert sys.modules["workers"] is workers
    ctx = ExecutionContext(lambda awaitable: None)  # type: ignore[arg-type,return-value]
    response = await worker.dispatch("fetch", Request("http://x/"), object(), ctx)
    assert await response.json() == {
        "same_module": True,
        "from_entries_is_jsdict": True,
        "converted": {"a": 1, "b": [2]},
        "attr": 1,
        "plain": [1, 2],
        "parsed": 1,
        "stringified": '{"x":1}',
    }


@pytest.mark.anyio
async def test_js_response_and_object_shims_build_workers_values(tmp_path: Path) -> None:
    main = tmp_path / "js_worker.py"
    main.write_text(
        textwrap.dedent(
            """\
            import js
            from pyodide.ffi import create_proxy


            async def on_fetch(request):
                empty = js.Object.new()
                empty.key = "v"
                proxied = create_proxy(empty)
                return js.Response.json(
                    {"empty": proxied, "now_is_ms": js.Date.now() > 10**12},
                    {"status": 201, "headers": {"x-shim": "yes"}},
                )
            """
        )
    )
    worker = load_worker(main)
    ctx = ExecutionContext(lambda awaitable: None)  # type: ignore[arg-type,return-value]
    response = await worker.dispatch("fetch", Request("http://x/"), object(), ctx)
    assert isinstance(response, Response)
    assert response.status == 201
    assert response.headers["x-shim"] == "yes"
    assert await response.json() == {"empty": {"key": "v"}, "now_is_ms": True}
