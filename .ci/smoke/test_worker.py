"""Runs against the installed wheel: the pytest plugin comes from its entry point."""

import pytest


def test_a_job_is_done_through_the_queue(pyflare_sync):
    resp = pyflare_sync.fetch("/", method="POST", json={"name": "first"})
    assert resp.status == 202
    pyflare_sync.drain()
    row = pyflare_sync.env.DB.prepare("SELECT name, done FROM jobs").first()
    assert (row["name"], row["done"]) == ("first", 1)
    assert pyflare_sync.queues["jobs"].stats()["acked"] == 1


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_fixture(pyflare):
    resp = await pyflare.fetch("/", method="POST", json={"name": "second"})
    assert (await resp.json()) == {"id": 1}
