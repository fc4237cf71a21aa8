"""drain() gives up with a clear error when messages bounce between queues forever."""

from __future__ import annotations

import pytest

from miniflare_py.clock import VirtualClock
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import MemoryStore, QueueBroker, QueueDrainError
from miniflare_py.queues import broker as broker_module


@pytest.mark.asyncio
async def test_queues_dead_lettering_into_each_other_forever_end_drain_with_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker_module, "MAX_DRAIN_BATCHES", 50)
    deliveries = 0

    async def always_raise(batch: object) -> None:
        nonlocal deliveries
        deliveries += 1
        raise RuntimeError("consumer is broken")

    consumers = (
        QueueConsumerConfig("a", max_batch_size=1, max_batch_timeout=0, max_retries=0,
                            dead_letter_queue="b"),
        QueueConsumerConfig("b", max_batch_size=1, max_batch_timeout=0, max_retries=0,
                            dead_letter_queue="a"),
    )  # fmt: skip
    broker = QueueBroker(
        clock=VirtualClock(),
        store=MemoryStore(),
        consumers=consumers,
        queue_names={"a", "b"},
        deliver=always_raise,
    )
    await broker.start()
    broker.queues["a"].pause()
    await broker.producer("a").send("ping")
    broker.queues["a"].resume()

    with pytest.raises(QueueDrainError, match="dead-letter into each other"):
        await broker.queues.drain()
    assert deliveries == 1 + 50  # resume() started one before drain() took over
    # the message is still held, not lost
    assert sum(len(broker.queues[n].messages()) for n in ("a", "b")) == 1
    await broker.close()
