"""The D1 binding: values, results, meta, placeholders, errors, batch, exec, sessions, dump."""

from __future__ import annotations

from collections.abc import Iterator

import apsw
import pytest
import pytest_asyncio
from helpers import error_of

from miniflare_py.d1 import D1Database, D1Error, D1PreparedStatement
from miniflare_py.workers.jsdict import JsDict

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, avatar BLOB)
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users, name TEXT)
"""


@pytest.fixture
def db() -> Iterator[D1Database]:
    database = D1Database()
    yield database
    database.close()


@pytest_asyncio.fixture
async def users(db: D1Database) -> D1Database:
    await db.exec(SCHEMA)
    await db.batch(
        [
            db.prepare("INSERT INTO users (name, score) VALUES (?, ?)").bind("ada", 1.5),
            db.prepare("INSERT INTO users (name, score) VALUES (?, ?)").bind("bob", 2.0),
        ]
    )
    return db


# -- values in and out ---------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, 42),
        (-(2**53), -(2**53)),
        (2.5, 2.5),
        (3.0, 3),  # an integral REAL reaches a Python Worker as int
        ("héllo", "héllo"),
        (None, None),
        (True, 1),
        (False, 0),
        (b"\x00\x01\xff", [0, 1, 255]),
        (bytearray(b"ab"), [97, 98]),
        (memoryview(b"xy"), [120, 121]),
        (b"", []),
    ],
)
async def test_values_round_trip(db: D1Database, value: object, expected: object) -> None:
    await db.exec("CREATE TABLE v (x)")
    await db.prepare("INSERT INTO v VALUES (?)").bind(value).run()
    assert await db.prepare("SELECT x FROM v").first("x") == expected
    # the value keeps its SQLite type, not converted to text; numbers bind as REAL, as D1
    # binds every JavaScript number (measured on Miniflare 4.20260426)
    kind = await db.prepare("SELECT typeof(x) AS t FROM v").first("t")
    assert (
        kind
        == {
            int: "real",
            float: "real",
            str: "text",
            type(None): "null",
            bool: "real",
            bytes: "blob",
            bytearray: "blob",
            memoryview: "blob",
        }[type(value)]
    )


@pytest.mark.asyncio
async def test_blob_out_is_list_of_ints_and_real_keeps_fraction(db: D1Database) -> None:
    row = await db.prepare("SELECT x'0aff' AS b, 1.25 AS r, 2.0 AS i, 1e300 AS big").first()
    assert row == {"b": [10, 255], "r": 1.25, "i": 2, "big": 1e300}
    assert type(row["i"]) is int
    assert type(row["big"]) is float


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1}, "D1_TYPE_ERROR: Type 'object' not supported for value '{'a': 1}'"),
        ([1, 2], "D1_TYPE_ERROR: Type 'object' not supported for value '[1, 2]'"),
        (object, "D1_TYPE_ERROR: Type 'function' not supported for value '<class 'object'>'"),
        (2**64, "D1_TYPE_ERROR: Type 'bigint' not supported for value '18446744073709551616'"),
        (2**53 + 1, "D1_TYPE_ERROR: Type 'bigint' not supported for value '9007199254740993'"),
    ],
)
def test_unsupported_value_raises_at_bind(db: D1Database, value: object, message: str) -> None:
    statement = db.prepare("SELECT ?")
    with pytest.raises(D1Error) as info:
        statement.bind(value)
    assert str(info.value) == message


def test_bind_returns_new_statement(db: D1Database) -> None:
    statement = db.prepare("SELECT ?")
    bound = statement.bind(1)
    assert isinstance(bound, D1PreparedStatement)
    assert bound is not statement
    assert statement.params == ()
    assert bound.params == (1,)
    assert bound.statement == "SELECT ?"


# -- placeholders ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_numbered_placeholders_bind_by_number(db: D1Database) -> None:
    assert await db.prepare("SELECT ?3, ?1, ?2").bind("a", "b", "c").raw() == [["c", "a", "b"]]


@pytest.mark.asyncio
@pytest.mark.parametrize("prefix", [":", "@", "$"])
async def test_named_placeholders_bind_by_position(db: D1Database, prefix: str) -> None:
    sql = f"SELECT {prefix}b AS b, {prefix}a AS a, {prefix}b AS again"
    assert await db.prepare(sql).bind(1, 2).first() == {"b": 1, "a": 2, "again": 1}


@pytest.mark.asyncio
async def test_anonymous_placeholders(db: D1Database) -> None:
    assert await db.prepare("SELECT ? AS x, ? AS y").bind(1, "two").first() == {"x": 1, "y": "two"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "values"), [("SELECT ?", ()), ("SELECT ?", (1, 2)), ("SELECT ?2", (1,))]
)
async def test_wrong_number_of_bindings(db: D1Database, sql: str, values: tuple) -> None:
    message = await error_of(db.prepare(sql).bind(*values).all())
    assert message == "D1_ERROR: Wrong number of parameter bindings for SQL query."


# -- results --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_all_shape_and_meta(users: D1Database) -> None:
    result = await users.prepare("SELECT id, name FROM users ORDER BY id").all()
    assert isinstance(result, JsDict)
    assert result.success is True
    assert result.results == [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]
    assert result.results[0].name == "ada"
    meta = result.meta
    assert set(meta) == {
        "served_by",
        "duration",
        "changes",
        "last_row_id",
        "changed_db",
        "size_after",
        "rows_read",
        "rows_written",
    }
    assert meta.served_by == "pyflare.db"
    assert isinstance(meta.duration, float) and meta.duration >= 0
    assert meta.changes == 0
    assert meta.changed_db is False
    assert meta.rows_read == 2
    assert meta.rows_written == 0
    assert meta.size_after > 0


@pytest.mark.asyncio
async def test_plain_insert_run_all_first_raw(users: D1Database) -> None:
    insert = "INSERT INTO users (name) VALUES (?)"
    result = await users.prepare(insert).bind("cy").run()
    assert result.success is True
    assert result.results == []
    assert result.meta.changes == 1
    assert result.meta.last_row_id == 3
    assert result.meta.changed_db is True
    assert result.meta.rows_written == 1
    result = await users.prepare(insert).bind("di").all()
    assert result.results == []
    assert (result.meta.changes, result.meta.last_row_id) == (1, 4)
    assert await users.prepare(insert).bind("ed").first() is None
    assert await users.prepare(insert).bind("fy").raw() == []
    assert await users.prepare(insert).bind("gi").raw(columnNames=True) == [[]]
    assert await users.prepare("SELECT count(*) AS n FROM users").first("n") == 7


@pytest.mark.asyncio
async def test_insert_returning(users: D1Database) -> None:
    sql = "INSERT INTO users (name, score) VALUES (?, ?) RETURNING id, name"
    result = await users.prepare(sql).bind("cy", 1).run()
    assert result.results == [{"id": 3, "name": "cy"}]
    assert (result.meta.changes, result.meta.last_row_id) == (1, 3)
    result = await users.prepare(sql).bind("di", 1).all()
    assert result.results == [{"id": 4, "name": "di"}]
    assert await users.prepare(sql).bind("ed", 1).first() == {"id": 5, "name": "ed"}
    assert await users.prepare(sql).bind("fy", 1).first("id") == 6
    assert await users.prepare(sql).bind("gi", 1).raw() == [[7, "gi"]]
    assert await users.prepare(sql).bind("hu", 1).raw(columnNames=True) == [
        ["id", "name"],
        [8, "hu"],
    ]


@pytest.mark.asyncio
async def test_select_first_raw(users: D1Database) -> None:
    select = users.prepare("SELECT name, score FROM users WHERE id = ?")
    assert await select.bind(1).first() == {"name": "ada", "score": 1.5}
    assert await select.bind(2).first("score") == 2
    assert await select.bind(99).first() is None
    assert await select.bind(99).first("name") is None
    assert await select.bind(1).raw() == [["ada", 1.5]]
    assert await select.bind(1).raw(columnNames=True) == [["name", "score"], ["ada", 1.5]]
    assert await select.bind(99).raw(columnNames=True) == [["name", "score"]]
    assert await select.bind(99).raw(column_names=True) == [["name", "score"]]
    assert await select.bind(99).raw({"columnNames": True}) == [["name", "score"]]
    assert await select.bind(99).raw() == []
    result = await select.bind(1).run()
    assert result.results == [{"name": "ada", "score": 1.5}]


@pytest.mark.asyncio
async def test_first_column_not_found(users: D1Database) -> None:
    message = await error_of(users.prepare("SELECT name FROM users").first("nope"))
    assert message == "D1_COLUMN_NOTFOUND: Column not found (nope)"


@pytest.mark.asyncio
async def test_first_null_column_is_none(db: D1Database) -> None:
    assert await db.prepare("SELECT NULL AS x").first("x") is None


@pytest.mark.asyncio
async def test_update_and_delete_meta(users: D1Database) -> None:
    result = await users.prepare("UPDATE users SET score = score + 1").run()
    assert result.meta.changes == 2
    assert result.meta.rows_written == 2
    assert result.meta.rows_read >= 2
    assert result.meta.last_row_id == 2  # unchanged by an UPDATE
    result = await users.prepare("DELETE FROM users WHERE id = ?").bind(1).run()
    assert result.meta.changes == 1


@pytest.mark.asyncio
async def test_size_after_grows(db: D1Database) -> None:
    first = await db.prepare("CREATE TABLE big (x)").run()
    assert first.meta.changed_db is True
    before = first.meta.size_after
    blob = b"x" * 100_000
    result = await db.prepare("INSERT INTO big VALUES (?)").bind(blob).run()
    assert result.meta.size_after > before + 90_000
    assert result.meta.size_after % 4096 == 0


@pytest.mark.asyncio
async def test_join_with_duplicate_column_names(users: D1Database) -> None:
    await users.prepare("INSERT INTO posts (user_id, name) VALUES (1, 'hello')").run()
    sql = "SELECT users.name, posts.name FROM users JOIN posts ON posts.user_id = users.id"
    assert await users.prepare(sql).raw() == [["ada", "hello"]]
    assert await users.prepare(sql).raw(columnNames=True) == [["name", "name"], ["ada", "hello"]]
    assert (await users.prepare(sql).all()).results == [{"name": "hello"}]
    assert await users.prepare(sql).first() == {"name": "hello"}


# -- several statements in one prepare --------------------------------------------------------


@pytest.mark.asyncio
async def test_several_statements_run_all_and_return_last(db: D1Database) -> None:
    sql = (
        "CREATE TABLE t (a); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);"
        " SELECT a FROM t WHERE a > ?"
    )
    result = await db.prepare(sql).bind(0).all()
    assert result.results == [{"a": 1}, {"a": 2}]
    assert result.meta.changes == 2
    assert result.meta.last_row_id == 2
    assert await db.prepare("SELECT count(*) AS n FROM t; SELECT 7 AS n;").first("n") == 7


@pytest.mark.asyncio
async def test_several_statements_params_only_on_last(db: D1Database) -> None:
    message = await error_of(db.prepare("SELECT ?; SELECT 1").bind(1).all())
    assert message == (
        "D1_ERROR: When executing multiple SQL statements in a single call, only the last "
        "statement can have parameters."
    )


@pytest.mark.asyncio
async def test_several_statements_are_atomic(db: D1Database) -> None:
    await db.exec("CREATE TABLE t (a UNIQUE)")
    sql = "INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)"
    message = await error_of(db.prepare(sql).run())
    assert message.startswith("D1_ERROR: UNIQUE constraint failed: t.a: SQLITE_CONSTRAINT")
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 0


@pytest.mark.asyncio
async def test_semicolons_inside_strings_and_triggers(db: D1Database) -> None:
    sql = """
    CREATE TABLE log (msg TEXT);
    CREATE TABLE items (name TEXT);
    CREATE TRIGGER items_log AFTER INSERT ON items BEGIN
        INSERT INTO log VALUES ('added; ' || new.name);
    END;
    INSERT INTO items VALUES ('a;b');
    SELECT msg FROM log
    """
    assert await db.prepare(sql).raw() == [["added; a;b"]]


@pytest.mark.asyncio
async def test_trailing_comment_after_last_statement(db: D1Database) -> None:
    assert await db.prepare("SELECT 1 AS x; ").first("x") == 1
    assert await db.prepare("SELECT 1 AS x -- a comment").first("x") == 1
    message = await error_of(db.prepare("SELECT 1; -- a comment").all())
    assert message == "D1_ERROR: SQL code did not contain a statement."


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM nope", "D1_ERROR: no such table: nope: SQLITE_ERROR"),
        ("SELEC 1", 'D1_ERROR: near "SELEC": syntax error at offset 0: SQLITE_ERROR'),
        ("SELECT nope FROM users", "D1_ERROR: no such column: nope at offset 7: SQLITE_ERROR"),
        (
            "INSERT INTO users (id, name) VALUES (1, 'x')",
            "D1_ERROR: UNIQUE constraint failed: users.id: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_PRIMARYKEY)",
        ),
        (
            "INSERT INTO users (name) VALUES ('ada')",
            "D1_ERROR: UNIQUE constraint failed: users.name: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_UNIQUE)",
        ),
        (
            "INSERT INTO users (name) VALUES (NULL)",
            "D1_ERROR: NOT NULL constraint failed: users.name: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_NOTNULL)",
        ),
        (
            "INSERT INTO posts (user_id) VALUES (99)",
            "D1_ERROR: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT "
            "(extended: SQLITE_CONSTRAINT_FOREIGNKEY)",
        ),
        ("", "D1_ERROR: No SQL statements detected."),
        ("   \n\t", "D1_ERROR: No SQL statements detected."),
        ("   -- only a comment\n", "D1_ERROR: SQL code did not contain a statement."),
    ],
)
async def test_error_texts(users: D1Database, sql: str, message: str) -> None:
    assert await error_of(users.prepare(sql).all()) == message
    assert await error_of(users.prepare(sql).run()) == message
    assert await error_of(users.prepare(sql).first()) == message
    assert await error_of(users.prepare(sql).raw()) == message


@pytest.mark.asyncio
async def test_errors_are_one_class_and_db_still_works(users: D1Database) -> None:
    with pytest.raises(D1Error):
        await users.prepare("SELECT * FROM nope").all()
    assert issubclass(D1Error, Exception)
    assert await users.prepare("SELECT count(*) AS n FROM users").first("n") == 2


@pytest.mark.asyncio
async def test_foreign_keys_on_by_default(users: D1Database) -> None:
    assert await users.prepare("PRAGMA foreign_keys").first("foreign_keys") == 1


# -- forbidden ------------------------------------------------------------------------------

TRANSACTION = (
    "D1_ERROR: To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)
NOT_AUTHORIZED = "D1_ERROR: not authorized: SQLITE_AUTH"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("BEGIN", TRANSACTION),
        ("BEGIN TRANSACTION", TRANSACTION),
        ("BEGIN IMMEDIATE", TRANSACTION),
        ("COMMIT", TRANSACTION),
        ("END", TRANSACTION),
        ("ROLLBACK", TRANSACTION),
        ("SAVEPOINT sp", TRANSACTION),
        ("RELEASE sp", TRANSACTION),
        ("ROLLBACK TO sp", TRANSACTION),
        ("ATTACH DATABASE '/tmp/other.sqlite' AS other", NOT_AUTHORIZED),
        ("ATTACH ':memory:' AS other", NOT_AUTHORIZED),
        ("DETACH DATABASE other", NOT_AUTHORIZED),
        ("CREATE TEMP TABLE scratch (a)", NOT_AUTHORIZED),
        ("CREATE TEMPORARY TABLE scratch (a)", NOT_AUTHORIZED),
        ("CREATE TEMP VIEW v AS SELECT 1", NOT_AUTHORIZED),
        ("CREATE TABLE _cf_mine (a)", NOT_AUTHORIZED),
        ("CREATE TABLE _CF_MINE (a)", NOT_AUTHORIZED),
        ("CREATE VIEW _cf_view AS SELECT 1", NOT_AUTHORIZED),
        ("CREATE INDEX _cf_idx ON users (name)", NOT_AUTHORIZED),
        ("ALTER TABLE users RENAME TO _cf_users", NOT_AUTHORIZED),
        ('ALTER TABLE users RENAME TO "_CF_users"', NOT_AUTHORIZED),
        ("CREATE TRIGGER _cf_t AFTER INSERT ON users BEGIN SELECT 1; END", NOT_AUTHORIZED),
        ("CREATE VIRTUAL TABLE v USING dbstat", NOT_AUTHORIZED),
        ("SELECT load_extension('/tmp/evil.so')", "D1_ERROR: not authorized: SQLITE_ERROR"),
        ("PRAGMA journal_mode = DELETE", NOT_AUTHORIZED),
        ("PRAGMA journal_mode", NOT_AUTHORIZED),
        ("PRAGMA synchronous = OFF", NOT_AUTHORIZED),
        ("PRAGMA writable_schema = ON", NOT_AUTHORIZED),
        ("PRAGMA page_size = 1024", NOT_AUTHORIZED),
        ("PRAGMA foreign_keys = 2", NOT_AUTHORIZED),
        ("PRAGMA table_info(_cf_KV)", NOT_AUTHORIZED),
        ("PRAGMA temp.table_list", NOT_AUTHORIZED),
        ("VACUUM", "D1_ERROR: cannot VACUUM from within a transaction: SQLITE_ERROR"),
        (
            "SELECT sqlite_version()",
            "D1_ERROR: not authorized to use function: sqlite_version at offset 7: SQLITE_ERROR",
        ),
    ],
)
async def test_forbidden(users: D1Database, sql: str, message: str) -> None:
    assert await error_of(users.prepare(sql).run()) == message


@pytest.mark.asyncio
async def test_allowed_schema_changes(users: D1Database) -> None:
    await users.prepare("ALTER TABLE posts RENAME TO articles").run()
    await users.prepare("ALTER TABLE articles ADD COLUMN body TEXT").run()
    await users.prepare("CREATE VIRTUAL TABLE docs USING fts5(body)").run()
    await users.prepare("INSERT INTO docs VALUES ('hello world')").run()
    assert (
        await users.prepare("SELECT count(*) AS n FROM docs WHERE docs MATCH 'hello'").first("n")
        == 1
    )


@pytest.mark.asyncio
async def test_reserved_tables_are_unreachable(users: D1Database) -> None:
    # pyflare's own SQL may create _cf_ tables (as workerd does); users never reach them.
    users._engine.internal("CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB)")
    message = await error_of(users.prepare("SELECT * FROM _cf_KV").run())
    assert message == "D1_ERROR: access to _cf_KV.key is prohibited: SQLITE_AUTH"
    for sql in ("INSERT INTO _cf_KV VALUES ('k', 'v')", "DROP TABLE _cf_KV", "DELETE FROM _cf_KV"):
        assert await error_of(users.prepare(sql).run()) == NOT_AUTHORIZED
    message = await error_of(users.prepare("UPDATE _cf_KV SET value = 1").run())
    assert message == "D1_ERROR: not authorized: SQLITE_AUTH"
    message = await error_of(users.prepare("ALTER TABLE _cf_KV ADD COLUMN x").run())
    assert message == NOT_AUTHORIZED


@pytest.mark.asyncio
async def test_transaction_inside_several_statements_rolls_back(users: D1Database) -> None:
    message = await error_of(users.prepare("DELETE FROM users; COMMIT").run())
    assert message == TRANSACTION
    assert await users.prepare("SELECT count(*) AS n FROM users").first("n") == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA table_list",
        "PRAGMA table_info(users)",
        "PRAGMA table_xinfo(users)",
        "PRAGMA index_list(users)",
        "PRAGMA index_info(sqlite_autoindex_users_1)",
        "PRAGMA index_xinfo(sqlite_autoindex_users_1)",
        "PRAGMA foreign_key_list(posts)",
        "PRAGMA foreign_key_check",
        "PRAGMA foreign_key_check(posts)",
        "PRAGMA quick_check",
        "PRAGMA quick_check(10)",
        "PRAGMA optimize",
        "PRAGMA foreign_keys",
        "PRAGMA foreign_keys = ON",
        "PRAGMA defer_foreign_keys = true",
        "PRAGMA case_sensitive_like = off",
        "PRAGMA ignore_check_constraints = 0",
        "PRAGMA legacy_alter_table = no",
        "PRAGMA recursive_triggers = yes",
        "PRAGMA reverse_unordered_selects = false",
        "PRAGMA data_version",
    ],
)
async def test_allowed_pragmas(users: D1Database, sql: str) -> None:
    result = await users.prepare(sql).all()
    assert result.success is True


@pytest.mark.asyncio
async def test_foreign_keys_cannot_be_switched_off(users: D1Database) -> None:
    # D1 runs every query in a transaction, where SQLite ignores this pragma.
    await users.prepare("PRAGMA foreign_keys = OFF").run()
    assert await users.prepare("PRAGMA foreign_keys").first("foreign_keys") == 1
    message = await error_of(users.prepare("INSERT INTO posts (user_id) VALUES (99)").run())
    assert "FOREIGN KEY constraint failed" in message


@pytest.mark.asyncio
async def test_no_other_file_is_opened(users: D1Database, tmp_path) -> None:
    target = tmp_path / "other.sqlite"
    with pytest.raises(D1Error):
        await users.prepare(f"ATTACH DATABASE '{target}' AS other").run()
    with pytest.raises(D1Error):
        await users.exec(f"ATTACH DATABASE '{target}' AS other")
    with pytest.raises(D1Error):
        await users.batch([users.prepare(f"ATTACH DATABASE '{target}' AS other")])
    assert not target.exists()


# -- batch ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_batch_insert_then_select(db: D1Database) -> None:
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    results = await db.batch(
        [
            db.prepare("INSERT INTO t (name) VALUES (?)").bind("a"),
            db.prepare("INSERT INTO t (name) VALUES (?)").bind("b"),
            db.prepare("SELECT * FROM t ORDER BY id"),
        ]
    )
    assert len(results) == 3
    assert all(r.success is True for r in results)
    assert [r.meta.changes for r in results] == [1, 1, 0]
    assert [r.meta.last_row_id for r in results] == [1, 2, 2]
    assert results[0].results == []
    assert results[2].results == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert all(r.meta.size_after == results[-1].meta.size_after > 0 for r in results)


@pytest.mark.asyncio
async def test_batch_syntax_error_in_middle_applies_nothing(db: D1Database) -> None:
    await db.exec("CREATE TABLE t (a)")
    statements = [
        db.prepare("INSERT INTO t VALUES (1)"),
        db.prepare("INSRT INTO t VALUES (2)"),
        db.prepare("INSERT INTO t VALUES (3)"),
    ]
    message = await error_of(db.batch(statements))
    assert message == 'D1_ERROR: near "INSRT": syntax error at offset 0: SQLITE_ERROR'
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 0


@pytest.mark.asyncio
async def test_batch_constraint_error_rolls_back(users: D1Database) -> None:
    statements = [
        users.prepare("DELETE FROM users WHERE id = 1"),
        users.prepare("INSERT INTO users (name) VALUES ('bob')"),
    ]
    message = await error_of(users.batch(statements))
    assert message.startswith("D1_ERROR: UNIQUE constraint failed: users.name")
    assert await users.prepare("SELECT count(*) AS n FROM users").first("n") == 2


@pytest.mark.asyncio
async def test_batch_errors(db: D1Database) -> None:
    assert await error_of(db.batch([])) == "D1_ERROR: No SQL statements detected."
    message = await error_of(db.batch([db.prepare("SELECT ?")]))
    assert message == "D1_ERROR: Wrong number of parameter bindings for SQL query."
    assert await error_of(db.batch([db.prepare("BEGIN")])) == TRANSACTION


@pytest.mark.asyncio
async def test_batch_skips_empty_statements(db: D1Database) -> None:
    # As Miniflare 4: an empty statement is skipped, a comment-only one is an error.
    results = await db.batch([db.prepare("  "), db.prepare("SELECT 1 AS x")])
    assert [r.results for r in results] == [[{"x": 1}]]
    message = await error_of(db.batch([db.prepare("SELECT 1"), db.prepare("  -- nothing")]))
    assert message == "D1_ERROR: SQL code did not contain a statement."


# -- exec -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_exec_counts_lines(db: D1Database) -> None:
    result = await db.exec(
        "CREATE TABLE t (a)\n"
        "INSERT INTO t VALUES (1)\n"
        "\n"
        "INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)\n"
    )
    assert isinstance(result, JsDict)
    assert set(result) == {"count", "duration"}
    assert result.count == 3
    assert isinstance(result.duration, float) and result.duration >= 0
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 3


@pytest.mark.asyncio
async def test_exec_error_names_line_and_rolls_back(db: D1Database) -> None:
    await db.exec("CREATE TABLE t (a)")
    message = await error_of(db.exec("INSERT INTO t VALUES (1)\nSELECT * FROM nope\nSELECT 1"))
    assert message == (
        "D1_EXEC_ERROR: Error in line 2: SELECT * FROM nope: no such table: nope: SQLITE_ERROR"
    )
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 0


@pytest.mark.asyncio
async def test_exec_errors(db: D1Database) -> None:
    assert await error_of(db.exec("")) == (
        "D1_EXEC_ERROR: Error in line 1: : No SQL statements detected."
    )
    assert await error_of(db.exec("BEGIN")) == (
        "D1_EXEC_ERROR: Error in line 1: BEGIN: " + TRANSACTION.removeprefix("D1_ERROR: ")
    )


# -- sessions -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_session(users: D1Database) -> None:
    session = users.withSession()
    assert session.getBookmark() is None
    assert users.with_session("first-primary").get_bookmark() is None
    row = await session.prepare("SELECT name FROM users WHERE id = ?").bind(1).first()
    assert row == {"name": "ada"}
    first = session.getBookmark()
    assert isinstance(first, str) and first
    await session.batch([session.prepare("INSERT INTO users (name) VALUES ('cy')")])
    second = session.getBookmark()
    assert second is not None and second > first
    resumed = users.withSession(second)
    assert resumed.getBookmark() == second
    assert (await resumed.prepare("SELECT count(*) AS n FROM users").all()).results == [{"n": 3}]


# -- dump -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_dump_restores_into_fresh_database(db: D1Database, tmp_path) -> None:
    await db.exec(
        'CREATE TABLE "odd ""name""" ("my col" TEXT, [other] INTEGER, `third` BLOB)\n'
        'CREATE INDEX "idx \'quoted\'" ON "odd ""name""" ("my col")\n'
        'CREATE VIEW "a view" AS SELECT "my col" FROM "odd ""name"""'
    )
    await (
        db.prepare('INSERT INTO "odd ""name""" VALUES (?, ?, ?)').bind("it's", 7, b"\x00\x01").run()
    )
    data = await db.dump()
    assert isinstance(data, bytes)
    assert data.startswith(b"SQLite format 3\x00")

    restored = tmp_path / "restored.sqlite"
    restored.write_bytes(data)
    fresh = D1Database(restored)
    try:
        schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
        assert await fresh.prepare(schema).raw() == await db.prepare(schema).raw()
        rows = await fresh.prepare('SELECT * FROM "odd ""name"""').raw(columnNames=True)
        assert rows == [["my col", "other", "third"], ["it's", 7, [0, 1]]]
        assert await fresh.prepare('SELECT * FROM "a view"').first() == {"my col": "it's"}
    finally:
        fresh.close()

    # raw SQLite can load it too
    conn = apsw.Connection(":memory:")
    conn.deserialize("main", data)
    assert conn.execute('SELECT "my col" FROM "odd ""name"""').fetchall() == [("it's",)]


@pytest.mark.asyncio
async def test_dump_of_file_database(tmp_path) -> None:
    db = D1Database(tmp_path / "x.sqlite")
    try:
        await db.exec("CREATE TABLE t (a)\nINSERT INTO t VALUES (1)")
        data = await db.dump()
    finally:
        db.close()
    conn = apsw.Connection(":memory:")
    conn.deserialize("main", data)
    assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
