"""`[[queues.producers]]` and `[[queues.consumers]]`: the Queues part of a wrangler config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = [
    "MAX_DELAY",
    "QueueConsumerConfig",
    "QueueProducerConfig",
    "QueuesSection",
    "check_queues",
    "parse_queues",
]

#: The longest delivery or retry delay, in seconds.
MAX_DELAY: Final = 86400

_PRODUCER_KEYS = frozenset({"binding", "queue", "delivery_delay", "remote"})
_CONSUMER_KEYS = frozenset(
    {
        "queue",
        "type",
        "max_batch_size",
        "max_batch_timeout",
        "max_retries",
        "dead_letter_queue",
        "retry_delay",
        "max_concurrency",
        "visibility_timeout_ms",
    }
)


@dataclass(frozen=True)
class QueueProducerConfig:
    binding: str
    queue: str
    delivery_delay: int = 0  # seconds, 0-86400


@dataclass(frozen=True)
class QueueConsumerConfig:
    queue: str
    max_batch_size: int = 10  # 1-100
    max_batch_timeout: float = 5  # seconds, 0-60
    max_retries: int = 3  # 0-100
    dead_letter_queue: str | None = None
    retry_delay: int = 0  # seconds, 0-86400
    max_concurrency: int | None = None  # None: 1 locally


@dataclass(frozen=True)
class QueuesSection:
    """The producers and consumers of one config section, with their key paths."""

    producers: tuple[QueueProducerConfig, ...] = ()
    consumers: tuple[QueueConsumerConfig, ...] = ()
    producer_paths: tuple[str, ...] = ()
    consumer_paths: tuple[str, ...] = ()

    @property
    def queue_names(self) -> set[str]:
        """Every queue named by a producer, a consumer or a dead letter queue."""
        names = {p.queue for p in self.producers}
        for consumer in self.consumers:
            names.add(consumer.queue)
            if consumer.dead_letter_queue:
                names.add(consumer.dead_letter_queue)
        return names


def parse_queues(reader: ConfigReader, section: Mapping[str, Any], where: str) -> QueuesSection:
    queues_where = reader.join(where, "queues")
    queues = reader.table(section["queues"], queues_where)
    reader.check_keys(queues, queues_where, {"producers", "consumers"})
    producers, producer_paths = reader.each(queues, "producers", queues_where, _producer)
    # a consumer pyflare does not run (an HTTP pull consumer) is warned about and left out
    consumers, consumer_paths = reader.each(queues, "consumers", queues_where, _consumer)
    return QueuesSection(
        producers=producers,
        consumers=consumers,
        producer_paths=producer_paths,
        consumer_paths=consumer_paths,
    )


def _producer(reader: ConfigReader, item: dict[str, Any], where: str) -> QueueProducerConfig:
    reader.check_keys(item, where, _PRODUCER_KEYS)
    return QueueProducerConfig(
        binding=reader.required_string(item, "binding", where),
        queue=reader.required_string(item, "queue", where),
        delivery_delay=reader.integer(item, "delivery_delay", where, 0, 0, MAX_DELAY),
    )


def _consumer(reader: ConfigReader, item: dict[str, Any], where: str) -> QueueConsumerConfig | None:
    reader.check_keys(item, where, _CONSUMER_KEYS)
    queue = reader.required_string(item, "queue", where)
    kind = reader.string(item, "type", where)
    if kind not in (None, "worker"):
        reader.warn(f'{where} has type = {reader.show(kind)}; pyflare only runs "worker" consumers')
        return None
    max_concurrency = None
    if item.get("max_concurrency") is not None:
        max_concurrency = reader.integer(item, "max_concurrency", where, 1, 1, 250)
    return QueueConsumerConfig(
        queue=queue,
        max_batch_size=reader.integer(item, "max_batch_size", where, 10, 1, 100),
        max_batch_timeout=reader.number(item, "max_batch_timeout", where, 5, 0, 60),
        max_retries=reader.integer(item, "max_retries", where, 3, 0, 100),
        dead_letter_queue=reader.string(item, "dead_letter_queue", where),
        retry_delay=reader.integer(item, "retry_delay", where, 0, 0, MAX_DELAY),
        max_concurrency=max_concurrency,
    )


def check_queues(reader: ConfigReader, queues: QueuesSection) -> None:
    """One consumer per queue, no queue its own dead letter queue, and a warning for a consumed
    queue that nothing in this worker feeds."""
    produced = {p.queue for p in queues.producers}
    # A dead letter queue is fed by the broker itself, so it needs no producer binding.
    dead_letter_queues = {c.dead_letter_queue for c in queues.consumers if c.dead_letter_queue}
    consumed: dict[str, str] = {}
    for at, consumer in zip(queues.consumer_paths, queues.consumers, strict=True):
        if consumer.queue in consumed:
            raise reader.error(
                f'queue "{consumer.queue}" has two consumers ({consumed[consumer.queue]} and '
                f"{at}); a queue can have only one"
            )
        consumed[consumer.queue] = at
        if consumer.dead_letter_queue == consumer.queue:
            raise reader.error(
                f"{at}.dead_letter_queue = {reader.show(consumer.queue)} is the consumer's own "
                "queue; a queue cannot be its own dead letter queue"
            )
        if consumer.queue not in produced and consumer.queue not in dead_letter_queues:
            reader.warn(
                f'queue "{consumer.queue}" has a consumer but no producer binding in this '
                "worker (it may be fed by another worker)"
            )
