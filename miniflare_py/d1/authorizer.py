"""D1's rules for what SQL may do, as an SQLite authorizer (the rules of workerd's SQL layer).

SQLite asks the authorizer while it compiles a statement, so a cached statement costs nothing.
Denied actions fail with ``not authorized`` (SQLITE_AUTH), or ``not authorized to use function``;
transaction statements fail with the message D1 gives for them.
"""

from __future__ import annotations

import apsw

__all__ = ["ALLOWED_FUNCTIONS", "ALLOWED_PRAGMAS", "Authorizer"]

# Functions D1 lets SQL call (workerd's allow-list). `load_extension` is listed there but
# extension loading stays disabled, so calling it fails with "not authorized" at run time.
ALLOWED_FUNCTIONS = frozenset(
    [
        "abs",
        "changes",
        "char",
        "coalesce",
        "concat",
        "concat_ws",
        "format",
        "glob",
        "hex",
        "ifnull",
        "iif",
        "instr",
        "last_insert_rowid",
        "length",
        "like",
        "likelihood",
        "likely",
        "load_extension",
        "lower",
        "ltrim",
        "max_scalar",
        "min_scalar",
        "nullif",
        "octet_length",
        "printf",
        "quote",
        "random",
        "randomblob",
        "replace",
        "round",
        "rtrim",
        "sign",
        "soundex",
        "substr",
        "substring",
        "total_changes",
        "trim",
        "typeof",
        "unhex",
        "unicode",
        "unlikely",
        "upper",
        "zeroblob",
        "date",
        "time",
        "datetime",
        "julianday",
        "unixepoch",
        "strftime",
        "timediff",
        "current_date",
        "current_time",
        "current_timestamp",
        "avg",
        "count",
        "group_concat",
        "max",
        "min",
        "string_agg",
        "sum",
        "total",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "ceil",
        "cos",
        "cosh",
        "degrees",
        "exp",
        "floor",
        "ln",
        "log",
        "log2",
        "mod",
        "pi",
        "pow",
        "radians",
        "sin",
        "sinh",
        "sqrt",
        "tan",
        "tanh",
        "trunc",
        "json",
        "jsonb",
        "json_array",
        "jsonb_array",
        "json_array_length",
        "json_extract",
        "jsonb_extract",
        "->",
        "->>",
        "json_insert",
        "jsonb_insert",
        "json_object",
        "jsonb_object",
        "json_patch",
        "jsonb_patch",
        "json_remove",
        "jsonb_remove",
        "json_replace",
        "jsonb_replace",
        "json_set",
        "jsonb_set",
        "json_type",
        "json_valid",
        "json_quote",
        "json_group_array",
        "jsonb_group_array",
        "json_group_object",
        "jsonb_group_object",
        "json_each",
        "json_tree",
        "match",
        "highlight",
        "bm25",
        "snippet",
        "rtreecheck",
        "sqlite_rename_column",
        "sqlite_rename_table",
        "sqlite_rename_test",
        "sqlite_drop_column",
        "sqlite_rename_quotefix",
    ]
)

_NO_ARG = "no-arg"
_BOOLEAN = "boolean"
_OBJECT = "object-name"
_OPTIONAL_OBJECT = "optional-object-name"
_NUMBER = "null-or-number"
_NUMBER_OR_OBJECT = "null-number-or-object-name"

# PRAGMAs D1 accepts and the argument each takes (table_list/table_info/table_xinfo below).
ALLOWED_PRAGMAS: dict[str, str] = {
    "data_version": _NO_ARG,
    "page_size": _NO_ARG,
    "case_sensitive_like": _BOOLEAN,
    "foreign_keys": _BOOLEAN,
    "defer_foreign_keys": _BOOLEAN,
    "ignore_check_constraints": _BOOLEAN,
    "legacy_alter_table": _BOOLEAN,
    "recursive_triggers": _BOOLEAN,
    "reverse_unordered_selects": _BOOLEAN,
    "foreign_key_check": _OPTIONAL_OBJECT,
    "foreign_key_list": _OBJECT,
    "index_info": _OBJECT,
    "index_list": _OBJECT,
    "index_xinfo": _OBJECT,
    "quick_check": _NUMBER_OR_OBJECT,
    "optimize": _NUMBER,
}
_BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0")

_OK = apsw.SQLITE_OK
_DENY = apsw.SQLITE_DENY

_NAME_ONLY = frozenset(
    {
        apsw.SQLITE_CREATE_TABLE,
        apsw.SQLITE_DELETE,
        apsw.SQLITE_DROP_TABLE,
        apsw.SQLITE_INSERT,
        apsw.SQLITE_CREATE_VIEW,
        apsw.SQLITE_DROP_VIEW,
        apsw.SQLITE_REINDEX,
        apsw.SQLITE_READ,
        apsw.SQLITE_UPDATE,
    }
)
_TWO_NAMES = frozenset(
    {
        apsw.SQLITE_CREATE_INDEX,
        apsw.SQLITE_DROP_INDEX,
        apsw.SQLITE_CREATE_TRIGGER,
        apsw.SQLITE_DROP_TRIGGER,
    }
)
_VTAB_MODULES = frozenset({"fts5", "fts5vocab", "rtree", "rtree_i32"})


def allowed_name(name: str | None) -> bool:
    """Names starting with ``_cf_`` (any case) are reserved by Cloudflare."""
    return name is None or len(name) < 4 or name[:4].lower() != "_cf_"


def _pragma_allowed(pragma: str, arg: str | None) -> bool:
    pragma = pragma.lower()
    if pragma == "table_list":
        return True
    if pragma in ("table_info", "table_xinfo"):
        return arg is not None and allowed_name(arg)
    kind = ALLOWED_PRAGMAS.get(pragma)
    if kind is None:
        return False
    if kind == _NO_ARG:
        return arg is None
    if kind == _BOOLEAN:
        if arg is None:
            return True
        value = arg
        if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
            value = value[1:-1]
        return value.lower().startswith(_BOOLEAN_WORDS)
    if kind == _OBJECT:
        return arg is not None and allowed_name(arg)
    if kind == _OPTIONAL_OBJECT:
        return arg is None or allowed_name(arg)
    if arg is None:
        return True
    try:
        int(arg)
    except ValueError:
        return kind == _NUMBER_OR_OBJECT and allowed_name(arg)
    return True


class Authorizer:
    """The connection's authorizer; `trusted` lifts the rules for pyflare's own statements."""

    __slots__ = ("transaction_denied", "trusted")

    def __init__(self) -> None:
        self.trusted = False
        # Set when a transaction statement was refused, to report D1's message for it.
        self.transaction_denied = False

    def __call__(
        self,
        action: int,
        param1: str | None,
        param2: str | None,
        db_name: str | None,
        trigger: str | None,
    ) -> int:
        if action == apsw.SQLITE_ALTER_TABLE or action == apsw.SQLITE_DETACH:
            # SQLite passes the database name first for these two.
            param1, param2, db_name = param2, None, param1
        if db_name is not None and db_name != "main":
            if db_name != "temp":
                return _DENY
            if action == apsw.SQLITE_READ or action == apsw.SQLITE_UPDATE:
                return _OK if self.trusted or allowed_name(param1) else _DENY
            return _DENY
        if self.trusted:
            return _OK
        if action in _NAME_ONLY:
            return _OK if allowed_name(param1) else _DENY
        if action == apsw.SQLITE_SELECT:
            return _OK
        if action == apsw.SQLITE_FUNCTION:
            # Lower-cased: SQLite passes a DEFAULT's CURRENT_TIMESTAMP as written.
            return _OK if param2 is not None and param2.lower() in ALLOWED_FUNCTIONS else _DENY
        if action in _TWO_NAMES:
            return _OK if allowed_name(param1) and allowed_name(param2) else _DENY
        if action == apsw.SQLITE_PRAGMA:
            return _OK if param1 is not None and _pragma_allowed(param1, param2) else _DENY
        if action == apsw.SQLITE_TRANSACTION or action == apsw.SQLITE_SAVEPOINT:
            self.transaction_denied = True
            return _DENY
        if action == apsw.SQLITE_ALTER_TABLE:
            return _OK if allowed_name(param1) else _DENY
        if action == apsw.SQLITE_ANALYZE or action == apsw.SQLITE_RECURSIVE:
            return _OK
        if action == apsw.SQLITE_CREATE_VTABLE or action == apsw.SQLITE_DROP_VTABLE:
            module = (param2 or "").lower()
            return _OK if module in _VTAB_MODULES and allowed_name(param1) else _DENY
        # ATTACH, DETACH, TEMP objects, and anything unknown.
        return _DENY
