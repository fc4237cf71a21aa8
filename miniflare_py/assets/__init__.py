"""Static assets for Python workers: `[assets]` served before (or after) the worker, as
Cloudflare serves them, and `env.ASSETS.fetch()`."""

from .binding import AssetsBinding, StaticAssets
from .config import AssetsConfig
from .fetcher import AssetsFetcher
from .responder import AssetResponse, AssetServer

__all__ = [
    "AssetResponse",
    "AssetServer",
    "AssetsBinding",
    "AssetsConfig",
    "AssetsFetcher",
    "StaticAssets",
]
