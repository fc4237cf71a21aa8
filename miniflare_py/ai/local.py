"""The deterministic local backend: every supported model answered offline, in microseconds,
with the documented output shape, and the same answer for the same model and input.

What each answer is made of (it is a stand-in for a model, not a model):

- text generation: `generation.generate` (key terms of the question, then filler words);
- embeddings: hashed word and trigram features (`embeddings`), unit length, the model's
  dimension; reranking scores are cosine similarities of such vectors;
- sentiment (distilbert-sst-2): a small word list, scores summing to 1;
- translation: the text marked with the target language (`[es] Hello`), unchanged when
  source and target agree; summarization: the leading sentences within `max_length` words;
- image to text: the image's format and size read from its header; image classification and
  object detection: labels picked by hashing the bytes;
- text to image: a gradient PNG of the asked size whose colours hash the prompt.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

from .catalogue import ModelInfo
from .conversation import Conversation
from .embeddings import cosine, embed
from .errors import AiNotEmulatedError, upstream_error
from .generation import Generation, count_tokens, digest, generate, key_terms
from .images import image_info, png

__all__ = ["LocalBackend", "image_bytes"]

_POSITIVE_TEXT = """\
    good great excellent amazing awesome love loved lovely like liked nice happy glad wonderful
    fantastic best better brilliant enjoy enjoyed pleasant perfect beautiful fine helpful
    recommend superb delightful positive fun fast easy win works worked thanks"""
_POSITIVE: Final = frozenset(_POSITIVE_TEXT.split())
_NEGATIVE_TEXT = """\
    bad terrible awful horrible hate hated dislike poor worst worse sad angry annoying broken
    bug buggy slow ugly boring useless disappointing disappointed fail failed failure wrong
    problem negative painful difficult hard crash crashed refund never"""
_NEGATIVE: Final = frozenset(_NEGATIVE_TEXT.split())
_NEGATIONS: Final = frozenset({"not", "no", "never", "don't", "isn't", "wasn't", "can't"})

_IMAGE_LABELS: Final = (
    "tabby cat",
    "golden retriever",
    "sports car",
    "coffee mug",
    "laptop",
    "mountain bike",
    "daisy",
    "seashore",
    "pizza",
    "teddy bear",
    "street sign",
    "tennis ball",
    "wall clock",
    "acoustic guitar",
    "sunglasses",
    "umbrella",
)
_OBJECT_LABELS: Final = ("person", "cat", "dog", "car", "bicycle", "chair", "cup", "book")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_DEFAULT_SIDE = {"sd": 1024, "leonardo": 1024, "flux": 1024}
_SMALL_SD = ("dreamshaper", "v1-5")


def image_bytes(value: Any) -> bytes:
    """An `image` input as bytes: a list of byte values, bytes, or a base64 string (a data URL
    too)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    to_bytes = getattr(value, "to_bytes", None)
    if callable(to_bytes) and not isinstance(value, int):  # a Uint8Array
        return bytes(to_bytes())
    if isinstance(value, str):
        text = value.split(",", 1)[1] if value.startswith("data:") else value
        try:
            return base64.b64decode(text, validate=False)
        except ValueError:
            return value.encode()
    if isinstance(value, Sequence):
        return bytes(int(v) & 0xFF for v in value)
    return b""


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return []


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class LocalBackend:
    """Answers every emulated model deterministically (see the module docstring)."""

    name = "local"

    def answerer(self, model: ModelInfo) -> str:
        """Who answers `model`: this backend."""
        return self.name

    async def generate(self, model: ModelInfo, conversation: Conversation) -> Generation:
        return generate(conversation, model.name)

    async def stream(
        self, model: ModelInfo, conversation: Conversation
    ) -> AsyncIterator[str | Generation]:
        generation = generate(conversation, model.name)
        for piece in generation.pieces():
            yield piece
        yield generation

    async def answer(self, model: ModelInfo, inputs: Mapping[str, Any]) -> Any:
        """The answer of a model that is not a text generator: JSON-ready data, or `bytes`
        for a model that answers with an image."""
        method = getattr(self, "_" + model.family.replace("-", "_"), None)
        if method is None:
            raise AiNotEmulatedError(model.name, model.task_name)
        return method(model, inputs)

    async def close(self) -> None:
        pass

    # -- one method per family ------------------------------------------------------------------

    def _embeddings(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        texts = _texts(inputs.get("text"))
        data = [embed(text, model.dimension) for text in texts]
        return {
            "shape": [len(data), model.dimension],
            "data": data,
            "pooling": inputs.get("pooling") or "mean",
        }

    def _embeddings_m3(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if "contexts" in inputs:
            return self._rerank(model, inputs)
        texts = _texts(inputs.get("text"))
        data = [embed(text, model.dimension) for text in texts]
        return {"shape": [len(data), model.dimension], "data": data, "pooling": "cls"}

    def _embeddings_qwen3(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        instruction = inputs.get("instruction") or ""
        texts = _texts(inputs.get("text"))
        texts += [f"{instruction} {q}".strip() for q in _texts(inputs.get("queries"))]
        texts += _texts(inputs.get("documents"))
        if not texts:
            raise upstream_error(3003, what="no text, queries or documents")
        data = [embed(text, model.dimension) for text in texts]
        return {"shape": [len(data), model.dimension], "data": data}

    def _rerank(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        dimension = model.dimension or 768
        query = embed(str(inputs.get("query") or ""), dimension)
        scored = []
        for index, context in enumerate(inputs.get("contexts") or ()):
            text = str(context.get("text") or "") if isinstance(context, Mapping) else ""
            # Cosine similarity in [-1, 1], spread into a probability-like score.
            score = _sigmoid(6.0 * cosine(query, embed(text, dimension)) - 1.5)
            scored.append({"id": index, "score": score})
        scored.sort(key=lambda item: (-item["score"], item["id"]))
        top_k = inputs.get("top_k")
        return {"response": scored[:top_k] if isinstance(top_k, int) else scored}

    def _classification(self, model: ModelInfo, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        text = str(inputs["text"])
        balance = 0.0
        negate = False
        for word in re.findall(r"[\w']+", text.lower()):
            if word in _NEGATIONS:
                negate = True
                continue
            value = 1.0 if word in _POSITIVE else -1.0 if word in _NEGATIVE else 0.0
            balance += -value if negate and value else value
            if value:
                negate = False
        # A text with no telling words leans one way or the other, but only a little.
        lean = (digest(model.name + "\x1f" + text)[0] - 127.5) / 255.0
        positive = _sigmoid(2.0 * balance + lean)
        return [
            {"label": "NEGATIVE", "score": 1.0 - positive},
            {"label": "POSITIVE", "score": positive},
        ]

    def _translation(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        text = str(inputs["text"])
        source = str(inputs.get("source_lang") or "en")
        target = str(inputs["target_lang"])
        same = source.lower() == target.lower()
        return {"translated_text": text if same else f"[{target}] {text}"}

    def _indictrans(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        target = str(inputs["target_language"])
        return {"translations": [f"[{target}] {text}" for text in _texts(inputs["text"])]}

    def _summarization(self, model: ModelInfo, inputs: Mapping[str, Any]) -> dict[str, Any]:
        text = " ".join(str(inputs["input_text"]).split())
        limit = inputs.get("max_length") or 1024
        words: list[str] = []
        for count, sentence in enumerate(_SENTENCE.findall(text)):
            if count == 3:
                break
            words.extend(sentence.split())
        return {"summary": " ".join(words[:limit])}

    def _image_to_text(self, model: ModelInfo, inputs: Any) -> dict[str, Any]:
        if isinstance(inputs, str):
            inputs = {"image": inputs}
        data = image_bytes(inputs.get("image"))
        info = image_info(data)
        if info is None:
            what = f"An image of {len(data)} bytes"
        else:
            kind, width, height = info
            what = f"A {width}x{height} {kind} image"
        prompt = str(inputs.get("prompt") or "")
        terms = key_terms(prompt)
        about = f", asked about {' and '.join(terms)}" if terms else ""
        description = f"{what}{about} ({digest(data.hex() + prompt).hex()[:8]})."
        limit = inputs.get("max_tokens")
        if isinstance(limit, int) and count_tokens(description) > limit:
            description = " ".join(description.split()[:limit])
        return {"description": description}

    def _image_classification(self, model: ModelInfo, inputs: Mapping[str, Any]) -> Any:
        raw = digest(model.name + "\x1f" + image_bytes(inputs["image"]).hex())
        picks: list[str] = []
        for byte in raw:
            label = _IMAGE_LABELS[byte % len(_IMAGE_LABELS)]
            if label not in picks:
                picks.append(label)
            if len(picks) == 5:
                break
        weights = [2.0**-i for i in range(len(picks))]
        total = sum(weights)
        return [
            {"label": label, "score": w / total} for label, w in zip(picks, weights, strict=True)
        ]

    def _object_detection(self, model: ModelInfo, inputs: Mapping[str, Any]) -> Any:
        data = image_bytes(inputs["image"])
        info = image_info(data)
        width, height = (info[1], info[2]) if info else (1, 1)
        raw = digest(model.name + "\x1f" + data.hex())
        found = []
        for i in range(1 + raw[0] % 3):
            a, b, c, d = raw[1 + 4 * i : 5 + 4 * i]
            xmin, xmax = sorted((a * width // 255, c * width // 255))
            ymin, ymax = sorted((b * height // 255, d * height // 255))
            found.append(
                {
                    "label": _OBJECT_LABELS[raw[13 + i] % len(_OBJECT_LABELS)],
                    "score": 0.5 + (raw[13 + i] % 50) / 100,
                    "box": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
                }
            )
        return found

    def _image(self, model: ModelInfo, inputs: Mapping[str, Any]) -> Any:
        side = _DEFAULT_SIDE.get(model.family, 1024)
        if model.family == "sd" and any(part in model.name for part in _SMALL_SD):
            side = 512
        width = int(inputs.get("width") or side)
        height = int(inputs.get("height") or side)
        seed = digest(model.name + "\x1f" + str(inputs["prompt"]) + f"\x1f{inputs.get('seed')}")
        image = png(width, height, seed)
        if model.image_output == "base64":
            return {"image": base64.b64encode(image).decode()}
        return image

    _sd = _flux = _leonardo = _image
