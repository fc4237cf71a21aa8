"""Workers KV (`[[kv_namespaces]]`): the `env.KV` API, its limits and errors, and storage in
Miniflare's layout under `<persist>/v3/kv/` (DESIGN.md section 10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .binding import KvBinding, KvNamespaces, open_storage
    from .config import KvNamespaceConfig, KvSection
    from .errors import KvError, KvSyntaxError
    from .namespace import KvNamespace
    from .persist import blob_folder, kv_sqlite_path
    from .storage import KvStorage
    from .stream import KvStream

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "KvBinding": ".binding",
    "KvError": ".errors",
    "KvNamespace": ".namespace",
    "KvNamespaceConfig": ".config",
    "KvNamespaces": ".binding",
    "KvSection": ".config",
    "KvStorage": ".storage",
    "KvStream": ".stream",
    "KvSyntaxError": ".errors",
    "blob_folder": ".persist",
    "kv_sqlite_path": ".persist",
    "open_storage": ".binding",
}

__all__ = [
    "KvBinding",
    "KvError",
    "KvNamespace",
    "KvNamespaceConfig",
    "KvNamespaces",
    "KvSection",
    "KvStorage",
    "KvStream",
    "KvSyntaxError",
    "blob_folder",
    "kv_sqlite_path",
    "open_storage",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
