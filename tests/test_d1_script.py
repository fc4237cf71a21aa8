"""`d1 execute --file` and migrations: which statement and line failed, progress, the database
file named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import D1_CONFIG, pyflare

import miniflare_py.console
from miniflare_py.d1 import D1Database, MigrationError, apply_migrations
from miniflare_py.d1.script import ScriptError, run_script, script_statements

SCRIPT = """-- seed data
CREATE TABLE t (a INTEGER, b TEXT);

INSERT INTO t VALUES (1, 'one');
INSERT INTO t VALUES (2, 'two; still a string');
/* a comment */ INSERT INTO t
  VALUES (3,
  'three') ;
INSERT INTO t VALUES (4, 'four');
"""


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(D1_CONFIG)


def test_statements_know_their_number_and_line() -> None:
    found = [(s.number, s.line, s.sql.split()[0]) for s in script_statements(SCRIPT)]
    assert found == [
        (1, 1, "--"),
        (2, 4, "INSERT"),
        (3, 5, "INSERT"),
        (4, 6, "/*"),
        (5, 9, "INSERT"),
    ]


def test_a_failure_names_the_statement_and_the_line_of_the_error() -> None:
    text = SCRIPT.replace("  'three') ;", "  'three' ;")  # the ) is missing on line 8
    db = D1Database()
    with pytest.raises(ScriptError) as info:
        run_script(db, script_statements(text), source="seed.sql")
    error = info.value
    assert (error.statement.number, error.line) == (4, 8)
    assert str(error) == (
        'D1_ERROR: near ";": syntax error at offset 53: SQLITE_ERROR (at seed.sql:8, statement 4)'
    )
    # nothing applied: the script is one transaction
    tables = db._engine.internal("SELECT name FROM sqlite_schema WHERE name = 't'")
    assert tables == []


def test_execute_file_names_file_line_and_statement_in_one_line(project: Path) -> None:
    (project / "seed.sql").write_text(SCRIPT.replace("INTO t VALUES (4", "INTO u VALUES (4"))
    result = pyflare("d1", "execute", "DB", "--file", "seed.sql")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: no such table: u: SQLITE_ERROR (at seed.sql:9, statement 5)"
    )
    assert "Traceback" not in result.output


def test_execute_command_names_the_statement_when_there_are_several(project: Path) -> None:
    result = pyflare("d1", "execute", "DB", "--command", "SELECT 1; SELEC 2")
    assert result.stderr.splitlines()[-1] == (
        'Error: near "SELEC": syntax error at offset 0: SQLITE_ERROR '
        "(in statement 2 of the command)"
    )
    result = pyflare("d1", "execute", "DB", "--command", "SELEC 2")
    assert result.stderr.splitlines()[-1] == (
        'Error: near "SELEC": syntax error at offset 0: SQLITE_ERROR'
    )


def test_execute_names_the_database_file_on_stderr(project: Path) -> None:
    result = pyflare("d1", "execute", "DB", "--command", "SELECT 1")
    assert result.exit_code == 0, result.output
    [line, done] = result.stderr.splitlines()
    assert line.startswith(
        "Executing on local database DB (00000000-1111-2222-3333-444444444444) in "
        ".wrangler/state/v3/d1/miniflare-D1DatabaseObject/"
    )
    assert line.endswith(".sqlite") and (project / line.rsplit(" ", 1)[1]).is_file()
    assert done == "1 command executed successfully."


def test_a_binary_sqlite_file_is_refused_as_wrangler_does(project: Path) -> None:
    (project / "db.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    result = pyflare("d1", "execute", "DB", "--file", "db.sqlite3")
    assert result.exit_code == 1
    assert "Provided file is a binary SQLite database file" in result.output


def test_a_failed_migration_names_file_and_line(project: Path) -> None:
    folder = project / "migrations"
    folder.mkdir()
    (folder / "0001_init.sql").write_text(
        "CREATE TABLE a (x);\n\n-- then\nINSERT INTO a VALUES (1);\nINSERT INTO b VALUES (2);\n"
    )
    result = pyflare("d1", "migrations", "apply", "DB")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: Migration 0001_init.sql failed: D1_ERROR: no such table: b: SQLITE_ERROR "
        "(at migrations/0001_init.sql:5)"
    )


def test_migrations_report_lines_through_the_api(project: Path) -> None:
    from miniflare_py.config import load_config

    folder = project / "migrations"
    folder.mkdir()
    (folder / "0001_init.sql").write_text("CREATE TABLE a (\n  x INTEGER,\n  y NOPE(\n);\n")
    [config] = load_config(project / "wrangler.toml", require_main=False).d1_databases
    with pytest.raises(MigrationError) as info:
        apply_migrations(D1Database(), config, project)
    assert info.value.file == "0001_init.sql"
    assert str(info.value).endswith("(at migrations/0001_init.sql:4)")


def test_progress_is_reported_while_a_long_script_runs() -> None:
    statements = script_statements(
        "CREATE TABLE t (a);\n" + "".join(f"INSERT INTO t VALUES ({i});\n" for i in range(1200))
    )
    seen: list[int] = []
    results = run_script(D1Database(), statements, progress=seen.append)
    assert len(results) == 1201
    assert seen == [500, 1000, 1201]


def test_a_progress_bar_shows_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with miniflare_py.console.progress(10_000, "Executing") as update:
        assert update is miniflare_py.console._ignore  # stderr is not a terminal here
    with miniflare_py.console.progress(10, "Executing") as update:
        assert update is miniflare_py.console._ignore  # too short to be worth a bar
    monkeypatch.setattr(miniflare_py.console, "is_terminal", lambda stream: True)
    with miniflare_py.console.progress(10_000, "Executing", color="never") as update:
        assert update is not miniflare_py.console._ignore
        update(5000)


def test_execute_drives_the_progress_bar(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, str]] = []
    real = miniflare_py.console.progress

    def spy(total: int, description: str, color: str = "auto"):  # type: ignore[no-untyped-def]
        calls.append((total, description))
        return real(total, description, color)

    monkeypatch.setattr(miniflare_py.console, "progress", spy)
    (project / "big.sql").write_text("CREATE TABLE t (a);\n" + "INSERT INTO t VALUES (1);\n" * 3000)
    result = pyflare("d1", "execute", "DB", "--file", "big.sql", "--json")
    assert result.exit_code == 0, result.output
    assert calls == [(3001, "Executing")]
    assert len(json.loads(result.stdout)) == 3001
