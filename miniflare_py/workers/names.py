"""The top-level names a Python Worker imports: `workers`, `asgi`, `js` and `pyodide`.

They are pyflare's modules (`miniflare_py.workers`, `miniflare_py.workers.asgi`, ...) under the
names Cloudflare's runtime gives them. `install()` puts a finder first on `sys.meta_path` that
answers for these names and their submodules with the very same module objects (so
`workers.rpc._BindingWrapper is miniflare_py.workers.rpc._BindingWrapper`), and renames the
modules, so errors read `cannot import name 'x' from 'workers'`. pyflare installs it when it
loads a worker and for a pytest session that uses its plugin, never on import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

__all__ = ["PUBLIC_NAMES", "finder", "install", "installed"]

#: Public top-level name -> pyflare's module.
PUBLIC_NAMES = {
    "workers": "miniflare_py.workers",
    "asgi": "miniflare_py.workers.asgi",
    "js": "miniflare_py.workers.js",
    "pyodide": "miniflare_py.workers.pyodide",
}
# The name a shared module reports: `asgi` is `workers.asgi`, as in the SDK.
_SHOWN = {"miniflare_py.workers.asgi": "workers.asgi"}


def _real_name(fullname: str) -> str | None:
    top, dot, rest = fullname.partition(".")
    real = PUBLIC_NAMES.get(top)
    if real is None or (dot and top == "asgi"):
        return None
    return f"{real}.{rest}" if dot else real


def _show(module: ModuleType, public: str) -> None:
    module.__name__ = _SHOWN.get(module.__spec__.name if module.__spec__ else "", public)


class _AliasLoader:  # a loader (create_module/exec_module); importlib.abc is slow to import
    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.real_spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        # module_from_spec gave the module this alias spec: put its real one back, so relative
        # imports inside it keep resolving under miniflare_py.
        module.__spec__ = self.real_spec


class _PublicNamesFinder:  # a meta path finder
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        real = _real_name(fullname)
        if real is None:
            return None
        if real not in sys.modules and importlib.util.find_spec(real) is None:
            return None
        module = importlib.import_module(real)
        _show(module, fullname)
        is_package = hasattr(module, "__path__")
        loader: Any = _AliasLoader(module)  # a Loader by its methods (see above)
        return importlib.machinery.ModuleSpec(fullname, loader, is_package=is_package)


_FINDER = _PublicNamesFinder()


def finder() -> Any:
    """The finder `install()` puts on `sys.meta_path`."""
    return _FINDER


def installed() -> bool:
    return _FINDER in sys.meta_path


def install() -> None:
    """Make `workers`, `asgi`, `js` and `pyodide` (and their submodules) pyflare's.

    `workers` always becomes pyflare's (a stale or foreign one is dropped); `js` and `pyodide`
    already imported from elsewhere are left alone.
    """
    if not installed():
        sys.meta_path.insert(0, _FINDER)
    ours = importlib.import_module(PUBLIC_NAMES["workers"])
    current = sys.modules.get("workers")
    if current is not ours:
        for name in [n for n in sys.modules if n == "workers" or n.startswith("workers.")]:
            real = _real_name(name)
            if real is None or sys.modules[name] is not sys.modules.get(real):
                del sys.modules[name]
        sys.modules["workers"] = ours
        _show(ours, "workers")
