"""`pyflare d1 export`: wrangler's SQL dump format, and a dump that loads back unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest
from click.testing import Result
from helpers import D1_CONFIG, pyflare

from miniflare_py.d1.sqldump import ExportError, _js_number, dump_sql


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(D1_CONFIG + '\n[[d1_databases]]\nbinding = "COPY"\ndatabase_id = "copy"\n')


def run(*args: str) -> Result:
    return pyflare("d1", *args)


def execute(database: str, sql: str) -> list[dict]:  # type: ignore[type-arg]
    result = run("execute", database, "--command", sql, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def dump(sql: str, **options: object) -> list[str]:
    conn = apsw.Connection(":memory:")
    conn.execute(sql)
    return list(dump_sql(conn, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (2.0, "2"),
        (-0.5, "-0.5"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e16, "10000000000000000"),
        (123456789.125, "123456789.125"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (1.5e-10, "1.5e-10"),
        (-2.5e30, "-2.5e+30"),
        (0.0, "0"),
    ],
)
def test_floats_are_written_as_javascript_writes_them(value: float, text: str) -> None:
    assert _js_number(value) == text


def test_the_dump_format() -> None:
    lines = dump(
        """
        CREATE TABLE "Quoted Name" (id INTEGER PRIMARY KEY AUTOINCREMENT, v);
        CREATE TABLE plain (a TEXT, b BLOB, c REAL, d);
        CREATE INDEX plain_a ON plain (a);
        CREATE VIEW v_plain AS SELECT a FROM plain;
        CREATE TRIGGER t_plain AFTER INSERT ON plain BEGIN SELECT 1; END;
        INSERT INTO "Quoted Name" (v) VALUES ('it''s'), (NULL);
        INSERT INTO plain VALUES ('two
lines', x'00ff', 2.5, 7), ('a\\nb' || char(10) || 'c', NULL, 1e100, -3);
        """
    )
    assert lines == [
        "PRAGMA defer_foreign_keys=TRUE;",
        'CREATE TABLE IF NOT EXISTS "Quoted Name" '
        "(id INTEGER PRIMARY KEY AUTOINCREMENT, v);",
        """INSERT INTO "Quoted Name" ("id","v") VALUES(1,'it''s');""",
        """INSERT INTO "Quoted Name" ("id","v") VALUES(2,NULL);""",
        "CREATE TABLE plain (a TEXT, b BLOB, c REAL, d);",
        'INSERT INTO "plain" ("a","b","c","d") '
        """VALUES(replace('two\\nlines','\\n',char(10)),X'00ff',2.5,7);""",
        # the text holds a backslash-n of its own: another marker keeps it intact
        'INSERT INTO "plain" ("a","b","c","d") '
        """VALUES(replace('a\\nb\\012c','\\012',char(10)),NULL,1e+100,-3);""",
        "DELETE FROM sqlite_sequence;",
        """INSERT INTO "sqlite_sequence" ("name","seq") VALUES('Quoted Name',2);""",
        "CREATE INDEX plain_a ON plain (a);",
        "CREATE TRIGGER t_plain AFTER INSERT ON plain BEGIN SELECT 1; END;",
        "CREATE VIEW v_plain AS SELECT a FROM plain;",
    ]  # fmt: skip


def test_tables_no_data_and_no_schema() -> None:
    schema = "CREATE TABLE a (x); CREATE TABLE b (y); CREATE INDEX b_y ON b (y); "
    rows = "INSERT INTO a VALUES (1); INSERT INTO b VALUES (2);"
    assert dump(schema + rows, tables=["b"]) == [
        "PRAGMA defer_foreign_keys=TRUE;",
        "CREATE TABLE b (y);",
        'INSERT INTO "b" ("y") VALUES(2);',
        "CREATE INDEX b_y ON b (y);",
    ]
    assert dump(schema + rows, no_data=True) == [
        "PRAGMA defer_foreign_keys=TRUE;",
        "CREATE TABLE a (x);",
        "CREATE TABLE b (y);",
        "CREATE INDEX b_y ON b (y);",
    ]
    assert dump(schema + rows, no_schema=True) == [
        "PRAGMA defer_foreign_keys=TRUE;",
        'INSERT INTO "a" ("x") VALUES(1);',
        'INSERT INTO "b" ("y") VALUES(2);',
    ]
    with pytest.raises(ExportError, match=r"No such table: c \(the database has a, b\)"):
        dump(schema, tables=["c"])


def test_a_virtual_table_cannot_be_exported() -> None:
    with pytest.raises(ExportError, match="Virtual Tables"):
        dump("CREATE VIRTUAL TABLE docs USING fts5(body)")


def test_export_writes_the_file_and_loads_back_unchanged(project: Path) -> None:
    execute(
        "DB",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, data BLOB, score REAL);"
        "INSERT INTO t (note, data, score) VALUES "
        "('line one' || char(10) || 'line two', x'deadbeef', 0.1),"
        "('quote '' and \\n kept', NULL, 2.0),"
        "('[en] hello', x'', -1e-9)",
    )
    result = run("export", "app-db", "--output", "dump.sql")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Exporting local database app-db (00000000-1111-2222-3333-444444444444) from "
        ".wrangler/state/v3/d1/miniflare-D1DatabaseObject/"
        + result.output.split("miniflare-D1DatabaseObject/")[1].split("\n")[0],
        "Exporting SQL to dump.sql...",
        "Done!",
    ]
    text = (project / "dump.sql").read_text()
    assert text.startswith("PRAGMA defer_foreign_keys=TRUE;\nCREATE TABLE t (")
    assert not text.endswith("\n")  # wrangler writes the lines joined, with no final newline

    result = run("execute", "COPY", "--file", "dump.sql")
    assert result.exit_code == 0, result.output
    query = "SELECT id, note, hex(data) AS data, score FROM t ORDER BY id"
    assert execute("COPY", query)[0]["results"] == execute("DB", query)[0]["results"]


def test_export_mistakes_are_one_line(project: Path) -> None:
    (project / "folder").mkdir()
    for args, message in [
        (("--output", "folder"), "Please specify a file path for --output, not a directory."),
        (("--output", "x.sql", "--no-data", "--no-schema"), "Cannot use --no-schema and --no-data"),
        (("--output", "x.sql", "--table", "nope"), "No such table: nope"),
    ]:
        result = run("export", "DB", *args)
        assert result.exit_code in (1, 2), result.output
        assert message in result.output
        assert "Traceback" not in result.output
    result = run("export", "NOPE", "--output", "x.sql")
    assert "Its D1 databases: DB (app-db), COPY." in result.output
