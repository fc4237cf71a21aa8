"""Open a bucket: its metadata file and blob folder under a persist folder, or in memory."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .blobs import BlobStore
from .bucket import R2Bucket
from .metadata import MetadataStore
from .persist import blob_folder, metadata_path

__all__ = ["open_bucket"]


class _MemoryBucket(R2Bucket):
    """A bucket whose metadata is in memory and whose bodies sit in a private temporary
    folder (removed on close), so large bodies still never sit in RAM."""

    def __init__(self, name: str, now: Callable[[], float]) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="pyflare-r2-"))
        super().__init__(name, MetadataStore(None), BlobStore(self._scratch / "blobs"), now)

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._scratch, ignore_errors=True)


def open_bucket(
    persist_to: Path | None, bucket: str, now: Callable[[], float] = time.time
) -> R2Bucket:
    """The bucket named `bucket` (its `bucket_name`) under `persist_to`, or in memory."""
    if persist_to is None:
        return _MemoryBucket(bucket, now)
    return R2Bucket(
        bucket,
        MetadataStore(metadata_path(persist_to, bucket)),
        BlobStore(blob_folder(persist_to, bucket)),
        now,
    )
