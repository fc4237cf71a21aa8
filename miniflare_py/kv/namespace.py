"""`KvNamespace`: the object a worker gets as `env.KV`, with Workers KV's API and limits.

Calls take options the ways Cloudflare's Python SDK passes them: keyword arguments
(`get(k, type="json")`), one positional dict (`put(k, v, {"expirationTtl": 60})`) or None. As
there, keyword arguments become the options object only when no positional options are given
(`put(k, v, None, expirationTtl=60)` stores without expiration on Cloudflare too). Arguments
are converted as JavaScript converts them on Cloudflare (see `coerce.py`), checks run in
workerd's order, and every refused call raises workerd's error before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ..state import StateError
from ..workers.jsdict import JsDict
from ..workers.rpc import _BindingWrapper as _BindingBase
from .coerce import check_rpc, js_int, js_json, js_string, to_utf8
from .errors import PUT_VALUE_TYPES, UNKNOWN_TYPE, KvSyntaxError, failed, not_of_type
from .stream import KvStream, is_stream_like, read_stream

if TYPE_CHECKING:
    from ..clock import Clock
    from .storage import KvStorage

__all__ = [
    "MAX_BULK_KEYS",
    "MAX_KEY_BYTES",
    "MAX_LIST_LIMIT",
    "MAX_METADATA_BYTES",
    "MAX_VALUE_BYTES",
    "MIN_CACHE_TTL",
    "MIN_EXPIRATION_TTL",
    "KvNamespace",
    "parse_json",
]

MAX_KEY_BYTES: Final = 512
MAX_VALUE_BYTES: Final = 25 * 1024 * 1024
MAX_METADATA_BYTES: Final = 1024
MAX_BULK_KEYS: Final = 100
MAX_BULK_BYTES: Final = 25 * 1024 * 1024
MAX_LIST_LIMIT: Final = 1000
MIN_EXPIRATION_TTL: Final = 60
MIN_CACHE_TTL: Final = 30
_SAFE_INT: Final = 2**53 - 1

_MISSING: Any = object()
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}\Z")


def _number(text: str) -> int | float:
    # A JSON number becomes a JavaScript number, which a Python worker sees as an int when it
    # is a safe integer (Pyodide's conversion) and as a float otherwise.
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= _SAFE_INT else value


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


_decoder = json.JSONDecoder(
    object_hook=JsDict, parse_float=_number, parse_int=_number, parse_constant=_refuse_constant
)


def parse_json(text: str) -> Any:
    """`JSON.parse(text)` as a Python worker receives the result (objects as `JsDict`).

    Raises `KvSyntaxError` with V8's message for the common mistakes (end of input, a wrong
    token, a missing delimiter, text after the value)."""
    try:
        value, end = _decoder.raw_decode(text, _skip_space(text, 0))
    except json.JSONDecodeError as exc:
        raise KvSyntaxError(_json_message(text, exc.pos, exc.msg)) from None
    except ValueError:  # NaN / Infinity
        raise KvSyntaxError(_json_message(text, _skip_space(text, 0), "")) from None
    end = _skip_space(text, end)
    if end != len(text):
        raise KvSyntaxError(f"Unexpected non-whitespace character after JSON at position {end}")
    return value


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


_V8_SPECIAL = frozenset({"NaN", "Infinity", "undefined", "[object Object]"})


def _json_message(text: str, pos: int, reason: str) -> str:
    """V8's wording for a JSON.parse failure that Python's decoder found at `pos`."""
    if text in _V8_SPECIAL:
        return f'"{text}" is not valid JSON'
    at = f"in JSON at position {pos}"
    if reason.startswith("Expecting ',' delimiter"):
        if _open_container(text, pos) == "[":
            return f"Expected ',' or ']' after array element {at}"
        return f"Expected ',' or '}}' after property value {at}"
    if reason.startswith("Expecting ':' delimiter"):
        return f"Expected ':' after property name {at}"
    if reason.startswith("Expecting property name"):
        if text[:pos].rstrip(" \t\n\r").endswith(","):
            return f"Expected double-quoted property name {at}"
        return f"Expected property name or '}}' {at}"
    if reason.startswith("Unterminated string"):
        return f"Unterminated string in JSON at position {len(text)}"
    if reason.startswith("Invalid control character"):
        return f"Bad control character in string literal {at}"
    if reason.startswith("Invalid \\escape"):
        return f"Bad escaped character in JSON at position {pos + 1}"
    # V8 reads true/false/null letter by letter and complains about the first wrong one.
    for literal in ("true", "false", "null"):
        if text.startswith(literal[0], pos):
            matched = 0
            while matched < len(literal) and text.startswith(literal[matched], pos + matched):
                matched += 1
            pos += matched
            break
    if pos >= len(text):
        return "Unexpected end of JSON input"
    if len(text) <= 20:
        shown = f'"{text}"'
    else:
        first, last = max(0, pos - 10), min(len(text), pos + 10)
        shown = (
            ("..." if first else "") + f'"{text[first:last]}"' + ("..." if last < len(text) else "")
        )
    return f"Unexpected token '{text[pos]}', {shown} is not valid JSON"


def _open_container(text: str, pos: int) -> str:
    """The innermost bracket (`[` or `{`) still open at `pos`, outside strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _metadata(text: str | None) -> Any:
    return None if text is None else parse_json(text)


def _check_key(method: str, key: str) -> None:
    """workerd's checks of a key name, before any request."""
    if not key:
        raise TypeError("Key name cannot be empty.")
    if key == "." or key == "..":
        raise TypeError(f'"{key}" is not allowed as a key name.')
    _check_length(method, key)


def _check_length(method: str, key: str) -> None:
    """The KV service's limit on a key's UTF-8 length (a list prefix's too)."""
    size = len(key) if key.isascii() else len(to_utf8(key))
    if size > MAX_KEY_BYTES:
        raise failed(
            method,
            414,
            f"UTF-8 encoded length of {size} exceeds key length limit of {MAX_KEY_BYTES}.",
        )


def _options(options: Any, kwargs: dict[str, Any]) -> Any:
    # The SDK folds keyword arguments into one trailing JS object: it is the options argument
    # only when no positional options came before it.
    return (kwargs or None) if options is _MISSING else options


def _options_object(
    options: Any, method: str, position: int, type_name: str
) -> Mapping[str, Any] | None:
    """An options argument that must be an object (or absent), as workerd checks it."""
    if options is None:
        return None
    check_rpc(options)
    if not isinstance(options, Mapping):
        raise not_of_type(method, position, type_name)
    return options


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    check_rpc(key)
    return js_string(key)


class _GetOptions:
    __slots__ = ("cache_ttl", "type")

    def __init__(self, options: Any) -> None:
        self.type: str | None = None
        self.cache_ttl: int | None = None
        if options is None:
            return
        if isinstance(options, str):
            self.type = options
        elif isinstance(options, Mapping):
            check_rpc(options)
            if "type" in options:
                self.type = js_string(options["type"])
            if "cacheTtl" in options:
                self.cache_ttl = js_int(options["cacheTtl"])
        elif isinstance(options, bool | int | float):
            self.type = js_string(options)
        else:
            check_rpc(options)
            raise not_of_type("get", 2, "GetOptions")


def _check_cache_ttl(method: str, cache_ttl: int | None) -> None:
    if cache_ttl is not None and cache_ttl < MIN_CACHE_TTL:
        raise failed(
            method,
            400,
            f"Invalid cache_ttl of {cache_ttl}. Cache TTL must be at least {MIN_CACHE_TTL}.",
        )


class KvNamespace(_BindingBase):
    """One KV namespace, as `env.<binding>` (see the module docstring)."""

    #: The JavaScript class a worker's `env.KV` is on Cloudflare (the SDK names it in errors).
    _js_name = "KvNamespace"

    def __init__(self, storage: KvStorage, clock: Clock, binding: str, namespace_id: str) -> None:
        self.storage = storage
        self.clock = clock
        self.binding = binding
        self.namespace_id = namespace_id

    def __repr__(self) -> str:
        return f"<KvNamespace {self.binding} (id {self.namespace_id!r})>"

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    # -- get ---------------------------------------------------------------------------------

    async def get(self, key: Any, options: Any = _MISSING, /, **kwargs: Any) -> Any:
        """The value under `key` (None when missing), read as `type`: "text" (str, the
        default), "json" (the parsed value), "arrayBuffer" (memoryview) or "stream"
        (`KvStream`). With a list of at most 100 keys: a dict of key -> value (None when
        missing), "text" or "json" only."""
        options = _options(options, kwargs)
        if isinstance(key, list):
            return await self._get_bulk(key, options, with_metadata=False)
        key = _key(key)
        opts = _GetOptions(options)
        found = self._read("GET", key, opts)
        return None if found is None else self._decode(found[0], opts.type)

    async def getWithMetadata(self, key: Any, options: Any = _MISSING, /, **kwargs: Any) -> Any:
        """`{"value", "metadata", "cacheStatus"}` for `key` (value and metadata None when
        missing); with a list of keys, a dict of key -> `{"value", "metadata"}` or None."""
        options = _options(options, kwargs)
        if isinstance(key, list):
            return await self._get_bulk(key, options, with_metadata=True)
        key = _key(key)
        opts = _GetOptions(options)
        found = self._read("GET", key, opts)
        if found is None:
            return JsDict(value=None, metadata=None, cacheStatus=None)
        value = self._decode(found[0], opts.type)
        return JsDict(value=value, metadata=_metadata(found[1]), cacheStatus=None)

    def _read(self, method: str, key: str, opts: _GetOptions) -> tuple[bytes, str | None] | None:
        _check_key(method, key)
        _check_cache_ttl(method, opts.cache_ttl)
        try:
            entry = self.storage.get(key, self._now_ms())
        except StateError as exc:
            raise failed(method, 500, str(exc)) from None
        return None if entry is None else (entry.value, entry.metadata)

    @staticmethod
    def _decode(value: bytes, kind: str | None) -> Any:
        # workerd checks the type only once it has a value: a missing key is None whatever
        # type was asked for.
        if kind is None or kind == "text":
            return value.decode("utf-8", "replace")
        if kind == "json":
            return parse_json(value.decode("utf-8", "replace"))
        if kind == "arrayBuffer":
            return memoryview(value)
        if kind == "stream":
            return KvStream(value)
        raise TypeError(UNKNOWN_TYPE)

    async def _get_bulk(self, keys: list[Any], options: Any, *, with_metadata: bool) -> Any:
        names = [_key(k) for k in keys]
        opts = _GetOptions(options)
        kind = opts.type or "text"
        if kind not in ("text", "json"):
            raise failed("GET_BULK", 400, f'"{kind}" is not a valid type. Use "json" or "text"')
        if len(names) > MAX_BULK_KEYS:
            raise failed("GET_BULK", 400, f"You can request a maximum of {MAX_BULK_KEYS} keys")
        if not names:
            raise failed("GET_BULK", 400, "You must request a minimum of 1 key")
        now = self._now_ms()
        found: dict[str, Any] = {}
        total = 0
        for name in names:
            if not name:
                raise failed("GET_BULK", 400, "Key names must not be empty")
            if name == "." or name == "..":
                raise failed(
                    "GET_BULK", 400, f'Illegal key name "{name}". Please use a different name.'
                )
            _check_key("GET_BULK", name)
            _check_cache_ttl("GET_BULK", opts.cache_ttl)
            try:
                entry = self.storage.get(name, now)
            except StateError as exc:
                raise failed("GET_BULK", 500, str(exc)) from None
            if entry is None:
                found[name] = None
                continue
            text = entry.value.decode("utf-8", "replace")
            total += len(text)
            if kind == "json":
                try:
                    value: Any = parse_json(text)
                except KvSyntaxError:
                    raise failed(
                        "GET_BULK",
                        400,
                        "At least one of the requested keys corresponds to a non-json value",
                    ) from None
            else:
                value = text
            found[name] = (
                JsDict(value=value, metadata=_metadata(entry.metadata)) if with_metadata else value
            )
        if total > MAX_BULK_BYTES:
            raise failed(
                "GET_BULK",
                413,
                f"Total size of request exceeds the limit of {MAX_BULK_BYTES // 1024 // 1024}MB",
            )
        return _without_array_indices(found)

    # -- put / delete ------------------------------------------------------------------------

    async def put(self, key: Any, value: Any, options: Any = _MISSING, /, **kwargs: Any) -> None:
        """Store `value` (str, bytes, memoryview, or a stream: a `KvStream`, an async iterable
        of bytes, a binary file) under `key`, with `expiration` (seconds since the epoch) or
        `expirationTtl` (seconds from now, at least 60) and JSON `metadata` (1024 bytes)."""
        options = _options(options, kwargs)
        # 1. arguments, converted as workerd converts them
        key = _key(key)
        check_rpc(value)
        expiration: int | None = None
        expiration_ttl: int | None = None
        metadata: Any = None
        options = _options_object(options, "put", 3, "PutOptions")
        if options is not None:
            if "expiration" in options:
                expiration = js_int(options["expiration"])
            if "expirationTtl" in options:
                expiration_ttl = js_int(options["expirationTtl"])
            metadata = options.get("metadata")
        # 2. workerd's own checks, then the value's type
        _check_key("PUT", key)
        metadata_json = None if metadata is None else js_json(metadata)
        data: bytes | None
        stream = None
        if isinstance(value, str):
            data = to_utf8(value)
        elif isinstance(value, bytes):
            data = value
        elif isinstance(value, memoryview):
            data = value.tobytes()
        elif value is None or isinstance(value, bool | int | float):
            data = to_utf8(js_string(value))
        elif is_stream_like(value) and not isinstance(value, Mapping | list):
            data, stream = None, value
        else:
            raise TypeError(PUT_VALUE_TYPES)
        # 3. the KV service's checks
        expires_at = self._expiration(expiration, expiration_ttl)
        if metadata_json is not None:
            size = len(to_utf8(metadata_json))
            if size > MAX_METADATA_BYTES:
                raise failed(
                    "PUT",
                    413,
                    f"Metadata length of {size} exceeds limit of {MAX_METADATA_BYTES}.",
                )
        if stream is not None:
            data, length = await read_stream(stream, MAX_VALUE_BYTES)
        else:
            assert data is not None
            length = len(data)
        if data is None or length > MAX_VALUE_BYTES:
            raise failed(
                "PUT", 413, f"Value length of {length} exceeds limit of {MAX_VALUE_BYTES}."
            )
        try:
            self.storage.put(
                key, data, None if expires_at is None else expires_at * 1000, metadata_json
            )
        except StateError as exc:
            raise failed("PUT", 500, str(exc)) from None

    def _expiration(self, expiration: int | None, ttl: int | None) -> int | None:
        """The expiry in seconds since the epoch, checked as the KV service checks it
        (`expirationTtl` wins when both are given)."""
        now = math.floor(self.clock.now())
        if ttl is not None:
            if ttl <= 0:
                raise failed(
                    "PUT",
                    400,
                    f"Invalid expiration_ttl of {ttl}. Please specify integer greater than 0.",
                )
            if ttl < MIN_EXPIRATION_TTL:
                raise failed(
                    "PUT",
                    400,
                    f"Invalid expiration_ttl of {ttl}. Expiration TTL must be at least "
                    f"{MIN_EXPIRATION_TTL}.",
                )
            return now + ttl
        if expiration is not None:
            if expiration <= now:
                raise failed(
                    "PUT",
                    400,
                    f"Invalid expiration of {expiration}. Please specify integer greater than "
                    "the current number of seconds since the UNIX epoch.",
                )
            if expiration < now + MIN_EXPIRATION_TTL:
                raise failed(
                    "PUT",
                    400,
                    f"Invalid expiration of {expiration}. Expiration times must be at least "
                    f"{MIN_EXPIRATION_TTL} seconds in the future.",
                )
        return expiration

    async def delete(self, key: Any, /) -> None:
        """Remove `key` (nothing happens when it is missing)."""
        key = _key(key)
        _check_key("DELETE", key)
        try:
            self.storage.delete(key)
        except StateError as exc:
            raise failed("DELETE", 500, str(exc)) from None

    # -- list --------------------------------------------------------------------------------

    async def list(self, options: Any = _MISSING, /, **kwargs: Any) -> JsDict:
        """`{"keys": [{"name", "expiration"?, "metadata"?}], "list_complete", "cursor"?,
        "cacheStatus"}`: up to `limit` (default and most 1000) keys starting with `prefix`, in
        UTF-8 byte order, after the key `cursor` points past."""
        options = _options_object(_options(options, kwargs), "list", 1, "ListOptions")
        limit = MAX_LIST_LIMIT
        prefix = cursor = None
        if options is not None:
            if "limit" in options:
                given = js_int(options["limit"])
                if given > 0:  # workerd leaves out a limit that is not positive
                    limit = given
            if options.get("prefix") is not None:
                prefix = js_string(options["prefix"])
            if options.get("cursor") is not None:
                cursor = js_string(options["cursor"])
        if limit > MAX_LIST_LIMIT:
            raise failed(
                "GET",
                400,
                f"Invalid key_count_limit of {limit}. Please specify an integer less than "
                f"{MAX_LIST_LIMIT}.",
            )
        if prefix is not None:
            _check_length("GET", prefix)
        start_after = "" if not cursor else decode_cursor(cursor)
        try:
            rows, more = self.storage.list(prefix or "", start_after, limit, self._now_ms())
        except StateError as exc:
            raise failed("GET", 500, str(exc)) from None
        keys = []
        for row in rows:
            item = JsDict(name=row.name)
            if row.expiration is not None:
                item["expiration"] = row.expiration // 1000
            if row.metadata is not None:
                item["metadata"] = _metadata(row.metadata)
            keys.append(item)
        if more:
            return JsDict(
                keys=keys,
                list_complete=False,
                cursor=encode_cursor(rows[-1].name),
                cacheStatus=None,
            )
        return JsDict(keys=keys, list_complete=True, cacheStatus=None)


def encode_cursor(key: str) -> str:
    """A list cursor: the base64 of the last key returned, as Miniflare writes it (so a cursor
    from one works with the other)."""
    return base64.b64encode(to_utf8(key)).decode("ascii")


def decode_cursor(cursor: str) -> str:
    """The key a cursor points past, decoded as leniently as Node's base64 decoder: characters
    outside the alphabet are skipped, the URL-safe alphabet is accepted, padding is optional."""
    text = cursor.split("=", 1)[0].replace("-", "+").replace("_", "/")
    text = re.sub(r"[^A-Za-z0-9+/]", "", text)
    text = text[: len(text) - (len(text) % 4 == 1)]
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:  # pragma: no cover - the text is cleaned above
        return ""
    return raw.decode("utf-8", "replace")


def _without_array_indices(found: dict[str, Any]) -> dict[str, Any]:
    """`found` without the keys that are JavaScript array indices ("0", "42"): workerd builds
    the bulk reply's Map from the service's JSON object skipping index properties, so on
    Cloudflare a bulk get never returns such keys. pyflare does the same, so the surprise comes
    before deploying."""
    return {k: v for k, v in found.items() if not (_ARRAY_INDEX.match(k) and int(k) < 2**32 - 1)}
