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


class _ScratchBlobStore(BlobStore):
    """Blobs in a private temporary folder, made on the first write: a bucket nobody writes to
    (most buckets of most tests) costs no folder to create and remove."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.gettempdir()) / "pyflare-r2-unused")
        self.scratch: Path | None = None

    def ensure_folder(self) -> None:
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="pyflare-r2-"))
            self.folder = self.scratch / "blobs"
        super().ensure_folder()


class _MemoryBucket(R2Bucket):
    """A bucket whose metadata is in memory and whose bodies sit in a private temporary
    folder (removed on close), so large bodies still never sit in RAM."""

    def __init__(self, name: str, now: Callable[[], float]) -> None:
        self._scratch_blobs = _ScratchBlobStore()
        super().__init__(name, MetadataStore(None), self._scratch_blobs, now)

    def close(self) -> None:
        super().close()
        if self._scratch_blobs.scratch is not None:
            shutil.rmtree(self._scratch_blobs.scratch, ignore_errors=True)


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
