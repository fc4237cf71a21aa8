"""The Workers AI models pyflare knows, each with its task and the shape of its inputs and output.

The names are Cloudflare's model ids; the list follows the model catalogue Cloudflare publishes
(the `AiModels` map of workerd's `types/defines/ai.d.ts` and the Workers AI models pages). A
name not listed here is unknown to the binding, as an unknown name is on Cloudflare
(`5007: No such model ... or task`), unless a test declares it with `mf.ai.respond()`.

`family` says which input schema and output shape a model shares with others:

| family | inputs | output |
|---|---|---|
| `classic` | `prompt` or `messages` | `{response, tool_calls, usage}`, or SSE with `stream` |
| `chat` | `messages` (or `prompt`) | OpenAI's chat completion (text completion for `prompt`) |
| `gpt-oss` | `input`/`instructions` (Responses) or `messages` | Responses or chat completion |
| `guard` | `messages` | `{response: {safe, categories}, usage}` |
| `embeddings` | `text` (one or many) | `{shape, data, pooling}` |
| `embeddings-m3` | `text`, or `query` + `contexts` | embeddings, or `{response: [{id, score}]}` |
| `embeddings-qwen3` | `text`, `queries`, `documents` | `{shape, data}` |
| `rerank` | `query` + `contexts` | `{response: [{id, score}]}` |
| `classification` | `text` | `[{label, score}]` |
| `translation` | `text`, `source_lang`, `target_lang` | `{translated_text}` |
| `indictrans` | `text` (one or many), `target_language` | `{translations}` |
| `summarization` | `input_text`, `max_length` | `{summary}` |
| `image-to-text` | `image` (+ `prompt`) | `{description}` |
| `image-classification` | `image` | `[{label, score}]` |
| `object-detection` | `image` | `[{label, score, box}]` |
| `sd` | `prompt`, `width`, `height`, ... | PNG bytes (a stream) |
| `flux` / `leonardo` | `prompt`, `steps` ... | `{image: <base64>}` (phoenix: image bytes) |
| `not-emulated` | | speech, audio and multipart models: answered only by `mf.ai.respond()` |
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["TASKS", "ModelInfo", "all_models", "lookup"]

#: pyflare's task keys and the task names Cloudflare's catalogue shows.
TASKS: Final[dict[str, str]] = {
    "text-generation": "Text Generation",
    "text-embeddings": "Text Embeddings",
    "text-classification": "Text Classification",
    "translation": "Translation",
    "summarization": "Summarization",
    "image-to-text": "Image-to-Text",
    "text-to-image": "Text-to-Image",
    "image-classification": "Image Classification",
    "object-detection": "Object Detection",
    "automatic-speech-recognition": "Automatic Speech Recognition",
    "text-to-speech": "Text-to-Speech",
    "voice-activity-detection": "Voice Activity Detection",
}


@dataclass(frozen=True)
class ModelInfo:
    """One model: its id, task key (`TASKS`), family (see the module docstring) and the few
    facts the local backend needs."""

    name: str
    task: str
    family: str
    #: Embedding models: the length of each vector.
    dimension: int = 0
    #: Whether the schema also accepts `{requests: [...]}` (the asynchronous batch API).
    batch: bool = False
    #: Text-to-image models: "stream" (image bytes) or "base64" (`{image: ...}`).
    image_output: str = "stream"
    #: Text models whose messages may hold a list of content parts (text and images).
    content_parts: bool = False

    @property
    def task_name(self) -> str:
        return TASKS.get(self.task, self.task)


def _models() -> Iterator[ModelInfo]:
    gen = "text-generation"
    classic = (
        "@cf/meta/llama-2-7b-chat-int8",
        "@cf/meta/llama-2-7b-chat-fp16",
        "@hf/thebloke/llama-2-13b-chat-awq",
        "@cf/meta-llama/llama-2-7b-chat-hf-lora",
        "@cf/mistral/mistral-7b-instruct-v0.1",
        "@hf/thebloke/mistral-7b-instruct-v0.1-awq",
        "@hf/mistral/mistral-7b-instruct-v0.2",
        "@cf/mistral/mistral-7b-instruct-v0.2-lora",
        "@hf/thebloke/zephyr-7b-beta-awq",
        "@hf/thebloke/openhermes-2.5-mistral-7b-awq",
        "@hf/thebloke/neural-chat-7b-v3-1-awq",
        "@hf/thebloke/deepseek-coder-6.7b-base-awq",
        "@hf/thebloke/deepseek-coder-6.7b-instruct-awq",
        "@hf/thebloke/llamaguard-7b-awq",
        "@cf/deepseek-ai/deepseek-math-7b-instruct",
        "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
        "@cf/defog/sqlcoder-7b-2",
        "@cf/openchat/openchat-3.5-0106",
        "@cf/tiiuae/falcon-7b-instruct",
        "@cf/thebloke/discolm-german-7b-v1-awq",
        "@cf/qwen/qwen1.5-0.5b-chat",
        "@cf/qwen/qwen1.5-1.8b-chat",
        "@cf/qwen/qwen1.5-7b-chat-awq",
        "@cf/qwen/qwen1.5-14b-chat-awq",
        "@cf/qwen/qwen2.5-coder-32b-instruct",
        "@cf/qwen/qwq-32b",
        "@cf/tinyllama/tinyllama-1.1b-chat-v1.0",
        "@cf/microsoft/phi-2",
        "@hf/nousresearch/hermes-2-pro-mistral-7b",
        "@hf/nexusflow/starling-lm-7b-beta",
        "@hf/google/gemma-7b-it",
        "@cf/google/gemma-2b-it-lora",
        "@cf/google/gemma-7b-it-lora",
        "@cf/google/gemma-3-12b-it",
        "@cf/fblgit/una-cybertron-7b-v2-bf16",
        "@hf/meta-llama/meta-llama-3-8b-instruct",
        "@cf/meta/llama-3-8b-instruct",
        "@cf/meta/llama-3-8b-instruct-awq",
        "@cf/meta/llama-3.1-8b-instruct",
        "@cf/meta/llama-3.1-8b-instruct-fast",
        "@cf/meta/llama-3.1-8b-instruct-fp8",
        "@cf/meta/llama-3.1-8b-instruct-awq",
        "@cf/meta/llama-3.1-70b-instruct",
        "@cf/meta/llama-3.2-1b-instruct",
        "@cf/meta/llama-3.2-3b-instruct",
        "@cf/meta/llama-3.2-11b-vision-instruct",
        "@cf/meta/llama-4-scout-17b-16e-instruct",
        "@cf/mistralai/mistral-small-3.1-24b-instruct",
        "@cf/ibm-granite/granite-4.0-h-micro",
    )
    multimodal = (
        "@cf/meta/llama-3.2-11b-vision-instruct",
        "@cf/meta/llama-4-scout-17b-16e-instruct",
        "@cf/mistralai/mistral-small-3.1-24b-instruct",
        "@cf/google/gemma-3-12b-it",
    )
    for name in classic:
        yield ModelInfo(name, gen, "classic", content_parts=name in multimodal)
    yield ModelInfo("@cf/meta/llama-3.3-70b-instruct-fp8-fast", gen, "classic", batch=True)
    for name in ("@cf/qwen/qwen3-30b-a3b-fp8", "@cf/aisingapore/gemma-sea-lion-v4-27b-it"):
        yield ModelInfo(name, gen, "chat", batch=True)
    for name in (
        "@cf/zai-org/glm-4.7-flash",
        "@cf/moonshotai/kimi-k2.5",
        "@cf/moonshotai/kimi-k2.6",
        "@cf/nvidia/nemotron-3-120b-a12b",
        "@cf/google/gemma-4-26b-a4b-it",
    ):
        yield ModelInfo(name, gen, "chat")
    for name in ("@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"):
        yield ModelInfo(name, gen, "gpt-oss")
    yield ModelInfo("@cf/meta/llama-guard-3-8b", gen, "guard")

    emb = "text-embeddings"
    for name, dimension in (
        ("@cf/baai/bge-small-en-v1.5", 384),
        ("@cf/baai/bge-base-en-v1.5", 768),
        ("@cf/baai/bge-large-en-v1.5", 1024),
    ):
        yield ModelInfo(name, emb, "embeddings", dimension=dimension, batch=True)
    yield ModelInfo("@cf/google/embeddinggemma-300m", emb, "embeddings", dimension=768)
    yield ModelInfo("@cf/pfnet/plamo-embedding-1b", emb, "embeddings", dimension=2048)
    yield ModelInfo("@cf/baai/bge-m3", emb, "embeddings-m3", dimension=1024, batch=True)
    yield ModelInfo("@cf/qwen/qwen3-embedding-0.6b", emb, "embeddings-qwen3", dimension=1024)

    yield ModelInfo(
        "@cf/huggingface/distilbert-sst-2-int8", "text-classification", "classification"
    )
    yield ModelInfo("@cf/baai/bge-reranker-base", "text-classification", "rerank", dimension=768)
    yield ModelInfo("@cf/meta/m2m100-1.2b", "translation", "translation", batch=True)
    yield ModelInfo("@cf/ai4bharat/indictrans2-en-indic-1B", "translation", "indictrans")
    yield ModelInfo("@cf/facebook/bart-large-cnn", "summarization", "summarization")
    for name in ("@cf/llava-hf/llava-1.5-7b-hf", "@cf/unum/uform-gen2-qwen-500m"):
        yield ModelInfo(name, "image-to-text", "image-to-text")
    yield ModelInfo("@cf/microsoft/resnet-50", "image-classification", "image-classification")
    yield ModelInfo("@cf/facebook/detr-resnet-50", "object-detection", "object-detection")

    image = "text-to-image"
    for name in (
        "@cf/stabilityai/stable-diffusion-xl-base-1.0",
        "@cf/bytedance/stable-diffusion-xl-lightning",
        "@cf/lykon/dreamshaper-8-lcm",
        "@cf/runwayml/stable-diffusion-v1-5-img2img",
        "@cf/runwayml/stable-diffusion-v1-5-inpainting",
    ):
        yield ModelInfo(name, image, "sd")
    yield ModelInfo("@cf/black-forest-labs/flux-1-schnell", image, "flux", image_output="base64")
    yield ModelInfo("@cf/leonardo/lucid-origin", image, "leonardo", image_output="base64")
    yield ModelInfo("@cf/leonardo/phoenix-1.0", image, "leonardo")
    for name in (
        "@cf/black-forest-labs/flux-2-dev",
        "@cf/black-forest-labs/flux-2-klein-4b",
        "@cf/black-forest-labs/flux-2-klein-9b",
    ):
        yield ModelInfo(name, image, "not-emulated")

    for name in (
        "@cf/openai/whisper",
        "@cf/openai/whisper-tiny-en",
        "@cf/openai/whisper-large-v3-turbo",
        "@cf/deepgram/nova-3",
        "@cf/deepgram/flux",
    ):
        yield ModelInfo(name, "automatic-speech-recognition", "not-emulated")
    for name in (
        "@cf/myshell-ai/melotts",
        "@cf/deepgram/aura-1",
        "@cf/deepgram/aura-2-en",
        "@cf/deepgram/aura-2-es",
    ):
        yield ModelInfo(name, "text-to-speech", "not-emulated")
    yield ModelInfo("@cf/pipecat-ai/smart-turn-v2", "voice-activity-detection", "not-emulated")


_CATALOGUE: Final[dict[str, ModelInfo]] = {model.name: model for model in _models()}


def lookup(name: str) -> ModelInfo | None:
    """The model called `name`, or None when Cloudflare lists no such model."""
    return _CATALOGUE.get(name)


def all_models() -> list[ModelInfo]:
    """Every model pyflare knows, in catalogue order."""
    return list(_CATALOGUE.values())
