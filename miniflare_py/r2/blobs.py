"""Object bodies as files: written once under an unguessable id, read by range, deleted.

A blob is unreachable until the metadata row naming it commits, so a failed put leaves only
an orphan file, never a half-written object. Streamed bodies are written to a temporary name
while they are hashed and renamed into place once complete; bodies already in memory are
written straight to their final name (nothing can name them yet either way).

Readers hold a blob they are about to read (`acquire`); deleting a held blob waits until it
is released, so a multipart object being read survives an overwrite in the meantime. An open
file keeps its data after an unlink anyway, which covers single-blob reads.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..state import write_new_file

__all__ = ["CHUNK_SIZE", "BlobStore", "BlobWriter"]

#: Bytes read from or written to a blob file at a time.
CHUNK_SIZE = 256 * 1024

_HEX = frozenset("0123456789abcdef")


def new_blob_id() -> str:
    """32 random bytes and the current time in milliseconds (8 bytes, big-endian), as hex:
    the shape of Miniflare's blob ids."""
    return secrets.token_hex(32) + (int(time.time() * 1000) & (2**63 - 1)).to_bytes(8, "big").hex()


class BlobWriter:
    """A blob being written from chunks; `commit()` gives its id."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.id = new_blob_id()
        store.ensure_folder()  # first: it may choose the folder (an in-memory bucket's scratch)
        self._temp = store.folder / f".{self.id}.tmp"
        self._file: IO[bytes] | None = open(self._temp, "wb")  # noqa: SIM115 (closed in commit/discard)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self) -> str:
        """Close the file and move it to its final name."""
        assert self._file is not None
        self._file.close()
        self._file = None
        os.replace(self._temp, self._store.path(self.id))
        return self.id

    def discard(self) -> None:
        """Drop what was written (the body failed or was rejected)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._temp.unlink(missing_ok=True)


class BlobStore:
    """The blob files of one bucket, in `folder` (created on first write)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made = False
        self._held: Counter[str] = Counter()
        self._doomed: set[str] = set()

    def ensure_folder(self) -> None:
        if not self._made:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._made = True

    def path(self, blob_id: str) -> Path:
        """The file of `blob_id`; ids are hex only, so no id can name a file elsewhere."""
        if not blob_id or not _HEX.issuperset(blob_id):
            raise ValueError(f"not a blob id: {blob_id!r}")
        return self.folder / blob_id

    def put(self, data: bytes) -> str:
        """Store `data` as a new blob; returns its id."""
        self.ensure_folder()
        blob_id = new_blob_id()
        write_new_file(self.path(blob_id), data)
        return blob_id

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def read(self, blob_id: str, start: int = 0, length: int | None = None) -> bytes:
        """The bytes of a blob (or of `length` bytes from `start`) in one call."""
        with open(self.path(blob_id), "rb") as file:
            if start:
                file.seek(start)
            return file.read() if length is None else file.read(length)

    def open(self, blob_id: str) -> IO[bytes]:
        return open(self.path(blob_id), "rb")

    def chunks(self, file: IO[bytes], start: int, length: int) -> Iterator[bytes]:
        """`length` bytes of an open blob from `start`, a chunk at a time; closes the file."""
        try:
            file.seek(start)
            left = length
            while left > 0:
                chunk = file.read(min(CHUNK_SIZE, left))
                if not chunk:
                    raise OSError(f"R2 blob {Path(file.name).name} ended early")
                left -= len(chunk)
                yield chunk
        finally:
            file.close()

    def acquire(self, blob_ids: list[str]) -> None:
        self._held.update(blob_ids)

    def release(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            self._held[blob_id] -= 1
            if self._held[blob_id] <= 0:
                del self._held[blob_id]
                if blob_id in self._doomed:
                    self._doomed.discard(blob_id)
                    self._unlink(blob_id)

    def delete(self, blob_ids: list[str]) -> None:
        """Delete blobs no row names any more (later, for those a reader holds)."""
        for blob_id in blob_ids:
            if self._held.get(blob_id):
                self._doomed.add(blob_id)
            else:
                self._unlink(blob_id)

    def _unlink(self, blob_id: str) -> None:
        # An orphan blob wastes space but loses nothing.
        with contextlib.suppress(OSError, ValueError):
            self.path(blob_id).unlink(missing_ok=True)
