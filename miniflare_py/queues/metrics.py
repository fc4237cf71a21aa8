"""Per-queue event counters and rates over a recent window of clock time, and the one definition
of the fields every queue report uses.

`mf.queues[name].stats()`, `GET /__pyflare/queues` and `pyflare queues status` name their
fields as `FIELDS` does. What differs is the scope of the counters: since the runtime started
for `stats()` and `/__pyflare/queues`; since the state folder was created (the persisted
counters) for `pyflare queues status`. The state fields are what the queue holds now in both.

- `processing_rate`: messages acked per minute over the last `WINDOW` seconds.
- `failure_rate`: of the message deliveries that finished in the window, the fraction that did
  not end acked (retried, dead-lettered or dropped).
- `retry_rate`: of the same deliveries, the fraction that was retried.

Both rates are 0.0 when nothing was delivered in the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Final

from .store import COUNTERS

__all__ = [
    "COUNTER_FIELDS",
    "FIELDS",
    "RATE_FIELDS",
    "STATE_FIELDS",
    "TABLE_FIELDS",
    "WINDOW",
    "QueueMetrics",
]

#: What a queue holds now.
STATE_FIELDS: Final = ("pending", "delayed", "in_flight")
#: Events counted (a message retried twice adds 2 to `retried`).
COUNTER_FIELDS: Final = COUNTERS
#: Rates over the last `WINDOW` seconds (live runtimes only).
RATE_FIELDS: Final = ("processing_rate", "failure_rate", "retry_rate")
#: The columns of a queue table, in order.
TABLE_FIELDS: Final = STATE_FIELDS + COUNTER_FIELDS

#: Every field of a queue report and what it means.
FIELDS: Final[Mapping[str, str]] = {
    "pending": "messages deliverable now (not delayed, not in a batch)",
    "delayed": "messages waiting out a send or retry delay",
    "in_flight": "messages in a batch being handled",
    "acked": "messages acknowledged",
    "retried": "deliveries retried",
    "dead_lettered": "messages moved to the dead letter queue",
    "dropped": "messages dropped after their last retry, with no dead letter queue",
    "processing_rate": "messages acked per minute, over the last minute",
    "failure_rate": "of the deliveries finished in the last minute, the fraction not acked",
    "retry_rate": "of the deliveries finished in the last minute, the fraction retried",
    "dlq": "the dead letter queue of its consumer, or null",
    "consumer": "whether this worker consumes the queue",
}

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
