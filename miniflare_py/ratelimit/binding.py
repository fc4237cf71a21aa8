"""Rate limits as a binding type: `[[ratelimits]]` -> `env.LIMITER`, `mf.ratelimits`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..bindings.base import BindingHost, BindingInstance, BindingType
from .config import RateLimitSection, parse_ratelimits

if TYPE_CHECKING:
    # The limiters are imported when a config first names one.
    from .limiter import Ratelimit, RateLimitCounters

__all__ = ["RateLimitBinding", "RateLimiters"]


class RateLimiters(BindingInstance):
    """The rate limiters of one worker, by binding name, over the runtime's counters."""

    def __init__(self, limiters: dict[str, Ratelimit], counters: RateLimitCounters | None) -> None:
        self.limiters = limiters
        #: None until the config names a limiter (nothing has been counted).
        self.counters = counters

    def env_values(self) -> Mapping[str, Any]:
        return self.limiters

    def handle(self) -> dict[str, Ratelimit]:
        return self.limiters


class RateLimitBinding(BindingType):
    name = "ratelimit"
    # `unsafe` only for its `[[unsafe.bindings]]` of type "ratelimit"; the rest is ignored.
    config_keys = ("ratelimits", "unsafe")
    runtime_attribute = "ratelimits"

    def empty(self) -> RateLimitSection:
        return RateLimitSection()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> RateLimitSection:
        return parse_ratelimits(reader, section, where)

    def binding_names(self, parsed: RateLimitSection) -> list[tuple[str, str]]:
        return [
            (f"{at}.name", limiter.name)
            for at, limiter in zip(parsed.paths, parsed.limiters, strict=True)
        ]

    def open(
        self, host: BindingHost, parsed: RateLimitSection, previous: BindingInstance | None
    ) -> RateLimiters:
        # Counters are kept in memory; a config reload keeps them (a window lasts at most 60 s).
        counters = previous.counters if isinstance(previous, RateLimiters) else None
        if not parsed.limiters:
            return RateLimiters({}, counters)
        from .limiter import Ratelimit, RateLimitCounters

        if counters is None:
            counters = RateLimitCounters()
        limiters = {c.name: Ratelimit(c, counters, host.clock) for c in parsed.limiters}
        return RateLimiters(limiters, counters)
