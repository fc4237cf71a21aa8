"""D1 for Python workers: Cloudflare's API, results, errors and rules, over SQLite (apsw)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .database import D1Database, D1DatabaseSession
    from .engine import SERVED_BY
    from .errors import D1Error, MigrationError
    from .migrations import apply_migrations, create_migration, list_migrations, migration_files
    from .persist import d1_persist_path, open_d1
    from .statement import D1PreparedStatement

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "SERVED_BY": ".engine",
    "D1Database": ".database",
    "D1DatabaseSession": ".database",
    "D1Error": ".errors",
    "D1PreparedStatement": ".statement",
    "MigrationError": ".errors",
    "apply_migrations": ".migrations",
    "create_migration": ".migrations",
    "d1_persist_path": ".persist",
    "list_migrations": ".migrations",
    "migration_files": ".migrations",
    "open_d1": ".persist",
}

__all__ = [
    "SERVED_BY",
    "D1Database",
    "D1DatabaseSession",
    "D1Error",
    "D1PreparedStatement",
    "MigrationError",
    "apply_migrations",
    "create_migration",
    "d1_persist_path",
    "list_migrations",
    "migration_files",
    "open_d1",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
