"""The HTTP front door: Starlette app over a started `Miniflare` (real clock)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from miniflare_py import Miniflare
from miniflare_py.server import create_app

ECHO = Path(__file__).parent / "workers" / "echo"


@pytest.fixture
async def mf(anyio_backend: str) -> AsyncIterator[Miniflare]:
    async with Miniflare(ECHO / "wrangler.toml", clock="real") as runtime:
        yield runtime


def client_for(runtime: Miniflare) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(lambda: runtime)),
        base_url="http://testserver",
    )


@pytest.fixture
async def client(mf: Miniflare) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(mf) as http:
        yield http


# requests reach the worker


@pytest.mark.anyio
async def test_method_url_query_headers_and_body_reach_the_worker(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/echo?q=hello+world&tag=a&tag=b",
        content=b'{"user": "ana"}',
        headers={"Content-Type": "application/json", "X-Trace-Id": "abc-123"},
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["url"] == "http://testserver/echo?q=hello+world&tag=a&tag=b"
    assert echoed["path"] == "/echo"
    assert echoed["query"] == [["q", "hello world"], ["tag", "a"], ["tag", "b"]]
    headers = dict(echoed["headers"])
    assert headers["content-type"] == "application/json"
    assert headers["x-trace-id"] == "abc-123"
    assert echoed["body"] == '{"user": "ana"}'


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_reaches_the_worker(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/echo")
    assert response.status_code == 200
    assert response.json()["method"] == method


@pytest.mark.anyio
async def test_head_request_gets_headers_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/greeting")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.anyio
async def test_repeated_request_headers_reach_the_worker_combined(
    client: httpx.AsyncClient,
) -> None:
    # As the Workers runtime shows them (JS Headers, then the SDK's HTTPMessage): one entry,
    # values joined with ", ".
    response = await client.get("/echo", headers=[("X-Multi", "one"), ("X-Multi", "two")])
    pairs = [tuple(p) for p in response.json()["headers"] if p[0] == "x-multi"]
    assert pairs == [("x-multi", "one, two")]


@pytest.mark.anyio
async def test_a_utf8_request_body_arrives_intact(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content="olá, 世界".encode())
    assert response.json()["body"] == "olá, 世界"


@pytest.mark.anyio
async def test_the_worker_sees_its_vars(client: httpx.AsyncClient) -> None:
    response = await client.get("/greeting")
    assert response.text == "hello"


# responses come back


@pytest.mark.anyio
async def test_status_headers_and_repeated_set_cookie_come_back(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/cookies")
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.text == "cookies set"
    assert response.headers["x-custom"] == "yes"
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert response.cookies["a"] == "1"
    assert response.cookies["b"] == "2"


@pytest.mark.anyio
async def test_content_length_matches_the_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/cookies")
    assert response.headers.get_list("content-length") == [str(len(b"cookies set"))]


@pytest.mark.anyio
async def test_a_binary_body_comes_back_byte_for_byte(client: httpx.AsyncClient) -> None:
    response = await client.get("/binary")
    assert response.content == bytes(range(256))
    assert response.headers["content-type"] == "image/x-test"


@pytest.mark.anyio
async def test_a_json_response_comes_back_with_its_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "not found"}


# errors


@pytest.mark.anyio
async def test_a_raising_handler_gives_500_with_the_traceback(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert "Traceback (most recent call last)" in response.text
    assert "RuntimeError: kaboom from the handler" in response.text
    assert "worker.py" in response.text


@pytest.mark.anyio
async def test_the_server_keeps_serving_after_a_handler_raised(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/boom")).status_code == 500
    assert (await client.get("/greeting")).status_code == 200


@pytest.mark.anyio
async def test_a_handler_returning_something_else_than_a_response_gives_500(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/not-a-response")
    assert response.status_code == 500
    assert "workers.Response" in response.text


@pytest.fixture
def echo_copy(tmp_path: Path) -> Path:
    """A private copy of the echo worker, free to be broken and fixed."""
    folder = tmp_path / "echo"
    shutil.copytree(ECHO, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.mark.anyio
async def test_an_import_error_gives_500_until_a_reload_fixes_it(
    anyio_backend: str, echo_copy: Path
) -> None:
    main = echo_copy / "worker.py"
    good = main.read_text()
    main.write_text("import pyflare_missing_dependency\n" + good)
    runtime = Miniflare(echo_copy / "wrangler.toml", clock="real")
    await runtime.start(strict=False)
    try:
        async with client_for(runtime) as http:
            broken = await http.get("/greeting")
            assert broken.status_code == 500
            assert "pyflare_missing_dependency" in broken.text
            assert "ModuleNotFoundError" in broken.text
            assert str(main.resolve()) in broken.text

            main.write_text(good)
            runtime.reload()
            fixed = await http.get("/greeting")
            assert fixed.status_code == 200
            assert fixed.text == "hello"
    finally:
        await runtime.close()


@pytest.mark.anyio
async def test_a_syntax_error_after_a_good_load_gives_500_and_recovers(
    anyio_backend: str, echo_copy: Path
) -> None:
    main = echo_copy / "worker.py"
    good = main.read_text()
    async with Miniflare(echo_copy / "wrangler.toml", clock="real") as runtime:
        async with client_for(runtime) as http:
            assert (await http.get("/greeting")).status_code == 200
            main.write_text(good + "\ndef broken(:\n")
            runtime.reload()
            broken = await http.get("/greeting")
            assert broken.status_code == 500
            assert "SyntaxError" in broken.text
            main.write_text(good)
            runtime.reload()
            assert (await http.get("/greeting")).text == "hello"


# internal routes


@pytest.mark.anyio
async def test_queue_stats_route_lists_every_queue_as_json(
    mf: Miniflare, client: httpx.AsyncClient
) -> None:
    response = await client.get("/__pyflare/queues")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    stats = response.json()
    assert set(stats) == {"echo-jobs"}
    for key in ("pending", "delayed", "in_flight", "acked", "retried", "dead_lettered", "dropped"):
        assert stats["echo-jobs"][key] == 0, key


@pytest.mark.anyio
async def test_queue_stats_route_counts_delivered_messages(
    mf: Miniflare, client: httpx.AsyncClient
) -> None:
    assert (await client.post("/send", content=b"job-1")).status_code == 202
    await mf.queues.drain()
    stats = (await client.get("/__pyflare/queues")).json()
    assert stats["echo-jobs"]["acked"] == 1
    assert stats["echo-jobs"]["pending"] == 0
    assert mf.worker is not None
    assert mf.worker.module.CONSUMED == [{"job": "job-1"}]


@pytest.mark.anyio
async def test_scheduled_route_runs_the_scheduled_handler_with_the_cron(
    mf: Miniflare, client: httpx.AsyncClient
) -> None:
    response = await client.get("/__scheduled", params={"cron": "*/5 * * * *"})
    assert response.status_code == 200
    assert response.text == "Ran scheduled event"
    assert mf.worker is not None
    [(cron, scheduled_ms)] = mf.worker.module.SCHEDULED
    assert cron == "*/5 * * * *"
    assert scheduled_ms > 1.6e12  # milliseconds since the epoch, near now


@pytest.mark.anyio
async def test_scheduled_route_takes_a_time_in_milliseconds(
    mf: Miniflare, client: httpx.AsyncClient
) -> None:
    response = await client.post("/__scheduled", params={"cron": "0 0 * * *", "time": "1000"})
    assert response.status_code == 200
    assert mf.worker is not None
    assert mf.worker.module.SCHEDULED == [("0 0 * * *", 1000)]


@pytest.mark.anyio
async def test_cdn_cgi_scheduled_route_runs_the_handler_too(
    mf: Miniflare, client: httpx.AsyncClient
) -> None:
    response = await client.get("/cdn-cgi/handler/scheduled", params={"cron": "1 * * * *"})
    assert response.status_code == 200
    assert mf.worker is not None
    assert [c for c, _ in mf.worker.module.SCHEDULED] == ["1 * * * *"]


@pytest.mark.anyio
async def test_scheduled_route_reports_a_failing_handler_as_500(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/__scheduled", params={"cron": "fail"})
    assert response.status_code == 500
    assert "scheduled handler failed on purpose" in response.text
