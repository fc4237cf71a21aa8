"""Migrations the way `wrangler d1 migrations` does them.

Files are the ``*.sql`` directly inside `migrations_dir`, in order of their leading number. Each
file runs in one transaction together with the row that records it in `migrations_table`, so a
file is applied entirely or not at all, and the first failure stops the run.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from .config import D1DatabaseConfig
from .database import D1Database
from .errors import MigrationError
from .script import ScriptError, run_script, script_statements

__all__ = ["apply_migrations", "create_migration", "list_migrations", "migration_files"]

_NUMBER = re.compile(r"\d+")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _number(name: str) -> int | None:
    match = _NUMBER.match(name.split("_", 1)[0])
    return int(match.group()) if match else None


def _order(name: str) -> tuple[int, int, str]:
    number = _number(name)
    # Numbered files first, by number; then unnumbered ones; ties by name.
    return (0, number, name) if number is not None else (1, 0, name)


def migrations_folder(config: D1DatabaseConfig, root: Path) -> Path:
    """The folder holding the migration files."""
    return Path(root) / config.migrations_dir


def migration_files(config: D1DatabaseConfig, root: Path) -> list[str]:
    """Names of the migration files, in the order they apply."""
    folder = migrations_folder(config, root)
    if not folder.is_dir():
        raise MigrationError(f"No migrations present at {folder}.")
    names = [
        p.name
        for p in folder.iterdir()
        if p.suffix == ".sql" and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(names, key=_order)


def _applied(db: D1Database, config: D1DatabaseConfig) -> list[str]:
    engine = db._engine
    table = _quote(config.migrations_table)
    engine.query(
        f"CREATE TABLE IF NOT EXISTS {table}(\n"
        "    id         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "    name       TEXT UNIQUE,\n"
        "    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n"
        ");",
        (),
    )
    _, rows = engine.rows(f"SELECT name FROM {table} ORDER BY id", ())
    # `name` is nullable in the schema (Miniflare's), but every writer stores a file name.
    return [name for (name, *_) in rows if isinstance(name, str)]


def list_migrations(
    db: D1Database, config: D1DatabaseConfig, root: Path
) -> tuple[list[str], list[str]]:
    """``(applied, unapplied)``: names recorded in the migrations table, and files not yet run."""
    files = migration_files(config, root)
    applied = _applied(db, config)
    done = set(applied)
    return applied, [name for name in files if name not in done]


def apply_migrations(db: D1Database, config: D1DatabaseConfig, root: Path) -> list[str]:
    """Apply the unapplied files in order; returns their names.

    Raises `MigrationError` naming the first file that fails; it and later files are not applied.
    """
    _, todo = list_migrations(db, config, root)
    folder = migrations_folder(config, root)
    table = _quote(config.migrations_table)
    applied: list[str] = []
    for name in todo:
        text = (folder / name).read_text(encoding="utf-8")
        record = name.replace("'", "''")
        sql = f"{text}\nINSERT INTO {table} (name)\nvalues ('{record}');"
        try:
            run_script(db, script_statements(sql))
        except ScriptError as exc:
            path = Path(config.migrations_dir) / name
            where = f"at {path}:{exc.line}" if exc.line else f"in {path}"
            raise MigrationError(
                f"Migration {name} failed: {exc.error} ({where})", file=name
            ) from None
        applied.append(name)
    return applied


def create_migration(config: D1DatabaseConfig, root: Path, message: str) -> Path:
    """Write the next numbered file, ``NNNN_<message>.sql`` (spaces become underscores)."""
    name = message.replace(" ", "_")
    if "/" in name or "\\" in name:
        raise MigrationError(
            f'The migration name "{message}" contains a path separator ("/" or "\\"). '
            "Please remove this and try again."
        )
    folder = migrations_folder(config, root)
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [n for n in map(_number, (p.name for p in folder.glob("*.sql"))) if n is not None]
    number = f"{max(numbers, default=0) + 1:04d}"
    path = folder / f"{number}_{name}.sql"
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    path.write_text(f"-- Migration number: {number} \t {now}\n", encoding="utf-8")
    return path
