"""Workers AI's errors, as the binding raises them (workerd's `ai-api.ts`).

The binding turns an upstream error body into an `InferenceUpstreamError` whose message is
`<internal code>: <description>` and whose name is the body's `name` ("AiError" for the errors
Cloudflare documents), so a Python Worker sees e.g.
`AiError: 5007: No such model @cf/x/y or task`. Mistakes in the call itself (more than one
stream input, an option the binding rejects) are `AiInternalError`s.
"""

from __future__ import annotations

from typing import Final

from .sdk import JsException

__all__ = [
    "DOCUMENTED_ERRORS",
    "AiInternalError",
    "AiNotEmulatedError",
    "InferenceUpstreamError",
    "bad_input",
    "no_such_model",
    "upstream_error",
]

#: Cloudflare's documented Workers AI errors: internal code -> (HTTP status, description).
DOCUMENTED_ERRORS: Final[dict[int, tuple[int, str]]] = {
    5007: (400, "No such model {model} or task"),
    5004: (400, "Invalid data type for base64 input: {type}"),
    3039: (400, "Finetune is missing required files (model.safetensors and config.json)"),
    3003: (400, "Request is missing headers or body: {what}"),
    5018: (403, "The account is not allowed to access this model"),
    5016: (403, "User has not agreed to Llama3.2 model terms"),
    3023: (403, "Service unavailable for account"),
    3041: (403, "The account is not allowed to access this model"),
    5019: (405, "Request trying to use deprecated SDK version"),
    5005: (405, "The model {model} does not support LoRa inference"),
    3042: (404, "The model name is invalid"),
    3006: (413, "Request is too large"),
    3007: (408, "Request timeout"),
    3008: (408, "Request was aborted"),
    3036: (
        429,
        "You have used up your daily free allocation of 10,000 neurons. Please upgrade to "
        "Cloudflare's Workers Paid plan if you would like to continue usage.",
    ),
    3040: (429, "No more data centers to forward the request to"),
}


class InferenceUpstreamError(JsException):
    """An error the Workers AI service answered with. `code` is Cloudflare's internal code
    (5007, 3040, ...) and `status` the HTTP status, when known."""

    def __init__(
        self,
        message: str,
        name: str = "InferenceUpstreamError",
        *,
        code: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(name, message)
        self.code = code
        self.status = status


class AiInternalError(JsException):
    """A call the binding itself refuses, before anything is sent."""

    def __init__(self, message: str, name: str = "AiInternalError") -> None:
        super().__init__(name, message)


class AiNotEmulatedError(InferenceUpstreamError):
    """A model Cloudflare runs but pyflare's local backend cannot answer (speech, audio,
    multipart inputs ...): a test answers it with `mf.ai.respond()`."""

    def __init__(self, model: str, task: str) -> None:
        super().__init__(
            f"pyflare does not emulate {model} ({task}) offline; answer it in tests with "
            f"mf.ai.respond({model!r}, output), or point PYFLARE_AI_BASE_URL at a model server",
            "AiNotEmulatedError",
        )


def upstream_error(code: int, **fields: str) -> InferenceUpstreamError:
    """The documented error `code` (e.g. 3040), as the binding raises it."""
    status, description = DOCUMENTED_ERRORS[code]
    for key, value in fields.items():
        description = description.replace("{" + key + "}", value)
    return InferenceUpstreamError(f"{code}: {description}", "AiError", code=code, status=status)


def no_such_model(model: str) -> InferenceUpstreamError:
    """`AiError: 5007: No such model <model> or task`."""
    return upstream_error(5007, model=model)


def bad_input(problem: str) -> InferenceUpstreamError:
    """A schema violation: `AiError: 5006: Error: <problem>` (HTTP 400)."""
    return InferenceUpstreamError(f"5006: Error: {problem}", "AiError", code=5006, status=400)
