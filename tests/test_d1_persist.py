"""D1 on disk (wrangler's path, WAL, reopening) and wrangler-style migrations."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import apsw
import pytest

from miniflare_py.config import D1DatabaseConfig
from miniflare_py.d1 import (
    D1Database,
    D1Error,
    MigrationError,
    apply_migrations,
    create_migration,
    d1_persist_path,
    list_migrations,
    open_d1,
)


def expected_path(root: Path, database_id: str) -> Path:
    key = hashlib.sha256(b"miniflare-D1DatabaseObject").digest()
    base = hmac.new(key, database_id.encode("utf-8"), "sha256").digest()[:16]
    mac = hmac.new(key, base, "sha256").digest()[:16]
    name = base.hex() + mac.hex()
    return root / "v3" / "d1" / "miniflare-D1DatabaseObject" / f"{name}.sqlite"


@pytest.mark.parametrize("database_id", ["DB", "xxxx-xxxx", "4a1c3b9e-0000-4000-8000-00000000beef"])
def test_persist_path_matches_wrangler(tmp_path: Path, database_id: str) -> None:
    path = d1_persist_path(tmp_path, database_id)
    assert path == expected_path(tmp_path, database_id)
    assert len(path.stem) == 64


def test_open_d1_uses_preview_id_then_id_then_binding(tmp_path: Path) -> None:
    configs = [
        (D1DatabaseConfig("DB", "db", "id-1", "preview-1"), "preview-1"),
        (D1DatabaseConfig("DB", "db", "id-1"), "id-1"),
        (D1DatabaseConfig("DB", "db"), "DB"),
    ]
    for config, used in configs:
        db = open_d1(config, tmp_path)
        try:
            assert db.path == expected_path(tmp_path, used)
            assert db.path.is_file()
        finally:
            db.close()


@pytest.mark.asyncio
async def test_open_d1_without_persistence_is_in_memory(tmp_path: Path) -> None:
    db = open_d1(D1DatabaseConfig("DB"), None)
    assert db.path is None
    await db.exec("CREATE TABLE t (a)")
    db.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folders" / "db.sqlite"
    db = D1Database(path)
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    await db.prepare("INSERT INTO t (v) VALUES (?)").bind("kept").run()
    await db.batch([db.prepare("INSERT INTO t (v) VALUES (?)").bind("also kept")])
    db.close()

    again = D1Database(path)
    try:
        assert await again.prepare("SELECT v FROM t ORDER BY id").raw() == [["kept"], ["also kept"]]
    finally:
        again.close()


@pytest.mark.asyncio
async def test_file_is_wal_and_readable_by_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    db = D1Database(path)
    try:
        await db.exec("CREATE TABLE t (a)\nINSERT INTO t VALUES (42)")
        # another process (wrangler) sees committed data while pyflare holds the file open
        other = apsw.Connection(str(path))
        assert other.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
        assert other.execute("SELECT a FROM t").fetchall() == [(42,)]
        other.execute("INSERT INTO t VALUES (43)")
        other.close()
        assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 2
    finally:
        db.close()


# -- migrations -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_users.sql").write_text(
        "-- Migration number: 0001\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n"
    )
    (folder / "0002_seed.sql").write_text(
        "INSERT INTO users (name) VALUES ('a;b');\nINSERT INTO users (name) VALUES ('c');\n"
    )
    (folder / "10_index.sql").write_text("CREATE INDEX users_name ON users (name);")
    (folder / "notes.txt").write_text("not a migration")
    return tmp_path


CONFIG = D1DatabaseConfig("DB", "db", "id")


def test_migrations_apply_in_numeric_order_once(project: Path) -> None:
    db = D1Database()
    try:
        assert list_migrations(db, CONFIG, project) == (
            [],
            ["0001_users.sql", "0002_seed.sql", "10_index.sql"],
        )
        assert apply_migrations(db, CONFIG, project) == [
            "0001_users.sql",
            "0002_seed.sql",
            "10_index.sql",
        ]
        assert apply_migrations(db, CONFIG, project) == []
        applied, todo = list_migrations(db, CONFIG, project)
        assert applied == ["0001_users.sql", "0002_seed.sql", "10_index.sql"]
        assert todo == []
        engine = db._engine
        rows = engine.internal("SELECT id, name, applied_at FROM d1_migrations ORDER BY id")
        assert [r[:2] for r in rows] == [
            (1, "0001_users.sql"),
            (2, "0002_seed.sql"),
            (3, "10_index.sql"),
        ]
        assert all(r[2] for r in rows)
        assert engine.internal("SELECT name FROM users ORDER BY id") == [("a;b",), ("c",)]
        schema = engine.internal("SELECT sql FROM sqlite_master WHERE name = 'd1_migrations'")
        assert "AUTOINCREMENT" in schema[0][0]
        assert "name       TEXT UNIQUE" in schema[0][0]
    finally:
        db.close()


def test_failing_migration_stops_and_names_file(project: Path) -> None:
    folder = project / "migrations"
    (folder / "0002_seed.sql").write_text(
        "INSERT INTO users (name) VALUES ('partial');\nINSERT INTO nope VALUES (1);"
    )
    db = D1Database()
    try:
        with pytest.raises(MigrationError) as info:
            apply_migrations(db, CONFIG, project)
        assert info.value.file == "0002_seed.sql"
        assert isinstance(info.value, D1Error)
        assert str(info.value) == (
            "Migration 0002_seed.sql failed: D1_ERROR: no such table: nope: SQLITE_ERROR "
            "(at migrations/0002_seed.sql:2)"
        )
        applied, todo = list_migrations(db, CONFIG, project)
        assert applied == ["0001_users.sql"]
        assert todo == ["0002_seed.sql", "10_index.sql"]
        # the failing file left nothing behind
        assert db._engine.internal("SELECT count(*) FROM users") == [(0,)]
    finally:
        db.close()


def test_custom_dir_and_table(tmp_path: Path) -> None:
    config = D1DatabaseConfig("DB", migrations_dir="db/changes", migrations_table="my migrations")
    (tmp_path / "db" / "changes").mkdir(parents=True)
    (tmp_path / "db" / "changes" / "0001_x.sql").write_text("CREATE TABLE x (a);")
    db = D1Database()
    try:
        assert apply_migrations(db, config, tmp_path) == ["0001_x.sql"]
        assert db._engine.internal('SELECT name FROM "my migrations"') == [("0001_x.sql",)]
    finally:
        db.close()


def test_missing_migrations_folder(tmp_path: Path) -> None:
    db = D1Database()
    try:
        with pytest.raises(MigrationError, match="No migrations present at"):
            apply_migrations(db, CONFIG, tmp_path)
    finally:
        db.close()


def test_create_migration_numbers_like_wrangler(tmp_path: Path) -> None:
    first = create_migration(CONFIG, tmp_path, "create users")
    assert first == tmp_path / "migrations" / "0001_create_users.sql"
    assert first.read_text().startswith("-- Migration number: 0001 \t ")
    (tmp_path / "migrations" / "0007_manual.sql").write_text("")
    assert create_migration(CONFIG, tmp_path, "next").name == "0008_next.sql"
    with pytest.raises(MigrationError, match="path separator"):
        create_migration(CONFIG, tmp_path, "a/b")
