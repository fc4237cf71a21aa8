"""`pyflare dev` in-process: option checks, start-up errors as one line, internal routes."""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from miniflare_py import Miniflare
from miniflare_py.cli import main
from miniflare_py.dev import DevError, bind_socket
from miniflare_py.server import create_app

pytestmark = pytest.mark.usefixtures("restore_engine_logger")

ECHO = Path(__file__).parent / "workers" / "echo"


@pytest.fixture
def echo_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "echo"
    shutil.copytree(ECHO, folder, ignore=shutil.ignore_patterns("__pycache__", ".wrangler"))
    return folder


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def dev(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, ["dev", *args])


def output_lines(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in result.output.splitlines() if line.strip()]


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.startswith("pyflare, version ")
    help_text = runner.invoke(main, ["dev", "--help"]).output
    for option in ("--config", "--env", "--ip", "--port", "--persist-to", "--no-persist"):
        assert option in help_text
    for option in ("--var", "--no-reload", "--log-level"):
        assert option in help_text


def test_a_port_already_in_use_is_one_line_naming_the_port(
    echo_copy: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = dev(["--port", str(taken_port), "--no-persist"], echo_copy, monkeypatch)
    assert result.exit_code == 1
    [line] = output_lines(result)
    assert f"Port {taken_port}" in line and "already in use" in line
    assert result.exc_info is None or result.exc_info[0] is SystemExit


def test_a_port_out_of_range_is_a_usage_error(
    echo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 70000 used to wrap around to port 4464 and serve there.
    result = dev(["--port", "70000"], echo_copy, monkeypatch)
    assert result.exit_code == 2
    assert "'--port': 70000 is not in the range" in result.output


def test_an_address_that_cannot_be_used_is_one_line() -> None:
    with pytest.raises(DevError, match=r"Cannot listen on 192\.0\.2\.1:0"):
        bind_socket("192.0.2.1", 0)  # TEST-NET-1: never one of this machine's addresses


def test_bind_socket_picks_a_free_port_for_port_0() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_no_config_in_the_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = dev(["--port", "0"], tmp_path, monkeypatch)
    assert result.exit_code == 1
    [line] = output_lines(result)
    assert "No wrangler.toml, wrangler.jsonc or wrangler.json found" in line


# internal routes on the dev server


def client_for(runtime: Miniflare) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(lambda: runtime)),
        base_url="http://testserver",
    )


@pytest.mark.anyio
async def test_a_bad_scheduled_time_is_a_400_not_a_crash(anyio_backend: str) -> None:
    async with Miniflare(ECHO / "wrangler.toml", clock="real") as runtime:
        async with client_for(runtime) as http:
            response = await http.get("/__scheduled", params={"time": "abc"})
    assert response.status_code == 400
    assert "Invalid time 'abc'" in response.text


@pytest.mark.anyio
async def test_scheduled_route_on_a_worker_that_fails_to_import_is_a_500_with_the_error(
    anyio_backend: str, echo_copy: Path
) -> None:
    main_py = echo_copy / "worker.py"
    main_py.write_text("import pyflare_missing_dependency\n" + main_py.read_text())
    runtime = Miniflare(echo_copy / "wrangler.toml", clock="real")
    await runtime.start(strict=False)
    try:
        async with client_for(runtime) as http:
            response = await http.get("/__scheduled")
        assert response.status_code == 500
        assert "pyflare_missing_dependency" in response.text
    finally:
        await runtime.close()


@pytest.mark.anyio
async def test_internal_routes_get_a_request_line_too(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="miniflare_py.http")
    async with Miniflare(ECHO / "wrangler.toml", clock="real") as runtime:
        async with client_for(runtime) as http:
            await http.get("/__scheduled", params={"cron": "*/5 * * * *"})
            await http.get("/__pyflare/queues")
            await http.post("/__pyflare/queues")
    lines = [r.getMessage() for r in caplog.records if r.name == "miniflare_py.http"]
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "GET /__scheduled?cron=%2A%2F5+%2A+%2A+%2A+%2A 200 OK",
        "GET /__pyflare/queues 200 OK",
        "POST /__pyflare/queues 405 Method Not Allowed",
    ]
