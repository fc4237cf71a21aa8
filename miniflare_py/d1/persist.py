"""Where D1 databases live on disk: the same files wrangler and Miniflare use."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from ..config import D1DatabaseConfig
from .database import D1Database

__all__ = ["d1_persist_path", "open_d1"]

_UNIQUE_KEY = "miniflare-D1DatabaseObject"


def d1_persist_path(persist_root: Path, database_id: str) -> Path:
    """The SQLite file of a database: Miniflare names it by its Durable Object id.

    ``<persist_root>/v3/d1/miniflare-D1DatabaseObject/<hex(base + mac)>.sqlite`` with
    key = SHA-256(unique key), base = HMAC-SHA256(key, id)[:16], mac = HMAC-SHA256(key, base)[:16].
    """
    key = hashlib.sha256(_UNIQUE_KEY.encode()).digest()
    base = hmac.new(key, database_id.encode(), hashlib.sha256).digest()[:16]
    mac = hmac.new(key, base, hashlib.sha256).digest()[:16]
    return Path(persist_root) / "v3" / "d1" / _UNIQUE_KEY / f"{(base + mac).hex()}.sqlite"


def open_d1(config: D1DatabaseConfig, persist_root: Path | None) -> D1Database:
    """The binding for `config`: on disk under `persist_root`, or in memory when it is None."""
    if persist_root is None:
        return D1Database()
    return D1Database(d1_persist_path(Path(persist_root), config.persist_id))
