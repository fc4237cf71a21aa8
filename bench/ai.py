"""Workers AI's deterministic local backend against a bare async function, in the same run.

`python -m bench.ai` prints the rows; `run()` returns them for `python -m bench`. pyflare's
`env.AI.run()` is awaited one call after another inside one event loop, as a worker makes the
calls, on a runtime with `[ai] binding = "AI"`: each call checks the model name and the inputs
against the model's schema, generates the answer, logs the call for `mf.ai.calls` and returns
the answer as a worker sees it. The baseline is an `async def` that returns the same dict: what
a hand-written stub in a test costs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import make_row, write_project
from miniflare_py import Miniflare

MODEL = "@cf/meta/llama-3.1-8b-instruct"
EMBEDDINGS = "@cf/baai/bge-base-en-v1.5"
CALLS = 20_000
EMBED_CALLS = 2_000
QUESTIONS = [f"Why is the sky blue over city number {i}?" for i in range(100)]


def run() -> list[dict[str, Any]]:
    """Calls per second of text generation (and embeddings), best of three each."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_project(
            Path(tmp),
            'name = "bench"\nmain = "worker.py"\n[ai]\nbinding = "AI"\n',
            "async def on_fetch(request, env):\n    pass\n",
        )
        return asyncio.run(_measure(folder / "wrangler.toml"))


async def _measure(config: Path) -> list[dict[str, Any]]:
    async with Miniflare(config, vars={}) as mf:
        ai = mf.env["AI"]
        sample = await ai.run(MODEL, {"prompt": QUESTIONS[0]})
        canned = dict(sample)

        async def stub(model: str, inputs: dict[str, Any]) -> dict[str, Any]:
            return canned

        async def generate() -> None:
            for i in range(CALLS):
                await ai.run(MODEL, {"prompt": QUESTIONS[i % 100], "max_tokens": 64})
            mf.ai.calls.clear()

        async def bare() -> None:
            for i in range(CALLS):
                await stub(MODEL, {"prompt": QUESTIONS[i % 100], "max_tokens": 64})

        async def embed() -> None:
            for i in range(EMBED_CALLS):
                await ai.run(EMBEDDINGS, {"text": QUESTIONS[i % 100]})
            mf.ai.calls.clear()

        generated = await _best(CALLS, generate)
        baseline = await _best(CALLS, bare)
        embedded = await _best(EMBED_CALLS, embed)
    return [
        make_row(
            "ai",
            "AI.run text generation (local)",
            generated,
            "calls/s",
            "bare async function",
            baseline,
            min_value=20_000,
            note="model check, schema check, deterministic answer, call log; llama-3.1-8b",
        ),
        make_row(
            "ai",
            "AI.run embeddings bge-base (768)",
            embedded,
            "calls/s",
            "bare async function",
            baseline,
            note="hashed word and trigram features, unit length",
        ),
    ]


async def _best(count: int, make: Any, repeat: int = 3) -> float:
    """`bench.common.best_rate` for coroutines run on the loop already running."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        await make()
        best = max(best, count / (time.perf_counter() - started))
    return best


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['name']:<34} {row['value']:>10,.0f} {row['unit']:<8} "
            f"{row['baseline_name']} {row['baseline']:>12,.0f}  ratio {row['ratio']:.3f}  "
            f"target {row['target']}  {row['met']}"
        )
