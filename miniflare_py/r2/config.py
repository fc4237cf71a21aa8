"""`[[r2_buckets]]`: the R2 part of a wrangler config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["R2BucketConfig", "R2Section", "parse_r2"]

_R2_KEYS = frozenset(
    {
        "binding",
        "bucket_name",
        "preview_bucket_name",
        "jurisdiction",
        "remote",
        "experimental_remote",
    }
)
_JURISDICTIONS = ("eu", "fedramp")


@dataclass(frozen=True)
class R2BucketConfig:
    binding: str
    bucket_name: str | None = None
    preview_bucket_name: str | None = None
    jurisdiction: str | None = None

    @property
    def persist_id(self) -> str:
        """The name wrangler gives the bucket locally (`bucket_name`, else the binding): its
        blob folder and object id under `<persist>/v3/r2/` come from it. `wrangler dev` does not
        use `preview_bucket_name` locally, so neither does pyflare."""
        return self.bucket_name or self.binding


@dataclass(frozen=True)
class R2Section:
    """Every bucket of one config section, with the key path of each (`r2_buckets[0]`)."""

    buckets: tuple[R2BucketConfig, ...] = ()
    paths: tuple[str, ...] = ()


def parse_r2(reader: ConfigReader, section: Mapping[str, Any], where: str) -> R2Section:
    return R2Section(*reader.each(section, "r2_buckets", where, _bucket))


def _bucket(reader: ConfigReader, item: dict[str, Any], where: str) -> R2BucketConfig:
    reader.check_keys(item, where, _R2_KEYS)
    jurisdiction = reader.string(item, "jurisdiction", where)
    if jurisdiction is not None and jurisdiction not in _JURISDICTIONS:
        raise reader.error(
            f"{reader.join(where, 'jurisdiction')} = {reader.show(jurisdiction)} is not a "
            f"jurisdiction R2 knows (allowed: {', '.join(_JURISDICTIONS)})"
        )
    return R2BucketConfig(
        binding=reader.required_string(item, "binding", where),
        bucket_name=reader.string(item, "bucket_name", where),
        preview_bucket_name=reader.string(item, "preview_bucket_name", where),
        jurisdiction=jurisdiction,
    )
