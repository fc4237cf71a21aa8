"""`[ai]`: the Workers AI binding of a wrangler config (`binding = "AI"`). As in wrangler, an
`[env.NAME]` section does not inherit it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["AiConfig", "parse_ai"]

# wrangler's keys: `remote`/`experimental_remote` choose remote bindings in `wrangler dev`,
# `staging` an internal endpoint. pyflare runs AI locally whatever they say.
_KEYS = frozenset({"binding", "remote", "experimental_remote", "staging"})


@dataclass(frozen=True)
class AiConfig:
    binding: str


def parse_ai(reader: ConfigReader, section: Mapping[str, Any], where: str) -> AiConfig:
    at = reader.join(where, "ai")
    table = reader.table(section["ai"], at)
    reader.check_keys(table, at, _KEYS)
    return AiConfig(binding=reader.required_string(table, "binding", at))
