"""Cloudflare Queues, locally: the producer binding, the broker (batching, retries, delays,
dead letters), message stores and the consumer's objects. See DESIGN.md §4."""

from .broker import QueueBroker, QueueDrainError
from .errors import QueueSendError, QueueSendTypeError
from .handle import QueueHandle, Queues
from .message import Message, MessageBatch
from .producer import QueueProducer
from .store import MemoryStore, QueueStore, SqliteStore, queue_store_path, read_store_status

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
