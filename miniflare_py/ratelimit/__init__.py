"""Rate limiting (`[[ratelimits]]`, or `[[unsafe.bindings]] type = "ratelimit"`):
`await env.LIMITER.limit({"key": ...})` counted in fixed windows on the runtime's clock, as
Miniflare emulates the binding."""

from .binding import RateLimitBinding, RateLimiters
from .config import RateLimitConfig, RateLimitSection
from .limiter import Ratelimit, RateLimitCounters

__all__ = [
    "RateLimitBinding",
    "RateLimitConfig",
    "RateLimitCounters",
    "RateLimitSection",
    "RateLimiters",
    "Ratelimit",
]
