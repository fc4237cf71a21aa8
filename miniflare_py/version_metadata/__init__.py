"""Worker version metadata (`[version_metadata] binding = "VERSION"`): `env.VERSION.id`, `.tag`
and `.timestamp`, made up once per runtime as `wrangler dev` does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .binding import VersionMetadataBinding, VersionMetadataConfig, VersionMetadataInstance

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "VersionMetadataBinding": ".binding",
    "VersionMetadataConfig": ".binding",
    "VersionMetadataInstance": ".binding",
}

__all__ = [
    "VersionMetadataBinding",
    "VersionMetadataConfig",
    "VersionMetadataInstance",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
