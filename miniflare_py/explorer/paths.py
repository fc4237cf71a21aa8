"""Where the Local Explorer answers, for the server to route and log its requests without
importing the explorer itself (that waits for the first request to one of these paths)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["EXPLORER_PATH", "OLD_EXPLORER_PATH", "is_explorer_path", "is_quiet"]

EXPLORER_PATH = "/cdn-cgi/local/explorer"
OLD_EXPLORER_PATH = "/cdn-cgi/explorer"


def is_explorer_path(path: str) -> bool:
    """Whether the explorer's routes are the ones that may answer `path` (the page, its files,
    its API, and the redirect from the older address)."""
    return path.startswith((EXPLORER_PATH, OLD_EXPLORER_PATH))


def is_quiet(scope: Mapping[str, Any]) -> bool:
    """Whether the server leaves this request out of its log: the page's own reads (it polls
    every second); what changes state is logged like any request."""
    return scope["method"] in ("GET", "HEAD") and scope["path"].startswith(EXPLORER_PATH)
