"""Binding types a wrangler config may name that this pyflare version does not emulate.

Each is reported once at start ("kv_namespaces: binding KV is not emulated by this pyflare
version") and put into `env` as an `UnemulatedBinding`, so a worker that touches it gets an
error naming the config key instead of an `AttributeError` about `Env`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "BINDING_KEYS",
    "INHERITED_KEYS",
    "BindingNotEmulatedError",
    "UnemulatedBinding",
    "not_emulated_message",
    "unemulated_bindings",
]

#: Wrangler's top-level keys that define env bindings. The registry's binding types take theirs
#: out of this set; the rest are reported as not emulated.
BINDING_KEYS: Final = frozenset(
    {
        "ai",
        "ai_search",
        "ai_search_namespaces",
        "analytics_engine_datasets",
        "artifacts",
        "assets",
        "browser",
        "d1_databases",
        "data_blobs",
        "dispatch_namespaces",
        "durable_objects",
        "flagship",
        "hyperdrive",
        "images",
        "kv_namespaces",
        "logfwdr",
        "media",
        "mtls_certificates",
        "pipelines",
        "queues",
        "r2_buckets",
        "ratelimits",
        "secrets_store_secrets",
        "send_email",
        "services",
        "text_blobs",
        "vectorize",
        "version_metadata",
        "vpc_networks",
        "vpc_services",
        "wasm_modules",
        "worker_loaders",
        "workflows",
    }
)

#: Binding keys an `[env.NAME]` section inherits from the top level, as in wrangler.
INHERITED_KEYS: Final = frozenset({"assets", "logfwdr"})

# Keys whose value is a table of `NAME = "path"` rather than entries with a `binding` key.
_NAME_TABLES: Final = frozenset({"text_blobs", "data_blobs", "wasm_modules"})


class BindingNotEmulatedError(RuntimeError):
    """A worker used a binding whose type pyflare does not emulate."""


class UnemulatedBinding:
    """Stands in `env` for a binding pyflare does not emulate; every use raises."""

    __pyflare_unemulated__ = True

    def __init__(self, key: str, name: str) -> None:
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_name", name)

    @property
    def message(self) -> str:
        return not_emulated_message(self._key, self._name)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)  # keep copy, pickle and inspect working
        raise BindingNotEmulatedError(f"env.{self._name}.{attribute}: {self.message}")

    def __setattr__(self, attribute: str, value: Any) -> None:
        raise BindingNotEmulatedError(f"env.{self._name}.{attribute}: {self.message}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise BindingNotEmulatedError(f"env.{self._name}(): {self.message}")

    def __repr__(self) -> str:
        return f"<UnemulatedBinding {self._key}: {self._name}>"


def _names(key: str, value: Any) -> list[str]:
    """The env names one binding key defines, from its raw config value."""
    if key in _NAME_TABLES:
        return [k for k in value if isinstance(k, str)] if isinstance(value, Mapping) else []
    if isinstance(value, Mapping):
        if isinstance(value.get("bindings"), list):
            return _names(key, value["bindings"])
        name = value.get("binding", value.get("name"))
        return [name] if isinstance(name, str) and name else []
    if isinstance(value, list):
        return [n for item in value for n in _names(key, item) if isinstance(item, Mapping)]
    return []


def unemulated_bindings(
    section: Mapping[str, Any], emulated: frozenset[str]
) -> list[tuple[str, str | None]]:
    """`(key, name)` of each binding in `section` whose key is not in `emulated`, in file order.

    A key that defines no env name (an `[assets]` table without `binding`) comes with None: it
    still changes what the worker does on Cloudflare, so it is reported too.
    """
    found: list[tuple[str, str | None]] = []
    for key, value in section.items():
        if key not in BINDING_KEYS or key in emulated:
            continue
        names: list[str | None] = list(_names(key, value))
        found.extend((key, name) for name in names or [None])
    return found


def not_emulated_message(key: str, name: str | None) -> str:
    """The one line reported at start for an unemulated binding."""
    if name is None:
        return f"{key}: not emulated by this pyflare version"
    return f"{key}: binding {name} is not emulated by this pyflare version"
