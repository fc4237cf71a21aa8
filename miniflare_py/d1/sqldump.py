"""`d1 export`: a database as the SQL text `wrangler d1 export --local` writes.

The format is the SQLite shell's `.dump` as D1 adapts it: a first `PRAGMA defer_foreign_keys=TRUE;`,
then per table (in creation order, `sqlite_sequence` last) its `CREATE TABLE` and one
`INSERT INTO "t" ("a","b") VALUES(...);` per row, then indexes, triggers and views; one
statement a line, no newline after the last. D1's own tables (`_cf_*`) and SQLite's are left
out. Text with line breaks is written as `replace('a\\nb','\\n',char(10))`, as the shell does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import apsw

from ..jsnumber import js_number

__all__ = ["ExportError", "dump_sql", "export_file"]

_QUOTED_CREATE = re.compile(r"CREATE TABLE ['\"]")


class ExportError(Exception):
    """The database cannot be exported (a virtual table, an unknown table name)."""


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _js_number(value: float) -> str:
    """A float as JavaScript's `String(number)` writes it (what wrangler's dump holds)."""
    if value != value:  # NaN cannot be stored by SQLite; kept for completeness
        return "NULL"
    if value in (float("inf"), float("-inf")):
        return "9.0e999" if value > 0 else "-9.0e999"  # SQLite reads these back as +-Inf
    return js_number(value)


def _unused(text: str, preferred: str, fallback: str) -> str:
    """An escape marker for a line break that does not already occur in `text`."""
    if preferred not in text:
        return preferred
    if fallback not in text:
        return fallback
    i = 0
    while f"{preferred}{i}" in text:
        i += 1
    return f"{preferred}{i}"


def _text(value: str) -> str:
    quoted = value.replace("'", "''")
    lf = cr = None
    if "\n" in quoted:
        lf = _unused(quoted, "\\n", "\\012")
        quoted = quoted.replace("\n", lf)
    if "\r" in quoted:
        cr = _unused(quoted, "\\r", "\\015")
        quoted = quoted.replace("\r", cr)
    out = f"'{quoted}'"
    if cr is not None:
        out = f"replace({out},'{cr}',char(13))"
    if lf is not None:
        out = f"replace({out},'{lf}',char(10))"
    return out


def _value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"X'{bytes(value).hex()}'"
    raise ExportError(f"cannot export a value of type {type(value).__name__}")


def dump_sql(
    conn: apsw.Connection,
    tables: Sequence[str] = (),
    no_schema: bool = False,
    no_data: bool = False,
) -> Iterator[str]:
    """The statements of the dump of `conn`'s main database, one at a time.

    `tables` limits the dump to those tables (with their indexes and triggers); `no_schema`
    leaves out the CREATE statements, `no_data` the rows.
    """
    wanted = set(tables)
    objects = [
        (str(name), str(sql))
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql NOT NULL "
            "ORDER BY tbl_name = 'sqlite_sequence', rowid"
        )
    ]
    unknown = wanted - {name for name, _ in objects}
    if unknown:
        known = [n for n, _ in objects if not n.startswith(("_cf_", "sqlite_"))]
        raise ExportError(
            f"No such table: {', '.join(sorted(unknown))} "
            f"(the database has {', '.join(known) if known else 'no tables'})"
        )
    yield "PRAGMA defer_foreign_keys=TRUE;"
    for name, sql in objects:
        if wanted and name not in wanted:
            continue
        if name == "sqlite_sequence":
            if not no_schema:
                yield "DELETE FROM sqlite_sequence;"
        elif name.startswith("sqlite_stat"):
            if not no_schema:
                yield "ANALYZE sqlite_schema;"
        elif sql.startswith("CREATE VIRTUAL TABLE"):
            raise ExportError("D1 Export error: cannot export databases with Virtual Tables (fts5)")
        elif name.startswith(("_cf_", "sqlite_")):
            continue
        elif not no_schema:
            # The shell adds IF NOT EXISTS when the table's name was written quoted.
            quoted = _QUOTED_CREATE.match(sql)
            yield f"CREATE TABLE IF NOT EXISTS {sql[13:]};" if quoted else f"{sql};"
        if no_data:
            continue
        columns = [str(row[1]) for row in conn.execute(f"PRAGMA table_info({_identifier(name)})")]
        names = ",".join(map(_identifier, columns))
        select = f"SELECT {', '.join(map(_identifier, columns))} FROM {_identifier(name)}"
        for row in conn.execute(select):
            values = ",".join(map(_value, row))
            yield f"INSERT INTO {_identifier(name)} ({names}) VALUES({values});"
    if no_schema:
        return
    rest = conn.execute(
        "SELECT name, tbl_name, type, sql FROM sqlite_schema WHERE sql NOT NULL "
        "AND type IN ('index', 'trigger', 'view') ORDER BY type COLLATE NOCASE, rowid"
    )
    for name, table, kind, sql in rest:
        # An index or trigger goes with its table; a view is asked for by its own name.
        if wanted and str(name if kind == "view" else table) not in wanted:
            continue
        yield f"{sql};"


def export_file(
    database: Path,
    output: Path,
    tables: Sequence[str] = (),
    no_schema: bool = False,
    no_data: bool = False,
) -> None:
    """Write the dump of the SQLite file `database` to `output` (read-only on the database, so
    a running `pyflare dev` can keep using it). A missing database exports as empty."""
    if database.is_file():
        conn = apsw.Connection(str(database), flags=apsw.SQLITE_OPEN_READONLY)
    else:
        conn = apsw.Connection(":memory:")
    try:
        conn.set_busy_timeout(5000)
        with conn:  # one read transaction: a consistent snapshot
            text = "\n".join(dump_sql(conn, tables, no_schema, no_data))
    finally:
        conn.close()
    output.write_text(text, encoding="utf-8")
