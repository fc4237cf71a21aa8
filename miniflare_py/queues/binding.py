"""Queues as a binding type: `[[queues.producers]]` -> `env.QUEUE`, consumers -> deliveries of
the worker's `queue` handler, `mf.queues`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..bindings.base import BindingHost, BindingInstance, BindingType, Finding, LoggedError
from .config import (
    QueueConsumerConfig,
    QueueProducerConfig,
    QueuesSection,
    check_queues,
    parse_queues,
)

if TYPE_CHECKING:
    # The broker and the stores are imported when a config first opens a queue.
    from ..worker import Worker
    from .message import MessageBatch
    from .store import QueueStore

__all__ = ["HANDLER_FAILED", "QueuesBinding", "QueuesInstance"]

#: How the runtime logs a `queue` handler that raised (the check finds its traceback by it).
HANDLER_FAILED = "Queue handler raised on a batch"

# Counters that show a message reached a queue at some point of a check.
_SEEN = ("pending", "delayed", "in_flight", "acked", "retried", "dead_lettered", "dropped")


class QueuesInstance(BindingInstance):
    """The producers, the broker and the message store of one worker."""

    def __init__(self, host: BindingHost, section: QueuesSection, store: QueueStore) -> None:
        from .broker import QueueBroker

        self.section = section
        self.store = store

        async def deliver(batch: MessageBatch) -> Any:
            try:
                return await host.dispatch("queue", batch)
            except Exception as exc:
                # The broker retries the batch; the developer needs the traceback to see why.
                host.log_failure(
                    f"queue {batch.queue}", HANDLER_FAILED + ' from "%s"', batch.queue, exc=exc
                )
                raise

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

    # pyflare check

    def check_worker(self, worker: Worker) -> list[Finding]:
        """Every consumer needs a `queue` handler; a DLQ nobody consumes is worth a warning."""
        consumed = {c.queue for c in self.section.consumers}
        if consumed and not worker.handles("queue"):
            return [
                Finding(
                    f"{worker.path.name} defines no queue handler, but the config has consumers "
                    f"for {', '.join(sorted(consumed))}: add `async def queue(self, batch)` to "
                    "Default (or `on_queue`)",
                    kind="worker",
                )
            ]
        return [
            Finding(
                f'messages dead-lettered from "{c.queue}" stay in "{c.dead_letter_queue}": no '
                "consumer for it in this worker"
            )
            for c in self.section.consumers
            if c.dead_letter_queue and c.dead_letter_queue not in consumed
        ]

    async def drain(self) -> list[Finding]:
        from .broker import QueueDrainError

        try:
            await self.broker.drain()
        except QueueDrainError as exc:
            return [Finding(str(exc), kind="queue")]
        return []

    def judge(self, *, drained: bool, logged: LoggedError) -> list[Finding]:
        """Dead-lettered or dropped messages fail; messages left over or a consumer no message
        reached are worth a warning."""
        findings: list[Finding] = []
        dead_letter_queues = {c.dead_letter_queue for c in self.section.consumers}
        for name, stats in self.queues.stats().items():
            # What the consumer raised, when it raised: why the messages were retried.
            raised = logged(HANDLER_FAILED, name)
            if stats.get("dead_lettered"):
                findings.append(
                    Finding(
                        f'{stats["dead_lettered"]} message(s) on "{name}" were moved to the dead '
                        f'letter queue "{stats.get("dlq")}"',
                        kind="queue",
                        details=raised,
                    )
                )
            if stats.get("dropped"):
                findings.append(
                    Finding(
                        f'{stats["dropped"]} message(s) on "{name}" were dropped',
                        kind="queue",
                        details=None if stats.get("dead_lettered") else raised,
                    )
                )
            left = sum(stats.get(key, 0) for key in ("pending", "delayed", "in_flight"))
            if left and stats.get("consumer") and not drained:
                # The check started with empty queues: these are messages its requests sent.
                findings.append(
                    Finding(
                        f'{left} message(s) sent during the check are still on "{name}", not '
                        "consumed (a partial batch waits for max_batch_timeout): add --drain to "
                        "deliver them"
                    )
                )
            seen = sum(stats.get(key, 0) for key in _SEEN)
            if stats.get("consumer") and not seen and name not in dead_letter_queues:
                findings.append(
                    Finding(
                        f'the consumer of "{name}" was not exercised: no message reached it '
                        "during the check (add a --fetch that sends one)"
                    )
                )
        return findings

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
    cli_command = "miniflare_py.commands.queues:queues"
    explorer_view = "miniflare_py.explorer.views.queues:QueuesView"

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
        from .store import MemoryStore, SqliteStore, queue_store_path

        # A config reload keeps the store, so queued messages survive it.
        store: QueueStore
        if isinstance(previous, QueuesInstance):
            store = previous.store
        elif host.persist_to is not None:
            store = SqliteStore(queue_store_path(host.persist_to))
        else:
            store = MemoryStore()
        return QueuesInstance(host, parsed, store)
