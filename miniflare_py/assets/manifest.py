"""The files of the assets folder, by URL path: what exists, its ETag, its content type.

Built by walking the folder once (and again when it changes under `pyflare dev`). As wrangler
does: `.assetsignore` (gitignore syntax) leaves files out, and it, `_headers` and `_redirects`
are never served; a file over 25 MiB stops the start with one line. Only regular files whose
real path is inside the folder are listed, so a symlink pointing out is never served.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

__all__ = ["MAX_ASSET_SIZE", "Asset", "AssetsError", "Manifest", "content_type", "etag_of"]

MAX_ASSET_SIZE = 25 * 1024 * 1024
MAX_ASSET_COUNT = 100_000
IGNORE_FILE = ".assetsignore"
_ALWAYS_IGNORED = (f"/{IGNORE_FILE}", "/_headers", "/_redirects")

# Types of the web's common files, fixed here so they do not depend on the machine's
# /etc/mime.types; others come from Python's own table.
_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "text/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
}
_PY_TYPES = mimetypes.MimeTypes(filenames=())


class AssetsError(Exception):
    """The assets folder cannot be served (a file too large, too many files)."""


def content_type(name: str) -> str | None:
    """The Content-Type of a file name; text types say `charset=utf-8`, as wrangler's do."""
    suffix = os.path.splitext(name)[1].lower()
    found = _TYPES.get(suffix) or _PY_TYPES.guess_type(name, strict=False)[0]
    if found is not None and found.startswith("text/") and "charset" not in found:
        found += "; charset=utf-8"
    return found


@dataclass(frozen=True)
class Asset:
    path: Path  # the file
    etag: str  # without quotes
    content_type: str | None
    size: int
    mtime_ns: int


class Manifest:
    """URL path (`/dir/file.html`, decoded) -> `Asset`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[str, Asset] = {}
        self.rebuild()

    def get(self, path: str) -> Asset | None:
        return self.entries.get(path)

    def rebuild(self) -> None:
        """Walk the folder again (a file was added, changed or removed)."""
        root = self.folder.resolve()
        ignore = _ignore_spec(root)
        entries: dict[str, Asset] = {}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            base = Path(dirpath)
            relative_dir = base.relative_to(root).as_posix()
            prefix = "" if relative_dir == "." else relative_dir + "/"
            # Folders are walked unless ignored as a whole; symlinked folders are skipped.
            dirnames[:] = [
                d
                for d in dirnames
                if not (base / d).is_symlink() and not ignore.match_file(f"{prefix}{d}/")
            ]
            for name in filenames:
                relative = prefix + name
                if ignore.match_file(relative):
                    continue
                asset = _asset(root, base / name)
                if asset is not None:
                    entries["/" + relative] = asset
        if len(entries) > MAX_ASSET_COUNT:
            raise AssetsError(
                f"{root} holds {len(entries)} files: Cloudflare serves at most "
                f"{MAX_ASSET_COUNT} assets per worker"
            )
        self.entries = entries


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    lines = list(_ALWAYS_IGNORED)
    ignore_file = root / IGNORE_FILE
    if ignore_file.is_file():
        lines.extend(ignore_file.read_text(encoding="utf-8").splitlines())
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _asset(root: Path, file: Path) -> Asset | None:
    """The asset for `file`, or None when it is not a regular file inside the folder."""
    try:
        real = file.resolve(strict=True)
        stat = real.stat()
    except (OSError, RuntimeError):
        return None  # a dangling or looping symlink
    if not real.is_relative_to(root) or not os.path.isfile(real):
        return None
    if stat.st_size > MAX_ASSET_SIZE:
        raise AssetsError(
            f"Asset too large: {file} is {stat.st_size} bytes; Cloudflare serves assets of up "
            f"to {MAX_ASSET_SIZE} bytes (25 MiB)"
        )
    tag = etag_of(real, stat.st_mtime_ns, stat.st_size)
    return Asset(real, tag, content_type(file.name), stat.st_size, stat.st_mtime_ns)


def etag_of(real: Path, mtime_ns: int, size: int) -> str:
    """Like Miniflare's, the ETag names the file and its last change, so nothing is read to
    list the folder; any edit gives a new one."""
    return hashlib.sha256(f"{real}\0{mtime_ns}\0{size}".encode()).hexdigest()[:32]
