"""Durable Objects as a binding type: `[[durable_objects.bindings]]` -> `env.MY_DO`,
`[[migrations]]`, storage under `<persist>/v3/do/`, and `mf.durable_objects` for tests."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from ..bindings.base import BindingHost, BindingInstance, BindingType, Finding, LoggedError
from ..clock import spawn
from .config import (
    DurableObjectBindingConfig,
    DurableObjectsSection,
    check_durable_objects,
    parse_durable_objects,
)

if TYPE_CHECKING:
    # Namespaces, objects and their storage are imported when a config first opens one.
    from ..worker import Worker
    from .database import DatabasePool
    from .handle import DurableObjectsHandle
    from .namespace import DurableObjectNamespace
    from .objects import ObjectClass, ObjectHost

__all__ = ["DurableObjectsBinding", "DurableObjectsInstance"]

log = logging.getLogger("miniflare_py")


class DurableObjectsInstance(BindingInstance):
    """The namespaces and objects of one running worker.

    A worker without Durable Objects imports none of their modules: the objects' host, the
    database pool and `mf.durable_objects` are made when first needed.
    """

    def __init__(
        self,
        host: BindingHost,
        section: DurableObjectsSection,
        previous: DurableObjectsInstance | None,
    ) -> None:
        self.host = host
        self.section = section
        self._object_host: ObjectHost | None = None
        #: Shared by every object's database; a config reload hands it on.
        self.pool: DatabasePool | None = previous.pool if previous is not None else None
        inherited = dict(previous.classes) if previous is not None else {}
        self.classes: dict[str, ObjectClass] = {}
        self.namespaces: dict[str, DurableObjectNamespace] = {}
        worker_name = host.config.name or "worker"
        original = {new: old for old, new in section.renames().items()}
        folder = host.persist_path("do")
        for at, binding in zip(section.paths, section.bindings, strict=True):
            stored_as = original.get(binding.class_name, binding.class_name)
            unique_key = f"{worker_name}-{stored_as}"
            owner = (
                None
                if binding.external
                else self._class(binding, at, unique_key, inherited, folder)
            )
            from .namespace import DurableObjectNamespace

            self.namespaces[binding.name] = DurableObjectNamespace(binding.name, owner, unique_key)
        for leftover in inherited.values():
            leftover.close()
        self._handle: DurableObjectsHandle | None = None

    @property
    def object_host(self) -> ObjectHost:
        """What this worker's objects share (the env, the worker), made for the first class."""
        if self._object_host is None:
            from .objects import ObjectHost

            self._object_host = ObjectHost(self.host)
        return self._object_host

    def _class(
        self,
        binding: DurableObjectBindingConfig,
        at: str,
        unique_key: str,
        inherited: dict[str, ObjectClass],
        folder: Any,
    ) -> ObjectClass:
        from .objects import ObjectClass

        existing = self.classes.get(unique_key) or inherited.pop(unique_key, None)
        if existing is not None and existing.class_name == binding.class_name:
            existing.host = self.object_host  # a config reload: keep objects and their storage
            existing.host_spawn = self._spawn
            existing.where = f"{at}.class_name"
            self.classes[unique_key] = existing
            return existing
        if existing is not None:
            existing.close()
        if self.pool is None:
            from .database import DatabasePool

            self.pool = DatabasePool()
        owner = ObjectClass(
            binding.class_name,
            unique_key,
            f"{at}.class_name",
            self.object_host,
            None if folder is None else folder / unique_key,
            self.pool,
            self._spawn,
        )
        self.classes[unique_key] = owner
        return owner

    def _spawn(self, awaitable: Awaitable[Any]) -> Any:
        async def background() -> None:
            try:
                await awaitable
            except Exception:
                log.exception("A waitUntil() task failed")

        return spawn(self.host.clock, background())

    def env_values(self) -> Mapping[str, Any]:
        return self.namespaces

    def handle(self) -> DurableObjectsHandle:
        if self._handle is None:
            from .handle import DurableObjectsHandle

            self._handle = DurableObjectsHandle(self)
        return self._handle

    async def start(self) -> None:
        for owner in self.classes.values():
            owner.alarms.start()

    def worker_changed(self, worker: Worker | None) -> None:
        for owner in self.classes.values():
            owner.drop_instances()
        if worker is None:
            return
        for owner in self.classes.values():
            if not hasattr(worker.module, owner.class_name):
                log.error(
                    '%s: %s does not define the Durable Object class "%s" (calls to it will fail)',
                    owner.where,
                    worker.path.name,
                    owner.class_name,
                )

    # pyflare check: `--drain` fires the alarms the requests set; an alarm() that raised fails.

    async def drain(self) -> list[Finding]:
        await self.handle().drain_alarms()
        return []

    def judge(self, *, drained: bool, logged: LoggedError) -> list[Finding]:
        from .alarms import ALARM_FAILED

        failures = self.handle().alarm_failures
        if not failures:
            return []
        return [
            Finding(
                f"{len(failures)} Durable Object alarm() run(s) raised (see the log)",
                kind="request",
                details=logged(ALARM_FAILED),
            )
        ]

    async def stop(self) -> None:
        for owner in self.classes.values():
            owner.alarms.stop()

    async def close(self, *, keep_state: bool = False) -> None:
        if not keep_state:
            for owner in self.classes.values():
                owner.close()


class DurableObjectsBinding(BindingType):
    name = "durable_objects"
    config_keys = ("durable_objects", "migrations")
    runtime_attribute = "durable_objects"
    explorer_view = "miniflare_py.explorer.views.durable_objects:DurableObjectsView"
    exports = (DurableObjectBindingConfig,)

    def empty(self) -> DurableObjectsSection:
        return DurableObjectsSection()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> DurableObjectsSection:
        return parse_durable_objects(reader, section, where)

    def choose(
        self, top: DurableObjectsSection, own: DurableObjectsSection | None
    ) -> DurableObjectsSection:
        # Bindings are per environment; the migration history belongs to the worker.
        if own is None:
            return DurableObjectsSection(migrations=top.migrations)
        if own.migrations is None:
            return DurableObjectsSection(own.bindings, own.paths, top.migrations)
        return own

    def binding_names(self, parsed: DurableObjectsSection) -> list[tuple[str, str]]:
        return [(f"{at}.name", b.name) for at, b in zip(parsed.paths, parsed.bindings, strict=True)]

    def check(self, reader: Any, parsed: DurableObjectsSection, config: Mapping[str, Any]) -> None:
        check_durable_objects(reader, parsed)

    def open(
        self, host: BindingHost, parsed: DurableObjectsSection, previous: BindingInstance | None
    ) -> DurableObjectsInstance:
        return DurableObjectsInstance(
            host, parsed, previous if isinstance(previous, DurableObjectsInstance) else None
        )
