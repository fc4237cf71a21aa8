"""`pyflare dev`: serve a worker on uvicorn, reload it when its files change, log to the console.

One `pyflare dev` owns its state folder (a lock file in it, released when the process ends, even
on SIGKILL); SIGINT and SIGTERM stop it even while a D1 query holds the event loop (the query gets
`QUERY_GRACE` seconds, then D1's reset error); slow clients cannot exhaust it (`httpguard`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, find_config, persist_root
from .runtime import Miniflare
from .state import StateLock
from .tracebacks import format_user_exception

__all__ = ["DevError", "DevOptions", "serve"]

log = logging.getLogger("miniflare_py.dev")

LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "none": logging.CRITICAL + 10,
}
# uvicorn's own lines ("Invalid HTTP request received.") follow --log-level, never below warning.
UVICORN_LEVELS = {"debug": "warning", "info": "warning", "warn": "warning", "error": "error"}
IGNORED_DIRS = {".wrangler", "__pycache__", ".venv", ".git", "node_modules", ".pytest_cache"}
WATCHED_SUFFIXES = {".py", ".toml", ".json", ".jsonc", ".sql"}
#: Seconds a D1 query still runs after SIGINT/SIGTERM before it is stopped.
QUERY_GRACE = 1.0
#: The file in the state folder that `pyflare dev` locks while it runs.
LOCK_FILE = "pyflare-dev.lock"
#: Request headers may total 128 KB, as at the edge (uvicorn's default is 16 KB).
MAX_HEADER_BYTES = 128 * 1024
#: Connections the kernel queues for the server before it accepts them.
LISTEN_BACKLOG = 2048


class DevError(Exception):
    """A mistake `pyflare dev` reports as one line (the port is taken, the address is wrong)."""


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
    color: str = "auto"


class ConsoleHandler(logging.Handler):
    """Engine log lines on a rich console: request lines, queue batches, warnings, tracebacks.

    Lines are printed literally and never wrapped by pyflare; a traceback starts at the worker's
    own frames (see `miniflare_py.tracebacks`).
    """

    def __init__(self, color: str = "auto") -> None:
        super().__init__()
        from .console import make_console

        self.console = make_console(sys.stdout, color)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + format_user_exception(record.exc_info[1])
            self.console.print(message, style=_style(record))
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


def configure_logging(level: str, color: str = "auto") -> None:
    """Send the engine's log lines to the console at `level` (debug|info|warn|error|none),
    coloured per `color` (auto|always|never)."""
    logger = logging.getLogger("miniflare_py")
    logger.setLevel(LOG_LEVELS[level])
    logger.handlers[:] = [h for h in logger.handlers if not isinstance(h, ConsoleHandler)]
    if level != "none":  # no console at all: not even the cost of importing rich
        logger.addHandler(ConsoleHandler(color))
    logger.propagate = False


class DevServer:
    """Owns the running `Miniflare`, the uvicorn server and the file watcher."""

    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.config_path = (options.config or find_config()).resolve()
        self.persist_to: Path | None = None
        if options.persist:
            self.persist_to = persist_root(self.config_path.parent, options.persist_to)
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

    async def run(self, sock: socket.socket | None = None) -> None:
        """Serve until SIGINT or SIGTERM, then finish the work in flight and close the stores.

        `sock` is the listening socket `serve()` bound; without it one is bound here.
        """
        import uvicorn

        from . import httpguard
        from .d1.engine import resume_queries
        from .server import create_app
        from .workers.jswebsocket import MAX_MESSAGE_BYTES

        if sock is None:
            sock = bind_socket(self.options.ip, self.options.port)
        limit = httpguard.connection_limit(httpguard.raise_open_files_limit())
        config = uvicorn.Config(
            create_app(lambda: self.mf),
            http=httpguard.guarded_protocol(_http_protocol(), limit),
            ws="websockets-sansio",  # WebSocket upgrades (server_websocket.py)
            ws_max_size=MAX_MESSAGE_BYTES,  # 32 MiB, as at the edge (larger: closed with 1009)
            log_level=UVICORN_LEVELS.get(self.options.log_level, "critical"),
            access_log=False,
            lifespan="off",
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            backlog=httpguard.ACCEPT_BATCH,
            # a backstop: the guard keeps connections under `limit` by closing slow ones
            limit_concurrency=limit + 1,
        )
        server = _uvicorn_server(config)
        for name in ("uvicorn.error", "asyncio"):  # per-connection lines: once a minute at most
            logger = logging.getLogger(name)
            if not any(isinstance(f, httpguard.RepeatFilter) for f in logger.filters):
                logger.addFilter(httpguard.RepeatFilter())
        self._server = server
        self._closing = False
        main_task = asyncio.current_task()
        remove_handlers = _on_signals(lambda: self._on_signal(main_task))
        httpguard.quiet_accept_errors(asyncio.get_running_loop())
        watcher: asyncio.Task[Any] | None = None
        sweeper: asyncio.Task[Any] | None = None
        try:
            self.mf = self._new_runtime()
            await self.mf.start(strict=False)
            try:
                if self.persist_to is None:
                    await self._migrate_in_memory()
                else:
                    self._warn_unapplied_migrations()
                if server.should_exit:  # interrupted while starting
                    return
                serving = asyncio.create_task(server.serve(sockets=[sock]))
                while not server.started:
                    if serving.done():
                        serving.result()
                        raise SystemExit(1)  # uvicorn could not start; it printed why
                    await asyncio.sleep(0.005)
                # asyncio listened with ACCEPT_BATCH; give the kernel its long queue back
                sock.listen(LISTEN_BACKLOG)
                _warm_up_console()
                print(f"Ready on {_url(self.options.ip, sock)}", flush=True)
                sweeper = asyncio.create_task(
                    httpguard.sweep_connections(server.server_state.connections)
                )
                if self.options.reload:
                    watcher = asyncio.create_task(self._watch())
                await serving
            finally:
                self._closing = True
                for task in (watcher, sweeper):
                    if task is not None:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                await self.mf.close()  # finishes the batches in flight
        finally:
            remove_handlers()
            resume_queries()
            sock.close()

    def _on_signal(self, main_task: asyncio.Task[Any] | None) -> None:
        """First SIGINT/SIGTERM: stop serving, finish the work in flight, exit. A second one
        while that work is finishing gives up on it (queued messages are durable anyway).

        Either way, D1 queries still running `QUERY_GRACE` seconds after the first signal are
        stopped (the signal handler itself arranged that; see `_on_signals`).
        """
        server = self._server
        if not server.should_exit:
            server.should_exit = True
        else:
            server.force_exit = True
            if self._closing and main_task is not None:
                log.warning("Stopping without waiting: batches in flight are delivered again")
                main_task.cancel()

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

        from .server_assets import asset_folders, refresh_assets

        root = self.config_path.parent
        # The assets folder is watched too (it may sit outside the config's folder).
        extra = [f for f in asset_folders(self.mf) if not f.is_relative_to(root.resolve())]
        async for changes in awatch(
            root, *extra, watch_filter=self._watched, debounce=200, step=50
        ):
            paths = {Path(p) for _, p in changes}
            try:
                if refresh_assets(self.mf, paths):
                    log.info("Assets changed (%s)", ", ".join(sorted(p.name for p in paths)))
                elif any(self._is_config(p) for p in paths):
                    await self._reload_config()
                else:
                    names = ", ".join(sorted(p.name for p in paths))
                    log.info("Reloading worker (%s changed)", names)
                    self.mf.reload()
                    if self.mf.load_error is None:
                        log.info("Worker reloaded")
            except Exception:
                # Keep watching: the next save may fix it, and a dead watcher would be silent.
                log.exception("Reload failed; still watching for changes")

    def _is_config(self, path: Path) -> bool:
        return path == self.config_path or path.name.startswith(".dev.vars")

    def _watched(self, _change: object, path: str) -> bool:
        p = Path(path)
        if IGNORED_DIRS.intersection(p.parts):
            return False
        from .server_assets import asset_folders

        if any(p.resolve().is_relative_to(folder) for folder in asset_folders(self.mf)):
            return True  # any file of the assets folder
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


def _warm_up_console() -> None:
    """Let rich import the parts it loads on its first print now, while files can be opened: a
    first log line written when the process is out of file descriptors would fail."""
    for handler in logging.getLogger("miniflare_py").handlers:
        if isinstance(handler, ConsoleHandler):
            handler.console.render_str("pyflare :)")


def _uvicorn_server(config: Any) -> Any:
    """A uvicorn server without its signal handling: `DevServer` owns SIGINT and SIGTERM.

    uvicorn re-raises the signal it caught once it has stopped serving, which kills the process
    on SIGTERM before the runtime has finished its batches and closed its stores.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    return Server(config)


def _on_signals(callback: Any) -> Any:
    """Call `callback()` on the event loop at SIGINT and SIGTERM; returns a function that
    restores the previous handlers.

    A plain Python signal handler rather than `loop.add_signal_handler`: Python runs it at the
    next bytecode of the main thread, and a D1 query that holds the event loop runs Python (its
    progress handler) every few thousand steps. So the handler runs during a runaway query and
    tells D1 to stop it after `QUERY_GRACE` seconds; a second signal stops queries at once.
    """
    from .d1.engine import interrupt_queries

    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    seen = [0]

    def handler(signum: int, frame: object) -> None:
        seen[0] += 1
        interrupt_queries(after=QUERY_GRACE if seen[0] == 1 else 0.0)
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(callback)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread
            continue

    def remove() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return remove


def _http_protocol() -> type[Any]:
    """uvicorn's HTTP implementation, as its `http="auto"` picks it."""
    try:
        import httptools  # noqa: F401
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def bind_socket(ip: str, port: int) -> socket.socket:
    """A listening socket on `ip:port`; `DevError` in one line when that is not possible."""
    try:
        infos = socket.getaddrinfo(ip, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, OverflowError, UnicodeError) as exc:
        raise DevError(f"Cannot listen on {ip}:{port}: {_reason(exc)}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DevError(
                f"Port {port} on {ip} is already in use: stop what uses it, or pick another "
                "with --port (--port 0 picks a free one)"
            ) from None
        raise DevError(f"Cannot listen on {ip}:{port}: {_reason(exc)}") from None
    sock.setblocking(False)
    return sock


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _url(ip: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    host = f"[{ip}]" if ":" in ip else ip
    return f"http://{host}:{port}"


def serve(options: DevOptions) -> None:
    """Run `pyflare dev` until SIGINT or SIGTERM. Raises `ConfigError` for a bad config,
    `DevError` when it cannot listen on the address, `StateError` when another `pyflare dev`
    owns the state folder or a state file cannot be used."""
    configure_logging(options.log_level, options.color)
    dev = DevServer(options)
    with contextlib.ExitStack() as stack:
        if dev.persist_to is not None:
            stack.enter_context(state_folder_lock(dev.persist_to))
        sock = bind_socket(options.ip, options.port)
        _warn_if_reachable(sock)
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(dev.run(sock))
    sys.stdout.flush()


def state_folder_lock(folder: Path) -> StateLock:
    """The lock one `pyflare dev` holds on its state folder (`StateError` if another has it)."""
    return StateLock(
        folder / LOCK_FILE,
        f"The state folder {folder}",
        "another pyflare dev serves it; stop that one, or give this one its own folder "
        "with --persist-to",
    )


def _warn_if_reachable(sock: socket.socket) -> None:
    address = sock.getsockname()[0]
    try:
        loopback = ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        log.warning(
            "Listening on %s: anyone who can reach this machine can call the worker and change "
            "its local data. Use --ip 127.0.0.1 unless you need that.",
            address,
        )
