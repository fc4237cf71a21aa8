"""D1 as a binding type: `[[d1_databases]]` -> `env.DB`, `mf.d1`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..bindings.base import BindingHost, BindingInstance, BindingType, Finding
from .config import D1DatabaseConfig, D1Section, parse_d1

if TYPE_CHECKING:
    # The databases (apsw, the engine) are imported when a config first opens one.
    from .database import D1Database

__all__ = ["D1Binding", "D1Databases"]


class D1Databases(BindingInstance):
    """The open databases of one worker, by binding name."""

    def __init__(self, section: D1Section, databases: dict[str, D1Database], root: Path) -> None:
        self.section = section
        self.databases = databases
        self.root = root  # migrations folders are relative to the config file

    def env_values(self) -> Mapping[str, Any]:
        return self.databases

    def handle(self) -> dict[str, D1Database]:
        return self.databases

    def check_worker(self, worker: Any) -> list[Finding]:
        """A database without a migrations folder starts empty: the check says so."""
        return [
            Finding(
                f"D1 {db.binding}: no migrations folder at {self.root / db.migrations_dir}, so the "
                "check runs on an empty database (set migrations_dir in the config if it is "
                "elsewhere)"
            )
            for db in self.section.databases
            if not (self.root / db.migrations_dir).is_dir()
        ]

    async def migrate(self) -> dict[str, list[str]]:
        """Apply the wrangler migrations of every database whose migrations folder exists;
        raises `MigrationError` naming the file that failed (earlier files stay applied)."""
        from .migrations import apply_migrations

        applied: dict[str, list[str]] = {}
        for db_config in self.section.databases:
            if (self.root / db_config.migrations_dir).is_dir():
                applied[db_config.binding] = apply_migrations(
                    self.databases[db_config.binding], db_config, self.root
                )
        return applied

    def snapshot(self) -> dict[str, bytes]:
        """Each in-memory database's pages, by binding (see `restore()`)."""
        return {name: db._engine.image() for name, db in self.databases.items()}

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Make the in-memory databases copies of a `snapshot()`, e.g. one taken after the
        migrations ran, so a test starts from migrated tables without running them again."""
        for name, image in snapshot.items():
            self.databases[name]._engine.restore(image)

    def by_persist_id(self) -> dict[str, D1Database]:
        """The open databases keyed by the id that names their file."""
        return {c.persist_id: self.databases[c.binding] for c in self.section.databases}

    async def close(self, *, keep_state: bool = False) -> None:
        if not keep_state:
            for db in self.databases.values():
                db.close()


class D1Binding(BindingType):
    name = "d1"
    config_keys = ("d1_databases",)
    runtime_attribute = "d1"
    config_attributes: ClassVar[Mapping[str, Any]] = {
        "d1_databases": lambda section: section.databases
    }
    exports = (D1DatabaseConfig,)
    cli_command = "miniflare_py.commands.d1:d1"
    explorer_view = "miniflare_py.explorer.views.d1:D1View"

    def empty(self) -> D1Section:
        return D1Section()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> D1Section:
        return parse_d1(reader, section, where)

    def binding_names(self, parsed: D1Section) -> list[tuple[str, str]]:
        return [
            (f"{at}.binding", db.binding)
            for at, db in zip(parsed.paths, parsed.databases, strict=True)
        ]

    def open(
        self, host: BindingHost, parsed: D1Section, previous: BindingInstance | None
    ) -> D1Databases:
        # A config reload keeps the databases whose file id did not change (an in-memory
        # database would otherwise lose its data); the others are closed.
        inherited = previous.by_persist_id() if isinstance(previous, D1Databases) else {}
        databases: dict[str, D1Database] = {}
        for db_config in parsed.databases:
            existing = inherited.pop(db_config.persist_id, None)
            if existing is None:
                from .persist import open_d1  # only a config with databases imports them

                existing = open_d1(db_config, host.persist_to)
            databases[db_config.binding] = existing
        for leftover in inherited.values():
            leftover.close()
        return D1Databases(parsed, databases, host.config.root)
