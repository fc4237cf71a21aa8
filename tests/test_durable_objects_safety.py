"""Durable Object SQL and state files under the safety rules (DESIGN.md section 12): the limits
of the edge's SQLite, a runaway query stopped after a time limit or by Ctrl-C/SIGTERM, and a
damaged, read-only or deleted object file reported in one line naming it."""

from __future__ import annotations

import asyncio
import logging
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import unprivileged

from miniflare_py.clock import RealClock
from miniflare_py.durable_objects.alarms import AlarmScheduler
from miniflare_py.durable_objects.database import ObjectDatabase
from miniflare_py.durable_objects.errors import DurableObjectError, SqlStorageError
from miniflare_py.durable_objects.gate import InputGate
from miniflare_py.durable_objects.sql import SqlStorage
from miniflare_py.durable_objects.storage import DurableObjectStorage
from miniflare_py.sqlguard import interrupt_queries, resume_queries
from miniflare_py.state import StateError

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
TIMEOUT = "Durable Object storage operation exceeded timeout which caused object to be reset."
STOPPED = "Durable Object reset because its code was updated."


@pytest.fixture
def db(tmp_path: Path) -> Iterator[ObjectDatabase]:
    database = ObjectDatabase(tmp_path / "object.sqlite")
    yield database
    database.close()


def storage_of(db: ObjectDatabase, tmp_path: Path) -> DurableObjectStorage:
    async def never(_object_id: str, _info: dict[str, Any]) -> None:
        raise AssertionError("no alarm is set in these tests")

    alarms = AlarmScheduler(RealClock(), tmp_path / "alarms", "Lab", never)
    return DurableObjectStorage(db, InputGate(), alarms, "object")


def error_of(db: ObjectDatabase, sql: str, *binds: Any) -> str:
    with pytest.raises(SqlStorageError) as info:
        SqlStorage(db).exec(sql, *binds)
    return str(info.value)


# -- the limits of the edge's SQLite -------------------------------------------------------------


def test_values_up_to_2_000_000_bytes_are_stored_and_larger_ones_refused(
    db: ObjectDatabase,
) -> None:
    sql = SqlStorage(db)
    sql.exec("CREATE TABLE t (v)")
    # the limit is on a row too, so a row holds a little less than 2,000,000 bytes of value
    assert sql.exec("SELECT length(?) AS n", b"x" * 2_000_000).one() == {"n": 2_000_000}
    sql.exec("INSERT INTO t VALUES (?)", b"x" * 1_999_000)
    assert error_of(db, "INSERT INTO t VALUES (?)", b"x" * 2_000_001) == (
        "string or blob too big: SQLITE_TOOBIG"
    )
    assert error_of(db, "SELECT zeroblob(2000001)").endswith(": SQLITE_TOOBIG")
    assert sql.exec("SELECT count(*) AS n FROM t").one() == {"n": 1}


def test_sql_length_columns_bound_parameters_and_function_arguments(db: ObjectDatabase) -> None:
    sql = SqlStorage(db)
    sql.exec("SELECT 1" + " " * (100_000 - 8))  # 100,000 bytes
    assert error_of(db, "SELECT 1" + " " * (100_000 - 7)).endswith(": SQLITE_TOOBIG")
    columns = ", ".join(f"c{i}" for i in range(101))
    assert "too many columns" in error_of(db, f"CREATE TABLE wide ({columns})")
    sql.exec(f"SELECT {', '.join('?' * 100)}", *range(100))
    assert "too many SQL variables" in error_of(db, f"SELECT {', '.join('?' * 101)}", *range(101))
    sql.exec(f"SELECT max({', '.join('1' * 32)})")
    assert "too many arguments on function max" in error_of(
        db, f"SELECT max({', '.join('1' * 33)})"
    )


def test_the_key_value_api_keeps_working_under_the_limits(
    db: ObjectDatabase, tmp_path: Path
) -> None:
    storage = storage_of(db, tmp_path)

    async def main() -> None:
        many = {f"k{i:03d}": i for i in range(128)}
        await storage.put(many)
        assert await storage.get(list(many)) == many
        assert len(await storage.list()) == 128
        assert await storage.delete(list(many)) == 128

    asyncio.run(main())


# -- runaway queries -----------------------------------------------------------------------------


def test_a_runaway_query_ends_after_the_time_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYFLARE_DO_TIME_LIMIT", "0.2")
    db = ObjectDatabase(tmp_path / "object.sqlite")
    # Without a working limit the query would never end: stop it after 10 s, and fail.
    watchdog = threading.Timer(10, interrupt_queries)
    watchdog.start()
    try:
        sql = SqlStorage(db)
        sql.exec("CREATE TABLE t (a)")
        assert error_of(db, RUNAWAY) == TIMEOUT
        # the object works on, and a slow but finite query later is not cut short by the
        # time that passed since the last one
        time.sleep(0.3)
        sql.exec("INSERT INTO t VALUES (1)")
        assert sql.exec("SELECT a FROM t").one() == {"a": 1}
    finally:
        watchdog.cancel()
        resume_queries()
        db.close()


def test_the_time_limit_is_30_seconds_unless_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYFLARE_DO_TIME_LIMIT", raising=False)
    assert ObjectDatabase(tmp_path / "a.sqlite").timer.limit == 30.0
    monkeypatch.setenv("PYFLARE_DO_TIME_LIMIT", "soon")
    with pytest.raises(StateError, match="PYFLARE_DO_TIME_LIMIT='soon'"):
        ObjectDatabase(tmp_path / "b.sqlite")


def test_interrupt_queries_stops_a_runaway_query(db: ObjectDatabase) -> None:
    # What Ctrl-C and SIGTERM do in `pyflare dev`: every running statement stops.
    timer = threading.Timer(0.2, interrupt_queries)
    timer.start()
    try:
        assert error_of(db, RUNAWAY) == STOPPED
    finally:
        timer.cancel()
        resume_queries()
    assert SqlStorage(db).exec("SELECT 1 AS one").one() == {"one": 1}


# -- state files -----------------------------------------------------------------------------------


def one_line_naming(error: BaseException, path: Path) -> str:
    message = str(error)
    assert str(path) in message and "\n" not in message, message
    return message


def test_a_damaged_object_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "object.sqlite"
    path.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    db = ObjectDatabase(path)
    storage = storage_of(db, tmp_path)
    with pytest.raises(DurableObjectError) as info:
        asyncio.run(storage.get("k"))
    assert "damaged" in one_line_naming(info.value, path)
    with pytest.raises(DurableObjectError) as info:
        SqlStorage(db).exec("SELECT 1")
    one_line_naming(info.value, path)


CHILD_READ_ONLY = """
import asyncio, sys
from pathlib import Path
from miniflare_py.clock import RealClock
from miniflare_py.durable_objects.alarms import AlarmScheduler
from miniflare_py.durable_objects.database import ObjectDatabase
from miniflare_py.durable_objects.errors import DurableObjectError
from miniflare_py.durable_objects.gate import InputGate
from miniflare_py.durable_objects.storage import DurableObjectStorage

async def never(_object_id, _info):
    raise AssertionError

path = Path(sys.argv[1])
alarms = AlarmScheduler(RealClock(), path.parent / "alarms", "Lab", never)
storage = DurableObjectStorage(ObjectDatabase(path), InputGate(), alarms, "object")
try:
    asyncio.run(storage.put("k", 1))
except DurableObjectError as exc:
    print("DurableObjectError", exc)
"""


def test_a_read_only_object_file_is_one_line_naming_it(tmp_path: Path) -> None:
    prefix = unprivileged()
    path = tmp_path / "object.sqlite"
    first = ObjectDatabase(path)
    SqlStorage(first).exec("CREATE TABLE t (a)")
    first.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    script = tmp_path / "child.py"
    script.write_text(CHILD_READ_ONLY)
    child = subprocess.run(
        [*prefix, sys.executable, str(script), str(path)], capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    lines = [line for line in child.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("DurableObjectError "), child.stdout
    assert str(path) in lines[0] and "read-only" in lines[0], lines[0]


def test_a_deleted_object_file_fails_writes_loudly_once(
    db: ObjectDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = storage_of(db, tmp_path)
    asyncio.run(storage.put("k", 1))
    assert db.path is not None
    for file in tmp_path.glob("object.sqlite*"):
        file.unlink()
    with caplog.at_level(logging.ERROR, logger="miniflare_py"):
        for _ in range(2):
            with pytest.raises(DurableObjectError) as info:
                asyncio.run(storage.put("k", 2))
            assert "deleted" in one_line_naming(info.value, db.path)
        with pytest.raises(DurableObjectError) as info:
            SqlStorage(db).exec("CREATE TABLE t (a)")
        one_line_naming(info.value, db.path)
    logged = [r.getMessage() for r in caplog.records if str(db.path) in r.getMessage()]
    assert len(logged) == 1, logged  # loud, once


def test_a_damaged_alarm_file_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "alarms"
    folder.mkdir()
    (folder / "metadata.sqlite").write_bytes(b"not a database " * 200)

    async def never(_object_id: str, _info: dict[str, Any]) -> None:
        raise AssertionError

    with pytest.raises(StateError) as info:
        AlarmScheduler(RealClock(), folder, "Lab", never)
    one_line_naming(info.value, folder / "metadata.sqlite")
