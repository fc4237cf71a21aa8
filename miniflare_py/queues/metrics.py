"""Per-queue event counters and rates over a recent window of clock time.

- `processing_rate`: messages acked per minute over the last `WINDOW` seconds.
- `failure_rate`: of the message deliveries that finished in the window, the fraction that did
  not end acked (retried, dead-lettered or dropped).
- `retry_rate`: of the same deliveries, the fraction that was retried.

Both rates are 0.0 when nothing was delivered in the window.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from .store import COUNTERS

__all__ = ["WINDOW", "QueueMetrics"]

#: Seconds of clock time the rates look back over.
WINDOW: Final = 60.0


class QueueMetrics:
    """Counts events since the broker started, plus a sliding window of batch outcomes."""

    __slots__ = ("_window", "counts")

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        # (finished at, acked, retried, exhausted) per batch
        self._window: deque[tuple[float, int, int, int]] = deque()

    def record(
        self, now: float, acked: int, retried: int, dead_lettered: int, dropped: int
    ) -> None:
        counts = self.counts
        counts["acked"] += acked
        counts["retried"] += retried
        counts["dead_lettered"] += dead_lettered
        counts["dropped"] += dropped
        self._window.append((now, acked, retried, dead_lettered + dropped))
        self._prune(now)

    def rates(self, now: float) -> dict[str, float]:
        self._prune(now)
        acked = retried = exhausted = 0
        for _, a, r, e in self._window:
            acked += a
            retried += r
            exhausted += e
        delivered = acked + retried + exhausted
        return {
            "processing_rate": acked * 60.0 / WINDOW,
            "failure_rate": (retried + exhausted) / delivered if delivered else 0.0,
            "retry_rate": retried / delivered if delivered else 0.0,
        }

    def _prune(self, now: float) -> None:
        window = self._window
        while window and window[0][0] <= now - WINDOW:
            window.popleft()
