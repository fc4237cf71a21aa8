"""Object and multipart metadata in SQLite, in the tables Miniflare's R2 object keeps.

Rows are `Row` tuples. An object with `blob_id` NULL is a completed multipart upload: its
body is the parts linked to it (`_mf_multipart_parts.object_key`), in part order. pyflare adds
one nullable column, `storage_class`, which Miniflare neither writes nor reads (it reports no
storage class; pyflare reports "Standard" when the column is NULL).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import apsw

__all__ = ["IN_PROGRESS", "MetadataStore", "Part", "Row"]

IN_PROGRESS, COMPLETED, ABORTED = 0, 1, 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _mf_objects (
    key TEXT PRIMARY KEY,
    blob_id TEXT,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    uploaded INTEGER NOT NULL,
    checksums TEXT NOT NULL,
    http_metadata TEXT NOT NULL,
    custom_metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _mf_multipart_uploads (
    upload_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    http_metadata TEXT NOT NULL,
    custom_metadata TEXT NOT NULL,
    state TINYINT DEFAULT 0 NOT NULL
);
CREATE TABLE IF NOT EXISTS _mf_multipart_parts (
    upload_id TEXT NOT NULL REFERENCES _mf_multipart_uploads(upload_id),
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    checksum_md5 TEXT NOT NULL,
    object_key TEXT REFERENCES _mf_objects(key) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (upload_id, part_number)
);
"""

_COLUMNS = (
    "key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata, "
    "storage_class"
)

#: Above every character a key can hold: `prefix + _TOP` bounds the keys starting with `prefix`.
_TOP = "\U0010ffff"


class Row(NamedTuple):
    key: str
    blob_id: str | None
    version: str
    size: int
    etag: str
    uploaded: int  # milliseconds since the epoch
    checksums: str  # JSON: {"sha256": hex, ...}
    http_metadata: str  # JSON
    custom_metadata: str  # JSON
    storage_class: str | None


class Part(NamedTuple):
    part_number: int
    blob_id: str
    size: int
    etag: str
    checksum_md5: str


class MetadataStore:
    """One bucket's metadata: a SQLite file in WAL mode, or an in-memory database."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is None:
            conn = apsw.Connection(":memory:")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = apsw.Connection(str(path))
            conn.setbusytimeout(5000)
            conn.execute("PRAGMA journal_mode = WAL")
            # Commits reach the OS, not the disk, on every put: as Miniflare's workerd does.
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(_mf_objects)")}
        if "storage_class" not in columns:
            conn.execute("ALTER TABLE _mf_objects ADD COLUMN storage_class TEXT")
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    # -- objects -----------------------------------------------------------------------------

    def get(self, key: str) -> Row | None:
        for row in self.conn.execute(f"SELECT {_COLUMNS} FROM _mf_objects WHERE key = ?", (key,)):
            return Row(*row)
        return None

    def parts_of(self, key: str) -> list[tuple[str, int]]:
        """`(blob_id, size)` of each part of a multipart object, in order."""
        return list(
            self.conn.execute(
                "SELECT blob_id, size FROM _mf_multipart_parts WHERE object_key = ? "
                "ORDER BY part_number",
                (key,),
            )
        )

    def put(self, row: Row, check: Callable[[Row | None], None] | None = None) -> list[str]:
        """Store `row` (after `check(previous row)` passes); returns the blobs no longer named."""
        with self.conn:
            if check is not None:
                check(self.get(row.key))
            old = self._blobs_of(row.key)
            self.conn.execute(
                f"INSERT OR REPLACE INTO _mf_objects ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                row,
            )
        return old

    def _blobs_of(self, key: str) -> list[str]:
        """Forget the blobs the object `key` has now (its body or its parts); returns them."""
        found = list(self.conn.execute("SELECT blob_id FROM _mf_objects WHERE key = ?", (key,)))
        if not found:
            return []
        (blob_id,) = found[0]
        if blob_id is not None:
            return [blob_id]
        return [
            b
            for (b,) in self.conn.execute(
                "DELETE FROM _mf_multipart_parts WHERE object_key = ? RETURNING blob_id", (key,)
            )
        ]

    def delete(self, keys: list[str]) -> list[str]:
        with self.conn:
            old: list[str] = []
            for key in keys:
                old.extend(self._blobs_of(key))
                self.conn.execute("DELETE FROM _mf_objects WHERE key = ?", (key,))
        return old

    def list(self, prefix: str, start_after: str | None) -> Iterator[Row]:
        """Objects whose key starts with `prefix`, after `start_after`, in key order."""
        lower = max(prefix, start_after) if start_after is not None else prefix
        operator = ">" if start_after is not None and start_after >= prefix else ">="
        query = (
            f"SELECT {_COLUMNS} FROM _mf_objects WHERE key {operator} ? AND key < ? "
            "AND substr(key, 1, length(?)) = ? ORDER BY key"
        )
        for row in self.conn.execute(query, (lower, prefix + _TOP, prefix, prefix)):
            yield Row(*row)

    # -- multipart uploads -------------------------------------------------------------------

    def create_upload(self, upload_id: str, key: str, http: str, custom: str) -> None:
        self.conn.execute(
            "INSERT INTO _mf_multipart_uploads (upload_id, key, http_metadata, custom_metadata) "
            "VALUES (?, ?, ?, ?)",
            (upload_id, key, http, custom),
        )

    def upload(self, upload_id: str, key: str) -> tuple[str, str, int] | None:
        """`(http_metadata, custom_metadata, state)` of an upload of `key`, or None."""
        for row in self.conn.execute(
            "SELECT http_metadata, custom_metadata, state FROM _mf_multipart_uploads "
            "WHERE upload_id = ? AND key = ?",
            (upload_id, key),
        ):
            http, custom, state = row
            return str(http), str(custom), int(state)
        return None

    def put_part(self, upload_id: str, key: str, part: Part) -> builtins.list[str]:
        """Record a part (replacing one with its number); returns the replaced part's blob."""
        with self.conn:
            found = self.upload(upload_id, key)
            if found is None or found[2] != IN_PROGRESS:
                raise LookupError(upload_id)
            old = [
                b
                for (b,) in self.conn.execute(
                    "SELECT blob_id FROM _mf_multipart_parts WHERE upload_id = ? AND "
                    "part_number = ?",
                    (upload_id, part.part_number),
                )
            ]
            self.conn.execute(
                "INSERT OR REPLACE INTO _mf_multipart_parts (upload_id, part_number, blob_id, "
                "size, etag, checksum_md5) VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, *part),
            )
        return old

    def parts(self, upload_id: str) -> dict[int, Part]:
        return {
            row[0]: Part(*row)
            for row in self.conn.execute(
                "SELECT part_number, blob_id, size, etag, checksum_md5 FROM _mf_multipart_parts "
                "WHERE upload_id = ?",
                (upload_id,),
            )
        }

    def complete_upload(
        self, upload_id: str, row: Row, part_numbers: builtins.list[int]
    ) -> builtins.list[str]:
        """Make `row` the object, its body the given parts; returns blobs no longer named."""
        old = self._blobs_of(row.key)
        self.conn.execute(
            f"INSERT OR REPLACE INTO _mf_objects ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", row
        )
        self.conn.executemany(
            "UPDATE _mf_multipart_parts SET object_key = ? WHERE upload_id = ? AND part_number = ?",
            [(row.key, upload_id, n) for n in part_numbers],
        )
        old.extend(
            b
            for (b,) in self.conn.execute(
                "DELETE FROM _mf_multipart_parts WHERE upload_id = ? AND object_key IS NULL "
                "RETURNING blob_id",
                (upload_id,),
            )
        )
        self._set_state(upload_id, COMPLETED)
        return old

    def abort_upload(self, upload_id: str) -> builtins.list[str]:
        with self.conn:
            old = [
                b
                for (b,) in self.conn.execute(
                    "DELETE FROM _mf_multipart_parts WHERE upload_id = ? RETURNING blob_id",
                    (upload_id,),
                )
            ]
            self._set_state(upload_id, ABORTED)
        return old

    def _set_state(self, upload_id: str, state: int) -> None:
        self.conn.execute(
            "UPDATE _mf_multipart_uploads SET state = ? WHERE upload_id = ?", (state, upload_id)
        )
