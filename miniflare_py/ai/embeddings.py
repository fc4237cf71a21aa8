"""Deterministic text embeddings: hashed word and character-trigram features, projected onto
the model's dimension and scaled to unit length.

Texts that share words or spellings share features, so similar texts come out closer (higher
cosine similarity) than unrelated ones; the same text always gives the same vector. This is
feature hashing, not a language model: synonyms with no letters in common are not close.
"""

from __future__ import annotations

import math
import zlib

__all__ = ["cosine", "embed"]

_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.5


def _features(text: str) -> dict[str, float]:
    words = text.lower().split()
    features: dict[str, float] = {}
    for word in words:
        key = "w:" + word
        features[key] = features.get(key, 0.0) + _WORD_WEIGHT
    padded = " " + " ".join(words) + " "
    for i in range(len(padded) - 2):
        key = padded[i : i + 3]
        features[key] = features.get(key, 0.0) + _TRIGRAM_WEIGHT
    return features


def embed(text: str, dimension: int) -> list[float]:
    """The unit-length embedding of `text` in `dimension` dimensions."""
    vector = [0.0] * dimension
    for feature, weight in _features(text).items():
        # Each feature lands on two coordinates with hashed signs, which keeps collisions
        # between unrelated features from adding up.
        h = zlib.crc32(feature.encode("utf-8", "surrogatepass"))
        vector[h % dimension] += weight if h & 0x80000000 else -weight
        g = zlib.crc32(b"\x01" + feature.encode("utf-8", "surrogatepass"))
        vector[g % dimension] += weight if g & 0x80000000 else -weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:  # empty text: a fixed unit vector
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors of the same length."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
