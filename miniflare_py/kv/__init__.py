"""Workers KV (`[[kv_namespaces]]`): the `env.KV` API, its limits and errors, and storage in
Miniflare's layout under `<persist>/v3/kv/` (DESIGN.md section 10)."""

from .binding import KvBinding, KvNamespaces, open_storage
from .config import KvNamespaceConfig, KvSection
from .errors import KvError, KvSyntaxError
from .namespace import KvNamespace
from .persist import blob_folder, kv_sqlite_path
from .storage import KvStorage
from .stream import KvStream

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
