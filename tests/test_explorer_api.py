"""The Local Explorer's JSON API and page, in-process over the server's ASGI app (the seed app
on a virtual clock, in memory; a small worker for KV, R2, Durable Objects and crons)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import SEED, submit, write_worker
from openapi_spec_validator import validate

from miniflare_py import Miniflare
from miniflare_py.explorer.api import EXPLORER_PATH
from miniflare_py.explorer.trace import disable_all
from miniflare_py.server import create_app

pytestmark = pytest.mark.anyio
API = EXPLORER_PATH + "/api"
QUEUE = "ai-processing-queue"
DLQ = "ai-processing-dlq"


def client_for(runtime: Miniflare) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(lambda: runtime)),
        base_url="http://127.0.0.1:8787",
    )


@pytest.fixture(autouse=True)
def no_tracer_left() -> Any:
    """Each test's explorer starts recording on first use; stop it afterwards."""
    yield
    disable_all()


@pytest.fixture
async def seed(anyio_backend: str) -> AsyncIterator[Miniflare]:
    async with Miniflare(SEED / "wrangler.toml") as mf:
        await mf.apply_migrations()
        yield mf


@pytest.fixture
async def client(seed: Miniflare) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(seed) as http:
        yield http


async def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True and payload["errors"] == []
    return payload["result"]


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["success"] is False and payload["result"] is None
    return str(payload["errors"][0]["message"])


# -- the page, the document, the redirect ---------------------------------------------------------


async def test_the_page_and_its_files_are_served_from_the_package(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(EXPLORER_PATH)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for name in ("explorer.js", "explorer.css", "favicon.svg"):
        assert f"{EXPLORER_PATH}/{name}" in page.text
        found = await client.get(f"{EXPLORER_PATH}/{name}")
        assert found.status_code == 200 and found.content
        again = await client.get(
            f"{EXPLORER_PATH}/{name}", headers={"if-none-match": found.headers["etag"]}
        )
        assert again.status_code == 304
    assert "https://" not in (await client.get(f"{EXPLORER_PATH}/explorer.js")).text  # no CDN
    assert (await client.get(f"{EXPLORER_PATH}/nope.js")).status_code == 404


async def test_the_older_path_redirects_to_the_current_one(client: httpx.AsyncClient) -> None:
    moved = await client.get("/cdn-cgi/explorer")
    assert moved.status_code == 308 and moved.headers["location"] == EXPLORER_PATH
    moved = await client.get("/cdn-cgi/explorer/api/queues?x=1")
    assert moved.headers["location"] == f"{API}/queues?x=1"


async def test_the_openapi_document_is_valid_and_covers_every_route(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(API)
    assert response.status_code == 200
    document = response.json()
    validate(document)  # OpenAPI 3.1, with its JSON Schemas
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": API}]
    operations = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    for method, path in [
        ("GET", "/queues"),
        ("POST", "/queues/{queue_name}/redrive"),
        ("POST", "/d1/database/{database_id}/raw"),
        ("GET", "/storage/kv/namespaces/{namespace_id}/keys"),
        ("PUT", "/r2/buckets/{bucket_name}/objects/{object_key}"),
        ("POST", "/workers/durable_objects/namespaces/{namespace_id}/query"),
        ("GET", "/local/invocations"),
        ("POST", "/local/scheduled"),
    ]:
        assert (method, path) in operations
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    unknown = await client.get(f"{API}/nope")
    assert "no such explorer API operation" in error(unknown, 404)


async def test_current_miniflares_scheduled_path_is_answered(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import WorkerEntrypoint
        seen = []
        class Default(WorkerEntrypoint):
            async def scheduled(self, controller):
                seen.append(controller.cron)
        """,
    )
    async with Miniflare(config) as mf, client_for(mf) as http:
        for path in ("/cdn-cgi/local/scheduled", "/cdn-cgi/handler/scheduled", "/__scheduled"):
            response = await http.get(path, params={"cron": "*/5 * * * *"})
            assert response.status_code == 200 and response.text == "Ran scheduled event"
        assert mf.worker is not None
        assert mf.worker.module.seen == ["*/5 * * * *"] * 3


# -- who may call it -------------------------------------------------------------------------------


async def test_other_sites_and_other_hosts_are_refused(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    await submit(seed)
    purge = f"{API}/queues/{QUEUE}/purge"
    refused = [
        await client.post(purge, headers={"origin": "http://evil.example"}),
        await client.post(purge, headers={"sec-fetch-site": "cross-site"}),
        await client.post(purge, headers={"sec-fetch-site": "same-site"}),
        await client.get(API + "/queues", headers={"host": "evil.example"}),
        await client.get(EXPLORER_PATH, headers={"host": "evil.example:8787"}),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    # A form post cannot carry JSON: an endpoint that takes a JSON body wants it as JSON.
    as_form = await client.patch(
        f"{API}/queues/{QUEUE}",
        content=b'{"settings": {"delivery_paused": true}}',
        headers={"content-type": "text/plain"},
    )
    assert "Content-Type: application/json" in error(as_form, 415)
    assert seed.queues[QUEUE].paused is False


# -- queues ----------------------------------------------------------------------------------------


async def test_queues_show_depth_rates_and_dead_letter_queue(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    await submit(seed, "fail")
    await seed.queues.drain()
    queues = {q["queue_name"]: q for q in await ok(await client.get(f"{API}/queues"))}
    main, dlq = queues[QUEUE], queues[DLQ]
    assert main["dead_letter_queue"] == DLQ and main["dead_letter_sources"] == []
    assert dlq["dead_letter_sources"] == [QUEUE]
    assert main["producers"] == ["AI_QUEUE"]
    assert main["consumer"]["max_retries"] == 2
    assert main["stats"]["retried"] == 2 and main["stats"]["dead_lettered"] == 1
    assert main["stats"]["failure_rate"] == 1.0 and main["stats"]["retry_rate"] == 2 / 3
    assert main["dlq_depth"] == 0  # the seed consumes its DLQ
    assert dlq["stats"]["acked"] == 1
    assert error(await client.get(f"{API}/queues/nope"), 404).startswith("no queue 'nope'")


async def test_pause_browse_redrive_and_see_it_dead_lettered_again(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    paused = await ok(
        await client.patch(f"{API}/queues/{DLQ}", json={"settings": {"delivery_paused": True}})
    )
    assert paused["settings"]["delivery_paused"] is True
    task_id = await submit(seed, "fail")
    await seed.queues.drain()
    [message] = await ok(await client.get(f"{API}/queues/{DLQ}/messages"))
    assert message["state"] == "pending" and message["attempts"] == 0
    assert message["content_type"] == "json"
    assert json.loads(message["body"]["text"])["taskId"] == task_id
    first_id, first_sent = message["id"], message["timestamp"]

    redriven = await ok(await client.post(f"{API}/queues/{DLQ}/redrive", json={}))
    assert redriven == {"redriven": 1, "to": QUEUE}
    assert await ok(await client.get(f"{API}/queues/{DLQ}/messages")) == []
    await seed.queues.drain()
    [again] = await ok(await client.get(f"{API}/queues/{DLQ}/messages"))
    assert (again["id"], again["timestamp"]) == (first_id, first_sent)
    main = await ok(await client.get(f"{API}/queues/{QUEUE}"))
    assert main["stats"]["retried"] == 4 and main["stats"]["dead_lettered"] == 2
    assert main["dlq_depth"] == 1

    one = await ok(
        await client.post(f"{API}/queues/{DLQ}/redrive", json={"message_ids": [first_id]})
    )
    assert one["redriven"] == 1
    assert "no consumer names it" in error(
        await client.post(f"{API}/queues/{QUEUE}/redrive", json={}), 400
    )
    await ok(
        await client.patch(f"{API}/queues/{DLQ}", json={"settings": {"delivery_paused": False}})
    )


async def test_send_a_test_message_of_each_content_type_shown_literally(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    seed.queues[QUEUE].pause()
    sends = [
        {"body": {"probe": True, "text": "<b>[en] \u00e9</b>"}},
        {"body": "plain <i>text</i>", "content_type": "text"},
        {"body": "raw\u0000bytes", "content_type": "bytes"},
        {"body": [1, 2.5, None], "content_type": "v8", "delay_seconds": 30},
    ]
    for send in sends:
        result = await ok(await client.post(f"{API}/queues/{QUEUE}/messages", json=send))
        assert result["backlog_count"] >= 1
    listed = await ok(await client.get(f"{API}/queues/{QUEUE}/messages"))
    by_type = {m["content_type"]: m for m in listed}
    assert by_type["json"]["body"]["text"] == '{"probe":true,"text":"<b>[en] \u00e9</b>"}'
    assert by_type["text"]["body"]["text"] == "plain <i>text</i>"
    assert by_type["bytes"]["body"]["text"] == "b'raw\\x00bytes'"
    assert by_type["v8"]["body"]["json"] == [1, 2.5, None]
    assert by_type["v8"]["state"] == "delayed" and by_type["v8"]["next_delivery"]
    too_big = {"body": "x" * 128_001, "content_type": "text"}
    assert "exceeds limit of 128000" in error(
        await client.post(f"{API}/queues/{QUEUE}/messages", json=too_big), 400
    )
    purged = await ok(await client.post(f"{API}/queues/{QUEUE}/purge"))
    assert purged == {"purged": 4}
    assert await ok(await client.get(f"{API}/queues/{QUEUE}/messages")) == []
    seed.queues[QUEUE].resume()


# -- D1 --------------------------------------------------------------------------------------------


async def test_d1_tables_schema_rows_and_console(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    [db] = await ok(await client.get(f"{API}/d1/database"))
    assert db["binding"] == "DB" and db["name"] == "ai-tasks" and db["num_tables"] >= 2
    db_id = db["uuid"]
    for n in range(3):
        await submit(seed, question=f"question {n}")
    await seed.queues.drain()
    tables = {t["name"]: t for t in await ok(await client.get(f"{API}/d1/database/{db_id}/tables"))}
    assert set(tables) == {"d1_migrations", "task_segments", "tasks"}
    assert tables["tasks"]["rows"] == 3
    assert [c["name"] for c in tables["tasks"]["columns"]][:2] == ["id", "task_type"]
    assert tables["tasks"]["sql"].startswith("CREATE TABLE tasks")

    page = await client.get(f"{API}/d1/database/{db_id}/tables/tasks/rows?limit=2&offset=1")
    payload = page.json()
    assert payload["result_info"] == {"count": 2, "total": 3, "offset": 1}
    assert payload["result"]["columns"][0] == "id"
    assert "no table 'nope'" in error(
        await client.get(f"{API}/d1/database/{db_id}/tables/nope/rows"), 404
    )

    sql = "SELECT x'00ff' AS b, 1.0 AS f, NULL AS n, '<i>' AS t; SELECT COUNT(*) AS n FROM tasks"
    first, second = await ok(await client.post(f"{API}/d1/database/{db_id}/raw", json={"sql": sql}))
    assert first["results"] == {
        "columns": ["b", "f", "n", "t"],
        "rows": [[[0, 255], 1, None, "<i>"]],
    }
    assert second["results"]["rows"] == [[3]] and second["meta"]["rows_read"] == 1
    empty = await ok(
        await client.post(
            f"{API}/d1/database/{db_id}/raw", json={"sql": "SELECT id FROM tasks WHERE 0"}
        )
    )
    assert empty[0]["results"] == {"columns": ["id"], "rows": []}
    objects = await ok(
        await client.post(
            f"{API}/d1/database/DB/query",
            json={"sql": "SELECT ?1 AS a, ?1 || ?2 AS b", "params": ["x", "y"]},
        )
    )
    assert objects[0]["results"] == [{"a": "x", "b": "xy"}]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ATTACH 'x.db' AS x", "SQLITE_AUTH"),
        ("PRAGMA journal_mode", "SQLITE_AUTH"),
        ("SELECT * FROM nope", "D1_ERROR: no such table: nope: SQLITE_ERROR"),
        ("   ", "D1_ERROR: No SQL statements detected."),
    ],
)
async def test_the_console_follows_d1s_rules(
    client: httpx.AsyncClient, sql: str, message: str
) -> None:
    response = await client.post(f"{API}/d1/database/DB/raw", json={"sql": sql})
    assert message in error(response, 400)


# -- KV, R2, Durable Objects, crons ----------------------------------------------------------------

STORAGE_WORKER = """
from workers import DurableObject, Response, WorkerEntrypoint

class Counter(DurableObject):
    async def bump(self):
        n = (await self.ctx.storage.get("count") or 0) + 1
        await self.ctx.storage.put("count", n)
        self.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (n INTEGER)")
        self.ctx.storage.sql.exec("INSERT INTO hits VALUES (?)", n)
        await self.ctx.storage.setAlarm(4_000_000_000_000)
        return n

    async def alarm(self):
        if await self.ctx.storage.get("fail"):
            raise RuntimeError("alarm failed")
        print("alarm rang")

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/boom"):
            print("about to fail")
            raise ValueError("boom")
        await self.env.KV.put("seen", "yes")
        n = await self.env.COUNTER.getByName("room-1").bump()
        print(f"bumped to {n}")
        return Response(str(n))

    async def scheduled(self, controller):
        print(f"cron {controller.cron}")
"""

STORAGE_CONFIG = """
[[kv_namespaces]]
binding = "KV"
id = "kv-id"

[[r2_buckets]]
binding = "BUCKET"
bucket_name = "files"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]

[triggers]
crons = ["*/5 * * * *"]
"""


@pytest.fixture
async def storage(tmp_path: Path, anyio_backend: str) -> AsyncIterator[Miniflare]:
    config = write_worker(tmp_path, STORAGE_WORKER, STORAGE_CONFIG)
    async with Miniflare(config) as mf:
        yield mf


async def test_kv_keys_values_and_metadata(storage: Miniflare) -> None:
    async with client_for(storage) as http:
        [ns] = await ok(await http.get(f"{API}/storage/kv/namespaces"))
        assert ns["id"] == "kv-id" and ns["title"] == "KV"
        base = f"{API}/storage/kv/namespaces/kv-id"
        put = await http.put(
            f"{base}/values/a/b%2Fc",
            content=b"\x00\xffraw",
            params={"metadata": '{"by": "explorer"}'},
        )
        await ok(put)
        assert await storage.kv["KV"].get("a/b/c", "arrayBuffer") == b"\x00\xffraw"
        keys = await ok(await http.get(f"{base}/keys", params={"prefix": "a/"}))
        assert keys == [{"name": "a/b/c", "metadata": {"by": "explorer"}}]
        value = await http.get(f"{base}/values/a/b/c")
        assert value.status_code == 200 and value.content == b"\x00\xffraw"
        assert await ok(await http.get(f"{base}/metadata/a/b/c")) == {"by": "explorer"}
        short = await http.put(f"{base}/values/k", content=b"v", params={"expiration_ttl": 5})
        assert "Expiration TTL must be at least 60" in error(short, 400)
        await ok(await http.delete(f"{base}/values/a/b/c"))
        assert "key not found" in error(await http.get(f"{base}/values/a/b/c"), 404)


async def test_r2_objects_upload_download_metadata_delete(storage: Miniflare) -> None:
    async with client_for(storage) as http:
        buckets = await ok(await http.get(f"{API}/r2/buckets"))
        assert buckets == {"buckets": [{"name": "files", "bindings": ["BUCKET"]}]}
        base = f"{API}/r2/buckets/files/objects"
        stored = await ok(
            await http.put(
                f"{base}/docs/hello.txt",
                content=b"hello",
                headers={"content-type": "text/plain", "cf-r2-custom-metadata": '{"a": "1"}'},
            )
        )
        assert stored["size"] == 5 and stored["custom_metadata"] == {"a": "1"}
        listed = await http.get(base, params={"delimiter": "/"})
        assert listed.json()["result_info"]["delimited"] == ["docs/"]
        [obj] = await ok(await http.get(base, params={"prefix": "docs/"}))
        assert obj["http_metadata"] == {"contentType": "text/plain"}
        body = await http.get(f"{base}/docs/hello.txt")
        assert body.content == b"hello" and body.headers["content-type"] == "text/plain"
        meta = await ok(
            await http.get(f"{base}/docs/hello.txt", headers={"cf-metadata-only": "true"})
        )
        assert meta["etag"] == obj["etag"]
        await ok(await http.request("DELETE", base, json=["docs/hello.txt"]))
        assert await storage.r2["BUCKET"].head("docs/hello.txt") is None
        assert error(await http.get(f"{base}/docs/hello.txt"), 404)


async def test_durable_object_storage_sql_and_query(storage: Miniflare) -> None:
    await storage.fetch("/")
    async with client_for(storage) as http:
        [ns] = await ok(await http.get(f"{API}/workers/durable_objects/namespaces"))
        assert ns["name"] == "COUNTER" and ns["class"] == "Counter"
        base = f"{API}/workers/durable_objects/namespaces/{ns['id']}"
        [obj] = await ok(await http.get(f"{base}/objects"))
        assert obj["name"] == "room-1"
        detail = await ok(await http.get(f"{base}/objects/{obj['id']}"))
        assert detail["keys"] == 1 and detail["alarm"] == 4_000_000_000_000
        assert detail["tables"] == [
            {"name": "hits", "type": "table", "sql": "CREATE TABLE hits (n INTEGER)", "rows": 1}
        ]
        entries = await ok(await http.get(f"{base}/objects/{obj['id']}/storage"))
        assert entries == [{"key": "count", "value": {"text": "1", "json": 1}}]
        put = await http.put(
            f"{base}/objects/{obj['id']}/storage/config/x", json={"value": {"on": True}}
        )
        assert (await ok(put))["value"]["json"] == {"on": True}
        assert await storage.durable_objects.get_storage("COUNTER", "room-1").get("config/x") == {
            "on": True
        }
        deleted = await ok(await http.delete(f"{base}/objects/{obj['id']}/storage/config/x"))
        assert deleted == {"deleted": True}
        [result] = await ok(
            await http.post(
                f"{base}/query",
                json={"durable_object_name": "room-1", "queries": [{"sql": "SELECT n FROM hits"}]},
            )
        )
        assert result["columns"] == ["n"] and result["rows"] == [[1]]
        refused = await http.post(
            f"{base}/query",
            json={"durable_object_name": "room-1", "queries": [{"sql": "SELECT * FROM _cf_KV"}]},
        )
        assert "SQLITE_AUTH" in error(refused, 400)
        assert error(await http.get(f"{base}/objects/{'0' * 64}"), 400)


# -- invocations -----------------------------------------------------------------------------------


async def test_nothing_is_traced_until_the_explorer_is_used(storage: Miniflare) -> None:
    from miniflare_py.d1.statement import D1PreparedStatement
    from miniflare_py.kv.namespace import KvNamespace

    original = KvNamespace.put
    await storage.fetch("/")
    assert storage.tracer is None and KvNamespace.put is original
    async with client_for(storage) as http:
        await ok(await http.get(f"{API}/local/tracing"))  # the first use starts recording
        assert storage.tracer is not None and KvNamespace.put is not original
        await storage.fetch("/")
        [fetch] = await ok(await http.get(f"{API}/local/invocations"))
        assert fetch["kind"] == "fetch" and fetch["status"] == 200
        stopped = await ok(await http.put(f"{API}/local/tracing", json={"enabled": False}))
        assert stopped["enabled"] is False
        assert storage.tracer is None and KvNamespace.put is original
        assert "all" in vars(D1PreparedStatement)  # put back, not deleted
        await storage.fetch("/")
        assert len(await ok(await http.get(f"{API}/local/invocations"))) == 1
        await ok(await http.put(f"{API}/local/tracing", json={"enabled": True}))
        await http.put(f"{API}/local/tracing", json={"enabled": False})


async def test_invocations_with_binding_calls_logs_errors_crons_and_alarms(
    storage: Miniflare,
) -> None:
    async with client_for(storage) as http:
        await ok(await http.get(f"{API}/local/tracing"))
        assert (await storage.fetch("/")).status == 200
        with pytest.raises(ValueError, match="boom"):
            await storage.fetch("/boom")
        fired = await ok(await http.post(f"{API}/local/scheduled", json={"cron": "*/5 * * * *"}))
        assert fired == {"outcome": "ok", "error": None, "noRetry": False}
        stub = storage.durable_objects["COUNTER"].getByName("room-1")
        assert await storage.durable_objects.run_alarm(stub)

        listed = await ok(await http.get(f"{API}/local/invocations"))
        assert [i["kind"] for i in listed] == ["alarm", "scheduled", "fetch", "fetch"]
        alarm, scheduled, failed, fetched = listed
        assert failed["outcome"] == "exception" and failed["error"] == "ValueError: boom"
        assert scheduled["label"] == "*/5 * * * *"
        assert alarm["label"].startswith("Counter alarm() on room-1")

        full = await ok(await http.get(f"{API}/local/invocations/{fetched['id']}"))
        calls = [(c["binding"], c["method"], c["depth"]) for c in full["binding_calls"]]
        assert calls[:2] == [("KV", "put", 0), ("Counter", "rpc", 0)]
        assert ("storage", "get", 1) in calls and ("storage.sql", "exec", 1) in calls
        assert all(c["duration_ms"] is not None for c in full["binding_calls"])
        assert [line["message"] for line in full["log_lines"]] == ["bumped to 1"]
        boom = await ok(await http.get(f"{API}/local/invocations/{failed['id']}"))
        assert "raise ValueError" in boom["error"]
        assert boom["log_lines"][0]["message"] == "about to fail"
        rang = await ok(await http.get(f"{API}/local/invocations/{alarm['id']}"))
        assert [line["message"] for line in rang["log_lines"]] == ["alarm rang"]

        only = await ok(await http.get(f"{API}/local/invocations", params={"outcome": "exception"}))
        assert [i["id"] for i in only] == [failed["id"]]
        kinds = await ok(await http.get(f"{API}/local/invocations", params={"kind": "fetch"}))
        assert len(kinds) == 2
        snapshot = await ok(await http.get(f"{API}/local/snapshot", params={"after": failed["id"]}))
        assert [i["kind"] for i in snapshot["invocations"]] == ["scheduled", "alarm"]
        [worker] = await ok(await http.get(f"{API}/local/workers"))
        assert worker["crons"][0]["cron"] == "*/5 * * * *" and worker["crons"][0]["next"]
        assert {s["type"] for s in worker["sections"]} == {"kv", "r2", "durable_objects"}
        assert (await ok(await http.delete(f"{API}/local/invocations")))["cleared"] == 4
        await http.put(f"{API}/local/tracing", json={"enabled": False})


async def test_queue_batches_are_invocations_with_their_decisions(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    await ok(await client.get(f"{API}/local/tracing"))
    await submit(seed, "fail")
    await seed.queues.drain()
    listed = await ok(await client.get(f"{API}/local/invocations", params={"kind": "queue"}))
    labels = [i["label"] for i in reversed(listed)]
    assert labels == [f"{QUEUE} (1 message)"] * 3 + [f"{DLQ} (1 message)"]
    attempts = [i["detail"]["messages"][0]["attempts"] for i in reversed(listed)]
    assert attempts == [1, 2, 3, 1]
    assert listed[1]["detail"]["retried"] and listed[0]["detail"]["acked"]
    await client.put(f"{API}/local/tracing", json={"enabled": False})


async def test_an_alarm_that_raises_is_an_exception(storage: Miniflare) -> None:
    await storage.fetch("/")  # sets the alarm
    stub = storage.durable_objects["COUNTER"].getByName("room-1")
    await storage.durable_objects.get_storage("COUNTER", "room-1").put("fail", True)
    async with client_for(storage) as http:
        await ok(await http.get(f"{API}/local/tracing"))
        assert await storage.durable_objects.run_alarm(stub)
        assert not await storage.durable_objects.run_alarm(
            storage.durable_objects["COUNTER"].getByName("x")
        )
        [alarm] = await ok(await http.get(f"{API}/local/invocations"))
        assert alarm["kind"] == "alarm" and alarm["outcome"] == "exception"
        assert alarm["error"] == "RuntimeError: alarm failed"
        full = await ok(await http.get(f"{API}/local/invocations/{alarm['id']}"))
        assert "RuntimeError: alarm failed" in full["log_lines"][-1]["message"]


async def test_ai_calls_are_listed_and_traced_under_their_handler(
    seed: Miniflare, client: httpx.AsyncClient
) -> None:
    await ok(await client.get(f"{API}/local/tracing"))
    await submit(seed, question="why is the sky blue?")
    await seed.queues.drain()
    payload = (await client.get(f"{API}/ai/calls")).json()
    [call] = payload["result"]
    assert call["outcome"] == "ok" and call["model"].startswith("@cf/")
    assert payload["result_info"]["total"] == 1 and payload["result_info"]["backend"] == "local"
    [ai] = await ok(await client.get(f"{API}/local/invocations", params={"kind": "ai"}))
    assert ai["label"] == f"AI {call['model']}" and ai["outcome"] == "ok"
    parent = await ok(await client.get(f"{API}/local/invocations/{ai['parent']}"))
    assert parent["kind"] == "queue"
    assert ("AI", "run") in [(c["binding"], c["method"]) for c in parent["binding_calls"]]
    [worker] = await ok(await client.get(f"{API}/local/workers"))
    assert worker["bindings"]["ai"] == [{"id": "AI", "name": "AI", "binding": "AI"}]
