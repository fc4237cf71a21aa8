"""What R2 returns: `R2Object` (metadata), `R2ObjectBody` (metadata and body), checksums.

Fields keep Cloudflare's names: key, version, size, etag, httpEtag, uploaded (a UTC
datetime), httpMetadata, customMetadata, range, checksums, storageClass. Bodies are read once:
`text()`, `bytes()`, `arrayBuffer()` (a memoryview, as the SDK gives an ArrayBuffer), `json()`,
`blob()`, or `body`, a stream of chunks; `bodyUsed` says whether it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterator
from email.utils import format_datetime
from typing import Any

from ..workers.jsdict import JsDict
from .metadata import Row
from .sdk import BindingBase, body_stream

__all__ = ["R2Checksums", "R2Object", "R2ObjectBody"]

_USED = (
    "Body has already been used. It can only be used once. Use tee() first if you need to read "
    "it twice."
)
_HEX32 = frozenset("0123456789abcdef")


def _datetime(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def http_metadata(stored: str) -> JsDict:
    """Stored HTTP metadata as a worker sees it (`cacheExpiry` as a datetime)."""
    fields = JsDict(json.loads(stored)) if stored != "{}" else JsDict()
    expiry = fields.get("cacheExpiry")
    if expiry is not None:
        fields["cacheExpiry"] = _datetime(int(expiry))
    return fields


class R2Checksums(BindingBase):
    """The digests R2 knows for an object, as bytes (memoryview), or None; `toJSON()` gives
    them as hex."""

    _js_name = "R2Checksums"

    def __init__(self, hexes: dict[str, str]) -> None:
        self._hexes = hexes

    def _get(self, name: str) -> memoryview | None:
        value = self._hexes.get(name)
        return None if value is None else memoryview(bytes.fromhex(value))

    @property
    def md5(self) -> memoryview | None:
        return self._get("md5")

    @property
    def sha1(self) -> memoryview | None:
        return self._get("sha1")

    @property
    def sha256(self) -> memoryview | None:
        return self._get("sha256")

    @property
    def sha384(self) -> memoryview | None:
        return self._get("sha384")

    @property
    def sha512(self) -> memoryview | None:
        return self._get("sha512")

    def toJSON(self) -> JsDict:
        return JsDict(self._hexes)

    def __repr__(self) -> str:
        return f"R2Checksums({self._hexes})"


class R2Object(BindingBase):
    """An object's metadata (what `head`, `put` and `list` give)."""

    _js_name = "R2Object"

    def __init__(
        self,
        row: Row,
        range: JsDict | None = None,
        *,
        include_http: bool = True,
        include_custom: bool = True,
    ) -> None:
        self.key = row.key
        self.version = row.version
        self.size = row.size
        self.etag = row.etag
        self.httpEtag = f'"{row.etag}"'
        self.uploaded = _datetime(row.uploaded)
        self.httpMetadata: JsDict | None = (
            http_metadata(row.http_metadata) if include_http else None
        )
        self.customMetadata: JsDict | None = (
            (JsDict(json.loads(row.custom_metadata)) if row.custom_metadata != "{}" else JsDict())
            if include_custom
            else None
        )
        self.range = range
        self.storageClass = row.storage_class or "Standard"
        self.ssecKeyMd5 = None
        self._checksums = row.checksums
        self._row = row

    @property
    def checksums(self) -> R2Checksums:
        hexes = json.loads(self._checksums) if self._checksums != "{}" else {}
        if len(self.etag) == 32 and _HEX32.issuperset(self.etag):
            hexes["md5"] = self.etag  # a single-part object's etag is its MD5
        return R2Checksums({k: v for k, v in hexes.items() if v is not None})

    def writeHttpMetadata(self, headers: Any) -> None:
        """Set the object's HTTP metadata as response headers on `headers`."""
        if self.httpMetadata is None:
            raise TypeError(
                f"HTTP metadata unknown for key `{self.key}`. Did you forget to add "
                "'httpMetadata' to `include` when listing?"
            )
        setter = getattr(headers, "set", None) or headers.__setitem__
        names = (
            ("contentType", "content-type"),
            ("contentLanguage", "content-language"),
            ("contentDisposition", "content-disposition"),
            ("contentEncoding", "content-encoding"),
            ("cacheControl", "cache-control"),
        )
        for field, header in names:
            value = self.httpMetadata.get(field)
            if value is not None:
                setter(header, value)
        expiry = self.httpMetadata.get("cacheExpiry")
        if expiry is not None:
            setter("expires", format_datetime(expiry, usegmt=True))

    def __repr__(self) -> str:
        return f"{self._js_name}(key={self.key!r}, size={self.size}, etag={self.etag!r})"


class R2ObjectBody(R2Object):
    """An object with its body (what `get` gives when its conditions hold)."""

    _js_name = "R2ObjectBody"

    def __init__(
        self,
        row: Row,
        range: JsDict,
        data: bytes | None,
        chunks: Iterator[bytes] | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(row, range)
        self._data = data
        self._chunks = chunks
        self._release = release
        self._used = False
        self._stream: Any = None

    @property
    def bodyUsed(self) -> bool:
        return self._used

    @property
    def body(self) -> Any:
        """The body as a stream of chunks (a `ReadableStream`), readable once."""
        if self._stream is None:
            self._stream = body_stream(self._iterate())
        return self._stream

    async def _iterate(self) -> AsyncIterator[bytes]:
        for chunk in self._take():
            yield chunk

    def _take(self) -> Iterator[bytes]:
        if self._used:
            raise TypeError(_USED)
        self._used = True
        if self._data is not None:
            data, self._data = self._data, None
            if data:
                yield data
            return
        chunks, self._chunks = self._chunks, None
        try:
            if chunks is not None:
                yield from chunks
        finally:
            self._done()

    def _done(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __del__(self) -> None:
        # A body never read still holds its blobs; let them go.
        with contextlib.suppress(Exception):  # at interpreter shutdown
            self._done()

    def _read_all(self) -> bytes:
        if self._data is not None and not self._used:
            self._used = True
            data, self._data = self._data, None
            return data
        return b"".join(self._take())

    async def bytes(self) -> bytes:
        return self._read_all()

    async def arrayBuffer(self) -> memoryview:
        return memoryview(self._read_all())

    async def text(self) -> str:
        return self._read_all().decode("utf-8", "replace")

    async def json(self) -> Any:
        return json.loads(self._read_all().decode("utf-8", "replace"), object_hook=JsDict)

    async def blob(self) -> Any:
        data = self._read_all()
        content_type = (self.httpMetadata or JsDict()).get("contentType") or ""
        try:
            from ..workers import Blob
        except ImportError:
            return data
        return Blob([data], content_type=content_type)
