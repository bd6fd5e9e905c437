"""The per-endpoint pacer: a rate ceiling, slowing together on throttling, recovering."""

from __future__ import annotations

import asyncio
import random
import selectors
from collections.abc import Awaitable, Callable

import pytest

from spacesync.transport.pacer import Pacer


class _JumpToNextTimer(selectors.DefaultSelector):
    """Instead of blocking until the next timer, move the loop's clock to it."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self._loop.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """Real tasks, locks and ``asyncio.sleep``, on a clock that jumps to the next timer
    whenever every task waits: concurrent waiters are timed exactly, without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_JumpToNextTimer(self))

    def time(self) -> float:
        return self.now


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_idle_pacer_never_sleeps() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(100):
        await pacer.wait()
    assert clock.sleeps == []


async def test_rate_ceiling_spaces_request_starts() -> None:
    clock = Clock()
    pacer = Pacer(max_rate=1500, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(1500):
        await pacer.wait()
    assert abs((clock.now - start) - 1499 / 1500) < 1e-6  # 1,500 starts take ~1 s


async def test_throttling_slows_everyone_then_decays() -> None:
    clock = Clock()
    pacer = Pacer(first_throttle=0.01, max_throttle=1.0, decay=0.5, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.throttled()
    assert pacer.interval == 0.04
    for _ in range(20):
        pacer.throttled()
    assert pacer.interval == 1.0  # capped
    steps = 0
    while pacer.interval:
        pacer.succeeded()
        steps += 1
    assert 5 < steps < 20  # recovers gradually, and completely


def run_virtual(scenario: Callable[[VirtualTimeLoop], Awaitable[list[float]]]) -> list[float]:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(scenario(loop))
    finally:
        loop.close()


async def starts_of(
    pacer: Pacer, requests: int, *, meanwhile: Callable[[], None] = lambda: None
) -> list[float]:
    """When each of ``requests`` concurrent waiters started; ``meanwhile`` runs once they
    all took their turn or queued for one (what replies of requests in flight do)."""
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def request() -> None:
        await pacer.wait()
        starts.append(loop.time())

    waiters = [asyncio.ensure_future(request()) for _ in range(requests)]
    await asyncio.sleep(0)
    meanwhile()
    await asyncio.gather(*waiters)
    return starts


def test_concurrent_waiters_are_serialised_by_the_interval() -> None:
    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        return await starts_of(Pacer(max_rate=10, clock=loop.time), 5)

    assert run_virtual(scenario) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_queued_waiters_start_at_the_interval_in_force_when_their_turn_comes() -> None:
    """A burst of SlowDowns puts the interval at its 2 s cap while ten requests queue, then
    replies of requests already in flight bring it back to nothing. The one already asleep
    for its turn keeps it; the rest go at once. Each used to book a start 2 s after the one
    before at the interval of its arrival and keep it: the last started after 18 s."""

    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        pacer = Pacer(clock=loop.time)
        for _ in range(10):
            pacer.throttled()
        assert pacer.interval == 2.0

        def recovered() -> None:
            while pacer.interval:
                pacer.succeeded()

        return await starts_of(pacer, 10, meanwhile=recovered)

    assert run_virtual(scenario) == [0.0] + [2.0] * 9


@pytest.mark.parametrize("seed", range(5))
async def test_a_steady_ten_percent_of_slowdowns_costs_little_pacing(seed: int) -> None:
    """The fault proxy's mix at the soak's size: of 2,500 requests 10% are throttled and 10%
    fail otherwise (no signal either way). With a decay too weak to outweigh the doubling,
    the interval wandered up to its 2 s cap for long stretches: 70 s to 6 min of pacing for
    these seeds, and a 1,000-file sync that seemed to hang. Now ~10 s: a few ms a request."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    outcomes = random.Random(seed)
    for _ in range(2500):
        await pacer.wait()
        draw = outcomes.random()
        if draw < 0.10:
            pacer.throttled()
        elif draw >= 0.20:
            pacer.succeeded()
    assert sum(clock.sleeps) < 25.0  # under 10 ms a request on average
