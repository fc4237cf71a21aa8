"""Durable Objects: namespaces and ids, RPC, storage (KV and SQL), alarms, gates, persistence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.config import ConfigError, load_config
from miniflare_py.durable_objects.errors import DurableObjectError, SqlStorageError
from miniflare_py.durable_objects.storage import RangeError

LAB = Path(__file__).parent / "e2e_workers" / "do_lab" / "wrangler.toml"


@pytest.fixture
async def mf(anyio_backend: str) -> Any:
    async with Miniflare(LAB) as runtime:
        yield runtime


def lab(mf: Miniflare, name: str = "x") -> Any:
    return mf.env.LAB.getByName(name)


async def alarm_in(mf: Miniflare, stub: Any, seconds: float, failures: int = 0) -> Any:
    """Set the object's alarm `seconds` ahead on the runtime's clock."""
    return await stub.set_alarm_at(mf.clock.now() * 1000 + seconds * 1000, failures)


# ids and namespaces


@pytest.mark.anyio
async def test_id_from_name_is_miniflares_id(mf: Miniflare) -> None:
    # The id Miniflare 4 gives the object "a" of class Counter in worker "myworker" is
    # e1260f35...; the unique key here is "do-lab-Lab", computed the same way.
    from miniflare_py.durable_objects.ids import from_name

    expected = "e1260f356d7c9c65dc0f4d88753c4b1a0eadd08d7167607d27562874fcc8525f"
    assert from_name("myworker-Counter", "a").toString() == expected
    ns = mf.env.LAB
    first, again = ns.idFromName("room"), ns.idFromName("room")
    assert first.toString() == again.toString() and first.equals(again)
    assert first.name == "room" and len(first.toString()) == 64
    assert not first.equals(ns.idFromName("other"))


@pytest.mark.anyio
async def test_unique_ids_differ_and_round_trip(mf: Miniflare) -> None:
    ns = mf.env.LAB
    a, b = ns.newUniqueId(), ns.newUniqueId(jurisdiction="eu")
    assert a.toString() != b.toString() and a.name is None and b.jurisdiction == "eu"
    assert ns.idFromString(a.toString()).equals(a)
    assert ns.idFromString(a.toString().upper()).equals(a)
    assert await ns.get(a).echo(1) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "Invalid Durable Object ID: must be 64 hex digits"),
        ("g" * 64, "Invalid Durable Object ID: must be 64 hex digits"),
        ("0" * 64, "Durable Object ID is not valid for this namespace."),
    ],
)
async def test_id_from_string_is_checked(mf: Miniflare, text: str, message: str) -> None:
    with pytest.raises(TypeError, match=message.replace(".", r"\.")):
        mf.env.LAB.idFromString(text)


@pytest.mark.anyio
async def test_get_refuses_an_id_of_another_class(mf: Miniflare) -> None:
    from miniflare_py.durable_objects.ids import from_name

    with pytest.raises(TypeError, match="ID is not for this Durable Object class"):
        mf.env.LAB.get(from_name("other-Class", "x"))


@pytest.mark.anyio
async def test_stub_has_id_and_name(mf: Miniflare) -> None:
    stub = mf.env.LAB.get(mf.env.LAB.idFromName("stub"))
    assert stub.id.toString() == mf.env.LAB.idFromName("stub").toString()
    assert stub.name == "stub"


# RPC


@pytest.mark.anyio
async def test_rpc_values_cross_as_copies(mf: Miniflare) -> None:
    stub = lab(mf)
    when = datetime(2024, 5, 1, tzinfo=UTC)
    for value in ["s", 1, 2.5, True, None, b"\x00\x01", [1, [2]], {"a": {"b": 1}}, {1, 2}, when]:
        assert await stub.echo(value) == value
    data = {"k": [1]}
    result = await stub.mutate(data)
    assert result == {"k": [1], "touched": True} and data == {"k": [1]}
    assert result.touched is True  # plain objects arrive as JsDict, as the SDK gives them


@pytest.mark.anyio
@pytest.mark.parametrize("value", [(1, 2), bytearray(b"x"), object(), [1, (2,)], {"a": (1,)}])
async def test_values_that_cannot_cross_rpc(mf: Miniflare, value: Any) -> None:
    with pytest.raises(TypeError, match=r"<class '\w+'> cannot be sent over RPC\."):
        await lab(mf).echo(value)


@pytest.mark.anyio
async def test_a_coroutine_cannot_cross_rpc(mf: Miniflare) -> None:
    async def later() -> int:
        return 1

    pending = later()
    with pytest.raises(TypeError, match="Awaitable <class 'coroutine'> cannot be sent over RPC"):
        await lab(mf).echo(pending)
    pending.close()


@pytest.mark.anyio
async def test_functions_cross_rpc_as_callbacks(mf: Miniflare) -> None:
    seen = []

    def record(value: Any) -> str:
        seen.append(value)
        return "recorded"

    assert await lab(mf).call_back(record, [1]) == "recorded"
    assert seen == [[1]]


@pytest.mark.anyio
async def test_exceptions_propagate_with_type_and_message(mf: Miniflare) -> None:
    with pytest.raises(ValueError, match="bad thing"):
        await lab(mf).boom("thing")
    with pytest.raises(AssertionError, match="one is not two"):
        await lab(mf).boom("assert")


@pytest.mark.anyio
async def test_private_and_missing_methods_are_one_clear_error(mf: Miniflare) -> None:
    with pytest.raises(TypeError, match=r'Cannot call "_secret" over RPC: .* private'):
        await lab(mf)._secret()
    with pytest.raises(TypeError, match='does not implement the method "nothing"'):
        await lab(mf).nothing()
    with pytest.raises(TypeError, match="not a method"):
        await lab(mf).env()


@pytest.mark.anyio
async def test_a_class_missing_from_the_module(anyio_backend: str, tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response
        async def on_fetch(request, env):
            return Response(str(await env.ROOMS.getByName("a").hello()))
        """,
        '[[durable_objects.bindings]]\nname = "ROOMS"\nclass_name = "Room"\n',
    )
    async with Miniflare(config) as mf:
        with pytest.raises(DurableObjectError) as info:
            await mf.fetch("/")
    message = str(info.value)
    assert 'worker.py does not define the Durable Object class "Room"' in message
    assert "durable_objects.bindings[0].class_name" in message


@pytest.mark.anyio
async def test_stub_fetch_returns_a_response(mf: Miniflare) -> None:
    response = await lab(mf).fetch("http://fake-host/ping", method="POST")
    assert await response.text() == "lab /ping POST"
    assert await (await mf.fetch("/room/hello")).text() == "lab /room/hello GET"


@pytest.mark.anyio
async def test_abort_resets_the_object(mf: Miniflare) -> None:
    stub = lab(mf)
    await stub.note("before")
    with pytest.raises(DurableObjectError, match="enough"):
        await stub.quit()
    assert await stub.note("after") == ["after"]  # a new instance, storage kept


# storage: key-value


@pytest.mark.anyio
async def test_key_value_storage(mf: Miniflare) -> None:
    storage = mf.durable_objects.get_storage("LAB", "kv")
    await storage.put("a", 1)
    await storage.put({"b": [1, 2], "c": {"d": None}, "e": "é"})
    assert await storage.get("a") == 1
    assert await storage.get("missing") is None
    assert await storage.get(["a", "c", "missing"]) == {"a": 1, "c": {"d": None}}
    assert await storage.delete("a") is True
    assert await storage.delete("a") is False
    assert await storage.delete(["b", "c", "zz"]) == 2
    await storage.deleteAll()
    assert await storage.list() == {}


@pytest.mark.anyio
async def test_list_options(mf: Miniflare) -> None:
    storage = mf.durable_objects.get_storage("LAB", "list")
    await storage.put({f"k{i}": i for i in range(6)} | {"other": 9})
    assert list(await storage.list({"prefix": "k", "limit": 2})) == ["k0", "k1"]
    assert list(await storage.list(start="k2", end="k4")) == ["k2", "k3"]
    assert list(await storage.list(startAfter="k4", prefix="k")) == ["k5"]
    assert list(await storage.list(reverse=True, limit=2)) == ["other", "k5"]
    with pytest.raises(TypeError, match="both start and startAfter"):
        await storage.list(start="a", startAfter="b")
    with pytest.raises(TypeError, match=r"List limit must be positive\."):
        await storage.list(limit=0)


@pytest.mark.anyio
async def test_storage_limits(mf: Miniflare) -> None:
    storage = mf.durable_objects.get_storage("LAB", "limits")
    await storage.put("k" * 2048, 1)
    with pytest.raises(RangeError, match=r"^Keys cannot be larger than 2048 bytes\.$"):
        await storage.put("é" * 1025, 1)
    await storage.put("v", "x" * (131072 - 6))  # 2 header bytes, tag, 3-byte length
    with pytest.raises(
        RangeError,
        match=r"^Values cannot be larger than 131072 bytes\. "
        r"A value of size 131073 was provided\.$",
    ):
        await storage.put("v", "x" * (131072 - 5))
    with pytest.raises(TypeError, match="could not be cloned"):
        await storage.put("f", object())
    with pytest.raises(RangeError):  # a batch is all or nothing
        await storage.put({"ok": 1, "big": "x" * 200_000})
    assert await storage.get("ok") is None


@pytest.mark.anyio
async def test_transactions_commit_or_roll_back(mf: Miniflare) -> None:
    storage = mf.durable_objects.get_storage("LAB", "tx")

    async def body(txn: Any) -> str:
        await txn.put("a", 1)
        return str(await txn.get("a"))

    assert await storage.transaction(body) == "1"
    assert await storage.get("a") == 1

    async def failing(txn: Any) -> None:
        await txn.put("a", 2)
        raise KeyError("nope")

    with pytest.raises(KeyError):
        await storage.transaction(failing)

    async def rolled_back(txn: Any) -> str:
        await txn.put("a", 3)
        txn.rollback()
        return "done"

    assert await storage.transaction(rolled_back) == "done"
    assert await storage.get("a") == 1

    def sync_body() -> int:
        storage.sql.exec("CREATE TABLE t (x)")
        storage.sql.exec("INSERT INTO t VALUES (1)")
        raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        storage.transactionSync(sync_body)
    assert storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 't'").toArray() == []


# storage: SQL


@pytest.mark.anyio
async def test_sql_cursor(mf: Miniflare) -> None:
    sql = mf.durable_objects.get_storage("LAB", "sql").sql
    sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)")
    written = sql.exec("INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)", 1, "a", b"\x01", 2, "b", None)
    assert written.rowsWritten == 2
    cursor = sql.exec("SELECT id, v FROM t ORDER BY id")
    assert cursor.columnNames == ["id", "v"]
    assert [row["v"] for row in cursor] == ["a", "b"]
    assert cursor.rowsRead >= 2
    assert list(sql.exec("SELECT id, b FROM t ORDER BY id").raw()) == [[1, b"\x01"], [2, None]]
    assert sql.exec("SELECT v FROM t WHERE id = 9").columnNames == ["v"]  # no rows, still named
    assert sql.exec("SELECT v FROM t WHERE id = 1").one() == {"v": "a"}
    with pytest.raises(SqlStorageError, match=r"^Expected exactly one result .* got no results\.$"):
        sql.exec("SELECT v FROM t WHERE id = 9").one()
    with pytest.raises(SqlStorageError, match=r"got multiple results\.$"):
        sql.exec("SELECT v FROM t").one()
    assert sql.databaseSize > 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "binds", "message"),
    [
        ("SELEC 1", (), 'near "SELEC": syntax error at offset 0: SQLITE_ERROR'),
        ("SELECT ?", (1, 2), "Wrong number of parameter bindings for SQL query."),
        ("BEGIN", (), "To execute a transaction, please use the state.storage.transaction()"),
        ("SELECT * FROM _cf_KV", (), "access to _cf_KV.key is prohibited: SQLITE_AUTH"),
        ("SELECT * FROM nowhere", (), "no such table: nowhere"),
    ],
)
async def test_sql_errors(mf: Miniflare, query: str, binds: tuple[Any, ...], message: str) -> None:
    sql = mf.durable_objects.get_storage("LAB", "sqlerr").sql
    with pytest.raises(SqlStorageError) as info:
        sql.exec(query, *binds)
    assert str(info.value).startswith(message)


@pytest.mark.anyio
async def test_delete_all_drops_sql_tables_too(mf: Miniflare) -> None:
    storage = mf.durable_objects.get_storage("LAB", "wipe")
    await storage.put("k", 1)
    storage.sql.exec("CREATE TABLE t (x)")
    await storage.deleteAll()
    assert await storage.get("k") is None
    assert storage.sql.exec("SELECT name FROM sqlite_master WHERE type='table'").toArray() == [
        {"name": "_cf_KV"}
    ]


# gates


@pytest.mark.anyio
async def test_no_lost_update_across_storage_calls(mf: Miniflare) -> None:
    stub = lab(mf, "race")
    await asyncio.gather(*(stub.increment() for _ in range(50)))
    assert await mf.durable_objects.get_storage("LAB", "race").get("n") == 50


@pytest.mark.anyio
async def test_other_io_lets_events_interleave_as_on_the_edge(mf: Miniflare) -> None:
    stub = lab(mf, "io")
    await asyncio.gather(*(stub.slow_increment() for _ in range(5)))
    assert await mf.durable_objects.get_storage("LAB", "io").get("n") < 5


@pytest.mark.anyio
async def test_block_concurrency_while_holds_other_events(anyio_backend: str) -> None:
    async with Miniflare(LAB, clock="real") as mf:
        stub = lab(mf, "gate")
        blocked = asyncio.ensure_future(stub.block(0.05))
        await asyncio.sleep(0.01)
        events = await stub.note("other")
        assert await blocked == "held"
    assert events == ["block-start", "block-end", "other"]


@pytest.mark.anyio
async def test_a_call_back_into_the_same_object_does_not_deadlock(mf: Miniflare) -> None:
    assert await lab(mf, "me").self_call("me") == "via self"


# alarms


@pytest.mark.anyio
async def test_alarm_fires_on_the_virtual_clock(mf: Miniflare) -> None:
    stub = lab(mf, "alarm")
    when = await alarm_in(mf, stub, 3600)
    assert when == pytest.approx(mf.clock.now() * 1000 + 3_600_000, abs=1)
    await mf.clock.advance(3599)
    assert await stub.alarm_log() == []
    await mf.clock.advance(1)
    assert await stub.alarm_log() == [{"retryCount": 0, "isRetry": False}]
    assert await mf.durable_objects.get_storage("LAB", "alarm").getAlarm() is None


@pytest.mark.anyio
async def test_a_raising_alarm_is_retried_with_backoff(mf: Miniflare) -> None:
    stub = lab(mf, "retry")
    await alarm_in(mf, stub, 10, 2)
    await mf.clock.advance(10)
    assert len(await stub.alarm_log()) == 1
    await mf.clock.advance(1.9)
    assert len(await stub.alarm_log()) == 1
    await mf.clock.advance(0.1)  # first retry 2 s after the failure
    await mf.clock.advance(4)  # second retry 4 s after that
    log = await stub.alarm_log()
    assert log == [
        {"retryCount": 0, "isRetry": False},
        {"retryCount": 1, "isRetry": True},
        {"retryCount": 2, "isRetry": True},
    ]
    failures = mf.durable_objects.alarm_failures
    assert [(f.retry_count, str(f.error)) for f in failures] == [
        (0, "alarm went wrong"),
        (1, "alarm went wrong"),
    ]


@pytest.mark.anyio
async def test_an_alarm_that_always_raises_gives_up_after_six_retries(mf: Miniflare) -> None:
    stub = lab(mf, "doomed")
    await alarm_in(mf, stub, 1, 100)
    await mf.durable_objects.drain_alarms()
    assert len(await stub.alarm_log()) == 7
    assert mf.durable_objects.alarm_failures[-1].will_retry is False
    assert await mf.durable_objects.get_storage("LAB", "doomed").getAlarm() is None


@pytest.mark.anyio
async def test_run_alarm_now_and_delete(mf: Miniflare) -> None:
    stub = lab(mf, "now")
    assert await mf.durable_objects.run_alarm(stub) is False
    await alarm_in(mf, stub, 3600)
    assert await mf.durable_objects.run_alarm(stub) is True
    assert len(await stub.alarm_log()) == 1
    storage = mf.durable_objects.get_storage("LAB", "now")
    await storage.setAlarm(datetime.now(UTC))
    await storage.deleteAlarm()
    assert await storage.getAlarm() is None
    with pytest.raises(TypeError, match="not a valid Date"):
        await storage.setAlarm(float("nan"))


# the handle tests use


@pytest.mark.anyio
async def test_handle_runs_code_inside_an_object_and_lists_ids(mf: Miniflare) -> None:
    stub = lab(mf, "inside")
    await stub.increment()

    async def peek(instance: Any, ctx: Any) -> Any:
        return type(instance).__name__, await ctx.storage.get("n"), ctx.id.name

    assert await mf.durable_objects.run_in(stub, peek) == ("Lab", 1, "inside")
    assert [i.name for i in mf.durable_objects.list_ids("LAB")] == ["inside"]
    assert mf.durable_objects["LAB"] is mf.env.LAB
    with pytest.raises(KeyError, match="no Durable Object binding 'NOPE'"):
        mf.durable_objects["NOPE"]


# persistence


@pytest.mark.anyio
async def test_objects_persist_in_miniflares_layout(anyio_backend: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with Miniflare(LAB, persist_to=state) as first:
        assert await lab(first, "p").increment() == 1
        assert await lab(first, "p").counter_row() == 1
        await alarm_in(first, lab(first, "p"), 60)
        object_id = first.env.LAB.idFromName("p").toString()
    folder = state / "v3" / "do" / "do-lab-Lab"
    assert (folder / f"{object_id}.sqlite").is_file()
    assert (folder / "metadata.sqlite").is_file()
    async with Miniflare(LAB, persist_to=state) as second:
        assert await lab(second, "p").increment() == 2
        assert await lab(second, "p").counter_row() == 2
        await second.clock.advance(60)  # the alarm set before the restart still fires
        assert await second.durable_objects.get_storage("LAB", "p").get("alarm-runs") == 1
        assert [i.toString() for i in second.durable_objects.list_ids("LAB")] == [object_id]


@pytest.mark.anyio
async def test_in_memory_state_is_fresh_per_runtime(anyio_backend: str) -> None:
    for _ in range(2):
        async with Miniflare(LAB) as mf:
            assert await lab(mf).increment() == 1


# config


def test_config_errors_use_wranglers_messages(tmp_path: Path) -> None:
    cases = {
        '[durable_objects]\nbindings = [{ name = "A" }]': (
            'binding should have a string "class_name" field.'
        ),
        "[durable_objects]\nx = 1": (
            'The field "durable_objects" is missing the required "bindings" property.'
        ),
        '[[migrations]]\nnew_classes = ["A"]': '"migrations[0].tag" is a required field.',
        '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = "A"': (
            'Expected "migrations[0].new_sqlite_classes" to be an array of strings but got "A"'
        ),
        '[[migrations]]\ntag = "v1"\nrenamed_classes = [{ from = "A" }]': (
            'Expected "migrations[0].renamed_classes" to be an array of '
            '"{from: string, to: string}"'
        ),
    }
    for config, message in cases.items():
        path = write_worker(tmp_path, "", config)
        with pytest.raises(ConfigError) as info:
            load_config(path, require_main=False)
        assert message in str(info.value)


def test_migrations_are_inherited_by_environments_bindings_are_not(tmp_path: Path) -> None:
    path = write_worker(
        tmp_path,
        "",
        """
        [[durable_objects.bindings]]
        name = "A"
        class_name = "A"
        [[migrations]]
        tag = "v1"
        new_sqlite_classes = ["A", "B"]
        [env.staging]
        durable_objects = { bindings = [{ name = "B", class_name = "B" }] }
        [env.bare]
        """,
    )
    staging = load_config(path, "staging", require_main=False).binding("durable_objects")
    assert [b.name for b in staging.bindings] == ["B"]
    assert staging.migrations[0].new_sqlite_classes == ("A", "B")
    bare = load_config(path, "bare", require_main=False).binding("durable_objects")
    assert bare.bindings == () and bare.migrations[0].tag == "v1"


def test_config_warnings(tmp_path: Path) -> None:
    path = write_worker(
        tmp_path,
        "",
        """
        [[durable_objects.bindings]]
        name = "EXT"
        class_name = "Other"
        script_name = "other-worker"
        [[durable_objects.bindings]]
        name = "NEW"
        class_name = "Unmigrated"
        [[migrations]]
        tag = "v1"
        """,
    )
    warnings = "\n".join(load_config(path, require_main=False).warnings)
    assert 'worker "other-worker": Durable Objects of other workers are not emulated' in warnings
    assert 'class "Unmigrated" is not created by any [[migrations]] entry' in warnings


@pytest.mark.anyio
async def test_a_renamed_class_keeps_its_objects(anyio_backend: str, tmp_path: Path) -> None:
    source = """
        from workers import DurableObject, Response
        class {name}(DurableObject):
            async def bump(self):
                n = (await self.ctx.storage.get("n") or 0) + 1
                await self.ctx.storage.put("n", n)
                return n
        async def on_fetch(request, env):
            return Response(str(await env.OBJ.getByName("a").bump()))
    """
    before = '[[durable_objects.bindings]]\nname = "OBJ"\nclass_name = "Old"\n'
    before += '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Old"]\n'
    config = write_worker(tmp_path, source.format(name="Old"), before)
    async with Miniflare(config, persist_to=tmp_path / "s") as mf:
        assert await (await mf.fetch("/")).text() == "1"
    after = before.replace('class_name = "Old"', 'class_name = "New"')
    after += '[[migrations]]\ntag = "v2"\nrenamed_classes = [{ from = "Old", to = "New" }]\n'
    config = write_worker(tmp_path, source.format(name="New"), after)
    async with Miniflare(config, persist_to=tmp_path / "s") as mf:
        assert await (await mf.fetch("/")).text() == "2"


def test_pyflare_check_fails_on_an_alarm_that_raises(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from miniflare_py.commands.check import check

    config = write_worker(
        tmp_path,
        """
        import time
        from workers import DurableObject, Response

        class Clock(DurableObject):
            async def arm(self):
                await self.ctx.storage.setAlarm(time.time() * 1000 + 3_600_000)

            async def alarm(self):
                raise RuntimeError("alarm broke")

        async def on_fetch(request, env):
            await env.CLOCK.getByName("c").arm()
            return Response("armed")
        """,
        '[[durable_objects.bindings]]\nname = "CLOCK"\nclass_name = "Clock"\n'
        '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Clock"]\n',
    )
    result = CliRunner().invoke(check, ["-c", str(config), "--fetch", "GET /", "--drain", "--json"])
    assert result.exit_code == 5, result.output
    report = json.loads(result.output)
    [failure] = report["failures"]
    assert "Durable Object alarm() run(s) raised" in failure["message"]
    assert "alarm broke" in failure["details"]


@pytest.mark.anyio
async def test_the_synchronous_kv_api_shares_the_async_apis_keys(mf: Miniflare) -> None:
    storage = mf.durable_objects.get_storage("LAB", "sync-kv")
    kv = storage.kv
    kv.put("b", {"n": 2})
    kv.put("a", 1)
    assert kv.get("a") == 1 and kv.get("missing") is None
    assert await storage.get("b") == {"n": 2}  # one store behind both APIs
    await storage.put("c", [3])
    assert list(kv.list()) == [("a", 1), ("b", {"n": 2}), ("c", [3])]
    assert list(kv.list(prefix="b")) == [("b", {"n": 2})]
    assert list(kv.list({"reverse": True, "limit": 1})) == [("c", [3])]
    assert kv.delete("a") is True and kv.delete("a") is False
    with pytest.raises(RangeError, match="Keys cannot be larger"):
        kv.put("é" * 1025, 1)
    with pytest.raises(TypeError, match="one key"):
        kv.get(["a", "b"])
