"""Running the `pyflare` fixture on the event loop of the test, under pytest-asyncio or anyio."""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    import asyncio

__all__ = ["drive", "on_test_loop"]

T = TypeVar("T")


def on_test_loop(
    request: pytest.FixtureRequest,
    fixture: Callable[..., AsyncGenerator[T, None]],
    kwargs: dict[str, Any],
) -> Iterator[T]:
    """Run the async generator `fixture(**kwargs)` on the event loop that runs the test.

    The fixture itself is synchronous, so that neither plugin tries to run it on a loop of its
    own choosing (pytest-asyncio runs function-scoped async fixtures on a function-scoped loop
    even when the test uses a module-scoped one); instead it finds the test's runner and uses it.
    """
    item = request.node
    asyncio_plugin = sys.modules.get("pytest_asyncio.plugin")
    test_item_class = getattr(asyncio_plugin, "PytestAsyncioFunction", None)
    if test_item_class is not None and isinstance(item, test_item_class):
        # pytest-asyncio >= 1.0 runs the test on the asyncio.Runner of its loop scope, whose
        # fixture it adds to the item's fixtures; older versions use `event_loop`.
        runner_name = f"_{getattr(item, '_loop_scope', None) or 'function'}_scoped_runner"
        if runner_name in item.fixturenames:
            runner: asyncio.Runner = request.getfixturevalue(runner_name)
            yield from drive(fixture(**kwargs), runner.run)
            return
        if "event_loop" in item.fixturenames:
            loop: asyncio.AbstractEventLoop = request.getfixturevalue("event_loop")
            yield from drive(fixture(**kwargs), loop.run_until_complete)
            return
    if "anyio_backend" in item.fixturenames:
        from anyio.pytest_plugin import extract_backend_and_options, get_runner

        backend, backend_options = extract_backend_and_options(
            request.getfixturevalue("anyio_backend")
        )
        if backend != "asyncio":
            pytest.fail(
                f"pyflare runs on asyncio, not {backend}: add an `anyio_backend` fixture that "
                'returns "asyncio" to your conftest.py',
                pytrace=False,
            )
        # Holding the runner keeps anyio's loop alive until the runtime is closed.
        with get_runner(backend, backend_options) as anyio_runner:
            yield from anyio_runner.run_asyncgen_fixture(fixture, kwargs)
        return
    pytest.fail(
        "the pyflare fixture needs an async test run by anyio (@pytest.mark.anyio) or "
        "pytest-asyncio (@pytest.mark.asyncio); in a plain `def` test use pyflare_sync",
        pytrace=False,
    )


def drive(agen: AsyncIterator[T], run: Callable[[Any], Any]) -> Iterator[T]:
    """Set up and tear down an async generator fixture with a `run(coroutine)` function."""
    value = run(_anext(agen))
    yield value
    try:
        run(_anext(agen))
    except StopAsyncIteration:
        return
    raise RuntimeError("pyflare fixture did not stop after one yield")


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()
