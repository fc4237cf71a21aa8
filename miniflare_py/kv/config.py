"""`[[kv_namespaces]]`: the KV part of a wrangler config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["KvNamespaceConfig", "KvSection", "parse_kv"]

_KV_KEYS = frozenset({"binding", "id", "preview_id", "remote"})


@dataclass(frozen=True)
class KvNamespaceConfig:
    binding: str
    id: str | None = None
    preview_id: str | None = None

    @property
    def persist_id(self) -> str:
        """The namespace id `wrangler dev` gives Miniflare, which names the local files:
        `preview_id`, else `id`, else the binding name."""
        return self.preview_id or self.id or self.binding


@dataclass(frozen=True)
class KvSection:
    """Every namespace of one config section, with the key path of each (`kv_namespaces[0]`)."""

    namespaces: tuple[KvNamespaceConfig, ...] = ()
    paths: tuple[str, ...] = ()


def parse_kv(reader: ConfigReader, section: Mapping[str, Any], where: str) -> KvSection:
    return KvSection(*reader.each(section, "kv_namespaces", where, _namespace))


def _namespace(reader: ConfigReader, item: dict[str, Any], where: str) -> KvNamespaceConfig:
    reader.check_keys(item, where, _KV_KEYS)
    return KvNamespaceConfig(
        binding=reader.required_string(item, "binding", where),
        id=reader.string(item, "id", where),
        preview_id=reader.string(item, "preview_id", where),
    )
