"""D1 in the Local Explorer: databases, their tables and schema, paged rows, and an SQL console.

Everything runs through the D1 binding (`D1Database`), so D1's rules hold as they do for the
worker: its authorizer (no `_cf_` tables, no ATTACH, only D1's PRAGMAs...), its limits, its
errors, and its values (a BLOB comes back as a list of byte values). The paths are those of
Cloudflare's D1 API and Miniflare's Local Explorer (`/d1/database`, `/d1/database/{id}/raw`,
`/d1/database/{id}/query`), plus `/tables` and `/tables/{table}/rows` for browsing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request

from ...d1.errors import D1Error
from ...d1.splitter import split_file
from ..endpoints import ApiError, Endpoint, Param, Result, json_body, query_int
from ..schema import ANY, BOOL, INT, NUM, STR, arr, nullable, obj, ref
from ..trace import Traced, Tracer
from .base import BindingView

__all__ = ["D1View"]

_META = obj(
    {
        "served_by": STR,
        "duration": NUM,
        "changes": INT,
        "last_row_id": INT,
        "changed_db": BOOL,
        "size_after": INT,
        "rows_read": INT,
        "rows_written": INT,
    },
    required=(),
)
_RAW_RESULT = obj(
    {
        "results": obj({"columns": arr(STR), "rows": arr(arr(ANY))}),
        "meta": _META,
        "success": BOOL,
    }
)
_QUERY_RESULT = obj({"results": arr({"type": "object"}), "meta": _META, "success": BOOL})
_QUERY = obj({"sql": STR, "params": arr(ANY)}, required=("sql",))
_QUERY_BODY = {
    "oneOf": [
        _QUERY,
        obj({"batch": arr(_QUERY, minItems=1)}),
    ]
}
_COLUMN = obj({"cid": INT, "name": STR, "type": STR, "notnull": BOOL, "default": ANY, "pk": INT})
_TABLE = obj({"name": STR, "type": STR, "sql": nullable(STR), "columns": arr(_COLUMN), "rows": INT})
_ID = "{database_id}"
_LIST_TABLES = (
    "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view') "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' "
    "ORDER BY name"
)
_SHOWN_SQL = 300


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _engine_binding(tracer: Tracer, engine: Any, default: str = "D1") -> str:
    return tracer.binding_of(lambda v: getattr(v, "_engine", None) is engine, default)


def _statement(tracer: Tracer, stmt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    runner = getattr(stmt, "_runner", None)
    engine = getattr(runner, "_engine", runner)
    sql = " ".join(str(getattr(stmt, "statement", "")).split())
    if len(sql) > _SHOWN_SQL:
        sql = sql[: _SHOWN_SQL - 3] + "..."
    return _engine_binding(tracer, engine), sql


def _database(tracer: Tracer, db: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    engine = getattr(db, "_engine", None)
    detail = ""
    if args and isinstance(args[0], list):
        detail = f"{len(args[0])} statement(s)"
    elif args and isinstance(args[0], str):
        detail = " ".join(args[0].split())[:_SHOWN_SQL]
    return _engine_binding(tracer, engine), detail


class D1View(BindingView):
    title = "D1"
    schemas: ClassVar[dict[str, Any]] = {
        "D1RawResult": _RAW_RESULT,
        "D1QueryResult": _QUERY_RESULT,
        "D1Query": _QUERY_BODY,
        "D1Table": _TABLE,
    }
    traced = (
        *(
            Traced("miniflare_py.d1.statement:D1PreparedStatement", m, _statement, label=m)
            for m in ("first", "all", "run", "raw")
        ),
        Traced("miniflare_py.d1.database:D1Database", "batch", _database),
        Traced("miniflare_py.d1.database:D1Database", "exec", _database),
        Traced("miniflare_py.d1.database:D1Database", "dump", _database),
        Traced("miniflare_py.d1.database:D1DatabaseSession", "batch", _database),
    )
    endpoints = (
        Endpoint(
            "GET", "/d1/database", "list_databases", "List D1 databases", "d1-list-databases",
            params=(Param("name", STR, "only databases whose name contains this"),),
            result=arr(
                obj(
                    {
                        "uuid": STR, "name": STR, "binding": STR, "version": STR,
                        "file_size": INT, "num_tables": INT,
                    }
                )
            ),
            result_info=obj({"count": INT}), errors=(400,),
        ),
        Endpoint(
            "POST", f"/d1/database/{_ID}/raw", "raw_query", "Run SQL (rows as arrays)",
            "d1-raw-database-query",
            description="Runs `sql` (several statements, split as `wrangler d1 execute` "
            "splits them, run as one batch; `params` only with a single statement) or "
            "`batch`, through the D1 binding. One result per statement.",
            body=ref("D1Query"), result=arr(ref("D1RawResult")),
        ),
        Endpoint(
            "POST", f"/d1/database/{_ID}/query", "object_query", "Run SQL (rows as objects)",
            "d1-query-database",
            description="As `/raw`, with each row an object, as the worker's `all()` gives it.",
            body=ref("D1Query"), result=arr(ref("D1QueryResult")),
        ),
        Endpoint(
            "GET", f"/d1/database/{_ID}/tables", "list_tables", "List tables and views",
            "d1-list-tables",
            description="Tables and views (not SQLite's own or D1's `_cf_` ones), with their "
            "columns, CREATE statement and row count.",
            result=arr(ref("D1Table")), errors=(404,),
        ),
        Endpoint(
            "GET", f"/d1/database/{_ID}/tables/{{table}}/rows", "table_rows",
            "Rows of a table, a page at a time", "d1-table-rows",
            params=(
                Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                Param("offset", {"type": "integer", "minimum": 0}),
            ),
            result=obj({"columns": arr(STR), "rows": arr(arr(ANY))}),
            result_info=obj({"count": INT, "total": INT, "offset": INT}),
        ),
    )  # fmt: skip

    def _configs(self) -> list[Any]:
        if self.instance is None:
            return []
        return list(self.instance.section.databases)  # type: ignore[attr-defined]

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"id": c.persist_id, "name": c.database_name or c.binding, "binding": c.binding}
            for c in self._configs()
        ]

    def _database(self, database_id: str) -> Any:
        configs = {c.binding: c for c in self._configs()}
        config = self.find("D1 database", database_id, configs, lambda c: c.persist_id)
        return self.instance.databases[config.binding]  # type: ignore[union-attr]

    async def _tables(self, db: Any) -> list[dict[str, Any]]:
        return list((await db.prepare(_LIST_TABLES).all())["results"])

    async def list_databases(self, request: Request) -> Any:
        wanted = (request.query_params.get("name") or "").lower()
        found = []
        for config in self._configs():
            name = config.database_name or config.binding
            if wanted and wanted not in name.lower():
                continue
            db = self.instance.databases[config.binding]  # type: ignore[union-attr]
            found.append(
                {
                    "uuid": config.persist_id,
                    "name": name,
                    "binding": config.binding,
                    "version": "production",
                    "file_size": db._engine.size,
                    "num_tables": len([t for t in await self._tables(db) if t["type"] == "table"]),
                }
            )
        return Result(found, {"count": len(found)})

    async def _run(self, request: Request) -> list[tuple[list[str], Any]]:
        """Run the body's SQL; per statement `(columns, all()'s result)`."""
        db = self._database(request.path_params["database_id"])
        body = await json_body(request)
        queries = _queries(body)
        try:
            if len(queries) == 1:
                sql, params = queries[0]
                statement = db.prepare(sql).bind(*params)
                results = [await statement.all()]
            else:
                results = await db.batch([db.prepare(sql).bind(*p) for sql, p in queries])
        except D1Error as exc:
            raise ApiError(400, str(exc), 7500) from None
        out = []
        for (sql, params), result in zip(queries, results, strict=True):
            rows = result["results"]
            # An empty result still has its columns: D1 names them without running it again.
            columns = list(rows[0]) if rows else db.withSession().columns(sql, tuple(params))
            out.append((columns, result))
        return out

    async def raw_query(self, request: Request) -> Any:
        return [
            {
                "results": {
                    "columns": columns,
                    "rows": [[row.get(c) for c in columns] for row in result["results"]],
                },
                "meta": result["meta"],
                "success": result["success"],
            }
            for columns, result in await self._run(request)
        ]

    async def object_query(self, request: Request) -> Any:
        return [
            {"results": result["results"], "meta": result["meta"], "success": result["success"]}
            for _, result in await self._run(request)
        ]

    async def list_tables(self, request: Request) -> Any:
        db = self._database(request.path_params["database_id"])
        tables = []
        for table in await self._tables(db):
            name = table["name"]
            info = (await db.prepare(f"PRAGMA table_info({_quoted(name)})").all())["results"]
            count = await db.prepare(f"SELECT COUNT(*) AS n FROM {_quoted(name)}").first("n")
            tables.append(
                {
                    "name": name,
                    "type": table["type"],
                    "sql": table["sql"],
                    "columns": [
                        {
                            "cid": c["cid"],
                            "name": c["name"],
                            "type": c["type"],
                            "notnull": bool(c["notnull"]),
                            "default": c["dflt_value"],
                            "pk": c["pk"],
                        }
                        for c in info
                    ],
                    "rows": count,
                }
            )
        return tables

    async def table_rows(self, request: Request) -> Any:
        db = self._database(request.path_params["database_id"])
        table = request.path_params["table"]
        names = [t["name"] for t in await self._tables(db)]
        if table not in names:
            raise self.not_found("table", table, names)
        limit = query_int(request, "limit", 50, low=1, high=1000)
        offset = query_int(request, "offset", 0)
        total = await db.prepare(f"SELECT COUNT(*) AS n FROM {_quoted(table)}").first("n")
        header, *rows = await (
            db.prepare(f"SELECT * FROM {_quoted(table)} LIMIT ? OFFSET ?")
            .bind(limit, offset)
            .raw(columnNames=True)
        )
        return Result(
            {"columns": header, "rows": rows},
            {"count": len(rows), "total": total, "offset": offset},
        )


def _queries(body: Any) -> list[tuple[str, list[Any]]]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object with sql or batch")
    if "batch" in body:
        batch = body["batch"]
        if not isinstance(batch, list) or not batch:
            raise ApiError(400, "batch must be a non-empty array of {sql, params}")
        return [_one(q) for q in batch]
    sql, params = _one(body)
    if params:
        return [(sql, params)]
    statements = split_file(sql)
    if not statements:
        raise ApiError(400, "D1_ERROR: No SQL statements detected.", 7500)
    return [(s, []) for s in statements]


def _one(query: Any) -> tuple[str, list[Any]]:
    if not isinstance(query, dict) or not isinstance(query.get("sql"), str):
        raise ApiError(400, "each query needs sql (a string)")
    params = query.get("params") or []
    if not isinstance(params, list):
        raise ApiError(400, "params must be an array")
    for value in params:
        if isinstance(value, dict | list):
            raise ApiError(400, "params must be strings, numbers, booleans or null")
    return query["sql"], params
