"""The `workers` module a Python Worker imports (`from workers import Response, ...`).

Every public name of Cloudflare's Python Workers SDK (`workers-runtime-sdk` 1.9.5), with its
signatures and behaviour, plus the submodules worker code and the SDK's tests import
(`workers.rpc`, `workers.asgi`, `workers.wsgi`, `workers.workflows`, `workers.entrypoints`,
`workers.utils`, `workers.types`, `workers.gateway`). `JsDict` is pyflare's extra (the SDK has
it as `workers.rpc.JsDict`).

pyflare makes this package importable as the top-level `workers` (and `js`, `pyodide`, `asgi`
beside it, see `names.py`) only while a worker is loaded or a pyflare test session runs, so
nothing named `workers` is put on the user's path otherwise.
"""

from ._module_level import env, wait_until, waitUntil
from .blob import Blob, BlobEnding, BlobValue, File
from .entrypoints import DurableObject, WorkerEntrypoint, WorkflowEntrypoint, handler
from .fetch import fetch
from .formdata import FormData, FormDataValue
from .jsdict import JsDict
from .request import Request
from .response import FetchResponse, Response
from .rpc import python_from_rpc, python_to_rpc
from .types import Body, Context, FetchKwargs, Headers, JSBody, RequestInitCfProperties
from .utils import import_from_javascript, patch_env

__all__ = [
    "Blob",
    "BlobEnding",
    "BlobValue",
    "Body",
    "Context",
    "DurableObject",
    "FetchKwargs",
    "FetchResponse",
    "File",
    "FormData",
    "FormDataValue",
    "Headers",
    "JSBody",
    "JsDict",
    "Request",
    "RequestInitCfProperties",
    "Response",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "env",
    "fetch",
    "handler",
    "import_from_javascript",
    "patch_env",
    "python_from_rpc",
    "python_to_rpc",
    "waitUntil",
    "wait_until",
]
