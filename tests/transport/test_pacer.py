"""The per-endpoint pacer: a rate ceiling, slowing together on throttling, recovering."""

from __future__ import annotations

import random

import pytest

from spacesync.transport.pacer import Pacer


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


async def test_concurrent_waiters_are_serialised_by_the_interval() -> None:
    import asyncio

    clock = Clock()
    pacer = Pacer(max_rate=10, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(pacer.wait() for _ in range(5)))
    # The first starts at once; the others were given starts 0.1 s apart.
    assert len(clock.sleeps) == 4
    assert abs(pacer._next_start - (100.0 + 5 * 0.1)) < 1e-9


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
