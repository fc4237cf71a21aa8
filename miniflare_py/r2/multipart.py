"""`R2MultipartUpload`: upload an object in parts, then complete or abort.

R2's part rules: part numbers 1 to 10000; every part but the last at least 5 MiB, all of them
the same size, the last no larger. The completed object's etag is the MD5 of the parts' MD5s,
then `-<number of parts>`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from ..workers.jsdict import JsDict
from .errors import (
    BAD_UPLOAD,
    ENTITY_TOO_SMALL,
    INTERNAL_ERROR,
    INVALID_PART,
    NO_SUCH_UPLOAD,
    R2Error,
)
from .metadata import IN_PROGRESS, Part, Row
from .objects import R2Object
from .sdk import BindingBase
from .values import body_chunks, check_key

__all__ = ["MIN_PART_SIZE", "R2MultipartUpload"]

MIN_PART_SIZE = 5 * 1024 * 1024


def _part_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise TypeError(f"Part number must be an integer, got {value!r}")
    number = int(value)
    if not 1 <= number <= 10000:
        raise TypeError(
            f"Part number must be between 1 and 10000 (inclusive). Actual value was: {number}"
        )
    return number


def _field(part: Any, name: str) -> Any:
    if isinstance(part, Mapping):
        return part.get(name)
    return getattr(part, name, None)


class R2MultipartUpload(BindingBase):
    """An upload in progress: `key`, `uploadId`, `uploadPart()`, `complete()`, `abort()`."""

    _js_name = "R2MultipartUpload"

    def __init__(self, bucket: Any, key: str, upload_id: str) -> None:
        # `bucket` is the `R2Bucket` that made this upload (not imported: it imports us).
        self._bucket = bucket
        self.key = key
        self.uploadId = upload_id

    def __repr__(self) -> str:
        return f"R2MultipartUpload(key={self.key!r})"

    async def uploadPart(self, partNumber: int, value: Any, options: Any = None) -> JsDict:
        """Upload one part; `{partNumber, etag}` to pass to `complete()`."""
        number = _part_number(partNumber)
        check_key(self.key, "uploadPart")
        bucket = self._bucket
        meta = bucket._meta
        found = meta.upload(self.uploadId, self.key)
        if found is None or found[2] != IN_PROGRESS:
            raise R2Error("uploadPart", NO_SUCH_UPLOAD)
        blob_id, size, digests = await bucket.write_body(
            body_chunks(value, "uploadPart"), "uploadPart", None
        )
        etag = secrets.token_urlsafe(128)
        try:
            old = meta.put_part(
                self.uploadId, self.key, Part(number, blob_id, size, etag, digests["md5"].hex())
            )
        except LookupError:
            bucket._blobs.delete([blob_id])
            raise R2Error("uploadPart", NO_SUCH_UPLOAD) from None
        bucket._blobs.delete(old)
        return JsDict(partNumber=number, etag=etag)

    async def complete(self, uploadedParts: list[Any]) -> R2Object:
        """Join the given parts into the object `key`; its metadata."""
        chosen = [(_part_number(_field(p, "partNumber")), _field(p, "etag")) for p in uploadedParts]
        check_key(self.key, "completeMultipartUpload")
        bucket = self._bucket
        meta = bucket._meta
        action = "completeMultipartUpload"
        with meta.conn:
            found = meta.upload(self.uploadId, self.key)
            if found is None or found[2] != IN_PROGRESS:
                raise R2Error(action, NO_SUCH_UPLOAD)
            http, custom, _ = found
            if len({n for n, _ in chosen}) != len(chosen):
                raise R2Error(action, INTERNAL_ERROR)
            uploaded = meta.parts(self.uploadId)
            parts: list[Part] = []
            for number, etag in chosen:
                part = uploaded.get(number)
                if part is None or part.etag != etag:
                    raise R2Error(action, INVALID_PART)
                parts.append(part)
            if any(p.size < MIN_PART_SIZE for p in parts[:-1]):
                raise R2Error(action, ENTITY_TOO_SMALL)
            parts.sort(key=lambda p: p.part_number)
            sizes = {p.size for p in parts[:-1]}
            if len(sizes) > 1 or (sizes and parts[-1].size > next(iter(sizes))):
                raise R2Error(action, BAD_UPLOAD)
            md5s = hashlib.md5(usedforsecurity=False)
            for part in parts:
                md5s.update(bytes.fromhex(part.checksum_md5))
            row = Row(
                self.key,
                None,
                secrets.token_hex(16),
                sum(p.size for p in parts),
                f"{md5s.hexdigest()}-{len(parts)}",
                bucket._now_ms(),
                "{}",
                http,
                custom,
                None,
            )
            old = meta.complete_upload(self.uploadId, row, [p.part_number for p in parts])
        bucket._blobs.delete(old)
        return R2Object(row)

    async def abort(self) -> None:
        """Abandon the upload and its parts (a completed or aborted upload stays as it is)."""
        check_key(self.key, "abortMultipartUpload")
        meta = self._bucket._meta
        found = meta.upload(self.uploadId, self.key)
        if found is None:
            raise R2Error("abortMultipartUpload", NO_SUCH_UPLOAD)
        if found[2] != IN_PROGRESS:
            return
        self._bucket._blobs.delete(meta.abort_upload(self.uploadId))
