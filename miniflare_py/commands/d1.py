"""`pyflare d1 execute` and `pyflare d1 migrations create | list | apply`, as wrangler has them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import config_option, env_option, persist_option

if TYPE_CHECKING:
    from ..config import D1DatabaseConfig, WorkerConfig
    from ..d1 import D1Database

__all__ = ["d1"]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line on stderr and exit code 1."""
    from ..config import ConfigError
    from ..d1 import D1Error
    from ..state import StateError

    try:
        yield
    except (ConfigError, D1Error, StateError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.strerror or exc}: {exc.filename}") from None


def _find(
    config_path: Path | None, env: str | None, database: str
) -> tuple[WorkerConfig, D1DatabaseConfig]:
    """The worker's config and the D1 database named by its binding or database_name."""
    from ..config import load_config

    worker = load_config(config_path, env, require_main=False)
    for found in worker.d1_databases:
        if database in (found.binding, found.database_name):
            return worker, found
    raise click.ClickException(
        f"Couldn't find a D1 DB with the name or binding '{database}' in your "
        f"{worker.path.name} file."
    )


@contextmanager
def _open(
    config_path: Path | None, env: str | None, database: str, persist_to: Path | None
) -> Iterator[tuple[WorkerConfig, D1DatabaseConfig, D1Database]]:
    """Find the database and open its local file for the `with` block."""
    from ..config import persist_root
    from ..d1 import open_d1

    worker, found = _find(config_path, env, database)
    db = open_d1(found, persist_root(worker.root, persist_to))
    try:
        yield worker, found, db
    finally:
        db.close()


def _echo_pending(todo: list[str]) -> bool:
    """Print the migrations waiting to be applied, as wrangler does; False when there are none."""
    if not todo:
        click.echo("No migrations to apply!")
        return False
    click.echo("Migrations to be applied:")
    for name in todo:
        click.echo(f"  {name}")
    return True


def _cell(value: Any) -> Any:
    # wrangler prints a BLOB (a list of byte values) as "[1, 2, 3]"
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else value


@click.group()
def d1() -> None:
    """Work with the local D1 databases (the files wrangler uses)."""


@d1.command()
@click.argument("database")
@click.option("--command", "command", default=None, help="SQL to run.")
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A file of SQL to run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@config_option
@env_option
@persist_option
def execute(
    database: str,
    command: str | None,
    file: Path | None,
    as_json: bool,
    config: Path | None,
    env: str | None,
    persist_to: Path | None,
) -> None:
    """Run SQL on the local DATABASE (its binding or database_name), in one transaction."""
    from ..d1.splitter import split_file

    if (command is None) == (file is None):
        raise click.UsageError("Give exactly one of --command or --file.")
    with _user_errors():
        sql = command if file is None else file.read_text(encoding="utf-8")
        with _open(config, env, database, persist_to) as (_, _, db):
            statements = [db.prepare(s) for s in split_file(sql)]
            results = asyncio.run(db.batch(statements))
    output = [
        {
            "results": [{k: _cell(v) for k, v in row.items()} for row in result.results],
            "success": result.success,
            "meta": {"duration": result.meta.duration},
        }
        for result in results
    ]
    if as_json:
        click.echo(json.dumps(output, indent=2, ensure_ascii=False))
        return
    _print_tables(output)


def _print_tables(output: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
    count = len(output)
    console.print(f"{count} command{'' if count == 1 else 's'} executed successfully.")
    for result in output:
        rows = result["results"]
        if not rows:
            continue
        table = Table()
        for column in rows[0]:
            table.add_column(str(column))
        for row in rows:
            table.add_row(*("NULL" if v is None else str(v) for v in row.values()))
        console.print(table)


@d1.group()
def migrations() -> None:
    """Create, list and apply migrations (wrangler's files and table)."""


@migrations.command("create")
@click.argument("database")
@click.argument("message")
@config_option
@env_option
def create(database: str, message: str, config: Path | None, env: str | None) -> None:
    """Write the next numbered migration file for DATABASE."""
    from ..d1 import create_migration

    with _user_errors():
        worker, found = _find(config, env, database)
        path = create_migration(found, worker.root, message)
    click.echo(f"Successfully created Migration '{path.name}'!")
    click.echo(str(path))


@migrations.command("list")
@click.argument("database")
@config_option
@env_option
@persist_option
def list_(database: str, config: Path | None, env: str | None, persist_to: Path | None) -> None:
    """List the migrations of DATABASE not applied yet."""
    from ..d1 import list_migrations

    with _user_errors(), _open(config, env, database, persist_to) as (worker, found, db):
        _, todo = list_migrations(db, found, worker.root)
    _echo_pending(todo)


@migrations.command("apply")
@click.argument("database")
@config_option
@env_option
@persist_option
def apply(database: str, config: Path | None, env: str | None, persist_to: Path | None) -> None:
    """Apply the unapplied migrations of DATABASE in order; stop at the first failure."""
    from ..d1 import MigrationError, apply_migrations, list_migrations

    with _user_errors(), _open(config, env, database, persist_to) as (worker, found, db):
        _, todo = list_migrations(db, found, worker.root)
        if not _echo_pending(todo):
            return
        try:
            applied = apply_migrations(db, found, worker.root)
        except MigrationError as exc:
            for name in todo:
                if name == exc.file:
                    break
                click.echo(f"Applied {name}")
            raise
    for name in applied:
        click.echo(f"Applied {name}")
    click.echo(f"{len(applied)} migration{'' if len(applied) == 1 else 's'} applied.")
