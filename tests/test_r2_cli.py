"""`pyflare r2 object put|get|delete` and R2 through a worker's config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.cli import main
from miniflare_py.config import ConfigError, load_config
from miniflare_py.r2 import open_bucket

pytestmark = pytest.mark.anyio


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project('name = "w"\nmain = "worker.py"\n')


def test_put_get_delete_round_trip(project: Path) -> None:
    data = bytes(range(256)) * 10
    (project / "in.bin").write_bytes(data)
    runner = CliRunner()
    put = runner.invoke(
        main,
        [
            "r2",
            "object",
            "put",
            "my-bucket/dir/k.bin",
            "--file",
            "in.bin",
            "--ct",
            "app/x",
            "--cache-control",
            "no-store",
            "--expires",
            "1700000000000",
            "--local",
        ],
    )
    assert put.exit_code == 0, put.output
    assert put.output == 'Creating object "dir/k.bin" in bucket "my-bucket".\nUpload complete.\n'
    got = runner.invoke(main, ["r2", "object", "get", "my-bucket/dir/k.bin", "--pipe"])
    assert got.exit_code == 0 and got.stdout_bytes == data
    runner.invoke(main, ["r2", "object", "get", "my-bucket/dir/k.bin", "--file", "out.bin"])
    assert (project / "out.bin").read_bytes() == data
    bucket = open_bucket(project / ".wrangler" / "state", "my-bucket")
    try:
        import asyncio

        head = asyncio.run(bucket.head("dir/k.bin"))
        assert head.httpMetadata["contentType"] == "app/x"
        assert head.httpMetadata["cacheControl"] == "no-store"
        assert head.httpMetadata["cacheExpiry"].timestamp() == 1_700_000_000
    finally:
        bucket.close()
    deleted = runner.invoke(main, ["r2", "object", "delete", "my-bucket/dir/k.bin"])
    assert (
        deleted.output == 'Deleting object "dir/k.bin" from bucket "my-bucket".\nDelete complete.\n'
    )
    missing = runner.invoke(main, ["r2", "object", "get", "my-bucket/dir/k.bin", "--pipe"])
    assert missing.exit_code == 1
    assert missing.output.strip().endswith("Error: The specified key does not exist.")


def test_pipe_and_persist_to(project: Path) -> None:
    runner = CliRunner()
    state = project / "elsewhere"
    result = runner.invoke(
        main, ["r2", "object", "put", "b/k", "--pipe", "--persist-to", str(state)], input=b"piped\n"
    )
    assert result.exit_code == 0, result.output
    assert (state / "v3" / "r2" / "b" / "blobs").is_dir()
    got = runner.invoke(main, ["r2", "object", "get", "b/k", "--pipe", "--persist-to", str(state)])
    assert got.stdout_bytes == b"piped\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["put", "b/k"], "Either the --file or --pipe options are required."),
        (["put", "b/k", "--file", "x", "--pipe"], "--file and --pipe cannot be used together."),
        (["put", "nokey", "--pipe"], "The object path must be in the form of {bucket}/{key}"),
        (["put", "b/k", "--file", "missing.bin"], 'The file "missing.bin" does not exist.'),
        (["put", "b/k", "--pipe", "--remote"], "cannot use --remote"),
        (["get", "b/"], "The object path must be in the form of {bucket}/{key}"),
    ],
)
def test_bad_command_lines(project: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["r2", "object", *args], input=b"")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


async def test_a_worker_uses_its_bucket_and_state_is_shared(tmp_path: Path) -> None:
    source = """
    from workers import Response

    async def on_fetch(request, env):
        if request.method == "PUT":
            await env.BUCKET.put("k", await request.text(), httpMetadata={"contentType": "text/x"})
            return Response("stored")
        obj = await env.BUCKET.get("k")
        if obj is None:
            return Response("missing", status=404)
        return Response(await obj.text(), headers={"etag": obj.httpEtag})
    """
    config = write_worker(
        tmp_path,
        source,
        '[[r2_buckets]]\nbinding = "BUCKET"\nbucket_name = "files"\npreview_bucket_name = "p"\n'
        '[[r2_buckets]]\nbinding = "SAME"\nbucket_name = "files"\n',
    )
    state = tmp_path / "state"
    async with Miniflare(config, persist_to=state) as mf:
        assert (await mf.fetch("/", method="PUT", body="hello")).status == 200
        response = await mf.fetch("/")
        assert await response.text() == "hello"
        assert mf.r2["BUCKET"] is mf.r2["SAME"] is mf.env.SAME
    bucket = open_bucket(state, "files")
    try:
        found = await bucket.get("k")
        assert await found.text() == "hello"
    finally:
        bucket.close()


def test_config_errors(tmp_path: Path) -> None:
    config = write_worker(tmp_path, "", '[[r2_buckets]]\nbucket_name = "b"\n')
    with pytest.raises(ConfigError, match=r'r2_buckets\[0\] is missing required key "binding"'):
        load_config(config)
    config = write_worker(
        tmp_path, "", '[[r2_buckets]]\nbinding = "B"\nbucket_name = "b"\njurisdiction = "mars"\n'
    )
    with pytest.raises(
        ConfigError, match=r'r2_buckets\[0\].jurisdiction = "mars" is not a jurisdiction'
    ):
        load_config(config)
