"""`pyflare d1 execute` and `pyflare d1 migrations`, through click's CliRunner."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest
from click.testing import Result
from helpers import D1_CONFIG, pyflare


def wrangler_path(persist: Path, database_id: str) -> Path:
    key = hashlib.sha256(b"miniflare-D1DatabaseObject").digest()
    base = hmac.new(key, database_id.encode(), "sha256").digest()[:16]
    mac = hmac.new(key, base, "sha256").digest()[:16]
    return persist / "v3" / "d1" / "miniflare-D1DatabaseObject" / f"{(base + mac).hex()}.sqlite"


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(D1_CONFIG)


def invoke(*args: str) -> Result:
    return pyflare("d1", *args)


def test_execute_json_and_file_at_wrangler_path(project: Path) -> None:
    result = invoke(
        "execute",
        "DB",
        "--command",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB); "
        "INSERT INTO t (v, b) VALUES ('x', x'0102'); SELECT * FROM t",
        "--json",
    )
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert [set(item) for item in output] == [{"results", "success", "meta"}] * 3
    assert all(item["success"] is True for item in output)
    assert output[2]["results"] == [{"id": 1, "v": "x", "b": "[1, 2]"}]
    assert isinstance(output[2]["meta"]["duration"], float)

    file = wrangler_path(project / ".wrangler" / "state", "00000000-1111-2222-3333-444444444444")
    assert file.is_file()
    conn = apsw.Connection(str(file))
    assert conn.execute("SELECT v FROM t").fetchall() == [("x",)]
    conn.close()


def test_execute_by_database_name_persist_to_and_file(project: Path, tmp_path: Path) -> None:
    sql = project / "seed.sql"
    sql.write_text(
        "BEGIN TRANSACTION;\nCREATE TABLE t (a);\nINSERT INTO t VALUES (1);\n"
        "INSERT INTO t VALUES (2);\nCOMMIT;\n"
    )
    result = invoke("execute", "app-db", "--file", str(sql), "--persist-to", "state")
    assert result.exit_code == 0, result.output
    assert "3 commands executed successfully." in result.output
    file = wrangler_path(project / "state", "00000000-1111-2222-3333-444444444444")
    assert file.is_file()

    result = invoke("execute", "DB", "--command", "SELECT a FROM t", "--persist-to", "state")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["results"] == [{"a": 1}, {"a": 2}]  # piped: JSON


def test_execute_config_and_env_options(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "worker.py").write_text("")
    (other / "wrangler.toml").write_text(
        D1_CONFIG + '\n[env.staging]\n[[env.staging.d1_databases]]\nbinding = "DB"\n'
        'database_name = "staging-db"\ndatabase_id = "staging-id"\n'
    )
    result = invoke(
        "execute", "staging-db", "--command", "SELECT 1 AS one", "-c", str(other / "wrangler.toml"),
        "-e", "staging", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["results"] == [{"one": 1}]
    assert wrangler_path(other / ".wrangler" / "state", "staging-id").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("execute", "NOPE", "--command", "SELECT 1"),
            "Couldn't find a D1 DB with the name or binding 'NOPE' in your wrangler.toml file. "
            "Its D1 databases: DB (app-db).",
        ),
        (
            ("execute", "DB", "--command", "SELECT * FROM missing"),
            "Error: no such table: missing: SQLITE_ERROR",  # D1's cause, as wrangler prints it
        ),
        (("execute", "DB", "--command", "BEGIN"), "Error: To execute a transaction"),
        (("execute", "DB", "--file", "missing.sql"), "missing.sql"),
        (("execute", "DB", "-c", "nowhere.toml", "--command", "SELECT 1"), "nowhere.toml"),
    ],
)
def test_user_errors_are_one_line(project: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    # at most the line naming the database file comes before the error
    [error] = [line for line in result.stderr.splitlines() if not line.startswith("Executing on")]
    assert error.startswith("Error: ")


def test_execute_needs_command_or_file(project: Path) -> None:
    result = invoke("execute", "DB")
    assert result.exit_code == 2
    assert "exactly one of --command or --file" in result.output


def test_no_config_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("execute", "DB", "--command", "SELECT 1")
    assert result.exit_code == 1
    assert "wrangler.toml" in result.output


def test_migrations_create_list_apply(project: Path) -> None:
    result = invoke("migrations", "list", "DB")
    assert result.exit_code == 1
    assert "No migrations present at" in result.output

    result = invoke("migrations", "create", "DB", "create users")
    assert result.exit_code == 0, result.output
    created = project / "migrations" / "0001_create_users.sql"
    assert created.is_file()
    created.write_text(created.read_text() + "CREATE TABLE users (id INTEGER PRIMARY KEY);\n")
    result = invoke("migrations", "create", "app-db", "seed")
    assert (project / "migrations" / "0002_seed.sql").is_file()
    with (project / "migrations" / "0002_seed.sql").open("a") as f:
        f.write("INSERT INTO users (id) VALUES (1);\n")

    result = invoke("migrations", "list", "DB")
    assert result.exit_code == 0, result.output
    assert "0001_create_users.sql" in result.output and "0002_seed.sql" in result.output

    result = invoke("migrations", "apply", "DB")
    assert result.exit_code == 0, result.output
    assert "Applied 0001_create_users.sql" in result.output
    assert "Applied 0002_seed.sql" in result.output

    result = invoke("migrations", "apply", "DB")
    assert result.exit_code == 0, result.output
    assert "No migrations to apply" in result.output
    result = invoke("migrations", "list", "DB")
    assert "No migrations to apply" in result.output

    result = invoke(
        "execute", "DB", "--command", "SELECT name FROM d1_migrations ORDER BY id", "--json"
    )
    rows = json.loads(result.output)[0]["results"]
    assert rows == [{"name": "0001_create_users.sql"}, {"name": "0002_seed.sql"}]


def test_migrations_apply_failure_names_file(project: Path) -> None:
    folder = project / "migrations"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE a (x);\n")
    (folder / "0002_bad.sql").write_text(
        "INSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (1);\n"
    )
    (folder / "0003_later.sql").write_text("CREATE TABLE c (x);\n")
    result = invoke("migrations", "apply", "DB")
    assert result.exit_code == 1
    assert "Applied 0001_ok.sql" in result.output
    assert (
        "Error: Migration 0002_bad.sql failed: D1_ERROR: no such table: nope: SQLITE_ERROR"
        in result.output
    )
    assert "Traceback" not in result.output
    result = invoke("migrations", "list", "DB")
    assert "0002_bad.sql" in result.output and "0003_later.sql" in result.output
    assert "0001_ok.sql" not in result.output
    result = invoke("execute", "DB", "--command", "SELECT count(*) AS n FROM a", "--json")
    assert json.loads(result.output)[0]["results"] == [{"n": 0}]
