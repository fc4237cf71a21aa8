"""`mf.ai`, the test controls of Workers AI: failures, latency on the runtime clock, canned
answers, the log of calls, and where that log shows up (failed tests, `pyflare check`)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.ai import InferenceUpstreamError
from miniflare_py.commands.check import check

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
AI = '[ai]\nbinding = "AI"\n'

WORKER = """
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        try:
            answer = await self.env.AI.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hi there"})
        except Exception as error:
            return Response(str(error), status=503)
        return Response.json(answer)
"""


# the local backend, whatever the shell running the tests says
pytestmark = pytest.mark.usefixtures("local_ai")


@pytest.fixture
async def mf(tmp_path: Path) -> Any:
    async with Miniflare(write_worker(tmp_path, WORKER, AI)) as runtime:
        yield runtime


async def ask(mf: Miniflare, model: str = LLAMA, **inputs: Any) -> Any:
    return await mf.env.AI.run(model, inputs or {"prompt": "Hi there"})


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fail_next_runs_fails_exactly_that_many_runs(mf: Miniflare) -> None:
    mf.ai.fail_next_runs(2)
    for _ in range(2):
        response = await mf.fetch("/")
        assert response.status == 503
        assert (
            await response.text() == "AiError: 3040: No more data centers to forward the request to"
        )
    assert (await mf.fetch("/")).status == 200
    assert [c.outcome for c in mf.ai.calls] == ["error", "error", "ok"]
    assert (mf.ai.count, mf.ai.failed) == (3, 2)


@pytest.mark.anyio
async def test_the_error_can_be_a_code_a_message_or_an_exception(mf: Miniflare) -> None:
    mf.ai.fail_next_runs(1, error=3036)
    mf.ai.fail_next_runs(1, error="InferenceUpstreamError: boom")
    mf.ai.fail_next_runs(1, error=TimeoutError("slow"))
    mf.ai.fail_next_runs(1, error=ConnectionResetError)
    with pytest.raises(InferenceUpstreamError) as info:
        await ask(mf)
    assert (info.value.code, info.value.status) == (3036, 429)
    assert str(info.value).startswith("AiError: 3036: You have used up your daily free allocation")
    with pytest.raises(InferenceUpstreamError, match="boom"):
        await ask(mf)
    with pytest.raises(TimeoutError, match="slow"):
        await ask(mf)
    with pytest.raises(ConnectionResetError):
        await ask(mf)
    await ask(mf)
    with pytest.raises(TypeError):
        mf.ai.fail_next_runs(1, error=object())
    with pytest.raises(ValueError):
        mf.ai.fail_next_runs(-1)


@pytest.mark.anyio
async def test_a_failure_can_wait_for_one_model(mf: Miniflare) -> None:
    mf.ai.fail_next_runs(1, model="@cf/baai/bge-small-en-v1.5")
    await ask(mf)  # another model: not affected
    with pytest.raises(InferenceUpstreamError):
        await ask(mf, "@cf/baai/bge-small-en-v1.5", text="x")
    await ask(mf, "@cf/baai/bge-small-en-v1.5", text="x")


@pytest.mark.anyio
async def test_bad_inputs_fail_before_an_injected_failure_is_used(mf: Miniflare) -> None:
    mf.ai.fail_next_runs(1)
    with pytest.raises(InferenceUpstreamError, match="5006"):
        await mf.env.AI.run(LLAMA, {})
    with pytest.raises(InferenceUpstreamError, match="3040"):
        await ask(mf)


# -- latency -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_latency_passes_on_the_virtual_clock(mf: Miniflare) -> None:
    mf.ai.latency = 2.5
    started = mf.clock.now()
    request = asyncio.ensure_future(mf.fetch("/"))
    await asyncio.sleep(0.01)
    assert not request.done()  # the model is still "thinking": no wall time passes
    await mf.clock.advance(2.5)
    response = await request
    assert response.status == 200
    [call] = mf.ai.calls
    assert call.duration == 2.5
    assert call.started == started
    mf.ai.set_latency(0, model=LLAMA)  # this model answers at once again
    await ask(mf)
    with pytest.raises(ValueError):
        mf.ai.latency = -1


# -- canned answers ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_respond_answers_every_run_or_the_next_ones(mf: Miniflare) -> None:
    mf.ai.respond(LLAMA, "Paris")
    for _ in range(2):
        answer = await (await mf.fetch("/")).json()
        assert answer["response"] == "Paris"
        assert answer["usage"]["completion_tokens"] == 1
    mf.ai.respond(LLAMA, {"response": "once", "custom": True}, times=1)
    assert await ask(mf) == {"response": "once", "custom": True}
    assert (await ask(mf)).response == "Paris"
    assert [c.answered_by for c in mf.ai.calls] == ["respond"] * 4
    mf.ai.reset()
    assert (await ask(mf)).response.startswith("Here is a thought:")  # the local model
    assert mf.ai.calls[-1].answered_by == "local" and mf.ai.count == 1


@pytest.mark.anyio
async def test_respond_takes_functions_errors_and_streams(mf: Miniflare) -> None:
    mf.ai.respond(LLAMA, lambda inputs: f"echo {inputs['prompt']}")
    assert (await ask(mf, prompt="abc")).response == "echo abc"

    async def later(inputs: Any) -> str:
        return "awaited"

    mf.ai.respond(LLAMA, later)
    assert (await ask(mf)).response == "awaited"
    mf.ai.respond(LLAMA, InferenceUpstreamError("3007: Request timeout", "AiError"), times=1)
    with pytest.raises(InferenceUpstreamError, match="3007"):
        await ask(mf)
    mf.ai.respond(LLAMA, "one two three")
    stream = await mf.env.AI.run(LLAMA, {"prompt": "x", "stream": True})
    body = b"".join([chunk.to_bytes() async for chunk in stream]).decode()
    assert body.startswith('data: {"response":"one"}\n\ndata: {"response":" two"}\n\n')
    assert body.endswith("data: [DONE]\n\n")
    mf.ai.respond("@cf/zai-org/glm-4.7-flash", "hi")
    chat = await mf.env.AI.run(
        "@cf/zai-org/glm-4.7-flash", {"messages": [{"role": "user", "content": "x"}]}
    )
    assert chat.choices[0].message.content == "hi"


@pytest.mark.anyio
async def test_respond_declares_a_model_cloudflare_does_not_list(mf: Miniflare) -> None:
    with pytest.raises(InferenceUpstreamError, match="5007"):
        await mf.env.AI.run("@cf/me/my-finetune", {"anything": 1})
    mf.ai.respond("@cf/me/my-finetune", {"ok": True})
    assert await mf.env.AI.run("@cf/me/my-finetune", {"anything": 1}) == {"ok": True}
    # canned data is copied: a worker changing its answer changes no later answer
    (await mf.env.AI.run("@cf/me/my-finetune", {}))["ok"] = False
    assert (await mf.env.AI.run("@cf/me/my-finetune", {}))["ok"] is True
    assert "@cf/me/my-finetune" in {m.name for m in mf.ai.models()}


# -- the log of calls and where it shows ---------------------------------------------------------


@pytest.mark.anyio
async def test_the_log_holds_model_inputs_options_time_and_outcome(mf: Miniflare) -> None:
    await mf.env.AI.run(LLAMA, {"prompt": "a" * 100, "max_tokens": 5}, {"gateway": {"id": "g"}})
    with pytest.raises(InferenceUpstreamError):
        await mf.env.AI.run("@cf/nope/nope", {"prompt": "x"})
    first, second = mf.ai.calls
    assert first.model == LLAMA
    assert first.inputs == {"prompt": "a" * 100, "max_tokens": 5}
    assert first.options == {"gateway": {"id": "g"}}
    assert (first.outcome, first.error, first.answered_by) == ("ok", None, "local")
    assert first.output.usage.completion_tokens == 5
    assert second.outcome == "error" and "5007" in str(second.error)
    lines = mf.ai.report_lines()
    assert lines[0] == "Workers AI calls (2; 1 failed; backend local):"
    assert lines[1].startswith(f"  +0.000s {LLAMA} ok (0ms) [local] prompt='aaaa")
    assert "max_tokens=5" in lines[1]
    assert lines[2].startswith(
        "  +0.000s @cf/nope/nope error: AiError: 5007: No such model @cf/nope/nope or task"
    )
    assert any("AI @cf/nope/nope failed: AiError: 5007" in line for line in mf.logs)


def test_a_failed_test_reports_its_ai_calls(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", wrangler='name = "w"\nmain = "worker.py"\n' + AI)
    pytester.makepyfile(worker=textwrap.dedent(WORKER))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n"
    )
    pytester.makepyfile(
        test_ai=textwrap.dedent(
            """
            import pytest

            @pytest.mark.anyio
            async def test_answer(pyflare):
                pyflare.ai.fail_next_runs(1)
                assert (await pyflare.fetch("/")).status == 200

            @pytest.mark.anyio
            async def test_no_calls(pyflare):
                assert False
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_answer _*",
            "*- pyflare: ai -*",
            "Workers AI calls (1; 1 failed; backend local):",
            f"  +0.000s {LLAMA} error: AiError: 3040: No more data centers * prompt='Hi there'",
        ]
    )
    assert result.stdout.str().count("pyflare: ai") == 1  # a test without calls adds nothing


def test_pyflare_check_warns_about_failed_runs(tmp_path: Path) -> None:
    # A worker that survives the model error (it answers 200 with a fallback).
    worker = WORKER.replace("llama-3.1-8b-instruct", "llama-0").replace("status=503", "status=200")
    config = write_worker(tmp_path, worker, AI)
    result = CliRunner().invoke(check, ["-c", str(config), "--fetch", "GET /", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0  # the worker coped: a warning, not a failure
    assert report["warnings"] == [
        "Workers AI: 1 of 1 run(s) failed; last: @cf/meta/llama-0: "
        "AiError: 5007: No such model @cf/meta/llama-0 or task"
    ]
    assert any("AI @cf/meta/llama-0 failed" in line for line in report["logs"])


@pytest.mark.anyio
async def test_the_log_keeps_1000_calls_and_the_answers_of_the_last_100(mf: Miniflare) -> None:
    for i in range(1005):
        await mf.env.AI.run(LLAMA, {"prompt": f"q{i}"})
    calls = list(mf.ai.calls)
    assert (len(calls), mf.ai.count) == (1000, 1005)
    assert calls[0].inputs == {"prompt": "q5"}
    assert all(c.output is None for c in calls[:900])
    assert all(c.output is not None for c in calls[900:])
    assert mf.ai.report_lines()[0] == "Workers AI calls (last 20 of 1005; 0 failed; backend local):"
