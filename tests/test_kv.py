"""Workers KV: the binding in a running worker, expiry on the clock, storage on disk, refused
input, and KV in the pytest plugin and in `pyflare check`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.clock import RealClock, VirtualClock
from miniflare_py.config import ConfigError, load_config
from miniflare_py.kv import (
    KvError,
    KvNamespace,
    KvStream,
    blob_folder,
    kv_sqlite_path,
    open_storage,
)
from miniflare_py.kv.persist import safe_folder_name

KV_CONFIG = '[[kv_namespaces]]\nbinding = "KV"\nid = "abc123"\n'

COUNTER = """
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        seen = int(await self.env.KV.get("visits") or 0) + 1
        await self.env.KV.put("visits", str(seen), metadata={"by": "worker"})
        return Response.json({"visits": seen})
"""


def namespace(persist: Path | None = None, clock: Any = None, ns_id: str = "ns") -> KvNamespace:
    """A namespace on a virtual clock starting on a whole second (unless `clock` is given)."""
    clock = clock or VirtualClock(start=1_800_000_000.0)
    return KvNamespace(open_storage(ns_id, persist), clock, "KV", ns_id)


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[KvNamespace]:
    """A namespace on disk, on a virtual clock."""
    found = namespace(tmp_path)
    yield found
    found.storage.close()


def blobs(persist: Path, ns_id: str = "ns", kv: KvNamespace | None = None) -> list[Path]:
    """The value files of a namespace, once `kv` has written what it holds back."""
    if kv is not None:
        kv.storage.flush()
    return sorted(blob_folder(persist, ns_id).iterdir())


# -- the binding in a worker -----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_worker_counts_visits_in_kv(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, COUNTER, KV_CONFIG)) as mf:
        for expected in (1, 2, 3):
            assert await (await mf.fetch("/")).json() == {"visits": expected}
        assert isinstance(mf.env.KV, KvNamespace)
        assert mf.kv["KV"] is mf.env.KV
        assert await mf.env.KV.getWithMetadata("visits") == {
            "value": "3",
            "metadata": {"by": "worker"},
            "cacheStatus": None,
        }


@pytest.mark.anyio
async def test_kv_survives_a_restart_on_disk_in_miniflares_files(tmp_path: Path) -> None:
    config = write_worker(tmp_path, COUNTER, KV_CONFIG)
    state = tmp_path / "state"
    for expected in (1, 2):
        async with Miniflare(config, persist_to=state) as mf:
            assert await (await mf.fetch("/")).json() == {"visits": expected}
    assert kv_sqlite_path(state, "abc123").is_file()
    assert blob_folder(state, "abc123") == state / "v3" / "kv" / "abc123" / "blobs"
    assert len(blobs(state, "abc123")) == 1  # the overwritten value's file is gone


@pytest.mark.anyio
async def test_a_reload_keeps_in_memory_kv(tmp_path: Path) -> None:
    config = write_worker(tmp_path, COUNTER, KV_CONFIG)
    first = Miniflare(config)
    await first.start()
    await first.fetch("/")
    await first.close(keep_state=True)
    async with Miniflare(config, inherit=first) as second:
        assert await (await second.fetch("/")).json() == {"visits": 2}


@pytest.mark.anyio
async def test_without_persistence_each_runtime_starts_empty(tmp_path: Path) -> None:
    config = write_worker(tmp_path, COUNTER, KV_CONFIG)
    for _ in range(2):
        async with Miniflare(config) as mf:
            assert await (await mf.fetch("/")).json() == {"visits": 1}


@pytest.mark.anyio
async def test_bindings_naming_one_namespace_share_it_and_preview_id_names_it(
    tmp_path: Path,
) -> None:
    config = write_worker(
        tmp_path,
        COUNTER,
        '[[kv_namespaces]]\nbinding = "KV"\nid = "prod"\npreview_id = "dev"\n'
        '[[kv_namespaces]]\nbinding = "SAME"\nid = "dev"\n'
        '[[kv_namespaces]]\nbinding = "OTHER"\n',
    )
    async with Miniflare(config, persist_to=tmp_path / "state") as mf:
        await mf.env.KV.put("k", "shared")
        assert await mf.env.SAME.get("k") == "shared"
        assert await mf.env.OTHER.get("k") is None
        assert mf.env.KV.namespace_id == "dev"  # as wrangler dev: preview_id, id, binding
        assert mf.env.OTHER.namespace_id == "OTHER"
    assert kv_sqlite_path(tmp_path / "state", "dev").is_file()


def test_kv_config_keys_are_checked(tmp_path: Path) -> None:
    config = load_config(
        write_worker(tmp_path, COUNTER, '[[kv_namespaces]]\nbinding = "KV"\nidd = "x"\n')
    )
    assert config.warnings == (
        f'{tmp_path / "wrangler.toml"}: unknown key "kv_namespaces[0].idd" (did you mean "id"?)',
    )
    with pytest.raises(ConfigError, match=r'kv_namespaces\[0\] is missing required key "binding"'):
        load_config(write_worker(tmp_path, COUNTER, '[[kv_namespaces]]\nid = "x"\n'))
    with pytest.raises(ConfigError, match=r'binding name "KV" is used twice'):
        load_config(write_worker(tmp_path, COUNTER, KV_CONFIG + '[vars]\nKV = "x"\n'))


def test_the_binding_is_truthy_but_neither_iterable_nor_sized(kv: KvNamespace) -> None:
    assert kv
    with pytest.raises(TypeError, match=r"KvNamespace.*is not iterable"):
        iter(kv)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"KvNamespace.*has no len"):
        len(kv)  # type: ignore[arg-type]


# -- expiry follows the runtime's clock ------------------------------------------------------


@pytest.mark.anyio
async def test_an_hour_long_ttl_passes_in_one_virtual_advance(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, COUNTER, KV_CONFIG), clock="virtual") as mf:
        await mf.env.KV.put("session", "s", expirationTtl=3600)
        await mf.env.KV.put("forever", "f")
        await mf.clock.advance(3599)
        assert await mf.env.KV.get("session") == "s"
        await mf.clock.advance(1)
        assert await mf.env.KV.get("session") is None
        assert await mf.env.KV.getWithMetadata("session") == {
            "value": None,
            "metadata": None,
            "cacheStatus": None,
        }
        assert [k["name"] for k in (await mf.env.KV.list())["keys"]] == ["forever"]


@pytest.mark.anyio
async def test_an_absolute_expiration_is_checked_against_the_virtual_clock(
    kv: KvNamespace, tmp_path: Path
) -> None:
    clock = kv.clock
    assert isinstance(clock, VirtualClock)
    now = int(clock.now())
    with pytest.raises(KvError, match="at least 60 seconds in the future"):
        await kv.put("k", "v", expiration=now + 59)
    await kv.put("k", "v", expiration=now + 60)
    await clock.advance(59.9)
    assert await kv.get("k") == "v"
    await clock.advance(0.1)
    assert await kv.get("k") is None
    assert blobs(tmp_path, kv=kv) == []  # the expired value's file went with its row


@pytest.mark.anyio
async def test_expired_keys_are_left_out_of_bulk_gets_and_list_pages(kv: KvNamespace) -> None:
    for name in "abcd":
        # (not `expirationTtl=None`: on Cloudflare that is null, read as 0, and refused)
        await kv.put(name, name, {"expirationTtl": 60} if name in "bc" else None)
    await kv.clock.advance(60)  # type: ignore[attr-defined]
    assert await kv.get(["a", "b", "d"]) == {"a": "a", "b": None, "d": "d"}
    page = await kv.list(limit=2)
    assert [k["name"] for k in page["keys"]] == ["a", "d"]
    assert page["list_complete"] is True


# -- values, streams and files ---------------------------------------------------------------


@pytest.mark.anyio
async def test_values_round_trip_in_every_read_type(kv: KvNamespace) -> None:
    await kv.put("j", '{"n": 1.0, "l": [1, 2.5], "o": {"x": null}}')
    value = await kv.get("j", "json")
    assert value == {"n": 1, "l": [1, 2.5], "o": {"x": None}}
    assert type(value["n"]) is int  # a JS number that is an integer reaches Python as int
    assert value.o.x is None  # objects are JsDicts, as the SDK gives them
    view = await kv.get("j", "arrayBuffer")
    assert isinstance(view, memoryview) and bytes(view).startswith(b'{"n"')
    stream = await kv.get("j", type="stream")
    assert isinstance(stream, KvStream)
    assert b"".join([chunk async for chunk in stream]) == bytes(view)
    with pytest.raises(TypeError, match="locked"):
        await stream.bytes()


@pytest.mark.anyio
async def test_a_stream_is_put_back_and_a_large_one_is_read_in_chunks(kv: KvNamespace) -> None:
    big = bytes(range(256)) * 1024  # 256 KiB
    await kv.put("big", big)
    stream = await kv.get("big", "stream")
    chunks = [chunk async for chunk in stream]
    assert len(chunks) == 4 and b"".join(chunks) == big
    await kv.put("copy", await kv.get("big", "stream"))
    assert bytes(await kv.get("copy", "arrayBuffer")) == big
    with (Path(__file__)).open("rb") as file:  # a binary file is a stream too
        await kv.put("file", file)
    assert await kv.get("file") == Path(__file__).read_text()


@pytest.mark.anyio
async def test_a_stream_over_the_limit_is_refused_with_its_whole_length(
    kv: KvNamespace, tmp_path: Path
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(26):
            yield bytes(1024 * 1024)

    with pytest.raises(KvError) as info:
        await kv.put("k", chunks())
    assert (
        str(info.value) == "KV PUT failed: 413 Value length of 27262976 exceeds limit of 26214400."
    )
    assert blobs(tmp_path, kv=kv) == []

    async def wrong() -> AsyncIterator[Any]:
        yield "text, not bytes"

    with pytest.raises(TypeError, match="must yield bytes, got str"):
        await kv.put("k", wrong())


REFUSED: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("empty key", ("", "v"), {}, TypeError, "Key name cannot be empty."),
    ("dot key", ("..", "v"), {}, TypeError, '"..".*not allowed'),
    ("long key", ("k" * 513, "v"), {}, KvError, "414 UTF-8 encoded length of 513"),
    ("short ttl", ("k", "v"), {"expirationTtl": 59}, KvError, "must be at least 60"),
    ("past", ("k", "v"), {"expiration": 1}, KvError, "Invalid expiration of 1"),
    ("ttl not int32", ("k", "v"), {"expirationTtl": 2**31}, TypeError, "Value out of range"),
    ("big metadata", ("k", "v"), {"metadata": "m" * 1023}, KvError, "Metadata length of 1025"),
    ("bigint metadata", ("k", "v"), {"metadata": 2**53}, TypeError, "serialize a BigInt"),
    ("set metadata", ("k", "v"), {"metadata": {"s": object()}}, TypeError, "not JSON serializable"),
    ("dict value", ("k", {"a": 1}), {}, TypeError, "accepts only strings"),
    ("bytearray", ("k", bytearray(b"x")), {}, TypeError, "bytearray'> cannot be sent over RPC"),
    ("tuple metadata", ("k", "v"), {"metadata": {"t": (1,)}}, TypeError, "cannot be sent over RPC"),
    ("big value", ("k", b"x" * (25 * 1024 * 1024 + 1)), {}, KvError, "Value length of 26214401"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("args", "options", "error", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
async def test_a_refused_put_stores_nothing(
    kv: KvNamespace,
    tmp_path: Path,
    args: tuple[Any, ...],
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        await kv.put(*args, **options)
    assert (await kv.list())["keys"] == []
    assert blobs(tmp_path, kv=kv) == []


@pytest.mark.anyio
async def test_overwrite_and_delete_remove_the_old_value_files(
    kv: KvNamespace, tmp_path: Path
) -> None:
    await kv.put("k", "one")
    [first] = blobs(tmp_path, kv=kv)
    await kv.put("k", "two")
    [second] = blobs(tmp_path, kv=kv)
    assert first != second and second.read_bytes() == b"two"
    await kv.delete("k")
    assert blobs(tmp_path, kv=kv) == []


@pytest.mark.anyio
async def test_a_missing_value_file_reads_as_a_missing_key(kv: KvNamespace, tmp_path: Path) -> None:
    await kv.put("k", "v" * (2 * 1024 * 1024))  # too big for the read cache
    [file] = blobs(tmp_path, kv=kv)
    file.unlink()
    assert await kv.get("k") is None


@pytest.mark.anyio
async def test_a_second_process_sees_every_change_at_once(tmp_path: Path) -> None:
    # e.g. `pyflare kv key put` while `pyflare dev` runs: reads always consult SQLite, and the
    # read cache is keyed by the value file, which never changes.
    one, two = namespace(tmp_path), namespace(tmp_path)
    try:
        await one.put("k", "first")
        assert await two.get("k") == "first"
        assert await one.get("k") == "first"  # now cached by `one`
        await two.put("k", "second", metadata={"v": 2})
        assert await one.getWithMetadata("k") == {
            "value": "second",
            "metadata": {"v": 2},
            "cacheStatus": None,
        }
        await two.delete("k")
        assert await one.get("k") is None
    finally:
        one.storage.close()
        two.storage.close()


def test_a_put_that_returned_survives_the_process_being_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os
        from miniflare_py.clock import RealClock
        from miniflare_py.kv import KvNamespace, open_storage

        async def main():
            kv = KvNamespace(open_storage("ns", {str(tmp_path)!r}), RealClock(), "KV", "ns")
            for i in range(50):
                await kv.put(f"k{{i}}", f"v{{i}}", metadata={{"i": i}})
            os._exit(0)  # no close, no checkpoint, no flush

        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    kv = namespace(tmp_path, RealClock())
    try:
        listed = asyncio.run(kv.list())["keys"]
        assert len(listed) == 50 and listed[-1] == {"name": "k9", "metadata": {"i": 9}}
        assert asyncio.run(kv.get("k49")) == "v49"
    finally:
        kv.storage.close()


def test_the_sqlite_file_is_named_as_miniflare_names_it(tmp_path: Path) -> None:
    # observed: Miniflare 4.20260426.0 wrote namespace "my-ns-id" to this file
    assert kv_sqlite_path(tmp_path, "my-ns-id") == (
        tmp_path
        / "v3/kv/miniflare-KVNamespaceObject"
        / "833114f2c3de880d2639a173b8dde6d45e491dcec9502da873911e6f40983842.sqlite"
    )


def test_namespace_ids_become_safe_folder_names() -> None:
    assert safe_folder_name("abc123") == "abc123"
    assert safe_folder_name("my ns") == "my ns"
    assert safe_folder_name("a:b/c") == "a_b_c"
    assert safe_folder_name("con") == "_"
    assert safe_folder_name("..") == "__"
    assert safe_folder_name(" x ") == "_x_"
    assert len(safe_folder_name("x" * 300)) == 255


# -- KV in the pytest plugin and in pyflare check --------------------------------------------


def test_each_plugin_test_gets_a_fresh_empty_namespace(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", wrangler='name = "w"\nmain = "worker.py"\n' + KV_CONFIG)
    pytester.makepyfile(
        worker=COUNTER,
        conftest="import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n",
        test_counter="""
            import pytest

            @pytest.mark.anyio
            @pytest.mark.parametrize("run", [1, 2])
            async def test_counts_from_one(pyflare, run):
                assert (await pyflare.env.KV.list())["keys"] == []
                assert await (await pyflare.fetch("/")).json() == {"visits": 1}
                await pyflare.env.KV.put("later", "x", expirationTtl=3600)
                await pyflare.clock.advance(3600)
                assert await pyflare.env.KV.get("later") is None

            def test_sync(pyflare_sync):
                assert pyflare_sync.fetch("/").json() == {"visits": 1}
                assert pyflare_sync.env.KV.get("visits") == "1"
        """,
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_a_worker_using_kv_passes_a_check(tmp_path: Path) -> None:
    from miniflare_py.commands.check import check

    config = write_worker(tmp_path, COUNTER, KV_CONFIG)
    result = CliRunner().invoke(
        check, ["-c", str(config), "--fetch", "GET /", "--fetch", "GET /"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "kv_namespaces" not in result.output  # no "not emulated" warning


# -- value files are written behind the commit -----------------------------------------------


def pending(kv: KvNamespace) -> list[str]:
    return [r[0] for r in kv.storage._db.execute("SELECT blob_id FROM _pyflare_unwritten")]


def rows(kv: KvNamespace) -> dict[str, str]:
    return dict(kv.storage._db.execute("SELECT key, blob_id FROM _mf_entries"))


@pytest.mark.anyio
async def test_values_killed_before_their_files_were_written_get_them_on_reopen(
    tmp_path: Path,
) -> None:
    kv = namespace(tmp_path)
    with kv.storage._writer._round_lock:  # type: ignore[union-attr]  # the writer waits
        await kv.put("small", "s")
        await kv.put("large", "L" * (2 * 1024 * 1024))  # staged without its bytes
        assert await kv.get("large") == "L" * (2 * 1024 * 1024)  # read from the table
        assert len(pending(kv)) == 2 and blobs(tmp_path) == []
        # as a killed process leaves it: rows and pending values, no files
        kv.storage._writer._staged.clear()  # type: ignore[union-attr]
    kv.storage._writer.close()  # type: ignore[union-attr]
    reopened = namespace(tmp_path)
    try:
        reopened.storage.flush()
        assert pending(reopened) == []
        assert sorted(p.name for p in blobs(tmp_path)) == sorted(rows(reopened).values())
        assert await reopened.get("small") == "s"
    finally:
        reopened.storage.close()


@pytest.mark.anyio
async def test_a_value_replaced_before_its_file_was_written_never_gets_one(
    kv: KvNamespace, tmp_path: Path
) -> None:
    with kv.storage._writer._round_lock:  # type: ignore[union-attr]
        await kv.put("k", "one")
        await kv.put("k", "two")
        await kv.put("gone", "x")
        await kv.delete("gone")
        assert pending(kv) == [rows(kv)["k"]]
    [file] = blobs(tmp_path, kv=kv)
    assert file.name == rows(kv)["k"] and file.read_bytes() == b"two"
    assert pending(kv) == []


@pytest.mark.anyio
async def test_written_values_leave_the_table_in_batches(kv: KvNamespace, tmp_path: Path) -> None:
    for i in range(300):
        await kv.put(f"k{i % 10}", f"v{i}")
    kv.storage.flush()
    assert pending(kv) == []
    assert sorted(p.name for p in blobs(tmp_path)) == sorted(rows(kv).values())


# -- over a real pyflare dev -----------------------------------------------------------------


@pytest.mark.slow
def test_pyflare_dev_keeps_kv_across_a_stop_and_a_kill(tmp_path: Path) -> None:
    import apsw
    from dev_process import dev_process, run_pyflare

    write_worker(tmp_path, COUNTER, KV_CONFIG)
    state = tmp_path / ".wrangler" / "state"

    def files_match_rows() -> bool:
        db = apsw.Connection(str(kv_sqlite_path(state, "abc123")))
        try:
            blob_ids = {row[0] for row in db.execute("SELECT blob_id FROM _mf_entries")}
            left = db.execute("SELECT count(*) FROM _pyflare_unwritten").fetchone()[0]
        finally:
            db.close()
        present = {p.name for p in blob_folder(state, "abc123").iterdir()}
        return left == 0 and blob_ids <= present

    with dev_process([], cwd=tmp_path) as dev:
        for expected in (1, 2):
            assert dev.client.get("/").json() == {"visits": expected}
    assert files_match_rows()  # a stopped dev server leaves every value in its file

    with dev_process([], cwd=tmp_path) as dev:
        assert dev.client.get("/").json() == {"visits": 3}
        # while it runs, the CLI reads what the worker wrote
        got = run_pyflare(["kv", "key", "get", "visits", "--binding", "KV", "--text"], tmp_path)
        assert got.stdout == "3\n"
        dev.kill()
    with dev_process([], cwd=tmp_path) as dev:
        assert dev.client.get("/").json() == {"visits": 4}
    assert files_match_rows()


# -- a state folder that fails -----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_deleted_namespace_file_fails_writes_in_one_line(
    kv: KvNamespace, tmp_path: Path
) -> None:
    await kv.put("k", "v")
    kv_sqlite_path(tmp_path, "ns").unlink()
    with pytest.raises(KvError) as info:
        await kv.put("k", "w")
    message = str(info.value)
    assert message.startswith("KV PUT failed: 500 The KV namespace ")
    assert "was deleted while pyflare was using it" in message and "\n" not in message
    with pytest.raises(KvError, match="KV DELETE failed: 500 The KV namespace"):
        await kv.delete("k")


def test_a_damaged_namespace_file_is_one_line_naming_it(tmp_path: Path) -> None:
    from miniflare_py.state import StateError

    path = kv_sqlite_path(tmp_path, "ns")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database, not at all" * 100)
    with pytest.raises(StateError) as info:
        open_storage("ns", tmp_path)
    assert str(info.value).startswith(f"Cannot open the KV namespace {path}: ")
    assert "damaged" in str(info.value)
    from miniflare_py.cli import main

    result = CliRunner().invoke(
        main, ["kv", "key", "get", "k", "--namespace-id", "ns", "--persist-to", str(tmp_path)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: Cannot open the KV namespace {path}")
