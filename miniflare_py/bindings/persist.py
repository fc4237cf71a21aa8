"""Where bindings keep state: Miniflare's layout under a persist folder, so that wrangler
(`wrangler dev`, `wrangler d1 execute --local`) and pyflare read and write the same files."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

__all__ = ["object_id_from_name", "object_sqlite_path", "plugin_path"]


def plugin_path(persist_to: Path, plugin: str) -> Path:
    """`<persist>/v3/<plugin>`: one plugin's folder (`d1`, `kv`, `r2`, `do`, `queues`)."""
    return Path(persist_to) / "v3" / plugin


def object_id_from_name(unique_key: str, name: str) -> str:
    """The 64-hex id Miniflare (and workerd's `idFromName`) gives the object named `name` of a
    Durable Object class known by `unique_key`: key = SHA-256(unique_key),
    base = HMAC-SHA256(key, name)[:16], mac = HMAC-SHA256(key, base)[:16], id = hex(base + mac)."""
    key = hashlib.sha256(unique_key.encode()).digest()
    base = hmac.new(key, name.encode(), hashlib.sha256).digest()[:16]
    mac = hmac.new(key, base, hashlib.sha256).digest()[:16]
    return (base + mac).hex()


def object_sqlite_path(persist_to: Path, plugin: str, unique_key: str, name: str) -> Path:
    """The SQLite file of the object named `name`, as Miniflare lays it out:
    `<persist>/v3/<plugin>/<unique_key>/<object id>.sqlite`."""
    return (
        plugin_path(persist_to, plugin)
        / unique_key
        / f"{object_id_from_name(unique_key, name)}.sqlite"
    )
