"""KV's errors, with the texts workerd (and the KV service behind it, as Miniflare answers for
it) gives a worker.

A worker sees three kinds: `TypeError` for an argument workerd refuses before any request
("Key name cannot be empty."), `KvError` (JavaScript's plain `Error`) for what the KV service
refuses ("KV PUT failed: 413 Value length of ... exceeds limit of 26214400."), and
`KvSyntaxError` when a value read with `type="json"` is not JSON.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "PUT_VALUE_TYPES",
    "UNKNOWN_TYPE",
    "KvError",
    "KvSyntaxError",
    "failed",
    "not_of_type",
]

UNKNOWN_TYPE: Final = (
    'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".'
)
PUT_VALUE_TYPES: Final = (
    "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values."
)


class KvError(Exception):
    """A KV call the KV service refused; `str(error)` is the exact text a worker sees
    (e.g. ``KV PUT failed: 400 Invalid expiration_ttl of 5. Expiration TTL must be at least
    60.``)."""


class KvSyntaxError(ValueError):
    """A value read as JSON is not JSON (JavaScript's `SyntaxError` from `JSON.parse`)."""


def failed(method: str, status: int, message: str) -> KvError:
    """`KV <METHOD> failed: <status> <message>`, as workerd words a refused request."""
    return KvError(f"KV {method} failed: {status} {message}")


def not_of_type(method: str, position: int, type_name: str) -> TypeError:
    """workerd's TypeError for an options argument that is not an object."""
    return TypeError(
        f"Failed to execute '{method}' on 'KvNamespace': parameter {position} is not of type "
        f"'{type_name}'."
    )
