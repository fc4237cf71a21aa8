"""`pyflare d1`: execute, list, info, export and migrations, as wrangler has them (locally).

Results go to stdout: tables on a terminal, JSON otherwise (or with `--json`), as wrangler does;
what the command says about its work (which database file, how many statements) goes to stderr,
so piped output is only the data.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import (
    JsonErrorCommand,
    color_mode,
    color_option,
    config_option,
    env_option,
    error_text,
    persist_option,
    print_json,
    print_json_error,
    stderr_console,
    stdout_console,
    user_errors,
    wrangler_flags,
)

if TYPE_CHECKING:
    from ..config import D1DatabaseConfig, WorkerConfig
    from ..d1 import D1Database

__all__ = ["d1"]


def _message(exc: BaseException) -> str:
    """The one line a user error prints; D1's errors as wrangler shows them (without D1_ERROR)."""
    from ..d1 import D1Error

    text = error_text(exc)
    return text.removeprefix("D1_ERROR: ") if isinstance(exc, D1Error) else text


def _user_errors(as_json: bool = False) -> AbstractContextManager[None]:
    """The errors a user can cause, as one line on stderr (or wrangler's JSON error on stdout
    under `--json`) and exit code 1."""
    from ..config import ConfigError
    from ..d1 import D1Error
    from ..d1.sqldump import ExportError
    from ..state import StateError

    kinds = (ConfigError, D1Error, ExportError, StateError, _NotFound)
    return user_errors(*kinds, as_json=as_json, text=_message)


class _NotFound(Exception):
    """No D1 database of that name or binding in the config."""


def _find(
    config_path: Path | None, env: str | None, database: str
) -> tuple[WorkerConfig, D1DatabaseConfig]:
    """The worker's config and the D1 database named by its binding or database_name."""
    from ..config import load_config

    worker = load_config(config_path, env, require_main=False)
    for found in worker.d1_databases:
        if database in (found.binding, found.database_name):
            return worker, found
    names = [
        db.binding + (f" ({db.database_name})" if db.database_name else "")
        for db in worker.d1_databases
    ]
    known = f"Its D1 databases: {', '.join(names)}." if names else "It has no [[d1_databases]]."
    raise _NotFound(
        f"Couldn't find a D1 DB with the name or binding '{database}' in your "
        f"{worker.path.name} file. {known}"
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


def _shown(path: Path) -> str:
    """`path` relative to the current folder when it is inside it, as wrangler shows paths."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


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


def _shorten(sql: str, width: int = 48) -> str:
    one_line = " ".join(sql.split())
    return one_line if len(one_line) <= width else one_line[: width - 3] + "..."


def _terminal_output(as_json: bool) -> bool:
    """Whether results go out as tables: on a terminal and without `--json`."""
    from ..console import is_terminal

    return not as_json and is_terminal(sys.stdout)


@click.group()
@color_option
def d1() -> None:
    """Work with the local D1 databases (the files wrangler uses)."""


@d1.command(cls=JsonErrorCommand)
@click.argument("database")
@click.option("--command", "command", default=None, help="SQL to run (statements separated by ;).")
@click.option("--file", "file", default=None, metavar="PATH", help="A .sql file to run.")
@click.option("--json", "as_json", is_flag=True, help="Print the results (or the error) as JSON.")
@config_option
@env_option
@persist_option
@wrangler_flags()
@color_option
def execute(
    database: str,
    command: str | None,
    file: str | None,
    as_json: bool,
    config: Path | None,
    env: str | None,
    persist_to: Path | None,
) -> None:
    """Run SQL on the local DATABASE (its binding or database_name), in one transaction.

    On a terminal the rows are shown as tables; piped, or with --json, the results are
    printed as wrangler's JSON. Which database file is used is said on stderr.
    """
    from ..console import progress
    from ..d1.script import ScriptError, read_script, run_script, script_statements

    if (command is None) == (file is None):
        message = "Give exactly one of --command or --file."
        if as_json:
            print_json_error(message)
            raise click.exceptions.Exit(2)
        raise click.UsageError(message)
    say = stderr_console()
    with _user_errors(as_json):
        text = read_script(file) if file is not None else str(command)
        statements = script_statements(text)
        with _open(config, env, database, persist_to) as (_, found, db):
            assert db.path is not None
            if not as_json:
                say.print(
                    f"Executing on local database {database} ({found.persist_id}) "
                    f"in {_shown(db.path)}"
                )
            try:
                with progress(len(statements), "Executing", color_mode()) as update:
                    results = run_script(db, statements, source=file, progress=update)
            except ScriptError as exc:
                if file is None and len(statements) == 1:
                    raise exc.error from None  # one statement: nothing to locate
                raise
    count = len(results)
    if not as_json:
        say.print(f"{count} command{'' if count == 1 else 's'} executed successfully.")
    output = [
        {
            "results": [{k: _cell(v) for k, v in row.items()} for row in result.results],
            "success": result.success,
            "meta": {"duration": result.meta.duration},
        }
        for result in results
    ]
    if not _terminal_output(as_json):
        print_json(output)
        return
    _print_tables(output, [s.sql for s in statements])


def _print_tables(output: list[dict[str, Any]], queries: list[str]) -> None:
    from rich.text import Text

    from ..console import Column, print_table

    console = stdout_console()
    for result, query in zip(output, queries, strict=True):
        rows = result["results"]
        if not rows:
            continue
        console.print(Text(_shorten(query), style="dim"))
        columns = [Column(str(name)) for name in rows[0]]
        cells = [["null" if v is None else str(v) for v in row.values()] for row in rows]
        print_table(console, columns, cells)


def _inspect(found: D1DatabaseConfig, root: Path) -> dict[str, Any]:
    """What `d1 list` and `d1 info` show of a database, read without creating its file."""

    from ..d1 import d1_persist_path

    path = d1_persist_path(root, found.persist_id)
    tables = size = 0
    if path.is_file():
        with _state_errors(path):
            tables, size = _count(path)
    return {
        "uuid": found.database_id,
        "name": found.database_name,
        "binding": found.binding,
        "num_tables": tables,
        "file_size": size,
        "file": str(path),
    }


@contextmanager
def _state_errors(path: Path) -> Iterator[None]:
    """A damaged or unreadable database file as one line naming it."""
    import apsw

    from ..state import open_error

    try:
        yield
    except apsw.Error as exc:
        raise open_error("Cannot read the D1 database", path, exc) from None


def _count(path: Path) -> tuple[int, int]:
    """Tables and bytes in use of the database file at `path`."""
    import apsw

    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        conn.set_busy_timeout(5000)
        names = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        tables = sum(1 for (name,) in names if not str(name).startswith(("sqlite_", "_cf_")))
        page_size, pages, free = (
            int(str(conn.execute(f"PRAGMA {pragma}").fetchall()[0][0]))
            for pragma in ("page_size", "page_count", "freelist_count")
        )
        size = (pages - free) * page_size  # what D1 counts as the database's size
    finally:
        conn.close()
    return tables, size


def _pretty_bytes(size: int) -> str:
    """Sizes as wrangler shows them (decimal units, three significant digits)."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if float(f"{value:.3g}") < 1000 or unit == "TB":
            break
    return f"{float(f'{value:.3g}'):g} {unit}"


@d1.command("list", cls=JsonErrorCommand)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default off a terminal).")
@config_option
@env_option
@persist_option
@wrangler_flags(yes=False)
@color_option
def list_databases(
    as_json: bool, config: Path | None, env: str | None, persist_to: Path | None
) -> None:
    """List the D1 databases of the config, with their local files."""
    from ..config import load_config, persist_root

    with _user_errors(as_json):
        worker = load_config(config, env, require_main=False)
        root = persist_root(worker.root, persist_to)
        rows = [_inspect(found, root) for found in worker.d1_databases]
    if not _terminal_output(as_json):
        print_json(rows)
        return
    from ..console import Column, print_table

    if not rows:
        stderr_console().print(f"No [[d1_databases]] in {_shown(worker.path)}.")
        return
    columns = [
        Column("uuid"),
        Column("name"),
        Column("binding"),
        Column("num_tables", "right"),
        Column("file_size", "right"),
        Column("file"),
    ]
    cells = [
        [
            row["uuid"] or "",
            row["name"] or "",
            row["binding"],
            str(row["num_tables"]),
            _pretty_bytes(row["file_size"]),
            _shown(Path(row["file"])),
        ]
        for row in rows
    ]
    print_table(stdout_console(), columns, cells)


@d1.command(cls=JsonErrorCommand)
@click.argument("database")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default off a terminal).")
@config_option
@env_option
@persist_option
@wrangler_flags(yes=False)
@color_option
def info(
    database: str, as_json: bool, config: Path | None, env: str | None, persist_to: Path | None
) -> None:
    """Size and table count of the local DATABASE (its binding or database_name)."""
    from ..config import persist_root

    with _user_errors(as_json):
        worker, found = _find(config, env, database)
        data = _inspect(found, persist_root(worker.root, persist_to))
    file = data.pop("file")
    data["database_size"] = data.pop("file_size")
    data["file"] = file
    if not _terminal_output(as_json):
        print_json(data)
        return
    from ..console import Column, print_table

    shown = {k: v for k, v in data.items() if k != "uuid"}
    shown["database_size"] = _pretty_bytes(data["database_size"])
    shown["file"] = _shown(Path(data["file"]))
    cells = [[key, "" if value is None else str(value)] for key, value in shown.items()]
    columns = [Column(found.binding), Column(found.database_id or found.persist_id)]
    print_table(stdout_console(), columns, cells)


@d1.command()
@click.argument("database")
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The .sql file to write.",
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="TABLE",
    help="Export only this table (repeatable).",
)
@click.option("--no-schema", is_flag=True, help="Only the rows, not the CREATE statements.")
@click.option("--no-data", is_flag=True, help="Only the schema, not the rows.")
@config_option
@env_option
@persist_option
@wrangler_flags(yes=False)
@click.option(
    "-y",
    "--skip-confirmation",
    is_flag=True,
    expose_value=False,
    help="Accepted as wrangler has it; pyflare never asks.",
)
@color_option
def export(
    database: str,
    output: Path,
    tables: tuple[str, ...],
    no_schema: bool,
    no_data: bool,
    config: Path | None,
    env: str | None,
    persist_to: Path | None,
) -> None:
    """Write the local DATABASE as an SQL file, in wrangler's dump format."""
    from ..config import persist_root
    from ..d1 import d1_persist_path
    from ..d1.sqldump import export_file

    if no_schema and no_data:
        raise click.UsageError(
            "Cannot use --no-schema and --no-data together. At least one of schema or data "
            "must be included in the export. Remove one of the flags."
        )
    if output.is_dir():
        raise click.UsageError("Please specify a file path for --output, not a directory.")
    say = stderr_console()
    with _user_errors():
        worker, found = _find(config, env, database)
        path = d1_persist_path(persist_root(worker.root, persist_to), found.persist_id)
        say.print(f"Exporting local database {database} ({found.persist_id}) from {_shown(path)}")
        say.print(f"Exporting SQL to {output}...")
        with _state_errors(path):
            export_file(path, output, tables, no_schema=no_schema, no_data=no_data)
    say.print("Done!")


@d1.group()
@color_option
def migrations() -> None:
    """Create, list and apply migrations (wrangler's files and table)."""


@migrations.command("create")
@click.argument("database")
@click.argument("message")
@config_option
@env_option
@color_option
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
@wrangler_flags(yes=False)
@color_option
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
@wrangler_flags()
@color_option
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
