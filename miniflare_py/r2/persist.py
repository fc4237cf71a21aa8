"""Where a bucket lives: Miniflare's layout under `<persist>/v3/r2/`.

- metadata: the SQLite file of the Durable Object Miniflare keeps per bucket,
  `<persist>/v3/r2/miniflare-R2BucketObject/<idFromName(bucket)>.sqlite`;
- bodies: one file per blob, `<persist>/v3/r2/<bucket, sanitised>/blobs/<blob id>`.

`wrangler dev` (Miniflare) and pyflare therefore read and write the same objects.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..bindings.persist import object_sqlite_path, plugin_path

__all__ = ["OBJECT_CLASS", "blob_folder", "metadata_path", "sanitise_name"]

#: The unique key of Miniflare's R2 Durable Object class.
OBJECT_CLASS = "miniflare-R2BucketObject"

# Miniflare names a bucket's blob folder after the bucket, made safe as a file name: path
# segments made only of dots, characters no file system accepts, Windows device names, and
# leading or trailing spaces and slashes become underscores (one per character replaced).
_DOT_SEGMENT = re.compile(r"(^|[/\\])(\.+)(?=[/\\]|$)")
_ILLEGAL = re.compile(r"[?<>*\"'^/\\:|\x00-\x1f\x80-\x9f]")
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_LEADING = re.compile(r"^[ /\\]+")
_TRAILING = re.compile(r"[ /\\]+$")


def sanitise_name(name: str) -> str:
    """`name` as Miniflare turns it into a folder name (bucket names R2 accepts are unchanged)."""
    name = _DOT_SEGMENT.sub(lambda m: m.group(1) + "_" * len(m.group(2)), name)
    name = _ILLEGAL.sub("_", name)
    name = _DEVICE.sub("_", name)
    name = _LEADING.sub(lambda m: "_" * len(m.group(0)), name)
    name = _TRAILING.sub(lambda m: "_" * len(m.group(0)), name)
    return name[:255]


def metadata_path(persist_to: Path, bucket: str) -> Path:
    """The SQLite file holding the bucket's object and multipart metadata."""
    return object_sqlite_path(persist_to, "r2", OBJECT_CLASS, bucket)


def blob_folder(persist_to: Path, bucket: str) -> Path:
    """The folder holding the bucket's bodies."""
    return plugin_path(persist_to, "r2") / sanitise_name(bucket) / "blobs"
