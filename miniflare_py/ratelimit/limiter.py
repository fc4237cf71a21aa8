"""The rate limiter a worker calls, and the fixed-window counters behind it.

The rule is Miniflare's (its `ratelimit` workers): time is cut into windows of `period`
seconds aligned to the Unix epoch (window number `floor(now / period)`); within a window each
key of a namespace may succeed `limit` times, and the next call fails without being counted;
the next window starts every key of that period afresh. Counters belong to the namespace, so
bindings naming one `namespace_id` share them (per key and period); the limit is a threshold
applied by each caller. Time is the runtime's clock, so tests use `advance(period)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ..kv.coerce import check_rpc, js_string
from ..workers.jsdict import JsDict
from ..workers.jsobject import JsException, jsnull
from ..workers.rpc import _BindingWrapper
from .config import PERIODS

if TYPE_CHECKING:
    from ..clock import Clock
    from .config import RateLimitConfig

__all__ = ["RateLimitCounters", "Ratelimit"]

_OPTION_KEYS: Final = ("key", "limit", "period")
_MISSING: Any = object()


class RateLimitCounters:
    """The current window of every (namespace, period) in one runtime, with its count per key."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int], tuple[int, dict[str, int]]] = {}

    def take(self, namespace: str, key: str, limit: float, period: int, now: float) -> bool:
        """Count one call for `key` if it is within `limit` in the current window."""
        window = math.floor(now / period)
        current = self._windows.get((namespace, period))
        if current is None or current[0] != window:
            # A new window: the old one's counts go, so memory stays bounded by one window.
            current = (window, {})
            self._windows[(namespace, period)] = current
        counts = current[1]
        count = counts.get(key, 0)
        if count >= limit:
            return False
        counts[key] = count + 1
        return True


def _error(message: str) -> JsException:
    # The binding throws JavaScript's plain `Error`; a Python worker sees a JsException.
    return JsException("Error", message)


def _object_keys(options: Any) -> list[str]:
    """`Object.keys()` of the JavaScript object the SDK makes of `options`: integer-like keys
    first in ascending order, then the others in insertion order."""
    if isinstance(options, list):
        return [str(i) for i in range(len(options))]
    keys = [js_string(k) for k in options]
    indices = sorted((k for k in keys if k.isdigit() and str(int(k)) == k), key=int)
    return indices + [k for k in keys if k not in indices]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return js_string(None if value is jsnull else value)


class Ratelimit(_BindingWrapper):
    """`env.LIMITER`: `await env.LIMITER.limit({"key": "user-1"})` -> `{"success": bool}`."""

    _js_name = "Ratelimit"

    def __init__(self, config: RateLimitConfig, counters: RateLimitCounters, clock: Clock) -> None:
        super().__init__()
        self._config = config
        self._counters = counters
        self._clock = clock

    async def limit(self, options: Any = _MISSING, /, **kwargs: Any) -> JsDict:
        """Count one call for `options["key"]` (keyword `key=` works too, as the SDK folds
        keywords into one options object). `limit` and `period` in the options override the
        configured ones for this call, as Cloudflare's API allows."""
        if options is _MISSING:
            options = kwargs or None
        check_rpc(options)
        if options is None or options is jsnull or not isinstance(options, Mapping | list):
            raise _error("invalid rate limit options")
        unknown = [k for k in _object_keys(options) if k not in _OPTION_KEYS]
        if unknown:
            raise _error(f"bad rate limit options: [{','.join(unknown)}]")
        given: Mapping[Any, Any] = options if isinstance(options, Mapping) else {}
        key = given.get("key", "")
        if not isinstance(key, str):
            raise _error(f"invalid key: {_shown(key)}")
        limit = given.get("limit", self._config.limit)
        if not _is_number(limit):
            raise _error(f"limit must be a number: {_shown(limit)}")
        period = given.get("period", self._config.period)
        if not _is_number(period):
            raise _error(f"period must be a number: {_shown(period)}")
        if period not in PERIODS:
            raise _error(f"unsupported period: {_shown(period)}")
        success = self._counters.take(
            self._config.namespace_id, key, limit, int(period), self._clock.now()
        )
        return JsDict(success=success)
