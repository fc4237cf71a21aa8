"""The interface every binding type implements (DESIGN.md section 9).

A binding type (D1, Queues, KV, ...) is one sub-package with one `BindingType` subclass. The
config loader asks it to parse the wrangler keys it owns; the runtime asks it to open what that
config describes, put its objects into `env`, and close them again. Nothing outside the binding's
own package names the binding type: `config.py` and `runtime.py` loop over the registry.

Start-up cost: every start imports every registered type, and opens each one, used or not. So a
type's `binding.py` imports only its config parsing at module level and imports what it opens
(storage, env objects, its handle) inside `open()` once the parsed config asks for one; its
package `__init__` finds its public names on first use (`miniflare_py.lazy`). A worker then pays
for the binding types it uses only (`tests/test_lazy_imports.py`), but for Queues: its store may
hold messages of queues an earlier config named, so it always opens its broker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .persist import plugin_path

if TYPE_CHECKING:
    from ..clock import Clock
    from ..config_base import ConfigReader, WorkerConfig
    from ..worker import Worker

__all__ = ["BindingHost", "BindingInstance", "BindingType", "Dispatch", "Finding", "LoggedError"]

#: Runs one worker event handler: `await dispatch("queue", batch)`.
Dispatch = Callable[[str, Any], Awaitable[Any]]

#: `log_failure(where, message, *args, exc=exc)`, see `BindingHost.log_failure`.
LogFailure = Callable[..., None]

#: `logged(message_start, *args)`: the user's traceback of the last exception the engine logged
#: with that message (and those arguments), or None.
LoggedError = Callable[..., "str | None"]


@dataclass(frozen=True)
class Finding:
    """What `pyflare check` reports about a binding: a failure of `kind` (one of the check's
    kinds: "worker", "request", "queue", ...), or a warning when `kind` is None."""

    message: str
    kind: str | None = None
    details: str | None = None


class BindingHost:
    """What the runtime lends a binding while it is open: the config, the clock, where state
    lives, and a way to call the worker (queue deliveries, alarms)."""

    def __init__(
        self,
        config: WorkerConfig,
        clock: Clock,
        persist_to: Path | None,
        dispatch: Dispatch,
        worker: Callable[[], Worker | None],
        env: Callable[[], Any],
        log_failure: LogFailure,
    ) -> None:
        self.config = config
        self.clock = clock
        self.persist_to = persist_to
        self.dispatch = dispatch
        self._worker = worker
        self._env = env
        #: `log_failure(where, message, *args, exc=exc)`: log a handler's exception as the
        #: runtime logs its own (the traceback once per distinct error at `where`).
        self.log_failure = log_failure

    @property
    def worker(self) -> Worker | None:
        """The loaded worker, or None while it cannot be imported."""
        return self._worker()

    @property
    def env(self) -> Any:
        """The worker's `env` (None until the runtime has built it, after every `open()`)."""
        return self._env()

    def persist_path(self, plugin: str) -> Path | None:
        """`<persist>/v3/<plugin>`, Miniflare's folder for one plugin; None when in memory."""
        return None if self.persist_to is None else plugin_path(self.persist_to, plugin)


class BindingInstance:
    """The open bindings of one type in one running worker."""

    def env_values(self) -> Mapping[str, Any]:
        """The objects this type puts into `env`, by binding name."""
        return {}

    def handle(self) -> Any:
        """What `mf.<BindingType.runtime_attribute>` gives tests and tools."""
        return None

    async def start(self) -> None:
        """Called once `env` is built, before the first event."""

    def answer_first(self, request: Any) -> Any:
        """A `workers.Response` for a request this binding answers before the worker sees it
        (static assets, as at the edge), or None to let the worker answer."""
        return None

    def worker_changed(self, worker: Worker | None) -> None:
        """The worker module was (re)loaded, or failed to load (None)."""

    # `pyflare check`: before the requests, after them (drain), and the verdict.

    def check_worker(self, worker: Worker) -> list[Finding]:
        """Problems visible before any request: a handler the config needs but the worker lacks
        (a failure here stops the check), or a setting that makes the check weak."""
        return []

    async def drain(self) -> list[Finding]:
        """Deliver all work that is queued or scheduled (virtual time jumps ahead)."""
        return []

    def judge(self, *, drained: bool, logged: LoggedError) -> list[Finding]:
        """The verdict once the check's requests (and the drain, if asked) are done."""
        return []

    async def migrate(self) -> dict[str, list[str]]:
        """Apply the migrations this binding keeps (D1's SQL files); what ran, by binding."""
        return {}

    # Fresh state per test: the pytest plugin migrates once per session, then starts each test
    # from a copy. A binding whose state `migrate()` changes returns it here; None means there
    # is nothing worth copying (an empty binding is as cheap to open as to restore).

    def snapshot(self) -> Any:
        """A copy of this binding's in-memory state, for `restore()`; None if it has none."""
        return None

    def restore(self, snapshot: Any) -> None:
        """Make the in-memory state a copy of what `snapshot()` returned."""

    async def stop(self) -> None:
        """Stop background work (deliveries, timers); the runtime then lets `waitUntil` tasks
        finish before `close()`."""

    async def close(self, *, keep_state: bool = False) -> None:
        """Release storage. With `keep_state`, in-memory state stays open for the instance
        that replaces this one (`BindingType.open(..., previous=self)`)."""


class BindingType:
    """One kind of binding: its config keys, how to parse them and how to open them."""

    #: Registry name, also used in messages ("d1", "queues", "kv").
    name: ClassVar[str]
    #: The top-level wrangler keys this type reads (`d1_databases`, `queues`).
    config_keys: ClassVar[tuple[str, ...]]
    #: The attribute of `Miniflare` that gives `BindingInstance.handle()` (`mf.d1`), if any.
    runtime_attribute: ClassVar[str | None] = None
    #: Attributes `WorkerConfig` answers for this type (kept for callers that predate the
    #: registry): name -> function of this type's parsed config.
    config_attributes: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}
    #: Config classes importable from `miniflare_py.config` under their own names (kept for
    #: callers that predate the registry).
    exports: ClassVar[tuple[type, ...]] = ()
    #: `module:attribute` of this type's click group (`pyflare d1 ...`). A front door, so it is
    #: named, not imported: the CLI imports it, the engine never does.
    cli_command: ClassVar[str | None] = None
    #: `module:attribute` of this type's Local Explorer view (`pyflare dev`'s browser UI and
    #: its API), a subclass of `miniflare_py.explorer.views.BindingView`. Named, not imported,
    #: like `cli_command`.
    explorer_view: ClassVar[str | None] = None

    def empty(self) -> Any:
        """The parsed config of a worker that uses none of `config_keys`."""
        return ()

    def parse(self, reader: ConfigReader, section: Mapping[str, Any], where: str) -> Any:
        """Read this type's keys from one config section (the top level or `[env.NAME]`,
        `where` being its key path prefix); only called when one of `config_keys` is present."""
        raise NotImplementedError

    def choose(self, top: Any, own: Any | None) -> Any:
        """The parsed config an `[env.NAME]` section runs with, from the top level's and the
        section's own (None when the section has none of `config_keys`). Wrangler does not
        inherit bindings; a type with inheritable keys (`assets`, DO `migrations`) overrides
        this."""
        return self.empty() if own is None else own

    def binding_names(self, parsed: Any) -> list[tuple[str, str]]:
        """`(key path, name)` of every env binding the parsed config defines, for the check
        that no name is used twice."""
        return []

    def check(self, reader: ConfigReader, parsed: Any, config: Mapping[str, Any]) -> None:
        """Checks across the whole worker, once the section is chosen; `config` holds every
        binding type's parsed config by registry name. Raise `reader.error(...)` or call
        `reader.warn(...)`."""

    def open(
        self, host: BindingHost, parsed: Any, previous: BindingInstance | None
    ) -> BindingInstance:
        """Open what `parsed` describes. `previous` is this type's instance in the runtime
        being replaced (closed with `keep_state=True`), whose state may be taken over."""
        raise NotImplementedError
