"""Errors a producer raises, mirroring the JavaScript error classes the edge throws."""

from __future__ import annotations

__all__ = ["QueueSendError", "QueueSendTypeError"]


class QueueSendError(Exception):
    """`send()` / `sendBatch()` was refused (a JavaScript `Error` on Cloudflare).

    Raised before anything is stored. Size limits and injected failures raise this class.
    """


class QueueSendTypeError(QueueSendError, TypeError):
    """A send with a bad argument (a JavaScript `TypeError` on Cloudflare): an undefined body,
    an unknown content type, a body of the wrong type, an empty `sendBatch()`."""
