"""Worker version metadata (`[version_metadata] binding = "VERSION"`): `env.VERSION.id`, `.tag`
and `.timestamp`, made up once per runtime as `wrangler dev` does."""

from .binding import VersionMetadataBinding, VersionMetadataConfig, VersionMetadataInstance

__all__ = ["VersionMetadataBinding", "VersionMetadataConfig", "VersionMetadataInstance"]
