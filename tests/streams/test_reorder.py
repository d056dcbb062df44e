"""The account stage's reorder hold: events released in event-time order after the hold."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from streams.reorder import Countdown, ReorderBuffer
from tests.factories import T0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def buffer(hold: float = 1.0) -> tuple[ReorderBuffer, Clock, list[str]]:
    released: list[str] = []

    async def release(batch: list[str]) -> None:
        released.extend(batch)

    clock = Clock()
    return ReorderBuffer(hold, release, clock=clock), clock, released


def at(minutes: int):  # noqa: ANN201 - test helper
    return T0 + timedelta(minutes=minutes)


async def test_nothing_is_released_before_the_hold() -> None:
    buf, clock, released = buffer(hold=1.0)
    buf.push(at(5), "a")
    clock.now += 0.99
    assert await buf.release_due() == 0
    clock.now += 0.01
    assert await buf.release_due() == 1
    assert released == ["a"]
    assert len(buf) == 0


async def test_events_arriving_within_the_hold_are_released_in_event_time_order() -> None:
    buf, clock, released = buffer(hold=1.0)
    buf.push(at(30), "transfer-out")  # arrives first
    clock.now += 0.3
    buf.push(at(10), "payee-leg-in")  # earlier in event time, arrives 0.3 s later
    clock.now += 0.2
    buf.push(at(20), "login")
    clock.now += 0.6  # the first arrival has been held 1.1 s, the second 0.8 s
    assert await buf.release_due() == 0  # the earliest event still waits out its hold
    clock.now += 0.2  # now the payee leg's hold is over; the login's ends 0.2 s later
    await buf.release_due()
    assert released == ["payee-leg-in"]
    clock.now += 0.2
    await buf.release_due()
    assert released == ["payee-leg-in", "login", "transfer-out"]


async def test_a_late_event_is_assessed_on_arrival_after_its_hold() -> None:
    buf, clock, released = buffer(hold=1.0)
    buf.push(at(30), "b")
    clock.now += 1.0
    await buf.release_due()
    buf.push(at(10), "late")
    clock.now += 1.0
    await buf.release_due()
    assert released == ["b", "late"]


async def test_ties_in_event_time_keep_arrival_order() -> None:
    buf, clock, released = buffer()
    for name in "xyz":
        buf.push(at(1), name)
    clock.now += 5
    await buf.release_due()
    assert released == ["x", "y", "z"]


async def test_release_all_drains_in_event_time_order() -> None:
    buf, _, released = buffer(hold=60)
    buf.push(at(3), "c")
    buf.push(at(1), "a")
    buf.push(at(2), "b")
    assert await buf.release_all() == 3
    assert released == ["a", "b", "c"]


async def test_run_releases_with_the_real_clock() -> None:
    released: list[str] = []

    async def release(batch: list[str]) -> None:
        released.extend(batch)

    buf = ReorderBuffer(0.05, release)
    task = asyncio.create_task(buf.run())
    buf.push(at(2), "b")
    buf.push(at(1), "a")
    for _ in range(100):
        if len(released) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert released == ["a", "b"]


def test_a_hold_must_be_positive() -> None:
    async def release(batch: list[object]) -> None:
        return None

    with pytest.raises(ValueError, match="positive hold"):
        ReorderBuffer(0, release)


def test_countdown_fires_once_when_every_part_is_done() -> None:
    fired: list[int] = []
    countdown = Countdown(2, lambda: fired.append(1))
    countdown.part_done()
    assert fired == []
    countdown.part_done()
    assert fired == [1]
    Countdown(0, lambda: fired.append(2))
    assert fired == [1, 2]


async def test_due_items_are_released_in_batches_of_at_most_max_batch() -> None:
    batches: list[list[int]] = []

    async def release(batch: list[int]) -> None:
        batches.append(batch)

    clock = Clock()
    buf = ReorderBuffer(1.0, release, max_batch=3, clock=clock)
    for i in range(7):
        buf.push(at(i), i)
    clock.now += 1
    assert await buf.release_due() == 7
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_readers_wait_while_the_hold_is_full() -> None:
    buf, clock, released = buffer(hold=1.0)
    buf.max_held = 2
    buf.push(at(1), "a")
    buf.push(at(2), "b")
    waiting = asyncio.create_task(buf.wait_for_room())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # full: the reader waits
    clock.now += 1
    await buf.release_due()
    await asyncio.wait_for(waiting, 1)
    assert released == ["a", "b"]
