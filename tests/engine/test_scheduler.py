"""The scheduler's budgets hold under load, and nothing deadlocks or leaks."""

from __future__ import annotations

import asyncio

import pytest

from spacesync.engine.scheduler import ByteBudget, Scheduler


async def test_requests_memory_and_object_puts_stay_within_budget() -> None:
    scheduler = Scheduler(concurrency=4, max_memory=100, puts_per_object=2)
    live = {"requests": 0, "peak": 0, "obj": 0, "obj_peak": 0}

    async def part(nbytes: int, obj: tuple[str, str] | None) -> None:
        async with scheduler.request(nbytes=nbytes, put_object=obj):
            live["requests"] += 1
            live["peak"] = max(live["peak"], live["requests"])
            if obj == ("b", "one"):
                live["obj"] += 1
                live["obj_peak"] = max(live["obj_peak"], live["obj"])
            assert scheduler.memory.reserved <= 100
            await asyncio.sleep(0.001)
            if obj == ("b", "one"):
                live["obj"] -= 1
            live["requests"] -= 1

    async with scheduler.tasks() as spawner:
        for i in range(60):
            spawner.spawn(part(30, ("b", "one") if i % 2 else ("b", f"k{i}")))
    assert live["peak"] <= 4
    assert live["obj_peak"] <= 2
    assert scheduler.memory.peak <= 90
    assert scheduler.memory.reserved == 0
    assert scheduler.requests_in_flight == 0
    assert scheduler._object_slots == {}


async def test_oversized_reservation_waits_for_an_empty_budget() -> None:
    budget = ByteBudget(10)
    await budget.acquire(4)
    big = asyncio.ensure_future(budget.acquire(50))
    await asyncio.sleep(0)
    assert not big.done()
    budget.release(4)
    await asyncio.wait_for(big, 1)
    assert budget.reserved == 50


async def test_producer_waiting_for_leases_bounds_live_tasks() -> None:
    scheduler = Scheduler(concurrency=3, max_memory=10**9)
    started = 0
    peak_tasks = 0

    async with scheduler.tasks() as spawner:
        for _ in range(50):
            lease = await scheduler.lease(nbytes=1)

            async def run(lease=lease) -> None:  # type: ignore[no-untyped-def]
                try:
                    await asyncio.sleep(0.001)
                finally:
                    lease.release()

            started += 1
            spawner.spawn(run())
            peak_tasks = max(peak_tasks, len([t for t in asyncio.all_tasks() if not t.done()]) - 1)
    assert started == 50
    assert peak_tasks <= 3 + 1


async def test_cancelled_lease_wait_gives_everything_back() -> None:
    scheduler = Scheduler(concurrency=1, max_memory=100, puts_per_object=1)
    held = await scheduler.lease(nbytes=10, put_object=("b", "k"))
    waiting = asyncio.ensure_future(scheduler.lease(nbytes=10, put_object=("b", "k")))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    held.release()
    held.release()  # idempotent
    assert scheduler.memory.reserved == 0
    assert scheduler._object_slots == {}
    assert scheduler.requests_in_flight == 0


async def test_a_failing_task_cancels_its_siblings() -> None:
    scheduler = Scheduler(concurrency=4)
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def boom() -> None:
        raise RuntimeError("part failed")

    with pytest.raises(RuntimeError, match="part failed"):
        async with scheduler.tasks() as spawner:
            spawner.spawn(slow())
            spawner.spawn(boom())
    assert cancelled.is_set()


async def test_lease_of_a_task_cancelled_before_it_ran_is_released() -> None:
    scheduler = Scheduler(concurrency=2, max_memory=100)
    started: list[int] = []

    async def part(n: int) -> None:
        started.append(n)
        await asyncio.sleep(10)

    async def boom() -> None:
        raise RuntimeError("sibling failed")

    with pytest.raises(RuntimeError):
        async with scheduler.tasks() as spawner:
            spawner.spawn(boom())
            for n in range(2):
                lease = await scheduler.lease(nbytes=40)
                spawner.spawn(part(n), lease=lease)  # cancelled before it ever runs
    assert scheduler.memory.reserved == 0
    assert scheduler.requests_in_flight == 0


async def test_memory_is_granted_first_come_first_served() -> None:
    budget = ByteBudget(10)
    await budget.acquire(10)
    order: list[str] = []

    async def take(name: str, nbytes: int) -> None:
        await budget.acquire(nbytes)
        order.append(name)

    big = asyncio.ensure_future(take("big", 8))
    await asyncio.sleep(0)
    small = asyncio.ensure_future(take("small", 1))
    await asyncio.sleep(0)
    budget.release(10)
    await asyncio.gather(big, small)
    assert order == ["big", "small"]
