"""`[[ratelimits]]` (and the older `[[unsafe.bindings]] type = "ratelimit"`): the rate limit
part of a wrangler config, checked with wrangler's messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["PERIODS", "RateLimitConfig", "RateLimitSection", "parse_ratelimits"]

#: The only window lengths Cloudflare offers, in seconds.
PERIODS: Final = (10, 60)

_KEYS = frozenset({"name", "namespace_id", "simple"})
_SIMPLE_KEYS = frozenset({"limit", "period"})


@dataclass(frozen=True)
class RateLimitConfig:
    name: str
    #: Bindings naming one namespace share its counters.
    namespace_id: str
    limit: float
    period: int


@dataclass(frozen=True)
class RateLimitSection:
    """Every rate limiter of one config section, with the key path of each (`ratelimits[0]`,
    `unsafe.bindings[2]`)."""

    limiters: tuple[RateLimitConfig, ...] = ()
    paths: tuple[str, ...] = ()


def parse_ratelimits(
    reader: ConfigReader, section: Mapping[str, Any], where: str
) -> RateLimitSection:
    entries = [
        (at, _limiter(reader, item, at, unsafe=False))
        for at, item in reader.tables(section, "ratelimits", where)
    ]
    unsafe = section.get("unsafe")
    if isinstance(unsafe, dict):  # other unsafe settings are wrangler's business, not ours
        for at, item in reader.tables(unsafe, "bindings", reader.join(where, "unsafe")):
            if item.get("type") == "ratelimit":
                entries.append((at, _limiter(reader, item, at, unsafe=True)))
    return RateLimitSection(tuple(c for _, c in entries), tuple(at for at, _ in entries))


def _json(value: Any) -> str:
    """`JSON.stringify(value)`, as wrangler shows a value in its messages."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _limiter(
    reader: ConfigReader, item: dict[str, Any], at: str, *, unsafe: bool
) -> RateLimitConfig:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise reader.error(
            f'"{at}" bindings must have a string "name" field but got {_json(item)}.'
        )
    namespace_id = item.get("namespace_id")
    # An unsafe binding may leave the namespace out: wrangler then counts it under its name.
    if unsafe and namespace_id is None:
        namespace_id = name
    if not isinstance(namespace_id, str):
        raise reader.error(
            f'"{at}" bindings must have a string "namespace_id" field but got {_json(item)}.'
        )
    simple = item.get("simple")
    if not isinstance(simple, dict):
        raise reader.error(
            f'"{at}" bindings must have a "simple" configuration object but got {_json(item)}.'
        )
    limit: Any = simple.get("limit")
    period: Any = simple.get("period")
    if not _is_number(limit):
        raise reader.error(
            f'"{at}" bindings "simple.limit" must be a number but got {_json(simple)}.'
        )
    if not _is_number(period):
        raise reader.error(
            f'"{at}" bindings "simple.period" is required and must be a number but got '
            f"{_json(simple)}."
        )
    if period not in PERIODS:
        raise reader.error(
            f'"{at}" bindings "simple.period" must be either 10 or 60 but got {_json(period)}.'
        )
    if not unsafe:  # unsafe bindings carry whatever keys their type wants
        reader.check_keys(item, at, _KEYS)
        reader.check_keys(simple, f"{at}.simple", _SIMPLE_KEYS)
    return RateLimitConfig(name, namespace_id, limit, int(period))
