"""The pytest plugin and tests written for Cloudflare's runtime: `from workers import env` in
test code, top-level `workers` at collection, and the marker's `clock=` option."""

from __future__ import annotations

import textwrap

import pytest
from helpers import user_project

WRANGLER = """\
name = "sdk-style"
main = "worker.py"

[vars]
GREETING = "hello"

[[queues.producers]]
binding = "Q"
queue = "q"

[[queues.consumers]]
queue = "q"
max_batch_size = 10
max_batch_timeout = 1
"""

WORKER = """\
from workers import Response, WorkerEntrypoint, env

RECEIVED = []


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        # the module-level env is the running worker's
        return Response(env.GREETING)

    async def queue(self, batch, env, ctx):
        for message in batch.messages:
            RECEIVED.append(message.body)
            message.ack()
"""

# Written as the SDK's binding tests are: env comes from `workers` at import time.
CONFTEST = """\
import pytest

from workers import env as _env


@pytest.fixture
def env():
    return _env
"""

TESTS = """\
import asyncio

import pytest

from workers import env as top_level_env


@pytest.mark.asyncio
async def test_env_is_the_running_tests(pyflare, env):
    assert env.GREETING == "hello"
    assert top_level_env.Q is pyflare.env.Q
    assert await (await pyflare.fetch("/")).text() == "hello"


@pytest.mark.asyncio
@pytest.mark.pyflare(vars={"GREETING": "other"})
async def test_each_test_has_its_own_env(pyflare, env):
    assert env.GREETING == "other"


@pytest.mark.asyncio
@pytest.mark.pyflare(clock="real")
async def test_real_clock_lets_a_batch_time_out(pyflare, env):
    from worker import RECEIVED

    assert not pyflare.virtual
    await env.Q.send(None)
    await env.Q.send({"a": 1})
    await asyncio.sleep(1.5)
    assert RECEIVED == [None, {"a": 1}]


@pytest.mark.asyncio
async def test_virtual_clock_by_default(pyflare):
    assert pyflare.virtual


def test_sync_fixture_binds_env_too(pyflare_sync, env):
    assert env.GREETING == "hello"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    return user_project(pytester, WRANGLER, WORKER, conftest=CONFTEST, test_sdk_style=TESTS)


@pytest.mark.slow
def test_tests_written_for_the_sdk_run_unchanged(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_outside=textwrap.dedent(
            """
            from workers import env

            def test_no_runtime():
                env.GREETING
            """
        )
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=1)
    # outside a test's runtime, env says where it can be used
    result.stdout.fnmatch_lines(["*workers.env is only available while a worker runs*"])


def test_an_unknown_clock_is_one_clear_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad_clock=textwrap.dedent(
            """
            import pytest

            @pytest.mark.asyncio
            @pytest.mark.pyflare(clock="fast")
            async def test_it(pyflare):
                pass
            """
        )
    )
    result = project.runpytest("-p", "no:cacheprovider", "test_bad_clock.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*clock='fast'): expected 'virtual' or 'real'*"])
