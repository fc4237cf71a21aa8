"""D1 safety (DESIGN.md §12): D1's size and argument limits, the `_cf_` rule behind comments,
the query time limit, stopping a runaway query, storage errors as `D1Error`, state files that are
damaged or deleted."""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from miniflare_py.d1 import D1Database, D1Error
from miniflare_py.d1.engine import interrupt_queries, resume_queries
from miniflare_py.d1.errors import STOPPED_MESSAGE, TIME_LIMIT_MESSAGE
from miniflare_py.state import StateError

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"
NOT_AUTHORIZED = "D1_ERROR: not authorized: SQLITE_AUTH"


@pytest.fixture
def db() -> Iterator[D1Database]:
    database = D1Database()
    yield database
    database.close()


async def error_of(awaitable: object) -> str:
    with pytest.raises(D1Error) as info:
        await awaitable  # type: ignore[misc]
    return str(info.value)


# -- limits ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_values_up_to_2_000_000_bytes_are_stored_and_larger_ones_refused(
    db: D1Database,
) -> None:
    await db.exec("CREATE TABLE t (v)")
    # the limit is on a row too, so a row holds a little less than 2,000,000 bytes of value
    assert await db.prepare("SELECT length(?) AS n").bind(b"x" * 2_000_000).first("n") == 2_000_000
    await db.prepare("INSERT INTO t VALUES (?)").bind(b"x" * 1_999_000).run()
    await db.prepare("INSERT INTO t VALUES (?)").bind("y" * 1_999_000).run()
    too_big = "D1_ERROR: string or blob too big: SQLITE_TOOBIG"
    assert await error_of(db.prepare("INSERT INTO t VALUES (?)").bind(b"x" * 2_000_001).run()) == (
        too_big
    )
    assert await error_of(db.prepare("INSERT INTO t VALUES (?)").bind("y" * 2_000_001).run()) == (
        too_big
    )
    assert await error_of(db.prepare("SELECT zeroblob(2000001)").first()) == too_big
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 2


@pytest.mark.asyncio
async def test_functions_take_at_most_32_arguments(db: D1Database) -> None:
    ok = ", ".join(["1"] * 32)
    assert await db.prepare(f"SELECT max({ok}) AS m").first("m") == 1
    message = await error_of(db.prepare(f"SELECT max({ok}, 2) AS m").first())
    assert message.startswith("D1_ERROR: too many arguments on function max")
    assert message.endswith(": SQLITE_ERROR")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "sql",
    [
        "/**/ALTER TABLE r RENAME TO _cf_x",
        "-- rename\nALTER TABLE r RENAME TO _cf_x",
        "ALTER/**/TABLE r RENAME/* to */TO/**/_cf_x",
        'ALTER TABLE r RENAME TO"_cf_x"',
        "/* a */ /* b */ alter table r rename to [_CF_x]",
    ],
)
async def test_comments_do_not_defeat_the_cf_rule(db: D1Database, sql: str) -> None:
    await db.exec("CREATE TABLE r (a)")
    assert await error_of(db.prepare(sql).run()) == NOT_AUTHORIZED
    assert await error_of(db.prepare(f"SELECT 1; {sql}").run()) == NOT_AUTHORIZED
    # the table is still there, under its name, and can be used and dropped
    assert await db.prepare("SELECT count(*) AS n FROM r").first("n") == 0
    await db.prepare("DROP TABLE r").run()


@pytest.mark.asyncio
async def test_a_comment_that_only_mentions_cf_is_fine(db: D1Database) -> None:
    await db.exec("CREATE TABLE r (a)")
    await db.prepare("ALTER TABLE r RENAME TO s -- not RENAME TO _cf_x").run()
    assert await db.prepare("SELECT count(*) AS n FROM s").first("n") == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("sql", ["SELECT 1\x00; SELECT 2", "SELECT 1; SELECT 2\x00", "\x00;"])
async def test_nul_in_sql_is_a_d1_error_never_a_value_error(db: D1Database, sql: str) -> None:
    message = await error_of(db.prepare(sql).all())
    assert message.startswith("D1_ERROR: ")
    assert (await error_of(db.exec(sql))).startswith("D1_EXEC_ERROR: ")


# -- time limit and stopping -------------------------------------------------------------------


@pytest.fixture
def short_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYFLARE_D1_TIME_LIMIT", "0.2")


@pytest.mark.asyncio
async def test_a_runaway_query_ends_with_d1s_error_after_the_limit(
    short_limit: None, tmp_path: Path
) -> None:
    db = D1Database(tmp_path / "db.sqlite")
    try:
        await db.exec("CREATE TABLE t (a)")
        assert await error_of(db.prepare(RUNAWAY).first()) == TIME_LIMIT_MESSAGE
        assert await error_of(db.prepare(RUNAWAY).all()) == TIME_LIMIT_MESSAGE
        assert await error_of(db.prepare(RUNAWAY).raw()) == TIME_LIMIT_MESSAGE
        # a batch is one query: the limit covers all of it, and it rolls back
        batch = [db.prepare("INSERT INTO t VALUES (1)"), db.prepare(RUNAWAY)]
        assert await error_of(db.batch(batch)) == TIME_LIMIT_MESSAGE
        assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 0
        # and the database works on
        await db.prepare("INSERT INTO t VALUES (2)").run()
        assert await db.prepare("SELECT a FROM t").first("a") == 2
    finally:
        db.close()


def test_the_time_limit_is_30_seconds_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from miniflare_py.d1.engine import time_limit

    monkeypatch.delenv("PYFLARE_D1_TIME_LIMIT", raising=False)
    assert time_limit() == 30.0
    monkeypatch.setenv("PYFLARE_D1_TIME_LIMIT", "2.5")
    assert time_limit() == 2.5
    monkeypatch.setenv("PYFLARE_D1_TIME_LIMIT", "soon")
    with pytest.raises(StateError, match="PYFLARE_D1_TIME_LIMIT='soon'"):
        time_limit()


@pytest.mark.asyncio
async def test_interrupt_queries_stops_a_running_query_from_another_thread(
    db: D1Database,
) -> None:
    started = threading.Event()

    def stop_once_running() -> None:
        started.wait(10)
        interrupt_queries()

    # The query itself tells the thread it is running: a function SQLite calls per row.
    db._engine.conn.create_scalar_function("running", lambda x: started.set() or x)
    db._engine.auth.trusted = True  # let the test's own function through D1's allow-list
    thread = threading.Thread(target=stop_once_running)
    thread.start()
    try:
        sql = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT running(x)+1 FROM c) "
            "SELECT count(*) FROM c"
        )
        assert await error_of(db.prepare(sql).first()) == STOPPED_MESSAGE
    finally:
        thread.join()
        resume_queries()
        db._engine.auth.trusted = False
    assert await db.prepare("SELECT 1 AS one").first("one") == 1


@pytest.mark.asyncio
async def test_interrupt_queries_after_a_grace_lets_short_queries_finish(db: D1Database) -> None:
    interrupt_queries(after=60)
    try:
        # a query that finishes within the grace is not touched
        bounded = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100000) "
            "SELECT count(*) AS n FROM c"
        )
        assert await db.prepare(bounded).first("n") == 100000
        interrupt_queries(after=0.05)  # an earlier stop wins
        assert await error_of(db.prepare(RUNAWAY).first()) == STOPPED_MESSAGE
    finally:
        resume_queries()


@pytest.mark.asyncio
async def test_a_signal_handler_can_stop_a_runaway_query(db: D1Database) -> None:
    # What `pyflare dev` relies on: Python runs signal handlers while SQLite works, because the
    # progress handler is Python code.
    previous = signal.signal(signal.SIGALRM, lambda *_: interrupt_queries())
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        assert await error_of(db.prepare(RUNAWAY).first()) == STOPPED_MESSAGE
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resume_queries()


# -- storage errors ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_full_database_is_a_d1_error_and_the_batch_rolls_back(tmp_path: Path) -> None:
    db = D1Database(tmp_path / "db.sqlite")
    try:
        await db.exec("CREATE TABLE t (v)")
        engine = db._engine
        pages = engine.internal("PRAGMA page_count")[0][0]
        engine.internal(f"PRAGMA max_page_count = {pages + 2}")  # a disk with 2 pages left
        batch = [db.prepare("INSERT INTO t VALUES (?)").bind(b"x" * 3000) for _ in range(20)]
        message = await error_of(db.batch(batch))
        assert message == "D1_ERROR: database or disk is full: SQLITE_FULL"
        message = await error_of(db.exec("INSERT INTO t VALUES (zeroblob(100000))"))
        assert message.startswith("D1_EXEC_ERROR: Error in line 1: ")
        assert message.endswith("database or disk is full: SQLITE_FULL")
        assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 0
        engine.internal("PRAGMA max_page_count = 1000000")  # room again
        await db.batch(batch)
        assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 20
    finally:
        db.close()


@pytest.mark.asyncio
async def test_writes_fail_loudly_once_the_state_folder_is_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    path = state / "db.sqlite"
    db = D1Database(path)
    try:
        await db.exec("CREATE TABLE t (a)")
        await db.prepare("INSERT INTO t VALUES (1)").run()
        shutil.rmtree(state)
        with caplog.at_level(logging.ERROR, logger="miniflare_py"):
            for run in (
                lambda: db.prepare("INSERT INTO t VALUES (2)").run(),
                lambda: db.prepare("INSERT INTO t VALUES (?)").bind(3).first(),
                lambda: db.batch([db.prepare("INSERT INTO t VALUES (4)")]),
                lambda: db.exec("INSERT INTO t VALUES (5)"),
            ):
                message = await error_of(run())
                assert str(path) in message and "was deleted" in message, message
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and str(path) in errors[0]  # logged once, loudly
    finally:
        db.close()


def test_a_damaged_database_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    with pytest.raises(StateError) as info:
        D1Database(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert "not a database" in message


CHILD_FULL_DISK = """
import asyncio, resource, sys
from miniflare_py.d1 import D1Database, D1Error

async def main(path):
    db = D1Database(path)
    await db.exec("CREATE TABLE t (v)")
    # From here on no file may grow past 256 KiB: the next commit cannot write its log.
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
    batch = [db.prepare("INSERT INTO t VALUES (?)").bind(b"x" * 30000) for _ in range(20)]
    try:
        await db.batch(batch)
    except D1Error as exc:
        print("D1Error", exc)
    except BaseException as exc:
        print("RAW", type(exc).__module__, type(exc).__name__, exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    print("rows", await db.prepare("SELECT count(*) AS n FROM t").first("n"))
    await db.batch(batch)
    print("rows", await db.prepare("SELECT count(*) AS n FROM t").first("n"))
    db.close()

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.slow
def test_a_commit_on_a_full_disk_is_a_d1_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CHILD_FULL_DISK, str(tmp_path / "db.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("D1Error D1_ERROR: "), lines
    assert ": SQLITE_FULL" in lines[0] or ": SQLITE_IOERR" in lines[0], lines
    assert lines[1:] == ["rows 0", "rows 20"]
