"""Starting a test's runtime quickly, and what a session learns once to make that cheap.

Each test gets a runtime of its own: its own worker module, bindings and clock. What does not
change from test to test is worked out once per session (per config file, env section and vars)
and kept in `StartCache`:
- the parsed config;
- the state the migrations leave: the first test with a given config applies the D1 migrations
  and takes a copy of each database's pages; every later test starts from that copy
  (SQLite's `deserialize`, microseconds) instead of running the migrations again.
The copy is taken again if a config file or a migration file changes during the session.
`migrations=False` never uses it: those tests start from empty databases.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .options import PyflareOptions
from .report import DENIED, USED, Used

if TYPE_CHECKING:
    from ..config import WorkerConfig
    from .helpers import PyflareRuntime

__all__ = ["START_CACHE", "StartCache", "open_runtime", "run_session"]


@dataclass
class StartCache:
    """Per pytest session: parsed configs and migrated state, by what they depend on."""

    configs: dict[tuple[Any, ...], WorkerConfig] = field(default_factory=dict)
    migrated: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)


START_CACHE = pytest.StashKey[StartCache]()


def cache_for(config: pytest.Config) -> StartCache:
    cache = config.stash.get(START_CACHE, None)
    if cache is None:
        cache = config.stash[START_CACHE] = StartCache()
    return cache


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _config_for(options: PyflareOptions, cache: StartCache) -> WorkerConfig:
    """The parsed config, read once while its file does not change (errors are not kept)."""
    from ..config import load_config

    key = (*options.config_key, _stamp(options.config), _stamp(options.config.parent / ".dev.vars"))
    config = cache.configs.get(key)
    if config is None:
        config = load_config(options.config, options.env, vars=options.vars)
        cache.configs[key] = config
    return config


def _migrations_key(options: PyflareOptions, config: WorkerConfig) -> tuple[Any, ...]:
    """What the migrated state depends on: the config, and every migration file's stamp."""
    files: list[tuple[str, Any]] = []
    for database in getattr(config, "d1_databases", ()):
        folder = config.root / database.migrations_dir
        with contextlib.suppress(OSError):
            files.extend((str(p), _stamp(p)) for p in sorted(folder.iterdir()))
    return (*options.config_key, id(config), tuple(files))


def _snapshot(mf: PyflareRuntime) -> dict[str, Any]:
    """Each binding's migrated state (D1 copies its databases; None: nothing to copy)."""
    return {name: instance.snapshot() for name, instance in mf.bindings.items()}


async def _restore(mf: PyflareRuntime, snapshot: dict[str, Any]) -> None:
    for name, instance in mf.bindings.items():
        copy = snapshot.get(name)
        if copy is not None:
            instance.restore(copy)
        else:
            await instance.migrate()  # nothing copied: migrate (a no-op for most bindings)


async def open_runtime(options: PyflareOptions, cache: StartCache) -> PyflareRuntime:
    """Start a runtime for one test; user mistakes fail the test with one clear message."""
    from ..check import user_traceback
    from ..config import ConfigError
    from ..d1 import MigrationError
    from ..worker import WorkerLoadError
    from .helpers import PyflareRuntime

    mf: PyflareRuntime | None = None
    try:
        config = _config_for(options, cache)
        mf = PyflareRuntime(config, env=options.env, vars=options.vars, clock=options.clock)
        await mf.start()
        if options.migrations:
            key = _migrations_key(options, config)
            migrated = cache.migrated.get(key)
            if migrated is None:
                await mf.apply_migrations()
                cache.migrated[key] = _snapshot(mf)
            else:
                await _restore(mf, migrated)
    except (ConfigError, MigrationError, WorkerLoadError) as exc:
        if mf is not None:
            await mf.close()
        message = f"pyflare: {exc}"
        if isinstance(exc, WorkerLoadError) and (details := user_traceback(exc)):
            message += f"\n{details}"
    except BaseException:
        if mf is not None:
            await mf.close()
        raise
    else:
        return mf
    # Failed outside the `except` block: the report shows this message alone, not pyflare's
    # exceptions chained before it.
    pytest.fail(message, pytrace=False)


@contextlib.contextmanager
def workers_env(mf: Any) -> Iterator[None]:
    """`from workers import env` in the test means this runtime's env while it runs."""
    from ..workers.context import pop_test_env, push_test_env

    push_test_env(mf.env)
    try:
        yield
    finally:
        pop_test_env(mf.env)


@contextlib.contextmanager
def engine_log_level() -> Iterator[None]:
    """Let the engine's debug lines (batches, retries) reach `mf.logs` during a test."""
    logger = logging.getLogger("miniflare_py")
    previous = logger.level
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextlib.contextmanager
def outbound_policy(item: pytest.Item, options: PyflareOptions) -> Iterator[None]:
    """With `outbound="deny"`, refuse (and remember) every outbound request that would reach
    the network, i.e. that no respx route answered."""
    if options.outbound != "deny":
        yield
        return
    from ..workers import outbound

    denied = item.stash.setdefault(DENIED, [])

    def guard(url: str) -> str:
        denied.append(url)
        return (
            f"pyflare: outbound request to {url} refused: the test runs with "
            '@pytest.mark.pyflare(outbound="deny") and no respx route matched it'
        )

    previous = outbound.set_guard(guard)
    try:
        yield
    finally:
        outbound.set_guard(previous)


async def run_session(
    request: pytest.FixtureRequest, options: PyflareOptions
) -> AsyncGenerator[PyflareRuntime, None]:
    """The `pyflare` fixture's body, run on the test's event loop."""
    from ..workers import outbound

    with engine_log_level(), outbound_policy(request.node, options):
        mf = await open_runtime(options, cache_for(request.config))
        request.node.stash[USED] = Used(mf, mf.clock.now())
        try:
            with workers_env(mf):
                yield mf
        finally:
            try:
                await mf.close()
            finally:
                await outbound.aclose()  # no connection outlives the test
