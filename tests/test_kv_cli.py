"""`pyflare kv key put|get|list|delete`, through click's CliRunner and the `pyflare` command."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import pyflare

from miniflare_py import Miniflare
from miniflare_py.clock import RealClock
from miniflare_py.kv import KvNamespace, open_storage

CONFIG = """
name = "app"
main = "worker.py"

[[kv_namespaces]]
binding = "CACHE"
id = "cache-id"

[[kv_namespaces]]
binding = "BOTH"
id = "prod-id"
preview_id = "dev-id"

[[kv_namespaces]]
binding = "BARE"
"""

WORKER = """
from workers import Response

async def on_fetch(request, env):
    return Response(await env.CACHE.get("greeting") or "none")
"""


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(CONFIG, WORKER)


def kv(*args: str) -> Result:
    return pyflare("kv", "key", *args)


def namespace(project: Path, namespace_id: str) -> KvNamespace:
    state = project / ".wrangler" / "state"
    return KvNamespace(open_storage(namespace_id, state), RealClock(), "KV", namespace_id)


def test_put_get_list_delete_print_what_wrangler_prints(project: Path) -> None:
    result = kv("put", "greeting", "héllo", "--binding", "CACHE", "--metadata", '{"lang": "fr"}')
    assert result.exit_code == 0, result.output
    assert result.output == (
        'Writing the value "héllo" to key "greeting" on namespace binding: "CACHE" '
        '(id: "cache-id") with metadata "{"lang":"fr"}".\n'
    )
    assert kv("get", "greeting", "--binding", "CACHE").stdout_bytes == "héllo".encode()
    assert kv("get", "greeting", "--binding", "CACHE", "--text").output == "héllo\n"
    listed = kv("list", "--binding", "CACHE")
    assert (
        listed.output
        == '[\n  {\n    "name": "greeting",\n    "metadata": {\n      "lang": "fr"\n    }\n  }\n]\n'
    )
    deleted = kv("delete", "greeting", "--binding", "CACHE", "--local")
    assert (
        deleted.output
        == 'Deleting the key "greeting" on namespace binding: "CACHE" (id: "cache-id").\n'
    )
    assert kv("list", "--binding", "CACHE").output == "[]\n"


def test_get_writes_the_stored_bytes_exactly(project: Path) -> None:
    data = bytes(range(256)) + b"\n\x00end"
    (project / "blob.bin").write_bytes(data)
    result = kv("put", "bin", "--path", "blob.bin", "--namespace-id", "raw")
    assert (
        result.output
        == 'Writing the contents of blob.bin to the key "bin" on namespace id: "raw".\n'
    )
    assert kv("get", "bin", "--namespace-id", "raw").stdout_bytes == data
    # --text decodes as UTF-8, replacing what is not
    assert kv("get", "bin", "--namespace-id", "raw", "--text").output.endswith("\x00end\n")


def test_a_missing_key_says_so_on_stderr_and_fails(project: Path) -> None:
    result = kv("get", "nothing", "--binding", "CACHE")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Value not found\n"


def test_ttl_expiration_and_prefix(project: Path) -> None:
    assert kv("put", "user:1", "a", "--binding", "CACHE", "--ttl", "3600").exit_code == 0
    assert (
        kv("put", "user:2", "b", "--binding", "CACHE", "--expiration", "2000000000").exit_code == 0
    )
    assert kv("put", "other", "c", "--binding", "CACHE").exit_code == 0
    keys = json.loads(kv("list", "--binding", "CACHE", "--prefix", "user:").output)
    assert [k["name"] for k in keys] == ["user:1", "user:2"]
    assert keys[1]["expiration"] == 2000000000
    assert set(keys[0]) == {"name", "expiration"}


def test_list_prints_every_key_not_only_the_first_thousand(project: Path) -> None:
    ns = namespace(project, "cache-id")
    try:

        async def fill() -> None:
            for i in range(1005):
                await ns.put(f"k{i:04d}", "v")

        asyncio.run(fill())
    finally:
        ns.storage.close()
    keys = json.loads(kv("list", "--binding", "CACHE").output)
    assert len(keys) == 1005 and keys[-1] == {"name": "k1004"}


def test_preview_rules_are_wranglers(project: Path) -> None:
    both = kv("put", "k", "v", "--binding", "BOTH")
    assert both.exit_code == 1
    assert both.stderr == (
        'Error: BOTH has both a namespace ID and a preview ID. Specify "--preview" or '
        '"--preview false" to avoid writing data to the wrong namespace.\n'
    )
    assert 'id: "dev-id"' in kv("put", "k", "dev", "--binding", "BOTH", "--preview").output
    assert (
        'id: "prod-id"' in kv("put", "k", "prod", "--binding", "BOTH", "--preview", "false").output
    )
    # get and list read the production id unless told otherwise, as wrangler's do
    assert kv("get", "k", "--binding", "BOTH").output == "prod"
    assert kv("get", "k", "--binding", "BOTH", "--preview").output == "dev"
    assert kv("get", "k", "--binding", "BOTH", "--no-preview").output == "prod"
    # no id at all: the binding name, as `wrangler dev` and `pyflare dev` name the namespace
    assert 'id: "BARE"' in kv("put", "k", "v", "--binding", "BARE").output
    missing = kv("get", "k", "--binding", "BARE")
    assert missing.stderr == (
        "Error: No namespace ID found for BARE. Add one to your wrangler config file or pass it "
        "via `--namespace-id`.\n"
    )
    assert (
        "No preview ID found for CACHE" in kv("get", "k", "--binding", "CACHE", "--preview").stderr
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["put", "k", "v"], 2, "Exactly one of the arguments binding and namespace-id is required"),
        (["put", "k", "v", "--binding", "CACHE", "--namespace-id", "x"], 2, "mutually exclusive"),
        (["put", "k", "--binding", "CACHE"], 2, "Exactly one of the arguments value and path"),
        (["put", "k", "v", "--path", "f", "--binding", "CACHE"], 2, "value and path are mutually"),
        (["put", "k", "v", "--binding", "CACHE", "--metadata", "{bad"], 2, "not valid JSON"),
        (["put", "k", "v", "--binding", "NOPE"], 1, 'binding name "NOPE" was not found'),
        (["put", "k", "v", "--binding", "CACHE", "--ttl", "5"], 1, "Invalid expiration_ttl of 5"),
        (["put", "k" * 513, "v", "--binding", "CACHE"], 1, "KV PUT failed: 414"),
        (["put", "..", "v", "--binding", "CACHE"], 1, '".." is not allowed as a key name.'),
        (["list", "--binding", "CACHE", "--remote"], 2, "cannot use --remote"),
    ],
)
def test_mistakes_are_one_line_and_store_nothing(
    project: Path, args: list[str], code: int, message: str
) -> None:
    result = kv(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert kv("list", "--binding", "CACHE").output == "[]\n"


def test_config_mistakes_name_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert kv("get", "k", "--binding", "KV").stderr == (
        "Error: --binding specified, but no config file was found.\n"
    )
    # without a config, --namespace-id works on .wrangler/state here
    assert kv("put", "k", "v", "--namespace-id", "loose").exit_code == 0
    assert (tmp_path / ".wrangler" / "state" / "v3" / "kv" / "loose" / "blobs").is_dir()
    (tmp_path / "wrangler.toml").write_text('name = "x"\n')
    assert kv("get", "k", "--binding", "KV").stderr.startswith(
        "Error: No KV Namespaces configured!"
    )


@pytest.mark.anyio
async def test_the_cli_and_a_running_worker_share_one_namespace(project: Path) -> None:
    # (the CLI runs its own event loop: in a thread here, beside the test's)
    put = await asyncio.to_thread(kv, "put", "greeting", "from the cli", "--binding", "CACHE")
    assert put.exit_code == 0
    state = project / ".wrangler" / "state"
    async with Miniflare(project / "wrangler.toml", persist_to=state) as mf:
        assert await (await mf.fetch("/")).text() == "from the cli"
        await mf.env.CACHE.put("greeting", "from the worker")
        # while the worker runs, the CLI sees its write at once
        got = await asyncio.to_thread(kv, "get", "greeting", "--binding", "CACHE")
        assert got.output == "from the worker"
