"""R2 for Python workers: Cloudflare's bucket API over SQLite metadata and blob files, in
Miniflare's on-disk layout (so `wrangler dev` and pyflare share a bucket)."""

from .bucket import R2Bucket
from .errors import R2Error
from .multipart import R2MultipartUpload
from .objects import R2Checksums, R2Object, R2ObjectBody
from .store import open_bucket

__all__ = [
    "R2Bucket",
    "R2Checksums",
    "R2Error",
    "R2MultipartUpload",
    "R2Object",
    "R2ObjectBody",
    "open_bucket",
]
