"""`pyflare dev`: serve a worker on uvicorn, reload it when its files change, log to the console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, find_config
from .runtime import Miniflare

__all__ = ["DevOptions", "serve"]

log = logging.getLogger("miniflare_py.dev")

LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "none": logging.CRITICAL + 10,
}
IGNORED_DIRS = {".wrangler", "__pycache__", ".venv", ".git", "node_modules", ".pytest_cache"}
WATCHED_SUFFIXES = {".py", ".toml", ".json", ".jsonc", ".sql"}


@dataclass(frozen=True)
class DevOptions:
    config: Path | None = None
    env: str | None = None
    ip: str = "127.0.0.1"
    port: int = 8787
    persist_to: Path | None = None
    persist: bool = True
    vars: dict[str, str] = field(default_factory=dict)
    reload: bool = True
    log_level: str = "info"


class ConsoleHandler(logging.Handler):
    """Engine log lines on a rich console: request lines, queue batches, warnings, tracebacks."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console

        self.console = Console(stderr=False, highlight=False, soft_wrap=True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            style = _style(record)
            self.console.print(message, style=style, markup=False)
        except Exception:
            self.handleError(record)


def _style(record: logging.LogRecord) -> str | None:
    if record.levelno >= logging.ERROR:
        return "bold red"
    if record.levelno >= logging.WARNING:
        return "yellow"
    if record.name == "miniflare_py.queues":
        return "cyan"
    if record.levelno <= logging.DEBUG:
        return "dim"
    return None


def configure_logging(level: str) -> None:
    """Send the engine's log lines to the console at `level` (debug|info|warn|error|none)."""
    logger = logging.getLogger("miniflare_py")
    logger.setLevel(LOG_LEVELS[level])
    logger.handlers[:] = [h for h in logger.handlers if not isinstance(h, ConsoleHandler)]
    if level != "none":  # no console at all: not even the cost of importing rich
        logger.addHandler(ConsoleHandler())
    logger.propagate = False


class DevServer:
    """Owns the running `Miniflare`, the uvicorn server and the file watcher."""

    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.config_path = (options.config or find_config()).resolve()
        self.persist_to: Path | None = None
        if options.persist:
            self.persist_to = (
                options.persist_to or self.config_path.parent / ".wrangler" / "state"
            ).resolve()
        self.mf: Miniflare

    def _new_runtime(self, inherit: Miniflare | None = None) -> Miniflare:
        return Miniflare(
            self.config_path,
            env=self.options.env,
            persist_to=self.persist_to,
            clock="real",
            vars=self.options.vars,
            inherit=inherit,
        )

    async def run(self) -> None:
        import uvicorn

        from .server import create_app

        self.mf = self._new_runtime()
        await self.mf.start(strict=False)
        if self.persist_to is None:
            await self._migrate_in_memory()
        else:
            self._warn_unapplied_migrations()
        config = uvicorn.Config(
            create_app(lambda: self.mf),
            host=self.options.ip,
            port=self.options.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        watcher: asyncio.Task[Any] | None = None
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    raise SystemExit(1)  # uvicorn could not bind; it printed why
                await asyncio.sleep(0.005)
            port = server.servers[0].sockets[0].getsockname()[1]
            print(f"Ready on http://{self.options.ip}:{port}", flush=True)
            if self.options.reload:
                watcher = asyncio.create_task(self._watch())
            await serving
        finally:
            if watcher is not None:
                watcher.cancel()
            await self.mf.close()

    async def _migrate_in_memory(self) -> None:
        """With --no-persist nothing else can reach the database, so migrate it here."""
        from .d1 import D1Error

        try:
            applied = await self.mf.apply_migrations()
        except D1Error as exc:
            log.error("%s", exc)
            return
        for binding, files in applied.items():
            if files:
                log.info("Applied %d migration(s) to in-memory %s", len(files), binding)

    def _warn_unapplied_migrations(self) -> None:
        from .d1 import list_migrations

        config = self.mf.config
        for db in config.d1_databases:
            if not (config.root / db.migrations_dir).is_dir():
                continue
            _, unapplied = list_migrations(self.mf.d1[db.binding], db, config.root)
            if unapplied:
                log.warning(
                    "%d unapplied migration(s) for %s (%s): run `pyflare d1 migrations apply %s`",
                    len(unapplied),
                    db.binding,
                    ", ".join(unapplied),
                    db.binding,
                )

    async def _watch(self) -> None:
        from watchfiles import awatch

        root = self.config_path.parent
        async for changes in awatch(root, watch_filter=self._watched, debounce=200, step=50):
            paths = {Path(p) for _, p in changes}
            if any(self._is_config(p) for p in paths):
                await self._reload_config()
            else:
                log.info("Reloading worker (%s changed)", ", ".join(sorted(p.name for p in paths)))
                self.mf.reload()
                if self.mf.load_error is None:
                    log.info("Worker reloaded")

    def _is_config(self, path: Path) -> bool:
        return path == self.config_path or path.name.startswith(".dev.vars")

    def _watched(self, _change: object, path: str) -> bool:
        p = Path(path)
        if IGNORED_DIRS.intersection(p.parts):
            return False
        return p.suffix in WATCHED_SUFFIXES or p.name.startswith(".dev.vars")

    async def _reload_config(self) -> None:
        log.info("Configuration changed, restarting the worker")
        old = self.mf
        replacement = self._new_runtime(inherit=old)
        try:
            # Validate the new config before touching the running runtime.
            from .config import load_config

            load_config(self.config_path, self.options.env, vars=self.options.vars)
        except ConfigError as exc:
            log.error("%s (keeping the previous configuration)", exc)
            return
        await old.close(keep_state=True)
        try:
            await replacement.start(strict=False)
        except ConfigError as exc:  # raced with another edit
            log.error("%s", exc)
            replacement = self._new_runtime()
            await replacement.start(strict=False)
        self.mf = replacement
        log.info("Worker restarted")


def serve(options: DevOptions) -> None:
    """Run `pyflare dev` until interrupted. Raises `ConfigError` for a bad config."""
    configure_logging(options.log_level)
    dev = DevServer(options)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(dev.run())
    sys.stdout.flush()
