"""`explorer.trace`: the invocation ring buffer, what is wrapped while tracing (and put back),
what an invocation keeps, and the idle stop."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import pytest

from miniflare_py.explorer import trace
from miniflare_py.explorer.trace import Traced, Tracer, disable_all


class Thing:
    """A stand-in binding."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def call(self, value: Any) -> Any:
        await asyncio.sleep(0)
        if value == "bad":
            raise ValueError("bad value")
        return value

    def sync_call(self, value: Any) -> Any:
        return value


def describe(tracer: Tracer, thing: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return thing.name, str(args[0]) if args else ""


SPECS = (
    Traced(f"{__name__}:Thing", "call", describe),
    Traced(f"{__name__}:Thing", "sync_call", describe),
)


class Runtime:
    tracer: Any = None
    env: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def clean() -> Any:
    yield
    disable_all()


def make(
    capacity: int = trace.CAPACITY, idle: float = trace.IDLE_SECONDS
) -> tuple[Tracer, Runtime]:
    tracer = Tracer(capacity, idle)
    runtime = Runtime()
    tracer.use(runtime, SPECS)
    return tracer, runtime


async def handler(*calls: Any) -> str:
    thing = Thing("THING")
    for value in calls:
        await thing.call(value)
    thing.sync_call("s")
    print("printed", "line")
    sys.stderr.write("to stderr\n")
    logging.getLogger("worker").warning("careful")
    return "done"


@pytest.mark.anyio
async def test_a_handler_run_keeps_its_calls_lines_and_outcome(anyio_backend: str) -> None:
    tracer, runtime = make()
    assert runtime.tracer is tracer
    assert await tracer.invoke("scheduled", None, handler("a", "b")) == "done"
    [invocation] = tracer.invocations
    assert invocation.kind == "scheduled" and invocation.outcome == "ok"
    assert [(c.binding, c.method, c.detail) for c in invocation.calls] == [
        ("THING", "call", "a"),
        ("THING", "call", "b"),
        ("THING", "sync_call", "s"),
    ]
    assert all(c.duration_ms is not None and c.duration_ms >= 0 for c in invocation.calls)
    assert [(line["source"], line["message"]) for line in invocation.logs] == [
        ("stdout", "printed line"),
        ("stderr", "to stderr"),
        ("logging", "careful"),
    ]
    with pytest.raises(ValueError):
        await tracer.invoke("scheduled", None, handler("bad"))
    failed = tracer.invocations[-1]
    assert failed.outcome == "exception" and failed.error.endswith("ValueError: bad value")
    assert failed.calls[0].error == "ValueError: bad value"


@pytest.mark.anyio
async def test_the_ring_buffer_keeps_the_newest(anyio_backend: str) -> None:
    tracer, _ = make(capacity=3)
    for _ in range(5):
        await tracer.invoke("scheduled", None, handler())
    assert [i.id for i in tracer.invocations] == [3, 4, 5]
    assert [i.id for i in tracer.since(4)] == [5]
    assert tracer.find(1) is None and tracer.find(4) is not None


@pytest.mark.anyio
async def test_calls_and_lines_per_invocation_are_bounded(anyio_backend: str) -> None:
    tracer, _ = make()

    async def chatty() -> None:
        thing = Thing("T")
        for n in range(trace.MAX_CALLS + 5):
            thing.sync_call(n)
        for n in range(trace.MAX_LOGS + 7):
            print(n)
        print("x" * (trace.MAX_LINE + 10))

    await tracer.invoke("scheduled", None, chatty())
    [invocation] = tracer.invocations
    assert len(invocation.calls) == trace.MAX_CALLS and invocation.dropped_calls == 5
    assert len(invocation.logs) == trace.MAX_LOGS and invocation.dropped_logs == 8
    summary = invocation.summary()
    assert summary["calls"] == trace.MAX_CALLS + 5


@pytest.mark.anyio
async def test_disable_puts_back_every_method_and_stream(anyio_backend: str) -> None:
    call, sync_call = Thing.call, Thing.sync_call
    stdout, stderr = sys.stdout, sys.stderr
    handlers = list(logging.getLogger().handlers)
    tracer, runtime = make()
    assert Thing.call is not call and sys.stdout is not stdout
    tracer.disable()
    assert (Thing.call, Thing.sync_call) == (call, sync_call)
    assert (sys.stdout, sys.stderr) == (stdout, stderr)
    assert logging.getLogger().handlers == handlers
    assert runtime.tracer is None
    # Stopped by hand, a later use of the explorer does not start it again.
    tracer.use(runtime, SPECS)
    assert not tracer.enabled and Thing.call is call
    tracer.enable()
    assert tracer.enabled and runtime.tracer is tracer


@pytest.mark.anyio
async def test_calls_outside_a_handler_are_not_recorded(anyio_backend: str) -> None:
    tracer, _ = make()
    assert await Thing("T").call("free") == "free"
    assert list(tracer.invocations) == []


@pytest.mark.anyio
async def test_tracing_stops_itself_when_the_explorer_is_left_alone(anyio_backend: str) -> None:
    call = Thing.call
    tracer, runtime = make(idle=0.0)
    await asyncio.sleep(0.01)
    assert await tracer.invoke("scheduled", None, handler()) == "done"
    assert not tracer.enabled and runtime.tracer is None and Thing.call is call
    assert list(tracer.invocations) == []
    tracer.use(runtime, SPECS)  # looked at again: recording again
    assert tracer.enabled


@pytest.mark.anyio
async def test_an_invocation_kind_of_its_own_is_listed_with_its_parent(anyio_backend: str) -> None:
    specs = (Traced(f"{__name__}:Thing", "call", describe, kind="ai", label="run"),)
    tracer = Tracer()
    tracer.use(Runtime(), specs)

    async def uses_ai() -> None:
        await Thing("AI").call("@cf/model")

    await tracer.invoke("scheduled", None, uses_ai())
    outer, inner = sorted(tracer.invocations, key=lambda i: i.id)
    assert inner.kind == "ai" and inner.parent == outer.id and inner.label == "AI @cf/model"
    assert [(c.binding, c.method) for c in outer.calls] == [("AI", "run")]
