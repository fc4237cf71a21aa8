"""Workers AI for Python workers, offline: `env.AI.run(model, inputs, options)` with
Cloudflare's model names, input checks, output shapes and errors, answered by a deterministic
local backend or by an OpenAI-compatible model server (ollama, llama.cpp, vLLM)."""

from .binding import Ai, AiBinding
from .catalogue import ModelInfo, all_models, lookup
from .errors import AiInternalError, AiNotEmulatedError, InferenceUpstreamError
from .handle import AiCall, AiHandle

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
