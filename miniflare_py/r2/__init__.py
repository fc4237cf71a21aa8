"""R2 for Python workers: Cloudflare's bucket API over SQLite metadata and blob files, in
Miniflare's on-disk layout (so `wrangler dev` and pyflare share a bucket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .bucket import R2Bucket
    from .errors import R2Error
    from .multipart import R2MultipartUpload
    from .objects import R2Checksums, R2Object, R2ObjectBody
    from .store import open_bucket

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "R2Bucket": ".bucket",
    "R2Checksums": ".objects",
    "R2Error": ".errors",
    "R2MultipartUpload": ".multipart",
    "R2Object": ".objects",
    "R2ObjectBody": ".objects",
    "open_bucket": ".store",
}

__all__ = [
    "R2Bucket",
    "R2Checksums",
    "R2Error",
    "R2MultipartUpload",
    "R2Object",
    "R2ObjectBody",
    "open_bucket",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
