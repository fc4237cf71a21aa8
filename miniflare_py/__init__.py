"""pyflare: a local emulator of Cloudflare Workers, Queues and D1 for Workers written in Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import Miniflare

__all__ = ["Miniflare"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Imported on first use, so `import miniflare_py.config` stays cheap for the CLI.
    if name == "Miniflare":
        from .runtime import Miniflare

        return Miniflare
    raise AttributeError(f"module 'miniflare_py' has no attribute {name!r}")
