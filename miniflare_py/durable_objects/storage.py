"""`ctx.storage`: the key-value API of one Durable Object, over its SQLite database.

Keys are strings of at most 2048 UTF-8 bytes, values V8 structured clones of at most 131072
bytes (the edge's limits and texts; `wrangler dev` does not check them). Every call is its own
transaction unless it runs inside `transaction()`; each returns only once its write is durable.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import apsw

from ..v8 import deserialize, serialize
from .database import KV_TABLE, ObjectDatabase
from .sql import SqlStorage

if TYPE_CHECKING:
    from .alarms import AlarmScheduler
    from .gate import InputGate

__all__ = [
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "DurableObjectStorage",
    "DurableObjectTransaction",
    "SyncKvStorage",
]

MAX_KEY_SIZE = 2048
MAX_VALUE_SIZE = 131072

_GET = f"SELECT value FROM {KV_TABLE} WHERE key = ?"
_PUT = f"INSERT OR REPLACE INTO {KV_TABLE} (key, value) VALUES (?, ?)"
_DELETE = f"DELETE FROM {KV_TABLE} WHERE key = ?"
_LIST_OPTIONS = frozenset(
    {"start", "startAfter", "end", "prefix", "reverse", "limit", "allowConcurrency", "noCache"}
)


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"Durable Object storage keys must be strings, got {type(key).__name__}")
    if len(key) > MAX_KEY_SIZE // 4 and len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_SIZE:
        raise RangeError(f"Keys cannot be larger than {MAX_KEY_SIZE} bytes.")
    return key


def _encode(value: Any) -> bytes:
    data = serialize(value)
    if len(data) > MAX_VALUE_SIZE:
        raise RangeError(
            f"Values cannot be larger than {MAX_VALUE_SIZE} bytes. "
            f"A value of size {len(data)} was provided."
        )
    return data


class RangeError(ValueError):
    """JavaScript's RangeError: a key or value over the storage limits."""


def _options(options: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(options or {})
    merged.update(kwargs)
    unknown = set(merged) - _LIST_OPTIONS
    if unknown:
        raise TypeError(f"list() got unknown option(s): {', '.join(sorted(unknown))}")
    return merged


class _Operations:
    """get/put/delete/list, shared by the storage and its transactions."""

    _db: ObjectDatabase

    def _in_transaction(self) -> bool:
        return self._db.tx_depth > 0

    async def get(self, key: Any, options: Any = None, **_kwargs: Any) -> Any:
        """One value (None when missing), or a dict of the given keys that exist."""
        return self._get(key)

    def _get(self, key: Any) -> Any:
        many = isinstance(key, list | tuple)
        if not self._db.has_data():
            for k in key if many else [key]:
                _check_key(k)
            return {} if many else None
        conn = self._db.conn
        if many:
            found: dict[str, Any] = {}
            for k in sorted({_check_key(k) for k in key}):
                row = conn.execute(_GET, (k,)).fetchone()
                if row is not None:
                    found[k] = deserialize(row[0])
            return found
        row = conn.execute(_GET, (_check_key(key),)).fetchone()
        return None if row is None else deserialize(row[0])

    async def put(self, key: Any, value: Any = None, options: Any = None, **_kwargs: Any) -> None:
        """`put(key, value)` or `put({key: value, ...})` (all or nothing)."""
        self._put(key, value)

    def _put(self, key: Any, value: Any) -> None:
        if isinstance(key, Mapping):
            entries = [(_check_key(k), _encode(v)) for k, v in key.items()]
        else:
            entries = [(_check_key(key), _encode(value))]
        db = self._db
        with db.writing() as conn:
            if len(entries) == 1:
                conn.execute(_PUT, entries[0])
                return
            finish = db.savepoint()
            try:
                conn.executemany(_PUT, entries)
            except BaseException:
                finish(False)
                raise
            finish(True)

    async def delete(self, key: Any, options: Any = None, **_kwargs: Any) -> bool | int:
        """True if the key existed; for a list of keys, how many existed."""
        return self._delete(key)

    def _delete(self, key: Any) -> bool | int:
        db = self._db
        if isinstance(key, list | tuple):
            keys = [_check_key(k) for k in key]
            with db.writing() as conn:
                finish = db.savepoint()
                count = 0
                try:
                    for k in keys:
                        conn.execute(_DELETE, (k,))
                        count += conn.changes()
                except BaseException:
                    finish(False)
                    raise
                finish(True)
            return count
        name = _check_key(key)
        with db.writing() as conn:
            conn.execute(_DELETE, (name,))
            return conn.changes() > 0

    async def list(self, options: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Entries in key order: `start`, `startAfter`, `end`, `prefix`, `reverse`, `limit`."""
        return self._list(options, kwargs)

    def _list(self, options: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        opts = _options(options, kwargs)
        if opts.get("start") is not None and opts.get("startAfter") is not None:
            raise TypeError("list() cannot be called with both start and startAfter values.")
        limit = opts.get("limit")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0
        ):
            raise TypeError("List limit must be positive.")
        where, binds = [], []
        if opts.get("start") is not None:
            where.append("key >= ?")
            binds.append(opts["start"])
        if opts.get("startAfter") is not None:
            where.append("key > ?")
            binds.append(opts["startAfter"])
        if opts.get("end") is not None:
            where.append("key < ?")
            binds.append(opts["end"])
        prefix = opts.get("prefix")
        if prefix:
            where.append("substr(key, 1, ?) = ?")
            binds.extend([len(prefix), prefix])
        if not self._db.has_data():
            return {}
        sql = f"SELECT key, value FROM {KV_TABLE}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY key DESC" if opts.get("reverse") else " ORDER BY key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return {k: deserialize(v) for k, v in self._db.conn.execute(sql, binds)}


class SyncKvStorage(_Operations):
    """`ctx.storage.kv`: the synchronous key-value API of a SQLite-backed object (the same keys
    and values as the async API, one key at a time; `list()` yields `(key, value)` pairs)."""

    def __init__(self, db: ObjectDatabase) -> None:
        self._db = db

    def get(self, key: Any) -> Any:  # type: ignore[override]
        """The value of `key`, or None when it is missing."""
        if isinstance(key, list | tuple):
            raise TypeError("ctx.storage.kv.get() takes one key (use ctx.storage.get for many)")
        return self._get(key)

    def put(self, key: Any, value: Any) -> None:  # type: ignore[override]
        """Store `value` under `key` (durable when this returns)."""
        if isinstance(key, Mapping):
            raise TypeError("ctx.storage.kv.put() takes one key and value")
        self._put(key, value)

    def delete(self, key: Any) -> bool:  # type: ignore[override]
        """True if `key` existed."""
        if isinstance(key, list | tuple):
            raise TypeError("ctx.storage.kv.delete() takes one key")
        return bool(self._delete(key))

    def list(  # type: ignore[override]
        self, options: Any = None, **kwargs: Any
    ) -> Iterator[tuple[str, Any]]:
        """`(key, value)` pairs in key order, with the options of `ctx.storage.list()`."""
        return iter(self._list(options, kwargs).items())


class DurableObjectTransaction(_Operations):
    """What `transaction(fn)` hands `fn`: the same calls, plus `rollback()`."""

    def __init__(self, db: ObjectDatabase) -> None:
        self._db = db
        self.rolled_back = False

    def rollback(self) -> None:
        """Undo this transaction's writes when `fn` returns (its result is still returned)."""
        self.rolled_back = True

    async def deleteAll(self, options: Any = None) -> None:
        raise RuntimeError("Cannot call deleteAll() within a transaction")


class DurableObjectStorage(_Operations):
    """`ctx.storage` of one object."""

    def __init__(
        self,
        db: ObjectDatabase,
        gate: InputGate,
        alarms: AlarmScheduler,
        object_key: str,
    ) -> None:
        self._db = db
        self._gate = gate
        self._alarms = alarms
        self._object_key = object_key
        self.sql = SqlStorage(db)
        self.kv = SyncKvStorage(db)

    async def deleteAll(self, options: Any = None) -> None:
        """Delete every key and every SQL table of this object (its alarm stays, as on the edge)."""
        with self._db.writing() as conn:
            self._delete_all(conn)

    def _delete_all(self, conn: apsw.Connection) -> None:
        finish = self._db.savepoint()
        try:
            conn.execute(f"DELETE FROM {KV_TABLE}")
            tables = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_schema WHERE type = 'table'"
                    " AND substr(name, 1, 7) != 'sqlite_' AND lower(substr(name, 1, 4)) != '_cf_'"
                )
            ]
            conn.execute("PRAGMA defer_foreign_keys = ON")
            for name in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        except BaseException:
            finish(False)
            raise
        finish(True)

    delete_all = deleteAll

    async def transaction(
        self, closure: Callable[[DurableObjectTransaction], Awaitable[Any]]
    ) -> Any:
        """Run `closure(txn)`; its writes land together, or not at all if it raises or calls
        `txn.rollback()`. Other events of this object wait until it finishes."""
        db = self._db
        txn = DurableObjectTransaction(db)
        self._gate.close()
        finish = db.savepoint()
        try:
            result = closure(txn)
            if inspect.isawaitable(result):
                result = await result
        except BaseException:
            finish(False)
            raise
        finally:
            self._gate.open()
        finish(not txn.rolled_back)
        return result

    def transactionSync(self, closure: Callable[[], Any]) -> Any:
        """Run `closure()` (synchronous) as one transaction; it rolls back if it raises."""
        finish = self._db.savepoint()
        try:
            result = closure()
        except BaseException:
            finish(False)
            raise
        finish(True)
        return result

    transaction_sync = transactionSync

    async def sync(self) -> None:
        """Every write is durable when its call returns, so there is nothing to wait for."""
        await asyncio.sleep(0)

    # alarms

    async def getAlarm(self, options: Any = None) -> int | None:
        """The alarm time in ms since the epoch, or None."""
        return self._alarms.get(self._object_key)

    async def setAlarm(self, scheduled_time: datetime | float | int, options: Any = None) -> None:
        """Fire this object's `alarm()` at `scheduled_time` (a datetime, or ms since the epoch).

        Python Durable Objects may set an alarm without an `alarm()` method (the SDK's own tests
        do); such an alarm is dropped with a warning when it comes due."""
        self._alarms.set(self._object_key, scheduled_time)

    async def deleteAlarm(self, options: Any = None) -> None:
        self._alarms.delete(self._object_key)

    get_alarm = getAlarm
    set_alarm = setAlarm
    delete_alarm = deleteAlarm
