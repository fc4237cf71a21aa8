"""Queues as a binding type: `[[queues.producers]]` -> `env.QUEUE`, consumers -> deliveries of
the worker's `queue` handler, `mf.queues`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..bindings.base import BindingHost, BindingInstance, BindingType
from .broker import QueueBroker
from .config import (
    QueueConsumerConfig,
    QueueProducerConfig,
    QueuesSection,
    check_queues,
    parse_queues,
)
from .message import MessageBatch
from .store import MemoryStore, QueueStore, SqliteStore, queue_store_path

if TYPE_CHECKING:
    from ..worker import Worker

__all__ = ["QueuesBinding", "QueuesInstance"]


class QueuesInstance(BindingInstance):
    """The producers, the broker and the message store of one worker."""

    def __init__(self, host: BindingHost, section: QueuesSection, store: QueueStore) -> None:
        self.section = section
        self.store = store

        async def deliver(batch: MessageBatch) -> Any:
            return await host.dispatch("queue", batch)

        self.broker = QueueBroker(
            clock=host.clock,
            store=store,
            consumers=section.consumers,
            queue_names=section.queue_names,
            deliver=deliver,
        )
        self.queues = self.broker.queues
        self._held_for_load_error = False

    def env_values(self) -> Mapping[str, Any]:
        return {
            p.binding: self.broker.producer(p.queue, delivery_delay=p.delivery_delay)
            for p in self.section.producers
        }

    def handle(self) -> Any:
        return self.queues

    async def start(self) -> None:
        await self.broker.start()

    def worker_changed(self, worker: Worker | None) -> None:
        """Hold deliveries while the worker cannot be imported; resume only what this held, so
        a queue paused by a test stays paused across a reload."""
        paused = worker is None
        if paused == self._held_for_load_error:
            return
        self._held_for_load_error = paused
        for consumer in self.section.consumers:
            handle = self.queues[consumer.queue]
            handle.pause() if paused else handle.resume()

    async def stop(self) -> None:
        await self.broker.close()

    async def close(self, *, keep_state: bool = False) -> None:
        if not keep_state:
            close_store = getattr(self.store, "close", None)
            if close_store is not None:
                close_store()


class QueuesBinding(BindingType):
    name = "queues"
    config_keys = ("queues",)
    runtime_attribute = "queues"
    config_attributes: ClassVar[Mapping[str, Any]] = {
        "queue_producers": lambda section: section.producers,
        "queue_consumers": lambda section: section.consumers,
    }
    exports = (QueueProducerConfig, QueueConsumerConfig)

    def empty(self) -> QueuesSection:
        return QueuesSection()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> QueuesSection:
        return parse_queues(reader, section, where)

    def binding_names(self, parsed: QueuesSection) -> list[tuple[str, str]]:
        return [
            (f"{at}.binding", p.binding)
            for at, p in zip(parsed.producer_paths, parsed.producers, strict=True)
        ]

    def check(self, reader: Any, parsed: QueuesSection, config: Mapping[str, Any]) -> None:
        check_queues(reader, parsed)

    def open(
        self, host: BindingHost, parsed: QueuesSection, previous: BindingInstance | None
    ) -> QueuesInstance:
        # A config reload keeps the store, so queued messages survive it.
        store: QueueStore
        if isinstance(previous, QueuesInstance):
            store = previous.store
        elif host.persist_to is not None:
            store = SqliteStore(queue_store_path(host.persist_to))
        else:
            store = MemoryStore()
        return QueuesInstance(host, parsed, store)
