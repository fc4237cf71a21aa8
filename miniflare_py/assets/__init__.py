"""Static assets for Python workers: `[assets]` served before (or after) the worker, as
Cloudflare serves them, and `env.ASSETS.fetch()`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .binding import AssetsBinding, StaticAssets
    from .config import AssetsConfig
    from .fetcher import AssetsFetcher
    from .responder import AssetResponse, AssetServer

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "AssetResponse": ".responder",
    "AssetServer": ".responder",
    "AssetsBinding": ".binding",
    "AssetsConfig": ".config",
    "AssetsFetcher": ".fetcher",
    "StaticAssets": ".binding",
}

__all__ = [
    "AssetResponse",
    "AssetServer",
    "AssetsBinding",
    "AssetsConfig",
    "AssetsFetcher",
    "StaticAssets",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
