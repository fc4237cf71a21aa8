"""`D1PreparedStatement`: `bind()`, then `first()`, `all()`, `run()` or `raw()`."""

from __future__ import annotations

from typing import Any

from ..workers.jsdict import JsDict
from ..workers.rpc import _BindingWrapper
from .errors import D1Error
from .runner import Runner
from .values import bind_values, convert_row, row_lists

__all__ = ["D1PreparedStatement"]


class D1PreparedStatement(_BindingWrapper):
    """A statement of a D1 database; `bind()` returns a new one with its parameters."""

    __slots__ = ("_runner", "params", "statement")
    _js_name = "D1PreparedStatement"

    def __init__(self, runner: Runner, statement: str, params: tuple[Any, ...] = ()) -> None:
        self._runner = runner
        self.statement = statement
        self.params = params

    def __repr__(self) -> str:
        return f"D1PreparedStatement({self.statement!r}, params={list(self.params)!r})"

    def bind(self, *values: Any) -> D1PreparedStatement:
        """Bind parameters by position (`?`, `?NNN`, `:name`, `@name`, `$name` alike).

        A value D1 cannot store raises `D1_TYPE_ERROR` here, as on Cloudflare.
        """
        new = D1PreparedStatement.__new__(D1PreparedStatement)
        new._runner = self._runner
        new.statement = self.statement
        new.params = bind_values(values)
        return new

    async def first(self, column: str | None = None, *, colName: str | None = None) -> Any:
        """The first row as a `JsDict` (None when there is none), or one column of it."""
        if column is None:
            column = colName
        columns, rows = self._runner.rows(self.statement, self.params)
        if not rows:
            return None
        row = JsDict(zip(columns, convert_row(rows[0]), strict=False))
        if column is None:
            return row
        try:
            return row[column]
        except KeyError:
            raise D1Error(f"D1_COLUMN_NOTFOUND: Column not found ({column})") from None

    async def all(self) -> JsDict:
        """`{"success": True, "meta": {...}, "results": [rows]}`."""
        return self._runner.query(self.statement, self.params)

    async def run(self) -> JsDict:
        """Like `all()`: D1 returns the same shape for `run()`."""
        return self._runner.query(self.statement, self.params)

    async def raw(
        self, columnNames: bool | dict[str, Any] = False, *, column_names: bool | None = None
    ) -> list[list[Any]]:
        """Rows as lists (repeated column names all kept); the names first with `columnNames`."""
        if isinstance(columnNames, dict):
            columnNames = bool(columnNames.get("columnNames", False))
        if column_names is not None:
            columnNames = column_names
        columns, rows = self._runner.rows(self.statement, self.params)
        result = row_lists(rows)
        if columnNames:
            if not columns and not rows:
                columns = self._runner.columns(self.statement, self.params)
            result.insert(0, list(columns))
        return result
