"""KV as a binding type: `[[kv_namespaces]]` -> `env.KV`, `mf.kv`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..bindings.base import BindingHost, BindingInstance, BindingType
from .config import KvNamespaceConfig, KvSection, parse_kv

if TYPE_CHECKING:
    # Namespaces and their storage are imported when a config first opens one.
    from .namespace import KvNamespace
    from .storage import KvStorage

__all__ = ["KvBinding", "KvNamespaces", "open_storage"]


def open_storage(namespace_id: str, persist_root: Path | None) -> KvStorage:
    """The storage of one namespace: Miniflare's files under `persist_root`, or in memory."""
    from .persist import blob_folder, kv_sqlite_path
    from .storage import KvStorage

    if persist_root is None:
        return KvStorage(None)
    return KvStorage(
        kv_sqlite_path(persist_root, namespace_id), blob_folder(persist_root, namespace_id)
    )


class KvNamespaces(BindingInstance):
    """The open namespaces of one worker, by binding name."""

    def __init__(self, namespaces: dict[str, KvNamespace]) -> None:
        self.namespaces = namespaces

    def env_values(self) -> Mapping[str, Any]:
        return self.namespaces

    def handle(self) -> dict[str, KvNamespace]:
        return self.namespaces

    def storages(self) -> dict[str, KvStorage]:
        """The open storages, by the namespace id that names their files."""
        return {ns.namespace_id: ns.storage for ns in self.namespaces.values()}

    async def close(self, *, keep_state: bool = False) -> None:
        if not keep_state:
            for storage in self.storages().values():
                storage.close()


class KvBinding(BindingType):
    name = "kv"
    config_keys = ("kv_namespaces",)
    runtime_attribute = "kv"
    exports = (KvNamespaceConfig,)
    cli_command = "miniflare_py.commands.kv:kv"
    explorer_view = "miniflare_py.explorer.views.kv:KvView"

    def empty(self) -> KvSection:
        return KvSection()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> KvSection:
        return parse_kv(reader, section, where)

    def binding_names(self, parsed: KvSection) -> list[tuple[str, str]]:
        return [
            (f"{at}.binding", ns.binding)
            for at, ns in zip(parsed.paths, parsed.namespaces, strict=True)
        ]

    def open(
        self, host: BindingHost, parsed: KvSection, previous: BindingInstance | None
    ) -> KvNamespaces:
        # A config reload keeps the storages whose namespace id did not change (in memory they
        # would otherwise lose their data); the others are closed. Two bindings naming one
        # namespace id share one storage, as they share one namespace on Cloudflare.
        inherited = previous.storages() if isinstance(previous, KvNamespaces) else {}
        opened: dict[str, KvStorage] = {}
        namespaces: dict[str, KvNamespace] = {}
        for ns in parsed.namespaces:
            storage = opened.get(ns.persist_id) or inherited.pop(ns.persist_id, None)
            if storage is None:
                storage = open_storage(ns.persist_id, host.persist_to)
            opened[ns.persist_id] = storage
            from .namespace import KvNamespace  # only a config with namespaces imports it

            namespaces[ns.binding] = KvNamespace(storage, host.clock, ns.binding, ns.persist_id)
        for leftover in inherited.values():
            leftover.close()
        return KvNamespaces(namespaces)
