"""Workers AI for Python workers, offline: `env.AI.run(model, inputs, options)` with
Cloudflare's model names, input checks, output shapes and errors, answered by a deterministic
local backend or by an OpenAI-compatible model server (ollama, llama.cpp, vLLM)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .binding import AiBinding
    from .catalogue import ModelInfo, all_models, lookup
    from .env_binding import Ai
    from .errors import AiInternalError, AiNotEmulatedError, InferenceUpstreamError
    from .handle import AiCall, AiHandle

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "Ai": ".env_binding",
    "AiBinding": ".binding",
    "AiCall": ".handle",
    "AiHandle": ".handle",
    "AiInternalError": ".errors",
    "AiNotEmulatedError": ".errors",
    "InferenceUpstreamError": ".errors",
    "ModelInfo": ".catalogue",
    "all_models": ".catalogue",
    "lookup": ".catalogue",
}

__all__ = [
    "Ai",
    "AiBinding",
    "AiCall",
    "AiHandle",
    "AiInternalError",
    "AiNotEmulatedError",
    "InferenceUpstreamError",
    "ModelInfo",
    "all_models",
    "lookup",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
