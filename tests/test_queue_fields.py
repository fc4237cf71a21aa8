"""One set of field names for queue reports: `stats()`, `/__pyflare/queues` and
`pyflare queues status`, defined once and documented in the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from miniflare_py import Miniflare
from miniflare_py.commands.queues import queues
from miniflare_py.queues.metrics import FIELDS, RATE_FIELDS, TABLE_FIELDS
from miniflare_py.server import create_app

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
name = "w"
main = "worker.py"

[[queues.producers]]
binding = "Q"
queue = "q"

[[queues.consumers]]
queue = "q"
max_batch_size = 1
max_retries = 0
dead_letter_queue = "dlq"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_endpoint_and_queues_status_share_the_field_names(
    anyio_backend: str, tmp_path: Path
) -> None:
    (tmp_path / "wrangler.toml").write_text(CONFIG)
    (tmp_path / "worker.py").write_text(
        "async def on_queue(batch):\n    raise RuntimeError('no')\n"
    )
    async with Miniflare(tmp_path / "wrangler.toml", persist_to=tmp_path / "state") as mf:
        await mf.env.Q.send("job")
        await mf.queues.drain()
        transport = httpx.ASGITransport(app=create_app(lambda: mf))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            live = (await http.get("/__pyflare/queues")).json()
    result = CliRunner().invoke(
        queues, ["status", "--json", "-c", str(tmp_path / "wrangler.toml"), "--persist-to",
                 str(tmp_path / "state")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stored = json.loads(result.output)

    assert list(live) == list(stored) == ["q", "dlq"]
    for name in live:
        assert set(live[name]) == set(FIELDS)
        assert set(stored[name]) == set(FIELDS) - set(RATE_FIELDS)  # rates need a live runtime
        for field in TABLE_FIELDS:  # one consumer run since the state folder was created
            assert live[name][field] == stored[name][field], (name, field)
    assert live["q"]["dead_lettered"] == stored["q"]["dead_lettered"] == 1
    assert live["q"]["dlq"] == stored["q"]["dlq"] == "dlq"


def test_the_readme_documents_every_field() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Queue statistics") : readme.index("### Durability")]
    documented = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
    assert documented == list(FIELDS)
    words = " ".join(section.split())
    assert "count **since that runtime started**" in words
    assert "**since the folder was created**" in words
