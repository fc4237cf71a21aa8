"""D1 for Python workers: Cloudflare's API, results, errors and rules, over SQLite (apsw)."""

from .database import D1Database, D1DatabaseSession
from .engine import SERVED_BY
from .errors import D1Error, MigrationError
from .migrations import apply_migrations, create_migration, list_migrations, migration_files
from .persist import d1_persist_path, open_d1
from .statement import D1PreparedStatement

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
