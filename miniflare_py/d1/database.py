"""`D1Database`: the object a worker gets as `env.DB`, and its sessions."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..sqlvalues import SqlRow
from ..workers.jsdict import JsDict
from ..workers.rpc import _BindingWrapper
from .engine import Engine
from .errors import D1Error
from .statement import D1PreparedStatement

__all__ = ["D1Database", "D1DatabaseSession"]

FIRST_PRIMARY = "first-primary"
FIRST_UNCONSTRAINED = "first-unconstrained"


def _results(engine: Engine, statements: Iterable[D1PreparedStatement]) -> list[JsDict]:
    try:
        queries = [(s.statement, s.params) for s in statements]
    except AttributeError:
        raise D1Error("D1_ERROR: batch() expects a list of prepared statements") from None
    return engine.batch(queries)


class D1Database(_BindingWrapper):
    """A D1 database over SQLite: an in-memory one, or the file at `path` (WAL mode).

    Calls run inline: they are `async` for Cloudflare's API, and an SQLite call on a local
    file is cheaper than any hand-off to a thread.
    """

    _js_name = "D1Database"

    def __init__(self, path: Path | str | None = None) -> None:
        self._engine = Engine(None if path is None else Path(path))

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for an in-memory database."""
        return self._engine.path

    def __repr__(self) -> str:
        return f"D1Database({str(self.path) if self.path else ':memory:'})"

    def prepare(self, sql: str) -> D1PreparedStatement:
        """A statement to `bind()` and run."""
        return D1PreparedStatement(self._engine, sql)

    async def batch(self, statements: list[D1PreparedStatement]) -> list[JsDict]:
        """Run statements in order in one transaction: all apply, or none on any error."""
        return _results(self._engine, statements)

    async def exec(self, sql: str) -> JsDict:
        """Run SQL with one statement per line, in one transaction: `{count, duration}`."""
        return self._engine.exec(sql)

    async def dump(self) -> bytes:
        """The database as the bytes of an SQLite file."""
        return self._engine.dump()

    def withSession(self, constraint: str | None = None) -> D1DatabaseSession:
        """A session (`first-primary`, `first-unconstrained` or a bookmark); one copy locally."""
        constraint = (constraint or "").strip() or FIRST_UNCONSTRAINED
        return D1DatabaseSession(self._engine, constraint)

    with_session = withSession

    def close(self) -> None:
        """Close the SQLite connection."""
        self._engine.close()

    def __enter__(self) -> D1Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class D1DatabaseSession(_BindingWrapper):
    """Sequential consistency across calls; `getBookmark()` gives the latest bookmark seen."""

    _js_name = "D1DatabaseSession"

    def __init__(self, engine: Engine, constraint: str) -> None:
        constraint = constraint.strip()
        if not constraint:
            raise D1Error("D1_SESSION_ERROR: invalid bookmark or constraint")
        self._engine = engine
        self._bookmark = constraint

    def _seen(self) -> None:
        latest = self._engine.bookmark()
        current = self.getBookmark()
        if current is None or current < latest:
            self._bookmark = latest

    def rows(self, sql: str, params: tuple[Any, ...]) -> tuple[list[str], list[SqlRow]]:
        result = self._engine.rows(sql, params)
        self._seen()
        return result

    def query(self, sql: str, params: tuple[Any, ...], measure: bool = True) -> JsDict:
        result = self._engine.query(sql, params, measure)
        self._seen()
        return result

    def columns(self, sql: str, params: tuple[Any, ...]) -> list[str]:
        return self._engine.columns(sql, params)

    def prepare(self, sql: str) -> D1PreparedStatement:
        """A statement run within this session."""
        return D1PreparedStatement(self, sql)

    async def batch(self, statements: list[D1PreparedStatement]) -> list[JsDict]:
        """Like `D1Database.batch()`, within this session."""
        results = _results(self._engine, statements)
        self._seen()
        return results

    def getBookmark(self) -> str | None:
        """The latest bookmark; None before the first query of a constraint-started session."""
        if self._bookmark in (FIRST_PRIMARY, FIRST_UNCONSTRAINED):
            return None
        return self._bookmark

    get_bookmark = getBookmark
