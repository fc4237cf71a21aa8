"""`workers.workflows`: names a Workflow's code uses."""

from __future__ import annotations

__all__ = ["NonRetryableError"]


class NonRetryableError(Exception):
    """Raise in a Workflow step to fail it without the retries its config allows."""
