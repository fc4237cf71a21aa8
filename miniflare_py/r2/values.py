"""What `put` accepts, checked as workerd and R2 check it: the body, HTTP and custom metadata,
and checksums.

Limits (R2's): keys 1 to 1024 bytes of UTF-8; custom metadata at most 2048 bytes (keys and
values, UTF-8); a single upload (or part) at most 5 GiB less 5 MiB.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from .errors import ENTITY_TOO_LARGE, INVALID_OBJECT_NAME, METADATA_TOO_LARGE, R2Error
from .options import is_headers

__all__ = [
    "HASHES",
    "MAX_KEY_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_UPLOAD_BYTES",
    "body_chunks",
    "check_key",
    "custom_metadata_json",
    "expected_checksum",
    "http_metadata_json",
    "to_chunk",
]

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_UPLOAD_BYTES = 5 * 1024**3 - 5 * 1024**2

#: option name -> (hashlib name, R2's name, digest size)
HASHES = {
    "md5": ("md5", "MD5", 16),
    "sha1": ("sha1", "SHA-1", 20),
    "sha256": ("sha256", "SHA-256", 32),
    "sha384": ("sha384", "SHA-384", 48),
    "sha512": ("sha512", "SHA-512", 64),
}

_HTTP_FIELDS = (
    "contentType",
    "contentLanguage",
    "contentDisposition",
    "contentEncoding",
    "cacheControl",
)
_HTTP_HEADERS = {
    "content-type": "contentType",
    "content-language": "contentLanguage",
    "content-disposition": "contentDisposition",
    "content-encoding": "contentEncoding",
    "cache-control": "cacheControl",
}


def check_key(key: Any, action: str, *, allow_empty: bool = True) -> str:
    """`key` if R2 accepts it as an object name; else R2's InvalidObjectName."""
    if not isinstance(key, str):
        raise TypeError(f"{action}: the key must be a string, got {type(key).__name__}")
    if len(key) > MAX_KEY_BYTES // 4 and len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise R2Error(action, INVALID_OBJECT_NAME)
    if not key and not allow_empty:
        raise R2Error(action, INVALID_OBJECT_NAME)
    return key


def _js_string(value: Any) -> str:
    """A value as JavaScript's String() would write it (custom metadata values)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def custom_metadata_json(value: Any, action: str) -> str:
    """The `customMetadata` option as stored (JSON), after R2's size check."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        to_py = getattr(value, "to_py", None)
        if to_py is None:
            raise TypeError(
                f"{action}: customMetadata must be a dict of strings, got {type(value).__name__}"
            )
        value = to_py()
    fields = {_js_string(k): _js_string(v) for k, v in value.items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in fields.items())
    if size > MAX_METADATA_BYTES:
        raise R2Error(action, METADATA_TOO_LARGE)
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def _date_ms(value: Any) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    get_time = getattr(value, "getTime", None)
    if callable(get_time):
        return int(get_time())
    if isinstance(value, str):
        from .conditions import _http_date_ms

        return _http_date_ms(value, "cacheExpiry")
    raise TypeError(f"httpMetadata.cacheExpiry must be a datetime, got {type(value).__name__}")


def http_metadata_json(value: Any, action: str) -> str:
    """The `httpMetadata` option (a dict, or Headers to read the fields from) as stored."""
    if value is None:
        return "{}"
    fields: dict[str, Any] = {}
    if is_headers(value):
        for header, name in _HTTP_HEADERS.items():
            found = value.get(header)
            if found is not None:
                fields[name] = str(found)
        expires = value.get("expires")
        if expires is not None:
            fields["cacheExpiry"] = _date_ms(str(expires))
    else:
        if not isinstance(value, Mapping):
            to_py = getattr(value, "to_py", None)
            if to_py is None:
                raise TypeError(
                    f"{action}: httpMetadata must be a dict or a Headers object, got "
                    f"{type(value).__name__}"
                )
            value = to_py()
        for name in _HTTP_FIELDS:
            found = value.get(name)
            if found is not None:
                fields[name] = _js_string(found)
        if value.get("cacheExpiry") is not None:
            fields["cacheExpiry"] = _date_ms(value["cacheExpiry"])
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def expected_checksum(options: Mapping[str, Any]) -> tuple[str, bytes] | None:
    """The one checksum `put` was given, as `(option name, digest)`; workerd's checks."""
    given = [name for name in HASHES if options.get(name) is not None]
    if len(given) > 1:
        raise TypeError("You cannot specify multiple hashing algorithms.")
    if not given:
        return None
    name = given[0]
    _, label, size = HASHES[name]
    value = options[name]
    if isinstance(value, str):
        if len(value) != size * 2:
            raise TypeError(f"{label} is {size * 2} hex characters, not {len(value)}")
        try:
            return name, bytes.fromhex(value)
        except ValueError:
            raise TypeError(f"Provided {label} wasn't a valid hex string") from None
    data = to_chunk(value)
    if data is None:
        raise TypeError(f"{label} must be a hex string or bytes, got {type(value).__name__}")
    if len(data) != size:
        raise TypeError(f"{label} is {size} bytes, not {len(data)}")
    return name, data


def to_chunk(value: Any) -> bytes | None:
    """The bytes of one body chunk (bytes-like, str, or a JavaScript buffer), else None."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    to_bytes = getattr(value, "to_bytes", None)
    if callable(to_bytes) and not isinstance(value, int):
        data = to_bytes()
        return bytes(data) if not isinstance(data, bytes) else data
    return None


def body_chunks(value: Any, action: str) -> bytes | AsyncIterator[bytes]:
    """A put body: its bytes when it is already in memory, else its chunks as they come
    (async or sync iterables, file-like objects with `read`, streams, another object's body)."""
    if value is None:
        return b""
    data = to_chunk(value)
    if data is not None:
        return data
    stream = getattr(value, "body", None) if _is_r2_body(value) else None
    if stream is not None:
        value = stream
    if hasattr(value, "__aiter__"):
        return _from_async(value, action)
    read = getattr(value, "read", None)
    if callable(read):
        return _from_reader(read, action)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return _from_sync(value, action)
    raise TypeError(
        f"{action}: the value must be str, bytes, a stream, an iterable of bytes or None, got "
        f"{type(value).__name__}"
    )


def _is_r2_body(value: Any) -> bool:
    from .objects import R2ObjectBody

    return isinstance(value, R2ObjectBody)


def _chunk_or_error(chunk: Any, action: str) -> bytes:
    data = to_chunk(chunk)
    if data is None:
        raise TypeError(f"{action}: a body chunk must be bytes or str, got {type(chunk).__name__}")
    return data


async def _from_async(value: Any, action: str) -> AsyncIterator[bytes]:
    async for chunk in value:
        yield _chunk_or_error(chunk, action)


async def _from_sync(value: Iterable[Any], action: str) -> AsyncIterator[bytes]:
    for chunk in value:
        yield _chunk_or_error(chunk, action)


async def _from_reader(read: Any, action: str) -> AsyncIterator[bytes]:
    while True:
        chunk = read(256 * 1024)
        if inspect.isawaitable(chunk):
            chunk = await chunk
        if not chunk:
            return
        yield _chunk_or_error(chunk, action)


def hashers(extra: str | None) -> dict[str, Any]:
    """The digests to compute while a body is written: always MD5 (the etag), plus the one
    checksum `put` was given."""
    found = {"md5": hashlib.md5(usedforsecurity=False)}
    if extra is not None and extra != "md5":
        found[extra] = hashlib.new(HASHES[extra][0])
    return found


def too_large(size: int, action: str) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise R2Error(action, ENTITY_TOO_LARGE)
