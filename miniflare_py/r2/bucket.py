"""`R2Bucket`: the object a worker gets as `env.BUCKET`.

Calls run inline, as D1's do: a small body is one file write and one SQLite commit, cheaper
than any hand-off to a thread. Large bodies are streamed in chunks both ways, so their size
never sits in memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from ..workers.jsdict import JsDict
from .blobs import BlobStore
from .conditions import Conditional, parse_conditional
from .errors import INVALID_MAX_KEYS, R2Error
from .metadata import MetadataStore, Row
from .objects import R2Object, R2ObjectBody
from .options import merge_options
from .ranges import parse_range, resolve_range
from .sdk import BindingBase
from .values import (
    body_chunks,
    check_key,
    custom_metadata_json,
    expected_checksum,
    hashers,
    http_metadata_json,
    too_large,
)

__all__ = ["R2Bucket"]

#: Bodies up to this size are read at `get()` in one call; larger ones stream.
EAGER_READ = 1024 * 1024
_TOP = "\U0010ffff"
_STORAGE_CLASSES = ("Standard", "InfrequentAccess")
_INCLUDE = ("httpMetadata", "customMetadata")


class _PreconditionFailed(Exception):
    pass


def storage_class(value: Any, action: str) -> str | None:
    if value is None:
        return None
    if value not in _STORAGE_CLASSES:
        raise ValueError(
            f'{action}: storageClass must be "Standard" or "InfrequentAccess", got {value!r}'
        )
    return str(value)


class R2Bucket(BindingBase):
    """One R2 bucket: metadata in SQLite, bodies as blob files."""

    _js_name = "R2Bucket"

    def __init__(
        self, name: str, metadata: MetadataStore, blobs: BlobStore, now: Callable[[], float]
    ) -> None:
        self.name = name
        self._meta = metadata
        self._blobs = blobs
        self._now = now

    def __repr__(self) -> str:
        return f"R2Bucket({self.name!r})"

    def close(self) -> None:
        self._meta.close()

    def _now_ms(self) -> int:
        return int(self._now() * 1000)

    # -- reads ---------------------------------------------------------------------------------

    async def head(self, key: str) -> R2Object | None:
        """The object's metadata, or None when there is no such object."""
        check_key(key, "head")
        row = self._meta.get(key)
        if row is None:
            return None
        return R2Object(row, JsDict(offset=0, length=row.size))

    async def get(self, key: str, options: Any = None, **kwargs: Any) -> R2Object | None:
        """The object with its body (`range=`, `onlyIf=` as R2 takes them); None when missing;
        the object without a body when an `onlyIf` condition fails."""
        opts = merge_options(options, kwargs, "get")
        check_key(key, "get")
        condition = parse_conditional(opts.get("onlyIf"))
        wanted = parse_range(opts.get("range"))
        row = self._meta.get(key)
        if row is None:
            return None
        if condition is not None and not condition.holds(row.etag, row.uploaded):
            return R2Object(row, JsDict(offset=0, length=row.size))
        span = resolve_range(wanted, row.size)
        start, length = span if span is not None else (0, row.size)
        where = JsDict(offset=start, length=length)
        if row.blob_id is not None:
            if length <= EAGER_READ:
                try:
                    data = self._blobs.read(row.blob_id, start, length)
                except FileNotFoundError:
                    return None
                return R2ObjectBody(row, where, data)
            try:
                file = self._blobs.open(row.blob_id)
            except FileNotFoundError:
                return None
            return R2ObjectBody(row, where, None, self._blobs.chunks(file, start, length))
        return self._multipart_body(row, where, start, length)

    def _multipart_body(self, row: Row, where: JsDict, start: int, length: int) -> R2ObjectBody:
        pieces: list[tuple[str, int, int]] = []  # (blob, offset in it, length)
        position, end = 0, start + length
        for blob_id, size in self._meta.parts_of(row.key):
            lo, hi = max(start, position), min(end, position + size)
            if lo < hi:
                pieces.append((blob_id, lo - position, hi - lo))
            position += size
        held = [p[0] for p in pieces]
        self._blobs.acquire(held)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._blobs.release(held)

        def chunks() -> Iterator[bytes]:
            for blob_id, offset, size in pieces:
                yield from self._blobs.chunks(self._blobs.open(blob_id), offset, size)

        if length <= EAGER_READ:
            try:
                data = b"".join(chunks())
            finally:
                release()
            return R2ObjectBody(row, where, data)
        return R2ObjectBody(row, where, None, chunks(), release)

    # -- writes --------------------------------------------------------------------------------

    async def put(
        self, key: str, value: Any, options: Any = None, **kwargs: Any
    ) -> R2Object | None:
        """Store `value` under `key`; the new object's metadata, or None when an `onlyIf`
        condition fails."""
        opts = merge_options(options, kwargs, "put")
        check_key(key, "put", allow_empty=False)
        http = http_metadata_json(opts.get("httpMetadata"), "put")
        custom = custom_metadata_json(opts.get("customMetadata"), "put")
        checksum = expected_checksum(opts)
        condition = parse_conditional(opts.get("onlyIf"))
        stored_class = storage_class(opts.get("storageClass"), "put")
        blob_id, size, digests = await self.write_body(
            body_chunks(value, "put"), "put", None if checksum is None else checksum[0]
        )
        try:
            checksums = self._verify(checksum, digests)
        except R2Error:
            self._blobs.delete([blob_id])
            raise
        row = Row(
            key,
            blob_id,
            secrets.token_hex(16),
            size,
            digests["md5"].hex(),
            self._now_ms(),
            checksums,
            http,
            custom,
            stored_class,
        )
        try:
            old = self._meta.put(row, None if condition is None else _checker(condition))
        except BaseException as exc:
            self._blobs.delete([blob_id])
            if isinstance(exc, _PreconditionFailed):
                return None
            raise
        self._blobs.delete(old)
        return R2Object(row)

    async def write_body(
        self, body: bytes | Any, action: str, extra_hash: str | None
    ) -> tuple[str, int, dict[str, bytes]]:
        """Write a body as a new blob, hashing it on the way: `(blob id, size, digests)`."""
        if isinstance(body, bytes):
            too_large(len(body), action)
            digests = {"md5": hashlib.md5(body, usedforsecurity=False).digest()}
            if extra_hash is not None and extra_hash != "md5":
                digests[extra_hash] = hashlib.new(extra_hash, body).digest()
            return self._blobs.put(body), len(body), digests
        hashing = hashers(extra_hash)
        writer = self._blobs.writer()
        try:
            async for chunk in body:
                for h in hashing.values():
                    h.update(chunk)
                writer.write(chunk)
                too_large(writer.size, action)
            blob_id = writer.commit()
        except BaseException:
            writer.discard()
            raise
        return blob_id, writer.size, {name: h.digest() for name, h in hashing.items()}

    @staticmethod
    def _verify(checksum: tuple[str, bytes] | None, digests: dict[str, bytes]) -> str:
        """The checksums JSON to store; R2's BadDigest when the body does not match."""
        if checksum is None:
            return "{}"
        from .values import HASHES

        name, expected = checksum
        actual = digests[name]
        if actual != expected:
            raise R2Error.bad_digest("put", HASHES[name][1], expected, actual)
        return json.dumps({name: actual.hex()}, separators=(",", ":"))

    async def delete(self, keys: str | list[str]) -> None:
        """Delete one key or a list of keys (missing keys are fine)."""
        if isinstance(keys, str):
            keys = [keys]
        elif not isinstance(keys, list | tuple):
            raise TypeError(f"delete: keys must be a string or a list, got {type(keys).__name__}")
        for key in keys:
            check_key(key, "delete")
        self._blobs.delete(self._meta.delete(list(keys)))

    # -- listing -------------------------------------------------------------------------------

    async def list(self, options: Any = None, **kwargs: Any) -> JsDict:
        """`{objects, truncated, cursor (when truncated), delimitedPrefixes}` (`prefix=`,
        `delimiter=`, `cursor=`, `startAfter=`, `limit=` 1 to 1000, `include=`)."""
        opts = merge_options(options, kwargs, "list")
        prefix = opts.get("prefix", "")
        limit = opts.get("limit", 1000)
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise TypeError(f"list: limit must be a number, got {type(limit).__name__}")
        if not 1 <= limit <= 1000:
            raise R2Error("list", INVALID_MAX_KEYS)
        limit = int(limit)
        include = opts.get("include") or []
        for field in include:
            if field not in _INCLUDE:
                raise ValueError(f"Unsupported include value {field}")
        if include:
            limit = min(limit, 100)  # objects carrying metadata come in smaller pages
        after = opts.get("startAfter")
        if opts.get("cursor"):
            decoded = _decode_cursor(opts["cursor"])
            if after is None or decoded > after:
                after = decoded
        delimiter = opts.get("delimiter") or None
        objects: list[R2Object] = []
        prefixes: list[str] = []
        last: str | None = None
        truncated = False
        while True:
            restart = False
            for row in self._meta.list(prefix, after):
                if len(objects) + len(prefixes) == limit:
                    truncated = True
                    break
                cut = row.key.find(delimiter, len(prefix)) if delimiter else -1
                if cut >= 0:
                    group = row.key[: cut + len(delimiter or "")]
                    prefixes.append(group)
                    last = after = group + _TOP  # skip the rest of the group
                    restart = True
                    break
                objects.append(
                    R2Object(
                        row,
                        include_http="httpMetadata" in include,
                        include_custom="customMetadata" in include,
                    )
                )
                last = row.key
            if not restart or truncated:
                break
        result = JsDict(objects=objects, truncated=truncated, delimitedPrefixes=prefixes)
        if truncated and last is not None:
            result["cursor"] = base64.b64encode(last.encode("utf-8", "surrogatepass")).decode()
        return result

    # -- multipart -----------------------------------------------------------------------------

    async def createMultipartUpload(self, key: str, options: Any = None, **kwargs: Any) -> Any:
        """Start a multipart upload of `key` (`httpMetadata=`, `customMetadata=`)."""
        from .multipart import R2MultipartUpload

        opts = merge_options(options, kwargs, "createMultipartUpload")
        check_key(key, "createMultipartUpload", allow_empty=False)
        http = http_metadata_json(opts.get("httpMetadata"), "createMultipartUpload")
        custom = custom_metadata_json(opts.get("customMetadata"), "createMultipartUpload")
        storage_class(opts.get("storageClass"), "createMultipartUpload")
        upload_id = secrets.token_urlsafe(128)
        self._meta.create_upload(upload_id, key, http, custom)
        return R2MultipartUpload(self, key, upload_id)

    def resumeMultipartUpload(self, key: str, uploadId: str) -> Any:
        """The upload `uploadId` of `key`, to add parts to, complete or abort."""
        from .multipart import R2MultipartUpload

        return R2MultipartUpload(self, key, uploadId)


def _checker(condition: Conditional) -> Callable[[Row | None], None]:
    def check(previous: Row | None) -> None:
        if previous is None:
            holds = condition.holds(None, None)
        else:
            holds = condition.holds(previous.etag, previous.uploaded)
        if not holds:
            raise _PreconditionFailed

    return check


def _decode_cursor(cursor: Any) -> str:
    if not isinstance(cursor, str):
        raise TypeError(f"list: cursor must be a string, got {type(cursor).__name__}")
    try:
        return base64.b64decode(cursor, validate=True).decode("utf-8", "surrogatepass")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"list: invalid cursor {cursor!r}") from None
