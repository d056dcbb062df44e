"""Event-time reordering in front of the account stage.

An account's events reach the account stage along different paths: its own transactions in
place or through the by-account hop, the payee legs of other accounts' transfers from other
partitions, its logins from the `accounts` topic. Each path is ordered, but together they
interleave by arrival, not by event time, while `txmon replay` merges its inputs by event
time. The account stage therefore holds each event for `hold` seconds of wall-clock time and
releases held events in event-time order: events that arrive within `hold` of each other are
assessed in the order `replay` would assess them, so the stream and replay raise the same
alerts. An event that arrives later than that is assessed on arrival, as before.

Nothing is lost by holding: the input message behind a held event is acknowledged to Faust
only after the event has been assessed and its alerts acknowledged by the broker (manual acks),
so a crash redelivers it and the account's dedupe ring recognises what was already done.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Countdown", "HeldEvent", "ReorderBuffer"]


class Countdown:
    """Calls `done` once `count` parts have finished (the legs of one input message)."""

    def __init__(self, count: int, done: Callable[[], Any]) -> None:
        self.count = count
        self._done = done
        if count <= 0:
            done()

    def part_done(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._done()


@dataclass(order=True, slots=True)
class HeldEvent:
    occurred_at: datetime
    seq: int
    due: float = field(compare=False)
    payload: Any = field(compare=False)


class ReorderBuffer:
    """Holds items for `hold` seconds and hands them to `release` in event-time order.

    `release(batch)` is awaited with the items that are due together, in order (a micro-batch:
    the account stage waits for the broker once per batch); it must not raise (the caller
    dead-letters what fails). At most `max_held` items are held: `wait_for_room` makes the
    readers wait (backpressure) rather than let the hold grow without bound when the stage
    cannot keep up. `clock` is the monotonic clock (a parameter for the tests).
    """

    def __init__(
        self,
        hold: float,
        release: Callable[[list[Any]], Awaitable[None]],
        *,
        max_held: int = 5000,
        max_batch: int = 500,
        clock: Callable[[], float] = time.monotonic,
        tick: float | None = None,
    ) -> None:
        if hold <= 0:
            raise ValueError("a reorder buffer needs a positive hold time")
        if max_held < 1 or max_batch < 1:
            raise ValueError("max_held and max_batch must be positive")
        self.hold = hold
        self.max_held = max_held
        self.max_batch = max_batch
        self._release = release
        self._clock = clock
        self.tick = tick if tick is not None else min(0.05, hold / 4)
        self._heap: list[HeldEvent] = []
        self._seq = itertools.count()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._heap)

    async def wait_for_room(self) -> None:
        """Return once fewer than `max_held` items are held."""
        while len(self._heap) >= self.max_held:
            self._room.clear()
            await self._room.wait()

    def _made_room(self) -> None:
        if len(self._heap) < self.max_held:
            self._room.set()

    def push(self, occurred_at: datetime, payload: Any) -> None:
        heapq.heappush(
            self._heap, HeldEvent(occurred_at, next(self._seq), self._clock() + self.hold, payload)
        )

    def due(self, limit: int | None = None) -> list[Any]:
        """Pop the items whose turn has come (at most `limit`): the earliest in event time,
        once held long enough.

        An item held longer than `hold` waits behind an earlier-in-event-time item that arrived
        after it, for at most `hold` more.
        """
        now = self._clock()
        out: list[Any] = []
        while self._heap and self._heap[0].due <= now and (limit is None or len(out) < limit):
            out.append(heapq.heappop(self._heap).payload)
        self._made_room()
        return out

    def drain(self) -> list[Any]:
        """Pop everything, in event-time order (shutdown, partitions revoked)."""
        out: list[Any] = []
        while self._heap:
            out.append(heapq.heappop(self._heap).payload)
        self._made_room()
        return out

    async def release_due(self) -> int:
        released = 0
        while True:
            batch = self.due(self.max_batch)
            if not batch:
                return released
            await self._release(batch)
            released += len(batch)

    async def release_all(self) -> int:
        items = self.drain()
        for start in range(0, len(items), self.max_batch):
            await self._release(items[start : start + self.max_batch])
        return len(items)

    async def run(self) -> None:
        """Release due items until cancelled."""
        while True:
            await self.release_due()
            await asyncio.sleep(self.tick)
