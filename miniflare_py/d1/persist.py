"""Where D1 databases live on disk: the same files wrangler and Miniflare use."""

from __future__ import annotations

from pathlib import Path

from ..bindings.persist import object_sqlite_path
from .config import D1DatabaseConfig
from .database import D1Database

__all__ = ["d1_persist_path", "open_d1"]

_UNIQUE_KEY = "miniflare-D1DatabaseObject"


def d1_persist_path(persist_root: Path, database_id: str) -> Path:
    """The SQLite file of a database: Miniflare names it as the Durable Object that holds it,
    ``<persist_root>/v3/d1/miniflare-D1DatabaseObject/<object id>.sqlite``."""
    return object_sqlite_path(Path(persist_root), "d1", _UNIQUE_KEY, database_id)


def open_d1(config: D1DatabaseConfig, persist_root: Path | None) -> D1Database:
    """The binding for `config`: on disk under `persist_root`, or in memory when it is None."""
    if persist_root is None:
        return D1Database()
    return D1Database(d1_persist_path(Path(persist_root), config.persist_id))
