"""The explorer's views of each binding type, found through the binding registry."""

from __future__ import annotations

import functools
import importlib

from ...bindings import binding_types
from .base import BindingView

__all__ = ["BindingView", "binding_views"]


@functools.cache
def binding_views() -> tuple[type[BindingView], ...]:
    """The view class of every registered binding type that names one, in registry order."""
    found: list[type[BindingView]] = []
    for binding_type in binding_types():
        spec = getattr(binding_type, "explorer_view", None)
        if not spec:
            continue
        module, _, name = spec.partition(":")
        view = getattr(importlib.import_module(module), name)
        view.binding_type = binding_type.name
        found.append(view)
    return tuple(found)
