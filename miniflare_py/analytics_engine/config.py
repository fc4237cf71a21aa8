"""`[[analytics_engine_datasets]]`: the Analytics Engine part of a wrangler config, checked
with wrangler's messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["AnalyticsEngineConfig", "AnalyticsEngineSection", "parse_analytics_engine"]

_KEY = "analytics_engine_datasets"
_KEYS = frozenset({"binding", "dataset", "remote"})


@dataclass(frozen=True)
class AnalyticsEngineConfig:
    binding: str
    #: The dataset written to: `dataset`, else the binding name (Cloudflare's default).
    dataset: str


@dataclass(frozen=True)
class AnalyticsEngineSection:
    """Every dataset binding of one config section, with the key path of each."""

    datasets: tuple[AnalyticsEngineConfig, ...] = ()
    paths: tuple[str, ...] = ()


def parse_analytics_engine(
    reader: ConfigReader, section: Mapping[str, Any], where: str
) -> AnalyticsEngineSection:
    return AnalyticsEngineSection(*reader.each(section, _KEY, where, _dataset))


def _json(value: Any) -> str:
    """`JSON.stringify(value)`, as wrangler shows a value in its messages."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _dataset(reader: ConfigReader, item: dict[str, Any], at: str) -> AnalyticsEngineConfig:
    binding = item.get("binding")
    if not isinstance(binding, str) or not binding:
        raise reader.error(
            f'"{at}" bindings should have a string "binding" field but got {_json(item)}.'
        )
    dataset = item.get("dataset", binding)
    if not isinstance(dataset, str) or not dataset:
        raise reader.error(
            f'"{at}" bindings should, optionally, have a string "dataset" field but got '
            f"{_json(item)}."
        )
    reader.check_keys(item, at, _KEYS)
    return AnalyticsEngineConfig(binding, dataset)
