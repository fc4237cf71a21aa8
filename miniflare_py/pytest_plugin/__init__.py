"""pytest plugin: the `pyflare` and `pyflare_sync` fixtures and the `pyflare` marker.

Registered through the `pytest11` entry point, so installing pyflare is all a project needs:

```python
@pytest.mark.anyio                      # or @pytest.mark.asyncio with pytest-asyncio
async def test_submit(pyflare):
    resp = await pyflare.fetch("/api/tasks", method="POST", json={"user": "ada"})
    await pyflare.queues.drain()
```

Each test gets its own runtime (`PyflareRuntime`, a `Miniflare` with the test helpers) on a
virtual clock with in-memory bindings, built from `@pytest.mark.pyflare(config=...)`, the
`pyflare_config` ini option or the `wrangler.toml` in the rootdir. Nothing heavy is imported
when pytest starts: the runtime is imported when a test first asks for a fixture, so projects
that never use pyflare do not pay for it.

Tests written for Cloudflare's runtime import what a worker imports: in a pytest session the
top-level `workers`, `asgi`, `js` and `pyodide` are pyflare's (loaded on first import), and
while a test's `pyflare` runs, `from workers import env` is that runtime's env.

The parts: `options` (the marker), `loops` (the test's event loop), `startup` (starting a
runtime and the per-session cache), `helpers` (the runtime's test helpers), `queue_result`,
`execution` (direct handler calls), `sync` (`pyflare_sync`), `report` (failed tests).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .loops import drive, on_test_loop
from .names import install as _install_worker_names
from .options import MARKER_HELP, PyflareOptions
from .report import DENIED, USED, binding_sections, describe
from .sync import PyflareSync, SyncProxy, SyncResponse

if TYPE_CHECKING:
    from .helpers import PyflareRuntime
    from .queue_result import QueueBatchResult, RetryBatch, RetryMessage

__all__ = [
    "PyflareOptions",
    "PyflareRuntime",
    "PyflareSync",
    "QueueBatchResult",
    "RetryBatch",
    "RetryMessage",
    "SyncProxy",
    "SyncResponse",
]

# Installed when pytest loads the plugin, before any conftest can import `workers`.
_install_worker_names()

_LAZY = {
    "PyflareRuntime": "helpers",
    "QueueBatchResult": "queue_result",
    "RetryBatch": "queue_result",
    "RetryMessage": "queue_result",
}


def __getattr__(name: str) -> Any:
    # The names that import the runtime are loaded when first asked for (type hints in tests).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- hooks ---------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "pyflare_config",
        "wrangler config for the pyflare fixtures, relative to the rootdir "
        "(default: wrangler.toml, wrangler.jsonc or wrangler.json in the rootdir)",
        default="",
    )
    parser.addini("pyflare_env", "[env.NAME] section the pyflare fixtures use", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """With `outbound="deny"`, a test whose worker tried to reach the network fails, even when
    the worker caught the network error it got."""
    try:
        result = yield
    except BaseException as exc:
        denied = item.stash.get(DENIED, None)
        if denied:
            exc.add_note(_denied_message(denied))
        raise
    denied = item.stash.get(DENIED, None)
    if denied:
        pytest.fail(_denied_message(denied), pytrace=False)
    return result


def _denied_message(urls: list[str]) -> str:
    listed = "\n".join(f"  {url}" for url in dict.fromkeys(urls))
    return (
        'pyflare: outbound="deny", and the worker sent requests no respx route mocks:\n'
        f"{listed}\n"
        "mock them (respx_mock.get(url).respond(...)) or allow the network with "
        '@pytest.mark.pyflare(outbound="allow")'
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        used = item.stash.get(USED, None)
        if used is not None:
            try:
                report.sections.append(("pyflare: queues and emulator log", describe(used)))
                report.sections.extend(binding_sections(used))
            except Exception as exc:  # a report must never hide the test's own failure
                report.sections.append(("pyflare", f"(could not describe the runtime: {exc!r})"))
    return report


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def pyflare(request: pytest.FixtureRequest) -> Iterator[PyflareRuntime]:
    """A started runtime (`PyflareRuntime`, a `Miniflare`) on a virtual clock, with in-memory
    bindings, for async tests.

    Works under anyio (`@pytest.mark.anyio`) and pytest-asyncio (`@pytest.mark.asyncio` or auto
    mode): the runtime is started and closed on the very event loop the test runs on.
    """
    from .startup import run_session

    options = PyflareOptions.for_request(request)
    try:
        yield from on_test_loop(request, run_session, {"request": request, "options": options})
    finally:
        _forget(request)


@pytest.fixture
def pyflare_sync(request: pytest.FixtureRequest) -> Iterator[PyflareSync]:
    """`pyflare` for plain `def` tests: the same calls, each run to completion before it returns.

    The runtime lives on a private event loop that turns only during a call, so the virtual
    clock, queues and D1 never change behind the test's back.
    """
    import asyncio

    from .startup import run_session

    options = PyflareOptions.for_request(request)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        try:
            for mf in drive(run_session(request, options), runner.run):
                yield PyflareSync(mf, runner)
        finally:
            _forget(request)


def _forget(request: pytest.FixtureRequest) -> None:
    # The failure report was made before teardown; drop the runtime so the item does not keep
    # it (and its databases) alive for the rest of the session.
    if USED in request.node.stash:
        del request.node.stash[USED]
