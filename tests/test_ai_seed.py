"""The seed's inference goes through Workers AI (`env.AI.run` in the task's Durable Object), and
a model error takes the seed's retry and dead-letter path."""

from __future__ import annotations

import pytest
from helpers import SEED, submit, task

from miniflare_py import Miniflare

QUEUE = "ai-processing-queue"
DLQ = "ai-processing-dlq"
MODEL = "@cf/meta/llama-3.1-8b-instruct"


# the local backend, whatever the shell running the tests says
pytestmark = pytest.mark.usefixtures("local_ai")


@pytest.fixture
async def mf() -> Miniflare:
    async with Miniflare(SEED / "wrangler.toml") as runtime:
        await runtime.apply_migrations()
        yield runtime  # type: ignore[misc]


@pytest.mark.anyio
async def test_each_segment_is_one_model_call_and_the_result_is_the_models_text(
    mf: Miniflare,
) -> None:
    question = " ".join(f"word{i}" for i in range(30))  # 12 words a segment: 3 segments
    task_id = await submit(mf, question=question, language="fr")
    await mf.queues.drain()
    done = await task(mf, task_id)
    assert (done["status"], done["segments"]) == ("completed", 3)
    calls = list(mf.ai.calls)
    assert [c.model for c in calls] == [MODEL] * 3
    assert [c.inputs["messages"][1]["content"].split()[0] for c in calls] == [
        "word0",
        "word12",
        "word24",
    ]
    assert "language fr" in calls[0].inputs["messages"][0]["content"]
    assert calls[0].inputs["max_tokens"] == 256
    assert done["result"] == "\n".join(c.output["response"] for c in calls)


@pytest.mark.anyio
async def test_a_model_error_is_retried_and_the_next_attempt_succeeds(mf: Miniflare) -> None:
    mf.ai.fail_next_runs(1)
    task_id = await submit(mf, question="why is the sea salty?")
    await mf.queues.drain()
    done = await task(mf, task_id)
    assert (done["status"], done["attempts"]) == ("completed", 2)
    assert done["result"].startswith("About sea and salty:")
    assert [c.outcome for c in mf.ai.calls] == ["error", "ok"]
    assert mf.queues[QUEUE].stats()["retried"] == 1


@pytest.mark.anyio
async def test_a_model_that_keeps_failing_sends_the_task_to_the_dead_letter_queue(
    mf: Miniflare,
) -> None:
    mf.ai.fail_next_runs(3)  # max_retries = 2: three attempts, all failing
    task_id = await submit(mf)
    await mf.queues.drain()
    done = await task(mf, task_id)
    assert (done["status"], done["attempts"]) == ("failed", 3)
    assert done["error"] == "AiError: 3040: No more data centers to forward the request to"
    assert done["errorType"] == "AiError"
    stats = mf.queues[QUEUE].stats()
    assert (stats["retried"], stats["dead_lettered"]) == (2, 1)
    assert mf.queues[DLQ].stats()["acked"] == 1
    status = await (await mf.fetch("/api/queue-status")).json()
    assert status["errorTypes"] == {"AiError": 1}


@pytest.mark.anyio
async def test_a_slow_model_is_waited_for_on_the_virtual_clock(mf: Miniflare) -> None:
    mf.ai.latency = 20
    started = mf.clock.now()
    task_id = await submit(mf)
    await mf.queues.drain()  # virtual time jumps over the model's 20 s
    assert (await task(mf, task_id))["status"] == "completed"
    assert mf.clock.now() - started >= 20
    assert [c.duration for c in mf.ai.calls] == [20]


@pytest.mark.anyio
async def test_a_canned_answer_is_the_tasks_result(mf: Miniflare) -> None:
    mf.ai.respond(MODEL, "Rayleigh scattering.")
    task_id = await submit(mf, question="why is the sky blue?")
    await mf.queues.drain()
    assert (await task(mf, task_id))["result"] == "Rayleigh scattering."
