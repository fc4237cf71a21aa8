"""The clocks: `RealClock` follows the wall clock, `VirtualClock` moves only when told to."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest

from miniflare_py.clock import RealClock, VirtualClock, spawn

START = 1_700_000_000.0

#: A generous real-time cap so a regression hangs one test for a moment, not the whole suite.
HANG_GUARD = 5


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=START)


# now()


def test_virtual_clock_starts_at_the_given_time(clock: VirtualClock) -> None:
    assert clock.now() == START


def test_virtual_clock_starts_near_the_real_time_by_default() -> None:
    before = time.time()
    clock = VirtualClock()
    after = time.time()
    assert before <= clock.now() <= after


def test_virtual_clock_does_not_move_on_its_own(clock: VirtualClock) -> None:
    first = clock.now()
    time.sleep(0.002)
    assert clock.now() == first


def test_real_clock_follows_the_wall_clock() -> None:
    clock = RealClock()
    before = time.time()
    now = clock.now()
    after = time.time()
    assert before <= now <= after


# advance() and advance_to()


@pytest.mark.anyio
async def test_advance_moves_time_forward_by_the_given_seconds(clock: VirtualClock) -> None:
    await clock.advance(30)
    assert clock.now() == START + 30
    await clock.advance(0.5)
    assert clock.now() == START + 30.5


@pytest.mark.anyio
async def test_advance_by_zero_keeps_the_time(clock: VirtualClock) -> None:
    await clock.advance(0)
    assert clock.now() == START


@pytest.mark.anyio
async def test_advance_by_a_negative_amount_is_an_error(clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="backwards"):
        await clock.advance(-1)
    assert clock.now() == START


@pytest.mark.anyio
async def test_advance_to_moves_to_an_absolute_time(clock: VirtualClock) -> None:
    await clock.advance_to(START + 100)
    assert clock.now() == START + 100


@pytest.mark.anyio
async def test_advance_to_a_past_time_keeps_the_current_time(clock: VirtualClock) -> None:
    await clock.advance(10)
    await clock.advance_to(START)
    assert clock.now() == START + 10


@pytest.mark.anyio
async def test_advance_to_fires_the_timers_up_to_the_target(clock: VirtualClock) -> None:
    fired: list[float] = []
    clock.call_at(START + 5, lambda: fired.append(clock.now()))
    clock.call_at(START + 50, lambda: fired.append(clock.now()))
    await clock.advance_to(START + 10)
    assert fired == [START + 5]
    await clock.advance_to(START + 50)
    assert fired == [START + 5, START + 50]


# call_at()


@pytest.mark.anyio
async def test_timers_fire_in_time_order_at_their_exact_virtual_time(clock: VirtualClock) -> None:
    fired: list[tuple[str, float]] = []
    clock.call_at(START + 3, lambda: fired.append(("c", clock.now())))
    clock.call_at(START + 1, lambda: fired.append(("a", clock.now())))
    clock.call_at(START + 2, lambda: fired.append(("b", clock.now())))
    await clock.advance(10)
    assert fired == [("a", START + 1), ("b", START + 2), ("c", START + 3)]
    assert clock.now() == START + 10


@pytest.mark.anyio
async def test_timers_with_the_same_deadline_fire_in_the_order_they_were_set(
    clock: VirtualClock,
) -> None:
    fired: list[int] = []
    for i in range(5):
        clock.call_at(START + 1, lambda i=i: fired.append(i))
    await clock.advance(1)
    assert fired == [0, 1, 2, 3, 4]


@pytest.mark.anyio
async def test_a_timer_does_not_fire_before_its_deadline(clock: VirtualClock) -> None:
    fired: list[float] = []
    clock.call_at(START + 10, lambda: fired.append(clock.now()))
    await clock.advance(9.999)
    assert fired == []
    await clock.advance(0.001)
    assert fired == [pytest.approx(START + 10)]


@pytest.mark.anyio
async def test_a_timer_fires_only_once(clock: VirtualClock) -> None:
    fired: list[float] = []
    clock.call_at(START + 1, lambda: fired.append(clock.now()))
    await clock.advance(5)
    await clock.advance(5)
    assert fired == [START + 1]


@pytest.mark.anyio
async def test_a_cancelled_timer_never_fires(clock: VirtualClock) -> None:
    fired: list[str] = []
    keep = clock.call_at(START + 1, lambda: fired.append("kept"))
    drop = clock.call_at(START + 2, lambda: fired.append("dropped"))
    drop.cancel()
    await clock.advance(10)
    assert fired == ["kept"]
    keep.cancel()  # cancelling a timer that already fired is harmless


@pytest.mark.anyio
async def test_a_cancelled_due_timer_does_not_fire_on_the_next_loop_turn(
    clock: VirtualClock,
) -> None:
    fired: list[str] = []
    handle = clock.call_at(START, lambda: fired.append("due"))
    handle.cancel()
    await asyncio.sleep(0)
    await clock.settle()
    assert fired == []


@pytest.mark.anyio
async def test_a_timer_can_cancel_a_later_timer(clock: VirtualClock) -> None:
    fired: list[str] = []
    later = clock.call_at(START + 2, lambda: fired.append("later"))
    clock.call_at(START + 1, later.cancel)
    await clock.advance(5)
    assert fired == []


@pytest.mark.anyio
async def test_a_timer_that_is_due_now_runs_after_one_loop_turn(clock: VirtualClock) -> None:
    fired: list[float] = []
    clock.call_at(clock.now(), lambda: fired.append(clock.now()))
    assert fired == []  # never synchronously inside call_at
    await asyncio.sleep(0)
    assert fired == [START]
    assert clock.now() == START


@pytest.mark.anyio
async def test_a_timer_in_the_past_runs_without_advance(clock: VirtualClock) -> None:
    fired: list[float] = []
    clock.call_at(START - 100, lambda: fired.append(clock.now()))
    await clock.settle()
    assert fired == [START]
    assert clock.now() == START


@pytest.mark.anyio
async def test_settle_runs_due_timers_but_not_future_ones(clock: VirtualClock) -> None:
    fired: list[str] = []
    clock.call_at(START, lambda: fired.append("now"))
    clock.call_at(START + 1, lambda: fired.append("later"))
    await clock.settle()
    assert fired == ["now"]
    assert clock.now() == START


def test_a_timer_set_outside_an_event_loop_fires_on_the_next_settle(clock: VirtualClock) -> None:
    fired: list[str] = []
    clock.call_at(START, lambda: fired.append("due"))
    assert fired == []
    asyncio.run(clock.settle())
    assert fired == ["due"]


@pytest.mark.anyio
async def test_a_timer_callback_may_set_a_timer_that_is_already_due(clock: VirtualClock) -> None:
    fired: list[tuple[str, float]] = []

    def first() -> None:
        fired.append(("first", clock.now()))
        clock.call_at(clock.now(), lambda: fired.append(("chained", clock.now())))

    clock.call_at(START + 1, first)
    await clock.advance(1)
    assert fired == [("first", START + 1), ("chained", START + 1)]


@pytest.mark.anyio
async def test_a_timer_callback_may_set_a_timer_inside_the_advanced_window(
    clock: VirtualClock,
) -> None:
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.now())
        if len(fired) < 4:
            clock.call_at(clock.now() + 2, tick)

    clock.call_at(START + 2, tick)
    await clock.advance(7)
    assert fired == [START + 2, START + 4, START + 6]
    await clock.advance(1)
    assert fired == [START + 2, START + 4, START + 6, START + 8]


# next_deadline()


def test_next_deadline_is_none_without_timers(clock: VirtualClock) -> None:
    assert clock.next_deadline() is None


def test_next_deadline_is_the_earliest_timer(clock: VirtualClock) -> None:
    clock.call_at(START + 9, lambda: None)
    clock.call_at(START + 3, lambda: None)
    clock.call_at(START + 5, lambda: None)
    assert clock.next_deadline() == START + 3


def test_next_deadline_skips_cancelled_timers(clock: VirtualClock) -> None:
    first = clock.call_at(START + 3, lambda: None)
    clock.call_at(START + 5, lambda: None)
    first.cancel()
    assert clock.next_deadline() == START + 5


@pytest.mark.anyio
async def test_next_deadline_forgets_timers_that_fired(clock: VirtualClock) -> None:
    clock.call_at(START + 3, lambda: None)
    await clock.advance(3)
    assert clock.next_deadline() is None


# sleep()


@pytest.mark.anyio
async def test_virtual_sleep_resolves_when_time_is_advanced(clock: VirtualClock) -> None:
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep(10)
        woke.append(clock.now())

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    assert clock.next_deadline() == START + 10
    await clock.advance(9)
    assert woke == []
    assert not task.done()
    await clock.advance(1)
    await task
    assert woke == [START + 10]


@pytest.mark.anyio
async def test_virtual_sleep_of_zero_or_less_returns_at_once(clock: VirtualClock) -> None:
    with anyio.fail_after(HANG_GUARD):
        await clock.sleep(0)
        await clock.sleep(-5)
    assert clock.now() == START
    assert clock.next_deadline() is None


@pytest.mark.anyio
async def test_a_cancelled_virtual_sleep_leaves_the_clock_usable(clock: VirtualClock) -> None:
    task = asyncio.create_task(clock.sleep(10))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.next_deadline() is None  # the sleep's timer went with it
    await clock.advance(20)
    assert clock.now() == START + 20


@pytest.mark.anyio
async def test_real_sleep_waits_on_the_event_loop() -> None:
    clock = RealClock()
    before = time.time()
    await clock.sleep(0.002)
    assert time.time() >= before + 0.002
    await clock.sleep(-1)  # a negative delay is not an error


# tracked work: spawn() and settle()


@pytest.mark.anyio
async def test_spawn_returns_a_task_the_clock_waits_for(clock: VirtualClock) -> None:
    async def work() -> str:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return "done"

    task = spawn(clock, work())
    assert isinstance(task, asyncio.Task)
    await clock.settle()
    assert task.done()
    assert task.result() == "done"


@pytest.mark.anyio
async def test_advance_returns_after_the_work_a_timer_started(clock: VirtualClock) -> None:
    finished: list[float] = []

    async def handler() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        finished.append(clock.now())

    clock.call_at(START + 5, lambda: spawn(clock, handler()))
    await clock.advance(10)
    assert finished == [START + 5]


@pytest.mark.anyio
async def test_work_started_by_a_timer_sees_the_timers_own_time(clock: VirtualClock) -> None:
    seen: list[float] = []

    async def handler(label: float) -> None:
        await asyncio.sleep(0)
        seen.append(clock.now() - START)

    for at in (1, 2, 3):
        clock.call_at(START + at, lambda at=at: spawn(clock, handler(at)))
    await clock.advance(10)
    assert seen == [1, 2, 3]


@pytest.mark.anyio
async def test_advance_waits_for_work_that_spawns_more_work(clock: VirtualClock) -> None:
    log: list[str] = []

    async def grandchild() -> None:
        await asyncio.sleep(0)
        log.append("grandchild")

    async def child() -> None:
        await asyncio.sleep(0)
        spawn(clock, grandchild())
        log.append("child")

    clock.call_at(START + 1, lambda: spawn(clock, child()))
    await clock.advance(1)
    assert log == ["child", "grandchild"]


@pytest.mark.anyio
async def test_advance_runs_due_timers_that_tracked_work_sets(clock: VirtualClock) -> None:
    log: list[tuple[str, float]] = []

    async def follow_up() -> None:
        log.append(("follow-up", clock.now()))

    async def handler() -> None:
        await asyncio.sleep(0)
        log.append(("handler", clock.now()))
        # due now: runs within this advance, at the same virtual time
        clock.call_at(clock.now(), lambda: spawn(clock, follow_up()))
        # due later but inside the advanced window
        clock.call_at(clock.now() + 2, lambda: log.append(("timer", clock.now())))

    clock.call_at(START + 1, lambda: spawn(clock, handler()))
    await clock.advance(5)
    assert log == [
        ("handler", START + 1),
        ("follow-up", START + 1),
        ("timer", START + 3),
    ]


@pytest.mark.anyio
async def test_advance_does_not_run_timers_that_work_sets_beyond_the_target(
    clock: VirtualClock,
) -> None:
    fired: list[float] = []

    async def handler() -> None:
        clock.call_at(clock.now() + 100, lambda: fired.append(clock.now()))

    clock.call_at(START + 1, lambda: spawn(clock, handler()))
    await clock.advance(5)
    assert fired == []
    assert clock.next_deadline() == START + 101


@pytest.mark.anyio
async def test_settle_waits_for_work_spawned_before_it_was_called(clock: VirtualClock) -> None:
    done: list[str] = []

    async def work() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        done.append("work")

    spawn(clock, work())
    await clock.settle()
    assert done == ["work"]
    assert clock.now() == START


@pytest.mark.anyio
async def test_settle_survives_tracked_work_that_raises(clock: VirtualClock) -> None:
    async def boom() -> None:
        raise RuntimeError("handler failed")

    task = spawn(clock, boom())
    with anyio.fail_after(HANG_GUARD):
        await clock.settle()
    assert isinstance(task.exception(), RuntimeError)


@pytest.mark.anyio
async def test_advance_waits_for_tracked_work_that_sleeps_on_the_virtual_clock(
    clock: VirtualClock,
) -> None:
    woke: list[float] = []

    async def handler() -> None:
        await clock.sleep(3)
        woke.append(clock.now())

    clock.call_at(START + 1, lambda: spawn(clock, handler()))
    with anyio.fail_after(HANG_GUARD):
        await clock.advance(10)
    assert woke == [START + 4]
    assert clock.now() == START + 10


@pytest.mark.anyio
async def test_settle_returns_while_tracked_work_sleeps_past_the_current_time(
    clock: VirtualClock,
) -> None:
    woke: list[float] = []

    async def handler() -> None:
        await clock.sleep(3)
        woke.append(clock.now())

    task = spawn(clock, handler())
    with anyio.fail_after(HANG_GUARD):
        await clock.settle()
    assert woke == []
    assert not task.done()
    with anyio.fail_after(HANG_GUARD):
        await clock.advance(3)
    assert woke == [START + 3]


# RealClock


@pytest.mark.anyio
async def test_real_clock_call_at_fires_callbacks_in_order() -> None:
    clock = RealClock()
    fired: list[str] = []
    now = clock.now()
    clock.call_at(now + 0.004, lambda: fired.append("second"))
    clock.call_at(now + 0.001, lambda: fired.append("first"))
    with anyio.fail_after(HANG_GUARD):
        while len(fired) < 2:
            await asyncio.sleep(0.001)
    assert fired == ["first", "second"]


@pytest.mark.anyio
async def test_real_clock_runs_a_timer_in_the_past_soon() -> None:
    clock = RealClock()
    fired: list[str] = []
    clock.call_at(clock.now() - 60, lambda: fired.append("late"))
    with anyio.fail_after(HANG_GUARD):
        while not fired:
            await asyncio.sleep(0)
    assert fired == ["late"]


@pytest.mark.anyio
async def test_real_clock_cancelled_timer_never_fires() -> None:
    clock = RealClock()
    fired: list[str] = []
    handle = clock.call_at(clock.now() + 0.001, lambda: fired.append("cancelled"))
    clock.call_at(clock.now() + 0.003, lambda: fired.append("kept"))
    handle.cancel()
    with anyio.fail_after(HANG_GUARD):
        while not fired:
            await asyncio.sleep(0.001)
    assert fired == ["kept"]


@pytest.mark.anyio
async def test_real_clock_settle_waits_for_tracked_work_and_its_children() -> None:
    clock = RealClock()
    done: list[str] = []

    async def child() -> None:
        await asyncio.sleep(0.001)
        done.append("child")

    async def parent() -> None:
        await asyncio.sleep(0)
        spawn(clock, child())
        done.append("parent")

    spawn(clock, parent())
    with anyio.fail_after(HANG_GUARD):
        await clock.settle()
    assert done == ["parent", "child"]


@pytest.mark.anyio
async def test_real_clock_settle_returns_at_once_without_work() -> None:
    with anyio.fail_after(HANG_GUARD):
        await RealClock().settle()


@pytest.mark.anyio
async def test_concurrent_settles_all_return_while_work_sleeps_on_the_clock(
    clock: VirtualClock,
) -> None:
    started = asyncio.Event()

    async def handler() -> None:
        started.set()
        await asyncio.sleep(0)
        await clock.sleep(60)

    spawn(clock, handler())
    with anyio.fail_after(HANG_GUARD):
        await asyncio.gather(clock.settle(), clock.settle(), clock.settle())
    assert started.is_set()
    assert clock.next_deadline() == START + 60
