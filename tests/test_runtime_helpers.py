"""Test helpers on `Miniflare`, exercised on the seed app through the `pyflare` fixture and on
small workers: fail_next_sends, pause/resume, messages(), deliver(), waitUntil."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import submit, task, write_worker

from miniflare_py.queues import QueueSendError
from miniflare_py.runtime import Miniflare

pytestmark = pytest.mark.pyflare(config="fixtures/ai-tasks/wrangler.toml")

QUEUE = "ai-processing-queue"
DLQ = "ai-processing-dlq"


# the seed flow


@pytest.mark.anyio
async def test_submit_drain_poll(pyflare: Miniflare) -> None:
    task_id = await submit(pyflare)
    await pyflare.queues.drain()
    done = await task(pyflare, task_id)
    assert done["status"] == "completed"
    assert done["viaQueue"] is True
    assert done["attempts"] == 1
    assert pyflare.queues[QUEUE].stats()["acked"] == 1


@pytest.mark.anyio
async def test_flaky_task_succeeds_on_the_second_attempt(pyflare: Miniflare) -> None:
    task_id = await submit(pyflare, "flaky")
    await pyflare.queues.drain()
    done = await task(pyflare, task_id)
    assert (done["status"], done["attempts"]) == ("completed", 2)
    assert pyflare.queues[QUEUE].stats()["retried"] == 1


@pytest.mark.anyio
async def test_fail_next_sends_exercises_the_fallback_path(
    pyflare: Miniflare, capsys: pytest.CaptureFixture[str]
) -> None:
    pyflare.queues[QUEUE].fail_next_sends(1)
    resp = await pyflare.fetch(
        "/api/tasks", method="POST", json={"user": "ada", "taskType": "summary"}
    )
    assert resp.status == 202
    body = await resp.json()
    assert body["queued"] is False
    # the fallback ran in ctx.waitUntil, which fetch() waited for on the virtual clock
    done = await task(pyflare, body["taskId"])
    assert done["status"] == "completed"
    assert done["viaQueue"] is False
    assert "queue send failed" in capsys.readouterr().out
    stats = pyflare.queues[QUEUE].stats()
    assert stats["pending"] == stats["acked"] == 0

    # only the next n sends fail
    second = await submit(pyflare)
    await pyflare.queues.drain()
    assert (await task(pyflare, second))["viaQueue"] is True


@pytest.mark.anyio
async def test_fail_next_sends_with_a_chosen_error(
    pyflare: Miniflare, capsys: pytest.CaptureFixture[str]
) -> None:
    pyflare.queues[QUEUE].fail_next_sends(2, error=ConnectionError("queue is down"))
    for _ in range(2):
        await submit(pyflare)
    assert capsys.readouterr().out.count("queue send failed (queue is down)") == 2
    await submit(pyflare)
    assert pyflare.queues[QUEUE].stats()["acked"] == 1


@pytest.mark.anyio
async def test_fail_next_sends_raises_in_test_code_too(pyflare: Miniflare) -> None:
    pyflare.queues[QUEUE].fail_next_sends()
    with pytest.raises(QueueSendError):
        await pyflare.env.AI_QUEUE.send({"taskId": "x"})


# pause / resume


@pytest.mark.anyio
async def test_pause_holds_messages_until_resume(pyflare: Miniflare) -> None:
    pyflare.queues[QUEUE].pause()
    task_id = await submit(pyflare)
    await pyflare.queues.drain()  # a paused queue is left alone
    assert (await task(pyflare, task_id))["status"] == "pending"
    assert pyflare.queues[QUEUE].stats()["pending"] == 1

    pyflare.queues[QUEUE].resume()
    await pyflare.queues.drain()
    assert (await task(pyflare, task_id))["status"] == "completed"
    assert pyflare.queues[QUEUE].stats()["pending"] == 0


# messages()


@pytest.mark.anyio
async def test_messages_shows_what_the_dead_letter_queue_holds(pyflare: Miniflare) -> None:
    pyflare.queues[DLQ].pause()  # keep dead letters where we can look at them
    pyflare.queues[QUEUE].pause()
    task_id = await submit(pyflare, "fail")
    [queued] = pyflare.queues[QUEUE].messages()
    assert queued["body"]["taskId"] == task_id
    assert (queued["attempts"], queued["state"]) == (0, "pending")  # not delivered yet

    pyflare.queues[QUEUE].resume()
    await pyflare.queues.drain()
    assert pyflare.queues[QUEUE].messages() == []
    [dead] = pyflare.queues[DLQ].messages()
    assert dead["id"] == queued["id"]
    assert dead["body"] == queued["body"]
    assert dead["timestamp"] == queued["timestamp"]
    assert (dead["attempts"], dead["state"]) == (0, "pending")  # counting starts again
    assert len(dead["id"]) == 32

    pyflare.queues[DLQ].resume()
    await pyflare.queues.drain()
    assert pyflare.queues[DLQ].messages() == []
    assert (await task(pyflare, task_id))["status"] == "failed"


# deliver()


@pytest.mark.anyio
async def test_deliver_a_hand_made_batch_returns_acked_and_retried(pyflare: Miniflare) -> None:
    pyflare.queues[QUEUE].pause()
    good = await submit(pyflare, "analysis")
    bad = await submit(pyflare, "fail")
    bodies = {m["body"]["taskId"]: m["body"] for m in pyflare.queues[QUEUE].messages()}

    result = await pyflare.queues[QUEUE].deliver(
        [
            {"id": "a" * 32, "body": bodies[good]},
            {"id": "b" * 32, "body": bodies[bad], "attempts": 3},
        ]
    )
    assert result["outcome"] == "ok"
    assert result["acked"] == ["a" * 32]
    assert result["retried"] == ["b" * 32]
    assert (await task(pyflare, good))["status"] == "completed"
    failed = await task(pyflare, bad)
    assert (failed["status"], failed["attempts"]) == ("pending", 3)
    # a hand-made batch does not touch the queue itself
    assert pyflare.queues[QUEUE].stats()["pending"] == 2
    assert pyflare.queues[QUEUE].stats()["acked"] == 0


@pytest.mark.anyio
async def test_deliver_plain_bodies_to_the_dead_letter_consumer(pyflare: Miniflare) -> None:
    pyflare.queues[QUEUE].pause()
    task_id = await submit(pyflare)
    result = await pyflare.queues[DLQ].deliver([{"taskId": task_id}])
    assert result["outcome"] == "ok"
    assert len(result["acked"]) == 1
    assert (await task(pyflare, task_id))["status"] == "failed"


# small workers


QUEUE_CONFIG = """
[[queues.producers]]
binding = "Q"
queue = "q"

[[queues.consumers]]
queue = "q"
max_batch_size = 10
max_batch_timeout = 30
max_retries = 1
"""


@pytest.mark.anyio
async def test_deliver_when_the_handler_raises_retries_all_but_explicit_acks(
    tmp_path: Path,
) -> None:
    config = write_worker(
        tmp_path,
        """
        async def on_queue(batch):
            batch.messages[0].ack()
            raise RuntimeError("half done")
        """,
        QUEUE_CONFIG,
    )
    async with Miniflare(config) as mf:
        result = await mf.queues["q"].deliver(["one", "two", "three"])
        assert result["outcome"] == "exception"
        assert "half done" in result["error"]
        assert len(result["acked"]) == 1
        assert len(result["retried"]) == 2
        assert set(result["acked"]).isdisjoint(result["retried"])


@pytest.mark.anyio
async def test_deliver_gives_the_handler_what_was_asked(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        SEEN = []

        async def on_queue(batch):
            for m in batch.messages:
                SEEN.append((batch.queue, m.id, m.body, m.attempts))
                m.retry() if m.body == "again" else m.ack()
        """,
        QUEUE_CONFIG,
    )
    async with Miniflare(config) as mf:
        result = await mf.queues["q"].deliver(
            [{"id": "1" * 32, "body": "again", "attempts": 2}, {"body": {"n": 1}}]
        )
        assert result["retried"] == ["1" * 32]
        assert mf.worker is not None
        seen = mf.worker.module.SEEN
        assert seen[0] == ("q", "1" * 32, "again", 2)
        assert seen[1][2:] == ({"n": 1}, 1)


@pytest.mark.anyio
async def test_partial_batch_waits_for_the_batch_timeout_on_the_virtual_clock(
    tmp_path: Path,
) -> None:
    config = write_worker(
        tmp_path,
        """
        async def on_queue(batch):
            batch.ackAll()
        """,
        QUEUE_CONFIG,
    )
    async with Miniflare(config) as mf:
        await mf.env.Q.send({"n": 1})
        assert mf.queues["q"].stats()["pending"] == 1
        await mf.clock.advance(29)  # type: ignore[attr-defined]
        assert mf.queues["q"].stats()["acked"] == 0
        await mf.clock.advance(1)  # type: ignore[attr-defined]
        assert mf.queues["q"].stats()["acked"] == 1


WAIT_UNTIL_WORKER = """
import asyncio

from workers import Response, WorkerEntrypoint

DONE = []


async def later(label, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    DONE.append(label)


async def broken():
    await asyncio.sleep(0)
    raise ValueError("background work broke")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/broken"):
            self.ctx.waitUntil(broken())
        else:
            self.ctx.waitUntil(later(request.url.rsplit("/", 1)[1], 5))
        return Response("accepted", status=202)
"""


@pytest.mark.anyio
async def test_wait_until_tasks_finish_before_fetch_returns_on_a_virtual_clock(
    tmp_path: Path,
) -> None:
    config = write_worker(tmp_path, WAIT_UNTIL_WORKER)
    async with Miniflare(config, clock="virtual") as mf:
        resp = await mf.fetch("/a")
        assert resp.status == 202
        assert mf.worker is not None
        assert mf.worker.module.DONE == ["a"]


@pytest.mark.anyio
async def test_wait_until_tasks_are_awaited_before_close_on_a_real_clock(tmp_path: Path) -> None:
    config = write_worker(tmp_path, WAIT_UNTIL_WORKER)
    async with Miniflare(config, clock="real") as mf:
        await mf.fetch("/b")
        assert mf.worker is not None
        module = mf.worker.module
    assert module.DONE == ["b"]


@pytest.mark.anyio
async def test_a_failing_wait_until_task_is_logged_not_raised(tmp_path: Path) -> None:
    config = write_worker(tmp_path, WAIT_UNTIL_WORKER)
    async with Miniflare(config) as mf:
        resp = await mf.fetch("/broken")
        assert resp.status == 202
        assert any("waitUntil" in line for line in mf.logs)
