"""Cloudflare Queues, locally: the producer binding, the broker (batching, retries, delays,
dead letters), message stores and the consumer's objects. See DESIGN.md §4."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .broker import QueueBroker, QueueDrainError
    from .errors import QueueSendError, QueueSendTypeError
    from .handle import QueueHandle, Queues
    from .message import Message, MessageBatch
    from .producer import QueueProducer
    from .store import MemoryStore, QueueStore, SqliteStore, queue_store_path, read_store_status

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "MemoryStore": ".store",
    "Message": ".message",
    "MessageBatch": ".message",
    "QueueBroker": ".broker",
    "QueueDrainError": ".broker",
    "QueueHandle": ".handle",
    "QueueProducer": ".producer",
    "QueueSendError": ".errors",
    "QueueSendTypeError": ".errors",
    "QueueStore": ".store",
    "Queues": ".handle",
    "SqliteStore": ".store",
    "queue_store_path": ".store",
    "read_store_status": ".store",
}

__all__ = [
    "MemoryStore",
    "Message",
    "MessageBatch",
    "QueueBroker",
    "QueueDrainError",
    "QueueHandle",
    "QueueProducer",
    "QueueSendError",
    "QueueSendTypeError",
    "QueueStore",
    "Queues",
    "SqliteStore",
    "queue_store_path",
    "read_store_status",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
