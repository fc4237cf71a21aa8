"""Workers AI as a binding type: `[ai] binding = "AI"` -> `env.AI`, `mf.ai`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..bindings.base import BindingHost, BindingInstance, BindingType, Finding, LoggedError
from .config import AiConfig, parse_ai

if TYPE_CHECKING:
    # The backends and the runner are imported when a config has `[ai]`.
    from .env_binding import Ai
    from .handle import AiHandle
    from .runner import AiRunner

__all__ = ["AiBinding", "WorkersAi"]

#: Which backend answers a worker without `[ai]` (`LocalBackend.name`); nothing calls it.
_NO_BACKEND = "local"


class WorkersAi(BindingInstance):
    """The AI binding of one running worker (or none, when the config has no `[ai]`: then
    there is no runner, only `mf.ai`'s empty log)."""

    def __init__(self, config: AiConfig | None, handle: AiHandle, runner: AiRunner | None) -> None:
        self.config = config
        self._handle = handle
        self.runner = runner
        self.ai: Ai | None = None
        if runner is not None:
            from .env_binding import Ai

            self.ai = Ai(runner)

    def env_values(self) -> Mapping[str, Any]:
        return {} if self.config is None else {self.config.binding: self.ai}

    def handle(self) -> AiHandle:
        return self._handle

    def judge(self, *, drained: bool, logged: LoggedError) -> list[Finding]:
        handle = self._handle
        if not handle.failed:
            return []
        last = next((c for c in reversed(handle.calls) if c.error), None)
        detail = f"; last: {last.model}: {last.error}" if last is not None else ""
        return [Finding(f"Workers AI: {handle.failed} of {handle.count} run(s) failed{detail}")]

    def failure_report(self) -> list[str]:
        """Lines for the report of a failed test: the last AI calls."""
        return self._handle.report_lines()

    async def close(self, *, keep_state: bool = False) -> None:
        if self.runner is not None:
            await self.runner.backend.close()


class AiBinding(BindingType):
    name = "ai"
    config_keys = ("ai",)
    runtime_attribute = "ai"
    exports = (AiConfig,)
    explorer_view = "miniflare_py.explorer.views.ai:AiView"

    def empty(self) -> None:
        return None

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> AiConfig:
        return parse_ai(reader, section, where)

    def binding_names(self, parsed: AiConfig | None) -> list[tuple[str, str]]:
        return [] if parsed is None else [("ai.binding", parsed.binding)]

    def open(
        self, host: BindingHost, parsed: AiConfig | None, previous: BindingInstance | None
    ) -> WorkersAi:
        from .handle import AiHandle

        # A restart (config edit) keeps the test controls and the log of calls.
        handle = previous.handle() if isinstance(previous, WorkersAi) else AiHandle()
        if parsed is None:
            handle.backend = _NO_BACKEND
            return WorkersAi(None, handle, None)
        from .backend_config import read_backend_config
        from .local import LocalBackend
        from .runner import AiRunner

        remote = read_backend_config(host.config.secrets)
        backend: Any
        if remote is None:
            backend = LocalBackend()
        else:
            from .openai_backend import OpenAIBackend  # only for a model server in .dev.vars

            backend = OpenAIBackend(remote)
        handle.backend = backend.name
        clock = host.clock
        return WorkersAi(parsed, handle, AiRunner(handle, backend, clock.now, clock.sleep))
