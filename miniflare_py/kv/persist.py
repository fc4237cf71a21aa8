"""Where a KV namespace lives on disk: the files Miniflare (and so `wrangler dev` and
`wrangler kv key --local`) uses, so both read one state folder.

Miniflare keeps a namespace as a Durable Object of class `KVNamespaceObject` named by the
namespace id:

- the keys, in SQLite: `<persist>/v3/kv/miniflare-KVNamespaceObject/<object id>.sqlite`, table
  `_mf_entries(key TEXT PRIMARY KEY, blob_id TEXT NOT NULL, expiration INTEGER, metadata TEXT)`
  (expiration in milliseconds since the epoch, metadata as JSON text);
- each value in its own file: `<persist>/v3/kv/<namespace id, made safe>/blobs/<blob id>`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from ..bindings.persist import object_sqlite_path, plugin_path

__all__ = ["UNIQUE_KEY", "blob_folder", "kv_sqlite_path", "safe_folder_name"]

UNIQUE_KEY: Final = "miniflare-KVNamespaceObject"

_SEPARATOR = re.compile(r"([/\\])")
_ILLEGAL = re.compile(r"[?<>*\"'^/\\:|\x00-\x1f\x80-\x9f]")
_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?\Z", re.IGNORECASE | re.DOTALL)


def kv_sqlite_path(persist_root: Path, namespace_id: str) -> Path:
    """The SQLite file holding the keys of `namespace_id`."""
    return object_sqlite_path(Path(persist_root), "kv", UNIQUE_KEY, namespace_id)


def blob_folder(persist_root: Path, namespace_id: str) -> Path:
    """The folder holding the values of `namespace_id`, one file per value."""
    return plugin_path(Path(persist_root), "kv") / safe_folder_name(namespace_id) / "blobs"


def safe_folder_name(name: str) -> str:
    """`name` made safe as one folder name, by the rules Miniflare applies to namespace ids: a
    path segment of dots only becomes underscores, characters a file system refuses become
    `_`, a Windows device name (`con`, `lpt1.txt`) becomes `_`, leading and trailing spaces
    become underscores, and the result is cut at 255 characters."""
    parts = _SEPARATOR.split(name)
    name = "".join("_" * len(part) if part and not part.strip(".") else part for part in parts)
    name = _ILLEGAL.sub("_", name)
    if _RESERVED.match(name):
        name = "_"
    stripped = name.lstrip(" ")
    name = "_" * (len(name) - len(stripped)) + stripped
    stripped = name.rstrip(" ")
    name = stripped + "_" * (len(name) - len(stripped))
    return name[:255]
