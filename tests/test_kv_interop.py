"""One state folder, two emulators: what real Miniflare writes to KV, pyflare reads, and back.

Needs Node and the npm package `miniflare@4.20260426.0`, found in the folder named by
`PYFLARE_MINIFLARE_DIR` or in `~/.cache/pyflare/miniflare-4.20260426.0` (`.ci/run` installs it
there when npm is available); without them the tests are skipped, saying which is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miniflare_py.clock import RealClock, VirtualClock
from miniflare_py.kv import KvNamespace, blob_folder, kv_sqlite_path, open_storage

VERSION = "4.20260426.0"
NAMESPACE = "interop-namespace"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyflare"

pytestmark = pytest.mark.slow


def _miniflare_dir() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the KV interop tests drive real Miniflare")
    folder = Path(os.environ.get("PYFLARE_MINIFLARE_DIR") or CACHE / f"miniflare-{VERSION}")
    package = folder / "node_modules" / "miniflare" / "package.json"
    if not package.is_file():
        pytest.skip(
            f"npm package miniflare@{VERSION} not found in {folder} "
            f"(install it there: npm install --prefix {folder} miniflare@{VERSION})"
        )
    found = json.loads(package.read_text())["version"]
    if found != VERSION:
        pytest.skip(f"{package} is miniflare {found}, these tests pin {VERSION}")
    return folder


# A worker that runs inside Miniflare's workerd: POST a list of operations, get their results.
WORKER = """
const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (s) => new Uint8Array(s.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
export default {
  async fetch(request, env) {
    const out = [];
    for (const [op, ...args] of await request.json()) {
      try {
        if (op === "put") out.push((await env.KV.put(args[0], args[1], args[2])) ?? null);
        else if (op === "putHex") {
          out.push((await env.KV.put(args[0], unhex(args[1]), args[2])) ?? null);
        }
        else if (op === "get") out.push(await env.KV.get(args[0]));
        else if (op === "getHex") {
          const value = await env.KV.get(args[0], "arrayBuffer");
          out.push(value === null ? null : hex(new Uint8Array(value)));
        } else if (op === "getWithMetadata") out.push(await env.KV.getWithMetadata(args[0]));
        else if (op === "delete") out.push(await env.KV.delete(args[0]) ?? null);
        else if (op === "list") out.push(await env.KV.list(args[0]));
      } catch (e) {
        out.push({ error: e.message });
      }
    }
    return Response.json(out);
  },
};
"""

RUNNER = """
import { Miniflare } from "miniflare";
import { readFileSync } from "node:fs";
const [script, persist, namespace, ops] = process.argv.slice(2);
const mf = new Miniflare({
  modules: true,
  scriptPath: script,
  compatibilityDate: "2026-04-01",
  kvNamespaces: { KV: namespace },
  kvPersist: persist,
});
try {
  const body = readFileSync(ops);
  const res = await mf.dispatchFetch("http://localhost/", { method: "POST", body });
  process.stdout.write(await res.text());
} finally {
  await mf.dispose();
}
"""


@pytest.fixture
def miniflare(tmp_path: Path) -> Iterator[Any]:
    """`miniflare(ops)`: run `ops` through real Miniflare's KV on `tmp_path / "state"`."""
    folder = _miniflare_dir()
    script = tmp_path / "worker.mjs"
    script.write_text(WORKER)
    runner = folder / f"pyflare-kv-interop-{os.getpid()}.mjs"  # resolves `miniflare` there
    runner.write_text(RUNNER)

    def run(ops: list[list[Any]]) -> list[Any]:
        file = tmp_path / "ops.json"
        file.write_text(json.dumps(ops))
        persist = tmp_path / "state" / "v3" / "kv"
        done = subprocess.run(
            ["node", str(runner), str(script), str(persist), NAMESPACE, str(file)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # Miniflare resolves the worker's modules from here
        )
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout))

    try:
        yield run
    finally:
        runner.unlink(missing_ok=True)


def _namespace(state: Path, clock: Any = None) -> KvNamespace:
    return KvNamespace(open_storage(NAMESPACE, state), clock or RealClock(), "KV", NAMESPACE)


@pytest.mark.anyio
async def test_pyflare_reads_what_miniflare_wrote(miniflare: Any, tmp_path: Path) -> None:
    now = int(time.time())
    results = miniflare(
        [
            ["put", "text", "héllo wörld"],
            ["putHex", "binary", "00ff10fe"],
            ["put", "meta", "v", {"metadata": {"tag": "x", "n": [1, 2.5]}}],
            ["put", "ttl", "expires", {"expirationTtl": 3600}],
            ["put", "gone", "deleted below"],
            ["delete", "gone"],
            ["put", "over", "first"],
            ["put", "over", "second"],
            ["put", "clé/😀", "unicode key"],
            ["put", "big", "x" * 300_000],
        ]
    )
    assert all(r is None for r in results), results
    state = tmp_path / "state"
    # Miniflare's files are where pyflare looks for them
    assert kv_sqlite_path(state, NAMESPACE).is_file()
    assert len(list(blob_folder(state, NAMESPACE).iterdir())) >= 7

    kv = _namespace(state)
    try:
        assert await kv.get("text") == "héllo wörld"
        assert bytes(await kv.get("binary", "arrayBuffer")) == bytes.fromhex("00ff10fe")
        assert await kv.getWithMetadata("meta") == {
            "value": "v",
            "metadata": {"tag": "x", "n": [1, 2.5]},
            "cacheStatus": None,
        }
        assert await kv.get("gone") is None
        assert await kv.get("over") == "second"
        assert await kv.get("clé/😀") == "unicode key"
        assert await kv.get("big") == "x" * 300_000
        listed = (await kv.list())["keys"]
        assert [k["name"] for k in listed] == [
            "big",
            "binary",
            "clé/😀",
            "meta",
            "over",
            "text",
            "ttl",
        ]
        expiration = next(k["expiration"] for k in listed if k["name"] == "ttl")
        assert now + 3600 <= expiration <= now + 3602
        # pyflare changes what Miniflare wrote: an overwrite replaces the old value's file
        await kv.put("over", "third")
        await kv.delete("text")
    finally:
        kv.storage.close()
    assert miniflare([["get", "over"], ["get", "text"]]) == ["third", None]


@pytest.mark.anyio
async def test_miniflare_reads_what_pyflare_wrote(miniflare: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    kv = _namespace(state)
    now = int(time.time())
    try:
        await kv.put("text", "héllo wörld")
        await kv.put("binary", bytes.fromhex("00ff10fe"))
        await kv.put("meta", "v", metadata={"tag": "x", "n": [1, 2.5]})
        await kv.put("ttl", "expires", expirationTtl=3600)
        await kv.put("gone", "deleted below")
        await kv.delete("gone")
        await kv.put("over", "first")
        await kv.put("over", "second")
        await kv.put("clé/😀", "unicode key")
        await kv.put("big", "x" * 300_000)
    finally:
        kv.storage.close()

    results = miniflare(
        [
            ["get", "text"],
            ["getHex", "binary"],
            ["getWithMetadata", "meta"],
            ["get", "gone"],
            ["get", "over"],
            ["get", "clé/😀"],
            ["get", "big"],
            ["list", {}],
            ["list", {"prefix": "b", "limit": 1}],
            ["put", "from-miniflare", "hi"],
        ]
    )
    text, binary, meta, gone, over, unicode_key, big, listed, page, _ = results
    assert (text, binary, gone, over, unicode_key) == (
        "héllo wörld",
        "00ff10fe",
        None,
        "second",
        "unicode key",
    )
    assert meta == {"value": "v", "metadata": {"tag": "x", "n": [1, 2.5]}, "cacheStatus": None}
    assert big == "x" * 300_000
    names = [k["name"] for k in listed["keys"]]
    assert names == ["big", "binary", "clé/😀", "meta", "over", "text", "ttl"]
    expiration = next(k["expiration"] for k in listed["keys"] if k["name"] == "ttl")
    assert now + 3600 <= expiration <= now + 3602
    # a cursor pyflare would make is the one Miniflare made
    assert page["keys"] == [{"name": "big"}] and page["cursor"] == "Ymln"

    kv = _namespace(state)
    try:
        assert await kv.get("from-miniflare") == "hi"
    finally:
        kv.storage.close()


@pytest.mark.anyio
async def test_an_expiry_pyflare_wrote_is_honoured_by_miniflare(
    miniflare: Any, tmp_path: Path
) -> None:
    # Written an hour ago on a virtual clock with a one-minute TTL: expired in real time.
    state = tmp_path / "state"
    kv = _namespace(state, VirtualClock(start=time.time() - 3600))
    try:
        await kv.put("stale", "old", expirationTtl=60)
        await kv.put("fresh", "new", expirationTtl=7200)
    finally:
        kv.storage.close()
    get_stale, get_fresh, listed = miniflare([["get", "stale"], ["get", "fresh"], ["list", {}]])
    assert (get_stale, get_fresh) == (None, "new")
    assert [k["name"] for k in listed["keys"]] == ["fresh"]
