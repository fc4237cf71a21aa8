"""`[[d1_databases]]`: the D1 part of a wrangler config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["D1DatabaseConfig", "D1Section", "parse_d1"]

_D1_KEYS = frozenset(
    {
        "binding",
        "database_name",
        "database_id",
        "preview_database_id",
        "migrations_dir",
        "migrations_table",
        "migrations_pattern",
        "database_internal_env",
        "remote",
    }
)


@dataclass(frozen=True)
class D1DatabaseConfig:
    binding: str
    database_name: str | None = None
    database_id: str | None = None
    preview_database_id: str | None = None
    migrations_dir: str = "migrations"  # relative to the config file's folder
    migrations_table: str = "d1_migrations"

    @property
    def persist_id(self) -> str:
        """The id wrangler uses to name the local SQLite file."""
        return self.preview_database_id or self.database_id or self.binding


@dataclass(frozen=True)
class D1Section:
    """Every database of one config section, with the key path of each (`d1_databases[0]`)."""

    databases: tuple[D1DatabaseConfig, ...] = ()
    paths: tuple[str, ...] = ()


def parse_d1(reader: ConfigReader, section: Mapping[str, Any], where: str) -> D1Section:
    return D1Section(*reader.each(section, "d1_databases", where, _database))


def _database(reader: ConfigReader, item: dict[str, Any], where: str) -> D1DatabaseConfig:
    reader.check_keys(item, where, _D1_KEYS)
    return D1DatabaseConfig(
        binding=reader.required_string(item, "binding", where),
        database_name=reader.string(item, "database_name", where),
        database_id=reader.string(item, "database_id", where),
        preview_database_id=reader.string(item, "preview_database_id", where),
        migrations_dir=reader.string(item, "migrations_dir", where) or "migrations",
        migrations_table=reader.string(item, "migrations_table", where) or "d1_migrations",
    )
