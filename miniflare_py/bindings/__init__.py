"""Bindings as plug-ins: the interface every binding type implements, and the registry of the
types pyflare emulates (DESIGN.md section 9)."""

from .base import BindingHost, BindingInstance, BindingType, Dispatch, Finding, LoggedError
from .persist import object_id_from_name, object_sqlite_path, plugin_path
from .registry import binding_types, config_export, emulated_keys
from .unemulated import BindingNotEmulatedError, UnemulatedBinding

__all__ = [
    "BindingHost",
    "BindingInstance",
    "BindingNotEmulatedError",
    "BindingType",
    "Dispatch",
    "Finding",
    "LoggedError",
    "UnemulatedBinding",
    "binding_types",
    "config_export",
    "emulated_keys",
    "object_id_from_name",
    "object_sqlite_path",
    "plugin_path",
]
