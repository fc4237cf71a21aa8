"""The binding types pyflare emulates: adding one is one line here and its own package."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from .base import BindingType

__all__ = ["binding_types", "config_export", "emulated_keys"]

#: `module:class` of each binding type, in the order their objects are opened.
_BINDING_TYPES = (
    "miniflare_py.d1.binding:D1Binding",
    "miniflare_py.queues.binding:QueuesBinding",
    "miniflare_py.durable_objects.binding:DurableObjectsBinding",
    "miniflare_py.r2.binding:R2Binding",
    "miniflare_py.assets.binding:AssetsBinding",
    "miniflare_py.kv.binding:KvBinding",
    "miniflare_py.version_metadata.binding:VersionMetadataBinding",
    "miniflare_py.ratelimit.binding:RateLimitBinding",
    "miniflare_py.analytics_engine.binding:AnalyticsEngineBinding",
    "miniflare_py.ai.binding:AiBinding",
)


@functools.cache
def binding_types() -> tuple[BindingType, ...]:
    """One instance of every registered binding type (imported on first use, so that loading
    `miniflare_py.config` stays cheap and free of import cycles)."""
    found: list[BindingType] = []
    for spec in _BINDING_TYPES:
        module, _, name = spec.partition(":")
        found.append(getattr(importlib.import_module(module), name)())
    return tuple(found)


@functools.cache
def emulated_keys() -> frozenset[str]:
    """Every wrangler key some registered binding type reads."""
    return frozenset(key for t in binding_types() for key in t.config_keys)


def config_export(name: str) -> Any:
    """A config class a binding type exports (`QueueConsumerConfig`), by name."""
    for binding_type in binding_types():
        for exported in binding_type.exports:
            if exported.__name__ == name:
                return exported
    raise AttributeError(name)
