"""Outbound HTTP: `workers.fetch`, `js.fetch` and `pyodide.http.pyfetch`, over a real local
server, through httpx."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPMethod

import pytest
from http_target import http_target

from miniflare_py.workers import Request, Response, fetch, js
from miniflare_py.workers.jsobject import JsException
from miniflare_py.workers.pyodide.http import AbortError, FetchResponse, pyfetch

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with http_target() as url:
        yield url


async def test_fetch_gets_a_workers_response(target: str) -> None:
    response = await fetch(f"{target}/echo?q=1")
    assert isinstance(response, Response)
    assert (response.status, response.ok, response.url) == (200, True, f"{target}/echo?q=1")
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get_all("set-cookie") == ["a=1", "b=2"]
    data = await response.json()
    assert (data["method"], data["path"]) == ("GET", "/echo?q=1")


async def test_fetch_sends_method_headers_and_body(target: str) -> None:
    response = await fetch(
        f"{target}/echo", method=HTTPMethod.POST, headers={"X-Token": "t"}, body="payload"
    )
    data = await response.json()
    assert (data["method"], data["body"], data["headers"]["x-token"]) == ("POST", "payload", "t")
    assert data["headers"]["content-type"] == "text/plain;charset=UTF-8"


async def test_fetch_takes_a_request(target: str) -> None:
    request = Request(f"{target}/echo", method="PUT", body=b"raw")
    data = await (await fetch(request)).json()
    assert (data["method"], data["body"]) == ("PUT", "raw")


async def test_redirects_are_followed_unless_manual(target: str) -> None:
    followed = await fetch(f"{target}/redirect")
    assert followed.redirected and (await followed.json())["path"] == "/echo?from=redirect"
    manual = await fetch(f"{target}/redirect", redirect="manual")
    assert manual.status == 302 and manual.headers["location"] == "/echo?from=redirect"


async def test_status_and_reason_come_through(target: str) -> None:
    response = await fetch(f"{target}/status/503")
    assert (response.status, response.status_text, response.ok) == (503, "Custom Reason", False)


async def test_a_network_failure_is_an_os_error() -> None:
    with pytest.raises(AbortError, match="fetch failed"):
        await fetch("http://127.0.0.1:9/")
    with pytest.raises(JsException) as info:
        await js.fetch("http://127.0.0.1:9/")
    assert info.value.name == "TypeError" and isinstance(info.value, OSError)


async def test_js_fetch_gives_a_js_response(target: str) -> None:
    response = await js.fetch(f"{target}/echo", {"method": "DELETE"})
    assert response.constructor.name == "Response"
    assert (await response.json()).method == "DELETE"


async def test_pyfetch(target: str) -> None:
    response = await pyfetch(f"{target}/echo", method="PATCH", body="x")
    assert isinstance(response, FetchResponse)
    assert (await response.json())["method"] == "PATCH"
    assert response.headers["content-type"] == "application/json"


async def test_fetch_with_a_fetcher_sends_through_it() -> None:
    seen = []

    async def fetcher(request):  # type: ignore[no-untyped-def]
        seen.append((request.method, request.url))
        return js.Response.new("from the binding", status=201)

    response = await fetch("https://service.internal/x", method="POST", body="b", fetcher=fetcher)
    assert (response.status, await response.text()) == (201, "from the binding")
    assert seen == [("POST", "https://service.internal/x")]
