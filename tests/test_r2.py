"""R2 buckets through the binding API: the calls and results the SDK's own R2 tests expect,
plus R2's limits, conditions, ranges, multipart rules and error texts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from miniflare_py.r2 import R2Bucket, R2Error, open_bucket

try:  # JavaScript's Headers where `workers` emulates JS (the SDK's `Headers` is a type name)
    from miniflare_py.workers.jsheaders import Headers  # type: ignore[import-not-found]
except ImportError:
    from miniflare_py.workers import Headers  # type: ignore[assignment]

pytestmark = pytest.mark.anyio

FIVE_MIB = 5 * 1024 * 1024


@pytest.fixture(params=["persist", "memory"])
def bucket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[R2Bucket]:
    opened = open_bucket(tmp_path if request.param == "persist" else None, "test-bucket")
    yield opened
    opened.close()


async def test_put_get_text_and_fields(bucket: R2Bucket) -> None:
    obj = await bucket.put("k", "Hello from R2 binding!")
    assert obj["key"] == obj.key == "k"
    assert obj["size"] == obj.size == 22
    assert isinstance(obj["version"], str) and len(obj.version) == 32
    assert obj.etag == hashlib.md5(b"Hello from R2 binding!").hexdigest()
    assert obj.httpEtag == f'"{obj.etag}"'
    assert obj.uploaded.tzinfo is not None
    assert obj.storageClass == "Standard"
    body = await bucket.get("k")
    assert body is not None and body.bodyUsed is False
    assert await body.text() == "Hello from R2 binding!"
    assert body["bodyUsed"] is True
    with pytest.raises(TypeError, match="Body has already been used"):
        await body.text()


async def test_body_readers(bucket: R2Bucket) -> None:
    await bucket.put(
        "j", json.dumps({"a": [1, 2]}), httpMetadata={"contentType": "application/json"}
    )
    assert await (await bucket.get("j")).json() == {"a": [1, 2]}
    assert (await (await bucket.get("j")).json()).a == [1, 2]
    assert await (await bucket.get("j")).bytes() == b'{"a": [1, 2]}'
    view = await (await bucket.get("j")).arrayBuffer()
    assert isinstance(view, memoryview) and bytes(view) == b'{"a": [1, 2]}'
    chunks = [
        bytes(c) if not isinstance(c, bytes) else c async for c in (await bucket.get("j")).body
    ]
    assert b"".join(c if isinstance(c, bytes) else c.to_bytes() for c in chunks) == b'{"a": [1, 2]}'


async def test_value_types(bucket: R2Bucket) -> None:
    async def agen() -> AsyncIterator[bytes]:
        yield b"ab"
        yield "cd"  # str chunks are UTF-8

    cases = {
        "none": (None, b""),
        "bytes": (b"\x00\xff", b"\x00\xff"),
        "bytearray": (bytearray(b"xy"), b"xy"),
        "memoryview": (memoryview(b"mv"), b"mv"),
        "list": ([b"1", b"2"], b"12"),
        "async": (agen(), b"abcd"),
    }
    for key, (value, expected) in cases.items():
        obj = await bucket.put(key, value)
        assert obj.size == len(expected), key
        assert await (await bucket.get(key)).bytes() == expected, key
    with pytest.raises(TypeError, match="value must be"):
        await bucket.put("bad", 12)


async def test_file_like_and_body_as_value(bucket: R2Bucket, tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"file body" * 1000)
    with source.open("rb") as file:
        await bucket.put("f", file)
    assert await (await bucket.get("f")).bytes() == b"file body" * 1000
    await bucket.put("copy", await bucket.get("f"))
    assert (await bucket.head("copy")).size == 9000


async def test_options_forms(bucket: R2Bucket) -> None:
    await bucket.put("a", "v", {"customMetadata": {"source": "dict"}})
    assert (await bucket.head("a")).customMetadata == {"source": "dict"}
    await bucket.put("b", "v", None)
    assert await (await bucket.get("b", None)).text() == "v"
    await bucket.put("c", "v", customMetadata={"n": 3, "t": True})
    assert (await bucket.head("c")).customMetadata == {"n": "3", "t": "true"}
    assert len((await bucket.list(None)).objects) == 3


async def test_http_metadata_from_dict_and_headers(bucket: R2Bucket) -> None:
    expiry = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    meta = {
        "contentType": "text/plain",
        "contentLanguage": "en-US",
        "contentDisposition": "inline",
        "contentEncoding": "identity",
        "cacheControl": "max-age=3600",
        "cacheExpiry": expiry,
    }
    await bucket.put("h", "x", httpMetadata=meta)
    head = await bucket.head("h")
    assert head["httpMetadata"] == meta
    headers = Headers()
    head.writeHttpMetadata(headers)
    assert headers.get("content-type") == "text/plain"
    assert headers.get("cache-control") == "max-age=3600"
    assert headers.get("expires") == "Wed, 02 Jan 2030 03:04:05 GMT"
    await bucket.put(
        "h2",
        "x",
        httpMetadata=Headers(
            {"Content-Type": "image/png", "Expires": "Wed, 02 Jan 2030 03:04:05 GMT"}
        ),
    )
    assert (await bucket.head("h2")).httpMetadata == {
        "contentType": "image/png",
        "cacheExpiry": expiry,
    }


async def test_missing_and_delete(bucket: R2Bucket) -> None:
    assert await bucket.get("nope") is None
    assert await bucket.head("nope") is None
    await bucket.delete("nope")
    for key in ("x1", "x2", "x3"):
        await bucket.put(key, key)
    await bucket.delete("x1")
    await bucket.delete(["x2", "x3"])
    assert (await bucket.list()).objects == []


async def test_overwrite_replaces_body_and_blob(tmp_path: Path) -> None:
    bucket = open_bucket(tmp_path, "b")
    await bucket.put("k", "version1")
    await bucket.put("k", "version2")
    assert await (await bucket.get("k")).text() == "version2"
    blobs = list((tmp_path / "v3" / "r2" / "b" / "blobs").iterdir())
    assert len(blobs) == 1  # the old body's file is gone
    await bucket.delete("k")
    assert list((tmp_path / "v3" / "r2" / "b" / "blobs").iterdir()) == []
    bucket.close()


async def test_ranges(bucket: R2Bucket) -> None:
    await bucket.put("r", "0123456789ABCDEF")

    async def read(**options: object) -> str:
        return await (await bucket.get("r", **options)).text()

    assert await read(range={"offset": 4, "length": 6}) == "456789"
    assert await read(range={"suffix": 4}) == "CDEF"
    assert await read(range={"offset": 10}) == "ABCDEF"
    assert await read(range={"length": 3}) == "012"
    assert await read(range={"offset": 14, "length": 10}) == "EF"
    assert await read(range={"suffix": 100}) == "0123456789ABCDEF"
    assert await read(range=Headers({"Range": "bytes=2-4"})) == "234"
    assert await read(range=Headers({"Range": "bytes=-3"})) == "DEF"
    assert await read(range=Headers({"Range": "bytes=1-2,4-5"})) == "0123456789ABCDEF"
    ranged = await bucket.get("r", range={"offset": 4, "length": 6})
    assert ranged.range == {"offset": 4, "length": 6} and ranged.size == 16


@pytest.mark.parametrize(
    ("range_", "error", "text"),
    [
        ({"offset": -1}, ValueError, r"Starting offset \(-1\) must be greater than or equal to 0"),
        ({"offset": 1.5}, ValueError, "must be an integer, not floating point"),
        ({"length": -2}, ValueError, r"Length \(-2\) must be greater than or equal to 0"),
        ({"suffix": 2, "offset": 1}, TypeError, "Suffix is incompatible with offset."),
        ({"suffix": 2, "length": 1}, TypeError, "Suffix is incompatible with length."),
        ({"offset": 17}, R2Error, r"get: The requested range is not satisfiable \(10039\)"),
        ({"length": 0}, R2Error, r"\(10039\)"),
        ({"suffix": 0}, R2Error, r"\(10039\)"),
    ],
)
async def test_bad_ranges(bucket: R2Bucket, range_: dict, error: type, text: str) -> None:
    await bucket.put("r", "0123456789ABCDEF")
    with pytest.raises(error, match=text):
        await bucket.get("r", range=range_)


async def test_conditional_get(bucket: R2Bucket) -> None:
    obj = await bucket.put("c", "body")
    hit = await bucket.get("c", onlyIf={"etagMatches": obj.etag})
    assert await hit.text() == "body"
    miss = await bucket.get("c", onlyIf={"etagDoesNotMatch": obj.etag})
    assert miss is not None and not hasattr(miss, "text") and miss.key == "c"
    before = obj.uploaded - dt.timedelta(seconds=5)
    after = obj.uploaded + dt.timedelta(seconds=5)
    assert hasattr(await bucket.get("c", onlyIf={"uploadedAfter": before}), "text")
    assert not hasattr(await bucket.get("c", onlyIf={"uploadedAfter": after}), "text")
    assert hasattr(await bucket.get("c", onlyIf={"uploadedBefore": after}), "text")
    assert not hasattr(await bucket.get("c", onlyIf={"uploadedBefore": before}), "text")
    assert hasattr(await bucket.get("c", onlyIf=Headers({"If-Match": f'"{obj.etag}"'})), "text")
    assert not hasattr(await bucket.get("c", onlyIf=Headers({"If-None-Match": "*"})), "text")
    assert not hasattr(
        await bucket.get("c", onlyIf=Headers({"If-None-Match": f'"x", W/"{obj.etag}"'})), "text"
    )
    with pytest.raises(TypeError, match="should not be wrapped in quotes"):
        await bucket.get("c", onlyIf={"etagMatches": f'"{obj.etag}"'})
    with pytest.raises(ValueError, match="Unclosed double quote for Etag"):
        await bucket.get("c", onlyIf=Headers({"If-Match": '"abc'}))
    with pytest.raises(ValueError, match="Comma was expected"):
        await bucket.get("c", onlyIf=Headers({"If-Match": '"a" "b"'}))


async def test_conditional_put(bucket: R2Bucket) -> None:
    assert await bucket.put("p", "v1", onlyIf={"etagDoesNotMatch": "*"}) is not None
    # An object exists now: "only if none exists" fails, and put returns None.
    assert await bucket.put("p", "v2", onlyIf={"etagDoesNotMatch": "*"}) is None
    assert await (await bucket.get("p")).text() == "v1"
    current = await bucket.head("p")
    assert await bucket.put("p", "v3", onlyIf={"etagMatches": current.etag}) is not None
    assert await (await bucket.get("p")).text() == "v3"
    assert await bucket.put("missing", "v", onlyIf={"etagMatches": "abc"}) is None


async def test_checksums(bucket: R2Bucket) -> None:
    data = b"checked body"
    sha = hashlib.sha256(data)
    obj = await bucket.put("s", data, sha256=sha.hexdigest())
    assert bytes(obj.checksums.sha256) == sha.digest()
    assert bytes(obj.checksums.md5) == hashlib.md5(data).digest()
    assert obj.checksums.toJSON() == {
        "sha256": sha.hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
    }
    await bucket.put("m", data, md5=hashlib.md5(data).digest())
    with pytest.raises(R2Error) as caught:
        await bucket.put("bad", data, sha1="00" * 20)
    text = str(caught.value)
    assert text.startswith("put: The SHA-1 checksum you specified did not match what we received.")
    assert text.endswith(f"Actual SHA-1 was: {hashlib.sha1(data).hexdigest()} (10037)")
    assert await bucket.head("bad") is None
    with pytest.raises(TypeError, match=r"You cannot specify multiple hashing algorithms\."):
        await bucket.put("x", data, md5="0" * 32, sha1="0" * 40)
    with pytest.raises(TypeError, match="SHA-256 is 64 hex characters, not 3"):
        await bucket.put("x", data, sha256="abc")
    with pytest.raises(TypeError, match="MD5 is 16 bytes, not 2"):
        await bucket.put("x", data, md5=b"ab")


async def test_limits(bucket: R2Bucket) -> None:
    await bucket.put("k" * 1024, "ok")
    await bucket.put("é" * 512, "ok")  # 1024 bytes of UTF-8
    with pytest.raises(R2Error, match=r"^put: The specified object name is not valid. \(10020\)$"):
        await bucket.put("k" * 1025, "x")
    with pytest.raises(R2Error, match=r"\(10020\)"):
        await bucket.put("é" * 513, "x")
    with pytest.raises(R2Error, match=r"^get: The specified object name is not valid"):
        await bucket.get("k" * 1025)
    with pytest.raises(R2Error, match=r"\(10020\)"):
        await bucket.put("", "x")
    await bucket.put("meta", "x", customMetadata={"k": "v" * 2047})
    with pytest.raises(
        R2Error,
        match=r"^put: Your metadata headers exceed the maximum allowed metadata size. \(10012\)$",
    ):
        await bucket.put("meta", "x", customMetadata={"k": "v" * 2048})
    with pytest.raises(
        R2Error, match=r"^list: MaxKeys params must be positive integer <= 1000. \(10022\)$"
    ):
        await bucket.list(limit=0)
    with pytest.raises(R2Error, match=r"\(10022\)"):
        await bucket.list(limit=1001)
    with pytest.raises(ValueError, match="Unsupported include value nope"):
        await bucket.list(include=["nope"])


async def test_list_prefix_limit_cursor(bucket: R2Bucket) -> None:
    for i in range(5):
        await bucket.put(f"_test/paginate/{i:03d}", f"val-{i}")
    await bucket.put("_test/other", "x")
    page1 = await bucket.list(prefix="_test/paginate/", limit=2)
    assert [o.key for o in page1.objects] == ["_test/paginate/000", "_test/paginate/001"]
    assert page1["truncated"] and page1["cursor"]
    page2 = await bucket.list(prefix="_test/paginate/", limit=2, cursor=page1["cursor"])
    page3 = await bucket.list({"prefix": "_test/paginate/", "limit": 2, "cursor": page2.cursor})
    assert [o.key for o in page3["objects"]] == ["_test/paginate/004"]
    assert page3.truncated is False and "cursor" not in page3
    after = await bucket.list(prefix="_test/", startAfter="_test/paginate/003")
    assert [o.key for o in after.objects] == ["_test/paginate/004"]


async def test_list_delimiter_and_include(bucket: R2Bucket) -> None:
    for key in ("d/dir1/f1", "d/dir1/f2", "d/dir2/f1", "d/root"):
        await bucket.put(key, "x", httpMetadata={"contentType": "t/x"}, customMetadata={"a": "b"})
    result = await bucket.list(prefix="d/", delimiter="/")
    assert [o.key for o in result.objects] == ["d/root"]
    assert result["delimitedPrefixes"] == ["d/dir1/", "d/dir2/"]
    paged = await bucket.list(prefix="d/", delimiter="/", limit=1)
    assert paged.delimitedPrefixes == ["d/dir1/"] and paged.truncated
    rest = await bucket.list(prefix="d/", delimiter="/", cursor=paged.cursor)
    assert rest.delimitedPrefixes == ["d/dir2/"] and [o.key for o in rest.objects] == ["d/root"]
    plain = (await bucket.list(prefix="d/root")).objects[0]
    assert plain.httpMetadata is None and plain.customMetadata is None
    with pytest.raises(TypeError, match="Did you forget to add 'httpMetadata' to `include`"):
        plain.writeHttpMetadata(Headers())
    full = (await bucket.list(prefix="d/root", include=["httpMetadata", "customMetadata"])).objects[
        0
    ]
    assert full.httpMetadata == {"contentType": "t/x"} and full.customMetadata == {"a": "b"}


async def test_multipart_upload(bucket: R2Bucket) -> None:
    upload = await bucket.createMultipartUpload(
        "mp", customMetadata={"uploadType": "multipart_test"}
    )
    assert upload["key"] == "mp" and isinstance(upload["uploadId"], str) and upload.uploadId
    p1 = await upload.uploadPart(1, "A" * FIVE_MIB)
    p2 = await upload.uploadPart(2, "B" * 512)
    assert p1["partNumber"] == 1 and p2["partNumber"] == 2 and p1["etag"]
    obj = await upload.complete([p1, p2])
    assert obj["key"] == "mp" and obj["size"] == FIVE_MIB + 512
    md5s = hashlib.md5(hashlib.md5(b"A" * FIVE_MIB).digest() + hashlib.md5(b"B" * 512).digest())
    assert obj.etag == f"{md5s.hexdigest()}-2"
    assert (await bucket.head("mp")).customMetadata == {"uploadType": "multipart_test"}
    assert await (await bucket.get("mp")).text() == "A" * FIVE_MIB + "B" * 512
    across = await bucket.get("mp", range={"offset": FIVE_MIB - 2, "length": 4})
    assert await across.text() == "AABB"
    resumed = bucket.resumeMultipartUpload("mp", upload.uploadId)
    with pytest.raises(
        R2Error, match=r"^uploadPart: The specified multipart upload does not exist. \(10024\)$"
    ):
        await resumed.uploadPart(3, "x")


async def test_multipart_abort_and_rules(bucket: R2Bucket) -> None:
    upload = await bucket.createMultipartUpload("mpa")
    await upload.uploadPart(1, "data to be aborted")
    await upload.abort()
    assert await bucket.head("mpa") is None
    await upload.abort()  # already aborted: nothing to do

    small = await bucket.createMultipartUpload("small")
    q1 = await small.uploadPart(1, "tiny")
    q2 = await small.uploadPart(2, "tiny")
    with pytest.raises(
        R2Error,
        match=r"^completeMultipartUpload: Your proposed upload is smaller than the minimum "
        r"allowed object size\. \(10011\)$",
    ):
        await small.complete([q1, q2])
    with pytest.raises(
        R2Error, match=r"One or more of the specified parts could not be found. \(10025\)"
    ):
        await small.complete([{"partNumber": 1, "etag": "wrong"}])
    uneven = await bucket.createMultipartUpload("uneven")
    r1 = await uneven.uploadPart(1, b"a" * FIVE_MIB)
    r2 = await uneven.uploadPart(2, b"b" * (FIVE_MIB + 1))
    r3 = await uneven.uploadPart(3, b"c")
    with pytest.raises(R2Error, match=r"There was a problem with the multipart upload. \(10048\)"):
        await uneven.complete([r1, r2, r3])
    with pytest.raises(
        TypeError,
        match=r"Part number must be between 1 and 10000 \(inclusive\). Actual value was: 0",
    ):
        await uneven.uploadPart(0, "x")
    with pytest.raises(
        R2Error, match=r"abortMultipartUpload: The specified multipart upload does not exist"
    ):
        await bucket.resumeMultipartUpload("uneven", "no-such-id").abort()


async def test_multipart_object_survives_overwrite_while_read(tmp_path: Path) -> None:
    bucket = open_bucket(tmp_path, "b")
    upload = await bucket.createMultipartUpload("big")
    parts = [
        await upload.uploadPart(1, b"a" * FIVE_MIB),
        await upload.uploadPart(2, b"b" * FIVE_MIB),
    ]
    await upload.complete(parts)
    reading = await bucket.get("big")
    await bucket.put("big", "replaced")  # the parts are held by the reader until it is done
    assert await reading.bytes() == b"a" * FIVE_MIB + b"b" * FIVE_MIB
    assert len(list((tmp_path / "v3" / "r2" / "b" / "blobs").iterdir())) == 1
    bucket.close()


async def test_uploaded_follows_the_clock(tmp_path: Path) -> None:
    bucket = open_bucket(tmp_path, "b", now=lambda: 1_700_000_000.25)
    obj = await bucket.put("k", "v")
    assert obj.uploaded == dt.datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=dt.UTC)
    bucket.close()


async def test_storage_class(bucket: R2Bucket) -> None:
    assert (
        await bucket.put("ia", "v", storageClass="InfrequentAccess")
    ).storageClass == "InfrequentAccess"
    assert (await bucket.head("ia")).storageClass == "InfrequentAccess"
    with pytest.raises(ValueError, match="storageClass must be"):
        await bucket.put("x", "v", storageClass="Glacier")


@pytest.mark.anyio
async def test_an_in_memory_bucket_makes_its_scratch_folder_only_when_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh bucket per test must cost no folder to create and remove until a body is stored.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    untouched = open_bucket(None, "quiet")
    assert await untouched.get("k") is None
    assert list(tmp_path.iterdir()) == []
    untouched.close()
    written = open_bucket(None, "busy")
    await written.put("k", b"body")
    assert [p.name.startswith("pyflare-r2-") for p in tmp_path.iterdir()] == [True]
    assert await (await written.get("k")).text() == "body"
    written.close()
    assert list(tmp_path.iterdir()) == []
