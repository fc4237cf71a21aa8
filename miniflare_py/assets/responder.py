"""Answer a request from the assets folder, as Cloudflare's asset worker does, and decide
whether a request goes to the assets or to the worker (its router).

Answers: 200 with the file (HEAD: no body), 304 when `If-None-Match` names the file's ETag,
307 to a page's canonical URL (see `resolver`), 404 (`not_found_handling` page, or empty),
405 for a method other than GET or HEAD on an asset. Headers: `ETag` (strong), `Content-Type`,
and `Cache-Control: public, max-age=0, must-revalidate` unless the request carries
`Authorization` or `Range`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .config import AssetsConfig
from .manifest import Asset, Manifest, etag_of
from .paths import decode_path, encode_path, normalise_path
from .resolver import Intent, resolve

__all__ = ["AssetResponse", "AssetServer"]

HeaderGetter = Callable[[str], "str | None"]

CACHE_CONTROL = "public, max-age=0, must-revalidate"
#: Files up to this size are kept in memory between requests (until they change).
_CACHED_FILE = 512 * 1024
_CACHE_BUDGET = 64 * 1024 * 1024
_CHUNK = 256 * 1024
_NAVIGATION_FLAG = ("assets_navigation_prefers_asset_serving", "assets_navigation_has_no_effect")
_NAVIGATION_DATE = "2025-04-01"


@dataclass
class AssetResponse:
    """What the assets answer: status, headers, and the body (bytes, or a file to stream)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    file: Path | None = None
    size: int = 0

    def chunks(self) -> Iterator[bytes]:
        if self.file is None:
            if self.body:
                yield self.body
            return
        with open(self.file, "rb") as f:
            while chunk := f.read(_CHUNK):
                yield chunk

    def read(self) -> bytes:
        return b"".join(self.chunks())


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


class AssetServer:
    """The assets of one worker: its folder's manifest and the rules to serve it."""

    def __init__(
        self,
        config: AssetsConfig,
        compatibility_date: str | None = None,
        compatibility_flags: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.manifest = Manifest(config.directory)
        rules = config.run_worker_first
        self.worker_first = rules is True
        self.static_routing = isinstance(rules, tuple)
        patterns = rules if isinstance(rules, tuple) else ()
        self._asset_rules = [_glob(p[1:]) for p in patterns if p.startswith("!")]
        self._worker_rules = [_glob(p) for p in patterns if not p.startswith("!")]
        enable, disable = _NAVIGATION_FLAG
        self.navigation_prefers_assets = enable in compatibility_flags or (
            disable not in compatibility_flags
            and (compatibility_date or "2021-11-02") >= _NAVIGATION_DATE
        )
        self._cache: dict[Path, tuple[int, int, bytes]] = {}
        self._cached_bytes = 0

    @property
    def folder(self) -> Path:
        return self.config.directory

    def refresh(self) -> None:
        """Files were added, changed or removed: list the folder again."""
        self.manifest.rebuild()
        self._cache.clear()
        self._cached_bytes = 0

    # -- the router: assets or worker? ---------------------------------------------------------

    def goes_to_assets(self, method: str, raw_path: str, header: HeaderGetter) -> bool:
        """Whether a request to `pyflare dev` is answered by the assets (else by the worker)."""
        if self.worker_first:
            return False
        if self.static_routing:
            if any(rule.match(raw_path) for rule in self._asset_rules):
                return True
            if any(rule.match(raw_path) for rule in self._worker_rules):
                return False
        # Only navigations (or static routing) get the not_found_handling page first; other
        # misses go to the worker.
        navigating = self.navigation_prefers_assets and header("sec-fetch-mode") == "navigate"
        with_not_found = self.static_routing or navigating
        return self._intent(raw_path, with_not_found) is not None

    def _intent(self, raw_path: str, with_not_found: bool) -> Intent | None:
        path = decode_path(normalise_path(raw_path))
        not_found = self.config.not_found_handling if with_not_found else "none"
        return resolve(path, self.config.html_handling, not_found, self.manifest.get)

    # -- the asset worker ----------------------------------------------------------------------

    def respond(
        self, method: str, raw_path: str, query: str, header: HeaderGetter
    ) -> AssetResponse:
        """The assets' answer to a request (`raw_path` still percent-encoded)."""
        path = normalise_path(raw_path)
        intent = self._intent(path, True)
        if intent is None:
            return AssetResponse(404)
        if method.upper() not in ("GET", "HEAD"):
            return AssetResponse(405)
        search = f"?{query}" if query else ""
        if intent.redirect is not None:
            return AssetResponse(307, [("location", encode_path(intent.redirect) + search)])
        assert intent.asset is not None
        canonical = encode_path(decode_path(path))
        if canonical != path:
            return AssetResponse(307, [("location", canonical + search)])
        return self._file(intent.asset, intent.status, method, header)

    def _file(self, asset: Asset, status: int, method: str, header: HeaderGetter) -> AssetResponse:
        try:
            stat = os.stat(asset.path)
        except OSError:
            return AssetResponse(404)
        etag = asset.etag
        if stat.st_mtime_ns != asset.mtime_ns or stat.st_size != asset.size:
            etag = etag_of(asset.path, stat.st_mtime_ns, stat.st_size)  # changed since listed
        headers = [("etag", f'"{etag}"')]
        if asset.content_type is not None:
            headers.append(("content-type", asset.content_type))
        if header("authorization") is None and header("range") is None:
            headers.append(("cache-control", CACHE_CONTROL))
        if_none_match = header("if-none-match")
        if if_none_match is not None and if_none_match in (f'"{etag}"', f'W/"{etag}"'):
            return AssetResponse(304, headers)
        if method.upper() == "HEAD":
            headers.append(("content-length", str(stat.st_size)))
            return AssetResponse(status, headers)
        if stat.st_size > _CACHED_FILE:
            return AssetResponse(status, headers, file=asset.path, size=stat.st_size)
        return AssetResponse(status, headers, self._small(asset.path, stat), size=stat.st_size)

    def _small(self, path: Path, stat: os.stat_result) -> bytes:
        found = self._cache.get(path)
        if found is not None and found[0] == stat.st_mtime_ns and found[1] == stat.st_size:
            return found[2]
        data = path.read_bytes()
        if self._cached_bytes + len(data) <= _CACHE_BUDGET:
            if found is not None:
                self._cached_bytes -= len(found[2])
            self._cache[path] = (stat.st_mtime_ns, stat.st_size, data)
            self._cached_bytes += len(data)
        return data
