"""The `workers` module a Python Worker imports (`from workers import Response, ...`).

pyflare installs this package as `sys.modules["workers"]` while it runs a worker, so the same file
runs unchanged here and on Cloudflare, and nothing named `workers` is put on the user's path.
"""

from ..durable_objects.entrypoint import DurableObject
from .entrypoint import WorkerEntrypoint, handler
from .headers import Headers
from .http import Request, Response
from .jsdict import JsDict

__all__ = [
    "DurableObject",
    "Headers",
    "JsDict",
    "Request",
    "Response",
    "WorkerEntrypoint",
    "handler",
]
