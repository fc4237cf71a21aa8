"""End to end: `pyflare dev` serves [assets] before the worker and picks up edits."""

from __future__ import annotations

from pathlib import Path

import pytest
from dev_process import dev_process, poll
from helpers import write_worker

pytestmark = pytest.mark.slow

WORKER = """
from workers import Response

async def on_fetch(request, env):
    if request.url.endswith("/via-binding"):
        return await env.ASSETS.fetch("http://x/hello.txt")
    return Response("from the worker")
"""


def test_assets_come_first_and_follow_edits(tmp_path: Path) -> None:
    public = tmp_path / "public"
    (public / "docs").mkdir(parents=True)
    (public / "hello.txt").write_text("hello")
    (public / "docs" / "index.html").write_text("<h1>docs</h1>")
    (tmp_path / "secret.txt").write_text("secret")
    write_worker(tmp_path, WORKER, '[assets]\ndirectory = "public"\nbinding = "ASSETS"\n')
    with dev_process(["--no-persist"], cwd=tmp_path) as dev:
        hello = dev.client.get("/hello.txt")
        assert hello.text == "hello" and hello.headers["content-type"].startswith("text/plain")
        etag = hello.headers["etag"]
        assert dev.client.get("/hello.txt", headers={"If-None-Match": etag}).status_code == 304
        assert dev.client.get("/api/anything").text == "from the worker"
        docs = dev.client.get("/docs", follow_redirects=False)
        assert docs.status_code == 307 and docs.headers["location"] == "/docs/"
        assert dev.client.get("/docs/").text == "<h1>docs</h1>"
        assert dev.client.get("/via-binding").text == "hello"
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
            assert "secret" not in dev.client.get(path).text
        assert dev.client.post("/hello.txt").status_code == 405

        (public / "new.txt").write_text("added later")
        added = poll(lambda: dev.client.get("/new.txt").text, lambda t: t == "added later")
        assert added == "added later"
        (public / "hello.txt").write_text("edited")
        edited = poll(lambda: dev.client.get("/hello.txt"), lambda r: r.text == "edited")
        assert edited.headers["etag"] != etag
        dev.wait_for_output("Assets changed")
        assert "GET /hello.txt 200" in dev.output


def test_run_worker_first(tmp_path: Path) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "hello.txt").write_text("hello")
    write_worker(
        tmp_path,
        WORKER,
        '[assets]\ndirectory = "public"\nbinding = "ASSETS"\nrun_worker_first = true\n',
    )
    with dev_process(["--no-persist"], cwd=tmp_path) as dev:
        assert dev.client.get("/hello.txt").text == "from the worker"
        assert dev.client.get("/via-binding").text == "hello"


def test_a_missing_assets_folder_is_one_line(tmp_path: Path) -> None:
    write_worker(tmp_path, WORKER, '[assets]\ndirectory = "dist"\n')
    from dev_process import run_pyflare

    result = run_pyflare(["dev", "--no-persist"], cwd=tmp_path)
    assert result.returncode != 0
    err = result.stderr.strip()
    assert 'assets.directory = "dist": the folder' in err and "does not exist" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
