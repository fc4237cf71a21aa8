"""pyflare and Miniflare (what `wrangler dev` runs) share one R2 state folder: objects either
one writes, the other reads, byte for byte and with their metadata.

Needs Node and the `miniflare` npm package: set PYFLARE_MINIFLARE_DIR to a folder where
`npm install miniflare@4.20260426.0` ran (the test skips, saying so, otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from miniflare_py.r2 import open_bucket

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FIVE_MIB = 5 * 1024 * 1024

_SCRIPT = r"""
import { Miniflare } from "miniflare";
const [state, mode] = process.argv.slice(2);
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response('') } }",
  r2Buckets: { B: "shared-bucket" },
  r2Persist: state,
});
const bucket = await mf.getR2Bucket("B");
const out = {};
if (mode === "read") {
  for (const key of ["from-pyflare", "multipart-pyflare"]) {
    const o = await bucket.get(key);
    const bytes = new Uint8Array(await o.arrayBuffer());
    let sum = 0; for (const b of bytes) sum = (sum + b) % 65521;
    out[key] = { size: o.size, etag: o.etag, sum, head: new TextDecoder().decode(bytes.slice(0, 8)),
                 http: o.httpMetadata, custom: o.customMetadata, uploaded: o.uploaded.getTime() };
  }
  const listed = await bucket.list({ prefix: "", delimiter: "/" });
  out.list = { keys: listed.objects.map((o) => o.key), prefixes: listed.delimitedPrefixes };
} else {
  await bucket.put("from-miniflare", "written by miniflare",
                   { httpMetadata: { contentType: "text/plain" }, customMetadata: { by: "mf" } });
  const up = await bucket.createMultipartUpload("multipart-miniflare");
  const p1 = await up.uploadPart(1, new Uint8Array(5 * 1024 * 1024).fill(97));
  const p2 = await up.uploadPart(2, "tail");
  const done = await up.complete([p1, p2]);
  out.etag = done.etag;
}
console.log(JSON.stringify(out));
await mf.dispose();
"""


def _miniflare_dir() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the Miniflare interop test needs Node 18+")
    folder = os.environ.get("PYFLARE_MINIFLARE_DIR")
    if not folder or not (Path(folder) / "node_modules" / "miniflare").is_dir():
        pytest.skip(
            "set PYFLARE_MINIFLARE_DIR to a folder where `npm install miniflare@4.20260426.0` "
            "ran to compare with Miniflare"
        )
    return Path(folder)


def _run(folder: Path, state: Path, mode: str) -> dict:
    script = folder / "pyflare-r2-interop.mjs"
    script.write_text(_SCRIPT)
    done = subprocess.run(
        ["node", str(script), str(state / "v3" / "r2"), mode],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_miniflare_reads_what_pyflare_wrote_and_back(tmp_path: Path) -> None:
    folder = _miniflare_dir()
    bucket = open_bucket(tmp_path, "shared-bucket")
    try:
        put = await bucket.put(
            "from-pyflare",
            b"pyflare!" + bytes(range(256)) * 4,
            httpMetadata={"contentType": "application/x-test", "cacheControl": "no-cache"},
            customMetadata={"by": "pyflare"},
        )
        upload = await bucket.createMultipartUpload("multipart-pyflare")
        parts = [await upload.uploadPart(1, b"b" * FIVE_MIB), await upload.uploadPart(2, b"end")]
        multipart = await upload.complete(parts)
        await bucket.put("dir/inner", "x")
    finally:
        bucket.close()

    seen = _run(folder, tmp_path, "read")
    ours = seen["from-pyflare"]
    data = b"pyflare!" + bytes(range(256)) * 4
    assert ours["size"] == len(data) and ours["etag"] == put.etag
    assert ours["sum"] == sum(data) % 65521 and ours["head"] == "pyflare!"
    assert ours["http"] == {"contentType": "application/x-test", "cacheControl": "no-cache"}
    assert ours["custom"] == {"by": "pyflare"}
    assert ours["uploaded"] == int(put.uploaded.timestamp() * 1000)
    big = seen["multipart-pyflare"]
    assert big["size"] == FIVE_MIB + 3 and big["etag"] == multipart.etag
    assert big["sum"] == (ord("b") * FIVE_MIB + sum(b"end")) % 65521
    assert seen["list"] == {
        "keys": ["from-pyflare", "multipart-pyflare"],
        "prefixes": ["dir/"],
    }

    written = _run(folder, tmp_path, "write")
    bucket = open_bucket(tmp_path, "shared-bucket")
    try:
        theirs = await bucket.get("from-miniflare")
        assert await theirs.text() == "written by miniflare"
        assert theirs.httpMetadata == {"contentType": "text/plain"}
        assert theirs.customMetadata == {"by": "mf"}
        joined = await bucket.get("multipart-miniflare")
        assert joined.etag == written["etag"]
        assert await joined.bytes() == b"a" * FIVE_MIB + b"tail"
        tail = await bucket.get("multipart-miniflare", range={"suffix": 6})
        assert await tail.text() == "aatail"
    finally:
        bucket.close()
