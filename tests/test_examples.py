"""End-to-end tests of the example workers in fixtures/: apps written the way Cloudflare's
Python Workers examples and templates are (FastAPI, Flask, Django, image generation, Pygments
over RPC, blocking HTTP clients, JavaScript APIs from Python), run by pyflare unchanged.

Most run in-process through the `pyflare` fixture; the ones where the HTTP server matters run
under a real `pyflare dev` (slow)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from dev_process import dev_process
from http_target import http_target

from miniflare_py.workers import python_to_rpc
from miniflare_py.workers.jsobject import JsObject

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

pytestmark = pytest.mark.anyio


def config(name: str) -> str:
    folder = FIXTURES / name
    found = [p for p in ("wrangler.toml", "wrangler.jsonc") if (folder / p).exists()]
    return str(folder / found[0])


# FastAPI through `asgi`


@pytest.mark.pyflare(config=config("fastapi-app"))
async def test_fastapi_app(pyflare) -> None:  # type: ignore[no-untyped-def]
    assert await (await pyflare.fetch("/")).json() == {"books": 2}
    assert await (await pyflare.fetch("/books/2")).json() == {"id": 2, "title": "Solaris"}
    missing = await pyflare.fetch("/books/9")
    assert (missing.status, await missing.json()) == (404, {"detail": "no such book"})
    created = await pyflare.fetch("/books", method="POST", json={"title": "Ubik", "year": 1969})
    assert created.status == 201
    assert await created.json() == {"id": 3, "title": "Ubik", "year": 1969}
    invalid = await pyflare.fetch("/books", method="POST", json={"year": "soon"})
    assert invalid.status == 422
    assert await (await pyflare.fetch("/motd")).json() == {"motd": "configured in wrangler.jsonc"}
    page = await pyflare.fetch("/page?q=tea")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert await page.text() == "<h1>You asked for tea</h1>"


# Flask through `workers.wsgi`, with D1 from synchronous views


@pytest.mark.pyflare(config=config("flask-d1"))
async def test_flask_app_reads_and_writes_d1(pyflare) -> None:  # type: ignore[no-untyped-def]
    assert await (await pyflare.fetch("/")).text() == "<h1>Guestbook</h1>"
    signed = await pyflare.fetch("/entries", method="POST", json={"name": "ada", "message": "hi"})
    assert (signed.status, await signed.json()) == (201, {"id": 1})
    form = await pyflare.fetch(
        "/entries",
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body="name=bo&message=hello+there",
    )
    assert form.status == 201
    listed = await (await pyflare.fetch("/entries")).json()
    assert listed == {
        "entries": [
            {"id": 1, "name": "ada", "message": "hi"},
            {"id": 2, "name": "bo", "message": "hello there"},
        ]
    }
    refused = await pyflare.fetch("/entries", method="POST", json={"name": "x"})
    assert (refused.status, await refused.json()) == (
        400,
        {"error": "name and message are required"},
    )
    assert (await pyflare.fetch("/nope")).status == 404


# Django through `workers.wsgi`


@pytest.mark.pyflare(config=config("django-app"))
async def test_django_app(pyflare) -> None:  # type: ignore[no-untyped-def]
    assert await (await pyflare.fetch("/")).json() == {"owner": "ada", "path": "/"}
    assert await (await pyflare.fetch("/notes/7", method="PUT")).json() == {
        "note": 7,
        "method": "PUT",
    }
    echoed = await pyflare.fetch("/echo", method="POST", json={"a": [1, 2]})
    assert (echoed.status, await echoed.json()) == (201, {"you_sent": {"a": [1, 2]}})
    assert echoed.headers["x-echo"] == "yes"
    assert echoed.headers["set-cookie"].startswith("seen=1")
    assert (await pyflare.fetch("/echo")).status == 405
    assert (await pyflare.fetch("/missing")).status == 404


# image generation: to_js(bytes).buffer as a Response body


def png_size_and_first_pixel(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    pixels = zlib.decompress(data[idat + 4 : idat + 4 + length])
    return width, height, tuple(pixels[1:4])


@pytest.mark.pyflare(config=config("image-gen"))
async def test_image_generation(pyflare) -> None:  # type: ignore[no-untyped-def]
    response = await pyflare.fetch("/gradient?width=40&height=20&from=ff0000&to=0000ff")
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert png_size_and_first_pixel(await response.bytes()) == (40, 20, (255, 0, 0))
    bad = await pyflare.fetch("/gradient?width=9999")
    assert (bad.status, await bad.json()) == (400, {"error": "sides must be 1-512"})


# Pygments: a method other workers call over RPC, and over HTTP


@pytest.mark.pyflare(config=config("pygments-rpc"))
async def test_pygments_rpc_method_and_http(pyflare) -> None:  # type: ignore[no-untyped-def]
    from miniflare_py.worker import ExecutionContext

    entry = pyflare.worker.module.Default(ExecutionContext(lambda a: None), pyflare.env)
    result = await entry.highlight_code("def f():\n    return 1\n", "python")
    assert result["language"] == "Python"
    assert '<span class="k">def</span>' in result["html"]
    assert ".code" in result["css"]
    # What a JavaScript caller receives: the dict converts over RPC.
    assert isinstance(python_to_rpc(result), JsObject)
    unknown = await entry.highlight_code("x", "no-such-language")
    assert unknown["error"] == "unknown language 'no-such-language'"
    over_http = await pyflare.fetch(
        "/highlight?language=javascript", method="POST", body="let x = 1;"
    )
    assert (await over_http.json())["language"] == "JavaScript"
    assert "RPC server" in await (await pyflare.fetch("/")).text()


# blocking HTTP clients in a handler


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with http_target() as url:
        yield url


async def test_blocking_http_clients_fetch_a_real_server(target: str) -> None:
    from miniflare_py import Miniflare

    async with Miniflare(config("sync-http"), vars={"TARGET_URL": f"{target}/echo"}) as mf:
        described = await (await mf.fetch("/")).json()
        assert described["clients"] == ["httpx.Client", "urllib.request"]
        results = (await (await mf.fetch("/sync")).json())["results"]
        assert [r["client"] for r in results] == ["httpx.Client", "urllib.request"]
        assert all(r["ok"] and r["content_type"] == "application/json" for r in results)


# JavaScript APIs from Python


@pytest.mark.pyflare(config=config("hello-js"))
async def test_hello_world_with_js_apis(pyflare) -> None:  # type: ignore[no-untyped-def]
    assert await (await pyflare.fetch("/")).text() == "Hello, World!"
    assert await (await pyflare.fetch("/?name=Ada")).text() == "Hello, Ada!"
    first = (await (await pyflare.fetch("/random")).json())["id"]
    second = (await (await pyflare.fetch("/random")).json())["id"]
    assert len(first) == 36 and first != second
    js_response = await pyflare.fetch("/js")
    assert js_response.status == 203
    assert js_response.headers["x-powered-by"] == "js"
    assert await js_response.text() == "from JavaScript at localhost"
    agent = await (await pyflare.fetch("/agent")).json()
    assert agent == {"agent": None, "country": "US"}
    assert (await pyflare.fetch("/elsewhere")).status == 404


# under a real `pyflare dev`, where the HTTP front door matters


@pytest.mark.slow
def test_examples_over_a_real_dev_server(tmp_path: Path) -> None:
    import shutil

    for name in ("fastapi-app", "image-gen", "hello-js"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    with dev_process(["--no-reload"], cwd=tmp_path / "fastapi-app") as dev:
        created = dev.client.post("/books", json={"title": "Ubik"})
        assert (created.status_code, created.json()["id"]) == (201, 3)
        assert dev.client.get("/page?q=x").text == "<h1>You asked for x</h1>"
    with dev_process(["--no-reload"], cwd=tmp_path / "image-gen") as dev:
        image = dev.client.get("/gradient?width=8&height=4&from=00ff00")
        assert image.headers["content-type"] == "image/png"
        assert png_size_and_first_pixel(image.content) == (8, 4, (0, 255, 0))
    with dev_process(["--no-reload"], cwd=tmp_path / "hello-js") as dev:
        answer = dev.client.get("/agent", headers={"User-Agent": "tester"})
        assert answer.json() == {"agent": "tester", "country": "US"}
        assert dev.client.get("/js").status_code == 203
