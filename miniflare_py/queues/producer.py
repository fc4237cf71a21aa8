"""`QueueProducer`: the `env` binding of a `[[queues.producers]]` entry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..workers.jsdict import JsDict
from ..workers.rpc import _BindingWrapper
from .errors import QueueSendError, QueueSendTypeError
from .message import check_delay
from .ports import BrokerPort
from .serialize import encode_sized, parse_content_type

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_MESSAGES", "MAX_MESSAGE_BYTES", "QueueProducer"]

MAX_MESSAGE_BYTES: Final = 128_000
MAX_BATCH_MESSAGES: Final = 100
MAX_BATCH_BYTES: Final = 256_000


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Final = _Undefined()


class QueueProducer(_BindingWrapper):
    """`await env.QUEUE.send(body, contentType=..., delaySeconds=...)` and `sendBatch(...)`.

    Every check runs before anything is stored. `send(None)` sends JSON `null` and the consumer
    gets `None`, as on Cloudflare (the Python SDK turns `None` into JavaScript's `null`); only a
    missing body (`send()`, or a batch entry without `"body"`) is JavaScript's `undefined` and
    raises `Message body cannot be undefined`.
    """

    _js_name = "WorkerQueue"

    def __init__(self, broker: BrokerPort, queue: str, delivery_delay: int = 0) -> None:
        self._broker = broker
        self.queue = queue
        self.delivery_delay = delivery_delay

    async def send(
        self,
        body: Any = UNDEFINED,
        contentType: str | None = None,
        delaySeconds: int | None = None,
        *,
        content_type: str | None = None,
        delay_seconds: int | None = None,
    ) -> JsDict:
        """Send one message; returns `{"metadata": {"metrics": {...}}}` (the backlog after it)."""
        if body is UNDEFINED:
            raise QueueSendTypeError("Message body cannot be undefined")
        ctype = parse_content_type(content_type if contentType is None else contentType)
        data, size = encode_sized(body, ctype)
        if size > MAX_MESSAGE_BYTES:
            raise QueueSendError(
                f"Queue send failed: message length of {size} bytes exceeds limit of "
                f"{MAX_MESSAGE_BYTES}"
            )
        delay = check_delay(
            delay_seconds if delaySeconds is None else delaySeconds,
            "Queue send failed",
            QueueSendTypeError,
        )
        return await self._store([(ctype, data, self.delivery_delay if delay is None else delay)])

    async def sendBatch(
        self,
        messages: Iterable[Mapping[str, Any]],
        delaySeconds: int | None = None,
        *,
        delay_seconds: int | None = None,
    ) -> JsDict:
        """Send up to 100 messages (`{"body", "contentType"?, "delaySeconds"?}`) at once."""
        messages = list(messages)
        if not messages:
            raise QueueSendTypeError("sendBatch() requires at least one message")
        encoded: list[tuple[str, bytes, Any]] = []
        sizes: list[int] = []
        for index, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise QueueSendTypeError(
                    f"Incorrect type for array element {index}: the provided value is not of "
                    "type 'MessageSendRequest'."
                )
            body = message.get("body", UNDEFINED)
            if body is UNDEFINED:
                raise QueueSendTypeError("Message body cannot be undefined")
            ctype = parse_content_type(message.get("contentType", message.get("content_type")))
            delay = message.get("delaySeconds", message.get("delay_seconds"))
            data, size = encode_sized(body, ctype)
            encoded.append((ctype, data, delay))
            sizes.append(size)
        if len(encoded) > MAX_BATCH_MESSAGES:
            raise QueueSendError(
                f"Queue sendBatch failed: batch message count of {len(encoded)} exceeds limit of "
                f"{MAX_BATCH_MESSAGES}"
            )
        largest = max(sizes)
        if largest > MAX_MESSAGE_BYTES:
            raise QueueSendError(
                f"Queue sendBatch failed: message in batch has length {largest} bytes which "
                f"exceeds single message size limit of {MAX_MESSAGE_BYTES}"
            )
        total = sum(sizes)
        if total > MAX_BATCH_BYTES:
            raise QueueSendError(
                f"Queue sendBatch failed: batch size of {total} bytes exceeds limit of "
                f"{MAX_BATCH_BYTES}"
            )
        what = "Queue sendBatch failed"
        default = check_delay(
            delay_seconds if delaySeconds is None else delaySeconds, what, QueueSendTypeError
        )
        if default is None:
            default = self.delivery_delay
        batch = []
        for ctype, data, delay in encoded:
            own = check_delay(delay, what, QueueSendTypeError)
            batch.append((ctype, data, default if own is None else own))
        return await self._store(batch, what)

    send_batch = sendBatch

    async def _store(
        self, batch: list[tuple[str, bytes, int]], what: str = "Queue send failed"
    ) -> JsDict:
        broker = self._broker
        broker.check_send(self.queue)
        metrics = broker.enqueue(self.queue, batch, what)
        await broker.settle_after_send()
        return JsDict(metadata=JsDict(metrics=metrics))

    def __repr__(self) -> str:
        return f"QueueProducer(queue={self.queue!r})"
