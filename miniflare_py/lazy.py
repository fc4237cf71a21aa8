"""Packages whose public names are imported on first use (PEP 562), so that importing a package
(or one small module of it) does not import every module the package re-exports.

A binding package's `__init__` re-exports its whole API (`from miniflare_py.kv import
KvNamespace`), but `pyflare dev` on a worker without KV should pay for no more of it than its
config parsing. Such a package declares which submodule holds each name:

    _EXPORTS = {"KvNamespace": ".namespace", ...}
    __all__ = sorted(_EXPORTS)

    def __getattr__(name: str) -> Any:
        return load_export(__name__, _EXPORTS, name)

    def __dir__() -> list[str]:
        return export_dir(__name__, _EXPORTS)

and imports the same names under `if TYPE_CHECKING:` for the type checker.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["export_dir", "load_export"]


def load_export(package: str, exports: Mapping[str, str], name: str) -> Any:
    """The public `name` of `package`, imported from the submodule `exports` names for it, and
    kept in the package's namespace so the next lookup is an ordinary attribute read.
    AttributeError (as for any missing module attribute) for a name the package does not
    export."""
    where = exports.get(name)
    if where is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, package), name)
    setattr(sys.modules[package], name, value)
    return value


def export_dir(package: str, exports: Mapping[str, str]) -> list[str]:
    """`dir(package)`: what it holds so far, and every name it exports (imported or not)."""
    return sorted({*vars(sys.modules[package]), *exports})
