"""Errors a Durable Object's code can meet, with workerd's texts."""

from __future__ import annotations

__all__ = [
    "DurableObjectAbort",
    "DurableObjectError",
    "DurableObjectNotFoundError",
    "SqlStorageError",
]


class DurableObjectError(Exception):
    """A Durable Object call failed for a reason of the runtime (not of the object's code)."""


class DurableObjectNotFoundError(DurableObjectError):
    """The worker module does not define the class a binding names."""


class SqlStorageError(DurableObjectError):
    """`ctx.storage.sql.exec()` failed: `<sqlite message>: SQLITE_<CODE>`, as workerd says."""


class DurableObjectAbort(BaseException):
    """Raised by `ctx.abort()`: a BaseException, so `except Exception` cannot swallow it."""
