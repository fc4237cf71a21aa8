"""D1 acceptance: pyflare against what Miniflare 4.20260426 was measured to do.

Every expected string and value here was observed by running the same statement through
Miniflare's D1 (`mf.getD1Database()`); where DESIGN.md §5 says otherwise, DESIGN wins and the
difference is listed in the README. Node is not needed to run these tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from helpers import error_of

from miniflare_py.d1 import D1Database, D1Error, d1_persist_path

EMPTY = "D1_ERROR: SQL code did not contain a statement."
NO_STATEMENTS = "D1_ERROR: No SQL statements detected."


@pytest_asyncio.fixture
async def db() -> AsyncIterator[D1Database]:
    database = D1Database()
    yield database
    database.close()


# -- numbers bind as REAL, as D1 binds every JavaScript number -------------------------------


@pytest.mark.asyncio
async def test_int_and_bool_bind_as_real(db: D1Database) -> None:
    row = (
        await db.prepare("SELECT typeof(?) AS a, ? || '' AS b, json_object('k', ?) AS c")
        .bind(1, 1, 1)
        .first()
    )
    assert row == {"a": "real", "b": "1.0", "c": '{"k":1.0}'}
    assert await db.prepare("SELECT typeof(?) AS t").bind(True).first("t") == "real"
    # so a division by a bound int is a real division on D1
    assert await db.prepare("SELECT ? / 2 AS q").bind(5).first("q") == 2.5


@pytest.mark.asyncio
async def test_bound_int_follows_column_affinity(db: D1Database) -> None:
    await db.exec("CREATE TABLE ta (a TEXT, b INTEGER, c NUMERIC, d)")
    await db.prepare("INSERT INTO ta VALUES (?, ?, ?, ?)").bind(1, "2", "3.0", 4).run()
    row = await db.prepare(
        "SELECT a, b, c, d, typeof(a) ta, typeof(b) tb, typeof(c) tc, typeof(d) td FROM ta"
    ).first()
    assert row == {
        "a": "1.0",
        "b": 2,
        "c": 3,
        "d": 4,
        "ta": "text",
        "tb": "integer",
        "tc": "integer",
        "td": "real",
    }
    # an INTEGER PRIMARY KEY or LIMIT still takes the bound number
    await db.exec("CREATE TABLE k (id INTEGER PRIMARY KEY)")
    await db.prepare("INSERT INTO k VALUES (?)").bind(7).run()
    assert await db.prepare("SELECT id FROM k WHERE id = ? LIMIT ?").bind(7, 1).raw() == [[7]]
    assert await db.prepare("SELECT typeof(id) t FROM k").first("t") == "integer"


@pytest.mark.parametrize("value", [2**53 + 1, -(2**53) - 1, 2**63 - 1])
def test_int_beyond_a_javascript_number_is_a_bigint(db: D1Database, value: int) -> None:
    # Pyodide hands such an int to JavaScript as a BigInt, which D1 refuses at bind().
    with pytest.raises(D1Error) as info:
        db.prepare("SELECT ?").bind(value)
    assert str(info.value) == f"D1_TYPE_ERROR: Type 'bigint' not supported for value '{value}'"


@pytest.mark.asyncio
async def test_largest_javascript_integers_bind(db: D1Database) -> None:
    for value in (2**53, -(2**53), 2**53 - 1):
        assert await db.prepare("SELECT ? AS x").bind(value).first("x") == value


# -- values out -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_infinite_real_comes_out_as_none(db: D1Database) -> None:
    row = await db.prepare(
        "SELECT 1e300*1e10 AS p, -1e300*1e10 AS n, -0.0 AS z, 1e300 AS b"
    ).first()
    assert row == {"p": None, "n": None, "z": 0, "b": 1e300}
    assert await db.prepare("SELECT 1e300*1e10").raw() == [[None]]


# -- empty statements -------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1;; SELECT 2", [{"2": 2}]),
        ("SELECT 1; ; SELECT 2", [{"2": 2}]),
        ("SELECT 1; -- c\n; SELECT 2", [{"2": 2}]),
        (";SELECT 1 AS one", [{"one": 1}]),
        ("-- c\nSELECT 1 AS one", [{"one": 1}]),
        ("SELECT 1 AS one; ", [{"one": 1}]),
    ],
)
async def test_empty_statements_before_the_last_are_skipped(
    db: D1Database, sql: str, expected: list[dict[str, int]]
) -> None:
    assert (await db.prepare(sql).all()).results == expected


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", NO_STATEMENTS),
        ("   ", NO_STATEMENTS),
        ("\n\t", NO_STATEMENTS),
        ("-- just a comment", EMPTY),
        ("/* c */", EMPTY),
        (";", EMPTY),
        (";;", EMPTY),
        ("SELECT 1 AS one; -- trailing", EMPTY),
        ("SELECT 1 AS one; /* c */", EMPTY),
        ("SELECT 1 AS one;;", EMPTY),
    ],
)
async def test_no_statement_texts(db: D1Database, sql: str, message: str) -> None:
    for run in ("all", "run", "first", "raw"):
        assert await error_of(getattr(db.prepare(sql), run)()) == message


@pytest.mark.asyncio
async def test_batch_skips_blank_statements_but_not_comments(db: D1Database) -> None:
    results = await db.batch([db.prepare("SELECT 1 AS a"), db.prepare("")])
    assert [r.results for r in results] == [[{"a": 1}]]
    assert await error_of(db.batch([db.prepare("")])) == NO_STATEMENTS
    message = await error_of(db.batch([db.prepare("SELECT 1 AS a"), db.prepare("-- c")]))
    assert message == EMPTY


@pytest.mark.asyncio
async def test_exec_line_of_only_a_comment_is_an_error(db: D1Database) -> None:
    message = await error_of(db.exec("CREATE TABLE x (a)\n-- comment\nINSERT INTO x VALUES (1)"))
    assert message == "D1_EXEC_ERROR: Error in line 2: -- comment: " + EMPTY.removeprefix(
        "D1_ERROR: "
    )
    # nothing applied
    assert await error_of(db.prepare("SELECT * FROM x").all()) == (
        "D1_ERROR: no such table: x: SQLITE_ERROR"
    )
    for sql in ("/* c */", ";"):
        assert await error_of(db.exec(sql)) == (
            f"D1_EXEC_ERROR: Error in line 1: {sql}: SQL code did not contain a statement."
        )
    # empty lines are still skipped
    result = await db.exec("CREATE TABLE y (a)\n\n  \nINSERT INTO y VALUES (1)\n")
    assert result.count == 2


# -- error offsets of later statements --------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1;\n  SELECT nosuch", "no such column: nosuch at offset 7"),
        ("SELECT 1; /* c */ SELECT nosuch", "no such column: nosuch at offset 15"),
        ("  SELECT nosuch", "no such column: nosuch at offset 9"),
        ("\n-- c\nSELECT nosuch", "no such column: nosuch at offset 13"),
        ("CREATE TABLE t (a); CREATE TABLE t (a)", "table t already exists at offset 13"),
    ],
)
async def test_error_offset_counts_from_the_statement(
    db: D1Database, sql: str, message: str
) -> None:
    assert await error_of(db.prepare(sql).all()) == f"D1_ERROR: {message}: SQLITE_ERROR"


# -- forbidden --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_vacuum_error_text(db: D1Database) -> None:
    message = "D1_ERROR: cannot VACUUM from within a transaction: SQLITE_ERROR"
    assert await error_of(db.prepare("VACUUM").run()) == message
    assert await error_of(db.prepare("vacuum main").first()) == message


# -- texts observed on Miniflare that pyflare already matched (regression) --------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "INSERT INTO t (id, name) VALUES (1, 'z')",
            "UNIQUE constraint failed: t.id: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_PRIMARYKEY)",
        ),
        (
            "INSERT INTO t (id, name) VALUES (2, 'a')",
            "UNIQUE constraint failed: t.name: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_UNIQUE)",
        ),
        (
            "INSERT INTO k VALUES (1, 2)",
            "UNIQUE constraint failed: k.a, k.b: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_PRIMARYKEY)",
        ),
        (
            "INSERT INTO c VALUES (1, 99)",
            "FOREIGN KEY constraint failed: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_FOREIGNKEY)",
        ),
        (
            "INSERT INTO t (id, name, n) VALUES (3, 'c', NULL)",
            "NOT NULL constraint failed: t.n: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_NOTNULL)",
        ),
        (
            "INSERT INTO t (id, name, n) VALUES (3, 'c', 'bad')",
            "CHECK constraint failed: n <> 'bad': SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_CHECK)",
        ),
        ("SELECT 1 FROM", "incomplete input: SQLITE_ERROR"),
        ("SELECT " + ",".join(["1"] * 101), "too many columns in result set: SQLITE_ERROR"),
        ("SELECT load_extension('x')", "not authorized: SQLITE_ERROR"),
        ("PRAGMA user_version", "not authorized: SQLITE_AUTH"),
        ("CREATE TEMPORARY VIEW tv AS SELECT 1", "not authorized: SQLITE_AUTH"),
        (
            "SELECT ?; SELECT 2",
            "When executing multiple SQL statements in a single call, only the last statement "
            "can have parameters.",
        ),
    ],
)
async def test_miniflare_error_texts(db: D1Database, sql: str, message: str) -> None:
    await db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, "
        "n TEXT NOT NULL DEFAULT 'x' CHECK (n <> 'bad'))\n"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id))\n"
        "CREATE TABLE k (a, b, PRIMARY KEY (a, b))\n"
        "INSERT INTO t (id, name) VALUES (1, 'a')\n"
        "INSERT INTO k VALUES (1, 2)"
    )
    statement = db.prepare(sql)
    if "?" in sql:
        statement = statement.bind(1)
    assert await error_of(statement.run()) == f"D1_ERROR: {message}"


# -- on disk ----------------------------------------------------------------------------------

PERSIST = ("--persist-to", "state", "--json")
DATABASE_ID = "3f2a9c1e-1111-4222-8333-944455556666"
# The file Miniflare 4.20260426 wrote for this id with `d1Persist: <root>/v3/d1`.
MINIFLARE_FILE = "d8afe111cbd2c5f4ce0d7ac8de8ab89b363a6fd10eba0e81c61b1ca3381ee133.sqlite"


def test_persist_path_is_the_file_miniflare_writes(tmp_path: Path) -> None:
    key = hashlib.sha256(b"miniflare-D1DatabaseObject").digest()
    base = hmac.new(key, DATABASE_ID.encode(), hashlib.sha256).digest()[:16]
    mac = hmac.new(key, base, hashlib.sha256).digest()[:16]
    assert f"{(base + mac).hex()}.sqlite" == MINIFLARE_FILE
    assert d1_persist_path(tmp_path, DATABASE_ID) == (
        tmp_path / "v3" / "d1" / "miniflare-D1DatabaseObject" / MINIFLARE_FILE
    )


def test_cli_execute_writes_wranglers_file_and_json(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text("")
    (tmp_path / "wrangler.toml").write_text(
        'name = "accept"\nmain = "src/entry.py"\ncompatibility_date = "2025-01-01"\n\n'
        f'[[d1_databases]]\nbinding = "DB"\ndatabase_name = "accept-db"\n'
        f'database_id = "{DATABASE_ID}"\n'
    )
    sql = (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB); "
        "INSERT INTO t VALUES (1, x'0102'); SELECT * FROM t"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "miniflare_py", "d1", "execute", "DB", "--command", sql, *PERSIST],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert [set(item) for item in output] == [{"results", "success", "meta"}] * 3
    assert [set(item["meta"]) for item in output] == [{"duration"}] * 3
    assert output[2]["results"] == [{"id": 1, "b": "[1, 2]"}]
    path = tmp_path / "state" / "v3" / "d1" / "miniflare-D1DatabaseObject" / MINIFLARE_FILE
    assert path.is_file()
