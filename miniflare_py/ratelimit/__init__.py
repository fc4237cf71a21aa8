"""Rate limiting (`[[ratelimits]]`, or `[[unsafe.bindings]] type = "ratelimit"`):
`await env.LIMITER.limit({"key": ...})` counted in fixed windows on the runtime's clock, as
Miniflare emulates the binding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .binding import RateLimitBinding, RateLimiters
    from .config import RateLimitConfig, RateLimitSection
    from .limiter import Ratelimit, RateLimitCounters

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "RateLimitBinding": ".binding",
    "RateLimitConfig": ".config",
    "RateLimitCounters": ".limiter",
    "RateLimitSection": ".config",
    "RateLimiters": ".binding",
    "Ratelimit": ".limiter",
}

__all__ = [
    "RateLimitBinding",
    "RateLimitConfig",
    "RateLimitCounters",
    "RateLimitSection",
    "RateLimiters",
    "Ratelimit",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
