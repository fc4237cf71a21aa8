"""Which backend answers `env.AI.run`, read from the environment.

The backend is a property of the machine a worker runs on (is a model server running here?),
not of the worker, so it is not in `wrangler.toml`. pyflare reads these variables from the
process environment, then from `.dev.vars` next to the config (which wrangler never deploys):

- `PYFLARE_AI_BASE_URL`: the `/v1` root of an OpenAI-compatible server, e.g.
  `http://localhost:11434/v1` (ollama); unset, the deterministic local backend answers;
- `PYFLARE_AI_MODEL_MAP`: Cloudflare model -> server model, as
  `@cf/meta/llama-3.1-8b-instruct=llama3.2, text-embeddings=nomic-embed-text, *=llama3.2`
  (commas or new lines) or a JSON object; a key is a model id, a task (`text-generation`,
  `text-embeddings`, `translation`, `summarization`) or `*`;
- `PYFLARE_AI_API_KEY`: sent as `Authorization: Bearer ...` (vLLM `--api-key`, hosted servers);
- `PYFLARE_AI_TIMEOUT`: seconds to wait for the server (default 120).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config_base import ConfigError

__all__ = ["OpenAIConfig", "read_backend_config"]

BASE_URL = "PYFLARE_AI_BASE_URL"
MODEL_MAP = "PYFLARE_AI_MODEL_MAP"
API_KEY = "PYFLARE_AI_API_KEY"
TIMEOUT = "PYFLARE_AI_TIMEOUT"
_DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class OpenAIConfig:
    """Where the OpenAI-compatible server is and which of its models stands for which
    Cloudflare model."""

    base_url: str
    models: Mapping[str, str] = field(default_factory=dict)
    api_key: str | None = None
    timeout: float = _DEFAULT_TIMEOUT

    def server_model(self, model: str, task: str) -> str | None:
        """The server's model for Cloudflare's `model` of `task`, or None when unmapped."""
        return self.models.get(model) or self.models.get(task) or self.models.get("*")


def parse_model_map(text: str, where: str = MODEL_MAP) -> dict[str, str]:
    """`a=b, c=d` (commas or new lines) or a JSON object, as a dict."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: not a JSON object ({exc})") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ConfigError(f"{where}: the JSON object must map names to names")
        return dict(data)
    found: dict[str, str] = {}
    for entry in text.replace("\n", ",").split(","):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = entry.rpartition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{where}: {entry!r} is not CLOUDFLARE_MODEL=SERVER_MODEL")
        found[key.strip()] = value.strip()
    return found


def read_backend_config(dev_vars: Mapping[str, str] | None = None) -> OpenAIConfig | None:
    """The OpenAI-compatible backend the environment asks for, or None for the local one.
    A value pyflare cannot use stops with one line naming the variable."""

    def get(name: str) -> str | None:
        value = os.environ.get(name)
        if value is None and dev_vars is not None:
            value = dev_vars.get(name)
        return value

    base_url = (get(BASE_URL) or "").strip()
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{BASE_URL} = {base_url!r}: not an http(s) URL")
    timeout_text = get(TIMEOUT)
    timeout = _DEFAULT_TIMEOUT
    if timeout_text:
        try:
            timeout = float(timeout_text)
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 3600:
            raise ConfigError(f"{TIMEOUT} = {timeout_text!r}: not a number of seconds (0-3600)")
    return OpenAIConfig(
        base_url.rstrip("/"),
        parse_model_map(get(MODEL_MAP) or ""),
        (get(API_KEY) or "").strip() or None,
        timeout,
    )
