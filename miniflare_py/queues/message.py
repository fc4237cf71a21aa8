"""What a consumer's `queue()` handler receives: `MessageBatch` and its `Message`s.

The calls a handler makes are recorded on a shared `BatchOutcome`, resolved once the handler
returns or raises, with the edge's rules:

- The first call on a message wins: `retry()` after `ack()` (or `ack()` after `retry()`) is
  ignored with a warning. `ackAll()` / `retryAll()` apply only to messages with no call of their
  own, and the second of the two batch-level calls is ignored with a warning.
- A message with no call at all is acked when the handler returns.
- When the handler raises, an explicit `ack()` survives (Cloudflare documents that acked messages
  are not redelivered); every other message is retried. A batch-level `ackAll()` made before the
  throw does NOT survive it: it is a statement about the whole batch, which the throw withdraws,
  so those messages are retried too. (Miniflare retries explicit acks as well; pyflare follows
  the edge.) A `retry(delaySeconds=...)` made before the throw keeps its delay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..workers.jsdict import JsDict

__all__ = ["BatchOutcome", "Message", "MessageBatch", "check_delay"]

logger = logging.getLogger("miniflare_py.queues")

MAX_DELAY_SECONDS = 86400


def check_delay(value: Any, what: str, error: type[Exception] = TypeError) -> int | None:
    """`value` as whole seconds in 0-86400 (None stays None); raises `error`, naming the value
    and the range after the `what` prefix."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DELAY_SECONDS:
        raise error(
            f"{what}: invalid delaySeconds {value!r}: "
            f"must be a whole number of seconds in the range 0-{MAX_DELAY_SECONDS}"
        )
    return value


@dataclass
class BatchOutcome:
    """The ack/retry calls made on one batch."""

    acks: set[str] = field(default_factory=set)
    retries: dict[str, int | None] = field(default_factory=dict)  # id -> retry(delaySeconds)
    ack_all: bool = False
    retry_all: bool = False
    retry_all_delay: int | None = None

    def resolve(self, ids: list[str], raised: bool) -> tuple[list[str], dict[str, int | None]]:
        """Split `ids` into (acked, {retried id: its own or the batch's delay, or None})."""
        acked: list[str] = []
        retried: dict[str, int | None] = {}
        retries, acks = self.retries, self.acks
        batch_retry = raised or self.retry_all
        batch_delay = None if raised else self.retry_all_delay
        for id_ in ids:
            if id_ in retries:
                delay = retries[id_]
                retried[id_] = batch_delay if delay is None else delay
            elif id_ in acks:
                acked.append(id_)
            elif batch_retry:
                retried[id_] = batch_delay
            else:
                acked.append(id_)
        return acked, retried


class Message:
    """One message of a batch: `id`, `timestamp`, `body`, `attempts`, `ack()`, `retry()`."""

    __slots__ = ("_outcome", "attempts", "body", "id", "timestamp")

    def __init__(
        self, id: str, timestamp: datetime, body: Any, attempts: int, outcome: BatchOutcome
    ) -> None:
        self.id = id
        self.timestamp = timestamp
        self.body = body
        self.attempts = attempts
        self._outcome = outcome

    def ack(self) -> None:
        """Acknowledge this message: it will not be delivered again, even if the handler raises."""
        outcome = self._outcome
        if outcome.ack_all:
            return
        if outcome.retry_all and self.id not in outcome.acks:
            _ignored(f"ack() on message {self.id}", "ack()", "retryAll()")
        elif self.id in outcome.retries:
            _ignored(f"ack() on message {self.id}", "ack()", "retry()")
        else:
            outcome.acks.add(self.id)

    def retry(
        self, delaySeconds: int | None = None, *, delay_seconds: int | None = None, **_: Any
    ) -> None:
        """Deliver this message again later (after `delaySeconds`, else the batch or consumer
        retry delay), counting an attempt."""
        delay = check_delay(delay_seconds if delaySeconds is None else delaySeconds, "retry()")
        outcome = self._outcome
        if self.id in outcome.acks:
            _ignored(f"retry() on message {self.id}", "retry()", "ack()")
        elif outcome.ack_all:
            _ignored(f"retry() on message {self.id}", "retry()", "ackAll()")
        elif self.id not in outcome.retries:
            outcome.retries[self.id] = delay

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, attempts={self.attempts}, body={self.body!r})"


class MessageBatch:
    """A batch delivered to a consumer: `queue`, `messages`, `ackAll()`, `retryAll()`."""

    __slots__ = ("_outcome", "messages", "metadata", "queue")

    def __init__(
        self,
        queue: str,
        messages: list[Message],
        outcome: BatchOutcome,
        metadata: JsDict | None = None,
    ) -> None:
        self.queue = queue
        self.messages = messages
        self.metadata = metadata or JsDict(
            metrics=JsDict(backlogCount=0, backlogBytes=0, oldestMessageTimestamp=0)
        )
        self._outcome = outcome

    def ackAll(self) -> None:
        """Acknowledge every message that has no ack()/retry() call of its own."""
        if self._outcome.retry_all:
            _ignored("ackAll()", "ackAll()", "retryAll()")
        else:
            self._outcome.ack_all = True

    def retryAll(
        self, delaySeconds: int | None = None, *, delay_seconds: int | None = None, **_: Any
    ) -> None:
        """Retry every message that has no ack()/retry() call of its own."""
        delay = check_delay(delay_seconds if delaySeconds is None else delaySeconds, "retryAll()")
        outcome = self._outcome
        if outcome.ack_all:
            _ignored("retryAll()", "retryAll()", "ackAll()")
        elif not outcome.retry_all:
            outcome.retry_all = True
            outcome.retry_all_delay = delay

    ack_all = ackAll
    retry_all = retryAll

    def __repr__(self) -> str:
        return f"MessageBatch(queue={self.queue!r}, messages={len(self.messages)})"


def _ignored(call: str, this: str, earlier: str) -> None:
    # The edge's wording (workerd logs these as warnings).
    logger.warning(
        "Received a call to %s after %s was already called. Calling %s after calling %s has no "
        "effect.",
        call,
        earlier,
        this,
        earlier,
    )
