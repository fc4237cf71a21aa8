"""Logging for lines the engine writes on every batch or request.

`logging.Logger.info()` looks up the caller's file and line by walking the stack, which costs
more than delivering a small batch. These lines do not need a caller, so they skip it.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["log_fast"]


def log_fast(logger: logging.Logger, level: int, msg: str, *args: Any) -> None:
    """Log `msg % args` at `level` on `logger`, without the caller lookup."""
    if logger.isEnabledFor(level):
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, args, None))
