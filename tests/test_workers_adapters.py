"""`workers.asgi` and `workers.wsgi`: ASGI and WSGI apps served as a worker's fetch."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from miniflare_py.d1 import D1Database
from miniflare_py.workers import Request, asgi, wsgi
from miniflare_py.workers.jshttp import JsResponse
from miniflare_py.workers.pyodide.ffi import run_sync

pytestmark = pytest.mark.anyio


class Env:
    GREETING = "hi"


# ASGI


class RecordingApp:
    """A raw ASGI app: records what it saw, answers with a JSON-ish body."""

    def __init__(self, lifespan: bool = True) -> None:
        self.events: list[str] = []
        self.scope: dict[str, Any] = {}
        self.lifespan = lifespan

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            if not self.lifespan:
                raise RuntimeError("no lifespan here")
            while True:
                message = await receive()
                self.events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["started"] = True
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        self.scope = scope
        body = (await receive())["body"]
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"set-cookie", b"a=1"),
                    (b"set-cookie", b"b=2"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"got " + body, "more_body": True})
        await send({"type": "http.response.body", "body": b"!"})


async def test_asgi_fetch_serves_a_request_with_lifespan() -> None:
    app = RecordingApp()
    request = Request(
        "https://example.com/a%20b/c?x=1", method="POST", headers={"X-A": "1"}, body="data"
    )
    response = await asgi.fetch(app, request.js_object, Env())
    assert isinstance(response, JsResponse)
    assert (response.status, await response.text()) == (201, "got data!")
    assert response.headers.getSetCookie() == ["a=1", "b=2"]
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]
    scope = app.scope
    assert (scope["type"], scope["method"], scope["scheme"]) == ("http", "POST", "https")
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == (
        "/a b/c",
        b"/a%20b/c",
        b"x=1",
    )
    assert (b"x-a", b"1") in scope["headers"] and scope["env"].GREETING == "hi"
    assert scope["state"] == {"started": True} and scope["server"] == ("example.com", 443)


async def test_asgi_fetch_takes_a_workers_request_and_apps_without_lifespan() -> None:
    app = RecordingApp(lifespan=False)
    response = await asgi.fetch(app, Request("http://x/", method="PUT", body="b"), Env())
    assert await response.text() == "got b!"


async def test_an_app_that_never_answers_is_an_error() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")

    with pytest.raises(RuntimeError, match="did not generate a response"):
        await asgi.fetch(silent, Request("http://x/"), Env())


async def test_an_app_error_propagates() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")
        raise ValueError("app broke")

    with pytest.raises(ValueError, match="app broke"):
        await asgi.fetch(broken, Request("http://x/"), Env())


async def test_asgi_with_starlette() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request: StarletteRequest) -> JSONResponse:
        return JSONResponse(
            {
                "greeting": request.scope["env"].GREETING,
                "url": str(request.url),
                "q": request.query_params["q"],
                "json": await request.json(),
            }
        )

    app = Starlette(routes=[Route("/hello", hello, methods=["POST"])])
    request = Request("https://example.com/hello?q=1", method="POST", body='{"a": 1}')
    response = await asgi.fetch(app, request, Env())
    assert await response.json() == {
        "greeting": "hi",
        "url": "https://example.com/hello?q=1",
        "q": "1",
        "json": {"a": 1},
    }


async def test_asgi_entrypoint_makes_a_default_class() -> None:
    app = RecordingApp(lifespan=False)
    default = asgi.entrypoint(app)
    response = await default(None, Env()).fetch(Request("http://x/", method="POST", body="e"))
    assert await response.text() == "got e!"


# WSGI


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("202 Accepted Here", [("Content-Type", "text/plain"), ("X-Thread", "1")])
    return [
        f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ['QUERY_STRING']} ".encode(),
        environ["HTTP_X_A"].encode() + b" " + body,
        f" {environ['workers.env'].GREETING}".encode(),
    ]


async def test_wsgi_fetch_serves_a_request() -> None:
    request = Request(
        "http://example.com/p%C3%A4th?x=1", method="POST", headers={"X-A": "h"}, body="b"
    )
    response = await wsgi.fetch(wsgi_app, request, Env())
    assert isinstance(response, JsResponse)
    assert (response.status, response.statusText) == (202, "Accepted Here")
    assert await response.text() == "POST /p\xc3\xa4th?x=1 h b hi"


def test_wsgi_environ_follows_pep_3333() -> None:
    request = Request("https://example.com:8443/a", headers=[("X-M", "1"), ("X-M", "2")])
    environ = wsgi.build_environ(request, Env(), b"")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"]) == (
        "example.com",
        "8443",
        "https",
    )
    assert environ["HTTP_X_M"] == "1, 2" and environ["SCRIPT_NAME"] == ""


async def test_a_wsgi_app_reaches_async_bindings_through_run_sync() -> None:
    db = D1Database()
    threads: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        threads.append(threading.get_ident())
        row = run_sync(environ["workers.env"].DB.prepare("SELECT 40 + 2 AS n").first())
        start_response("200 OK", [])
        return [str(row["n"]).encode()]

    class DBEnv:
        DB = db

    try:
        response = await wsgi.fetch(app, Request("http://x/"), DBEnv())
        assert await response.text() == "42"
        assert threads[0] != threading.get_ident()  # the app ran in the WSGI thread
    finally:
        db.close()


async def test_wsgi_errors() -> None:
    def no_start(environ: Any, start_response: Any) -> list[bytes]:
        return [b""]

    with pytest.raises(RuntimeError, match="did not call start_response"):
        await wsgi.fetch(no_start, Request("http://x/"), Env())

    def twice(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        start_response("200 OK", [])
        return []

    with pytest.raises(AssertionError, match="more than once"):
        await wsgi.fetch(twice, Request("http://x/"), Env())


def test_gateway_options_check_encode_body() -> None:
    assert asgi.Options(encode_body="manual").response_init() == {"encodeBody": "manual"}
    assert wsgi.Options().response_init() == {}
    with pytest.raises(ValueError, match="encode_body must be one of"):
        asgi.Options(encode_body="gzip")  # type: ignore[arg-type]
