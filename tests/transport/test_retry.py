"""The retry policy, run deterministically: seeded randomness, fake sleep and clock."""

from __future__ import annotations

import random

import pytest

from spacesync.errors import (
    AccessDenied,
    ClockSkew,
    ConnectError,
    ConnectionClosed,
    InvalidRequest,
    NetworkTimeout,
    NotFound,
    PreconditionFailed,
    RequestTimeout,
    ServerError,
    SpacesError,
    Throttled,
    TLSVerificationError,
)
from spacesync.transport.retry import RetryBudget, RetryEvent, RetryPolicy


class FakeTime:
    """Sleep that only advances a clock: the tests never wait for real."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def policy(fake: FakeTime, **options: object) -> RetryPolicy:
    return RetryPolicy(
        rng=random.Random(7),
        sleep=fake.sleep,
        clock=fake.clock,
        **options,  # type: ignore[arg-type]
    )


def throttled() -> Throttled:
    return Throttled("SlowDown", "Please reduce your request rate.", status=503)


class Flaky:
    """Fails with the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: SpacesError) -> None:
        self.errors = list(errors)
        self.calls: list[int] = []

    async def __call__(self, attempt: int) -> str:
        self.calls.append(attempt)
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retries_throttling_with_growing_capped_backoff() -> None:
    fake = FakeTime()
    flaky = Flaky(*(throttled() for _ in range(5)))
    events: list[RetryEvent] = []
    result = await policy(fake, base_delay=0.5, max_delay=3.0).run(
        flaky, idempotent=True, on_retry=events.append
    )
    assert result == "ok"
    assert flaky.calls == [1, 2, 3, 4, 5, 6]
    assert [e.attempt for e in events] == [1, 2, 3, 4, 5]
    caps = [0.5, 1.0, 2.0, 3.0, 3.0]
    assert fake.sleeps == [e.delay for e in events]
    for delay, cap in zip(fake.sleeps, caps, strict=True):
        assert 0 <= delay <= cap


async def test_same_seed_same_delays() -> None:
    runs = []
    for _ in range(2):
        fake = FakeTime()
        await policy(fake).run(Flaky(throttled(), throttled(), throttled()), idempotent=True)
        runs.append(fake.sleeps)
    assert runs[0] == runs[1]
    assert len(runs[0]) == 3


async def test_decorrelated_jitter_stays_within_bounds() -> None:
    fake = FakeTime()
    flaky = Flaky(*(throttled() for _ in range(6)))
    await policy(fake, jitter="decorrelated", base_delay=0.2, max_delay=2.0, max_attempts=10).run(
        flaky, idempotent=True
    )
    previous = 0.2
    for delay in fake.sleeps:
        assert 0.2 <= delay <= min(2.0, max(0.2, previous * 3))
        previous = delay


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    fake = FakeTime()
    last = ServerError("InternalError", "boom", status=500)
    flaky = Flaky(throttled(), throttled(), last, throttled())
    with pytest.raises(ServerError) as caught:
        await policy(fake, max_attempts=3).run(flaky, idempotent=True)
    assert caught.value is last
    assert flaky.calls == [1, 2, 3]


@pytest.mark.parametrize(
    "error",
    [
        AccessDenied("AccessDenied", "no", status=403),
        AccessDenied("SignatureDoesNotMatch", "bad signature", status=403),
        NotFound("NoSuchKey", "gone", status=404),
        PreconditionFailed("PreconditionFailed", "etag moved", status=412),
        InvalidRequest("InvalidArgument", "bad", status=400),
        TLSVerificationError("self-signed certificate"),
    ],
)
async def test_never_retries_client_errors(error: SpacesError) -> None:
    fake = FakeTime()
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        await policy(fake).run(flaky, idempotent=True)
    assert flaky.calls == [1]
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        ServerError("InternalError", "x", status=500),
        ServerError("BadGateway", "x", status=502),
        RequestTimeout("RequestTimeout", "x", status=400),
        throttled(),
        ConnectError("refused"),
    ],
)
async def test_retries_what_any_request_may_retry(error: SpacesError) -> None:
    flaky = Flaky(error)
    assert await policy(FakeTime()).run(flaky, idempotent=False) == "ok"
    assert flaky.calls == [1, 2]


@pytest.mark.parametrize("error", [ConnectionClosed("reset"), NetworkTimeout("slow")])
async def test_maybe_applied_failures_retry_only_idempotent_requests(error: SpacesError) -> None:
    assert await policy(FakeTime()).run(Flaky(error), idempotent=True) == "ok"
    once = Flaky(error)
    with pytest.raises(type(error)):
        await policy(FakeTime()).run(once, idempotent=False)
    assert once.calls == [1]


async def test_clock_skew_is_retried_at_once() -> None:
    fake = FakeTime()
    flaky = Flaky(ClockSkew("RequestTimeTooSkewed", "skewed", status=403))
    assert await policy(fake).run(flaky, idempotent=True) == "ok"
    assert flaky.calls == [1, 2]
    assert fake.sleeps == []


async def test_total_time_is_bounded() -> None:
    fake = FakeTime()
    flaky = Flaky(*(throttled() for _ in range(50)))
    with pytest.raises(Throttled):
        await policy(fake, max_attempts=100, base_delay=1.0, max_delay=1.0, max_elapsed=5.0).run(
            flaky, idempotent=True
        )
    assert fake.now <= 5.0
    assert 2 <= len(flaky.calls) < 50


async def test_shared_budget_stops_hammering_a_dead_endpoint() -> None:
    fake = FakeTime()
    budget = RetryBudget(capacity=20, retry_cost=5, timeout_cost=10, success_refund=1)
    shared = policy(fake, budget=budget, max_attempts=10)
    first = Flaky(*(throttled() for _ in range(10)))
    with pytest.raises(Throttled):
        await shared.run(first, idempotent=True)
    assert len(first.calls) == 5  # 4 retries spent the 20 tokens
    second = Flaky(throttled())
    with pytest.raises(Throttled):
        await shared.run(second, idempotent=True)
    assert second.calls == [1]  # an empty budget means no retry at all


async def test_timeouts_cost_more_and_a_success_gives_back_its_last_retry() -> None:
    budget = RetryBudget(capacity=30, retry_cost=5, timeout_cost=10, success_refund=1)
    shared = policy(FakeTime(), budget=budget)
    await shared.run(Flaky(NetworkTimeout("slow"), throttled()), idempotent=True)
    assert budget.tokens == 20  # 30 - 10 - 5, then the last retry's 5 back
    await shared.run(Flaky(NetworkTimeout("slow")), idempotent=True)
    assert budget.tokens == 20  # 20 - 10 + 10
    await shared.run(Flaky(), idempotent=True)
    assert budget.tokens == 21  # a first-attempt success: + 1
    await shared.run(Flaky(), idempotent=True)
    assert budget.tokens == 22


async def test_a_steady_fifth_of_failed_attempts_never_drains_the_budget() -> None:
    """Faults that retries get past (as the fault proxy's mix) must not exhaust the budget
    over a long job: only requests that keep failing outright may."""
    rng = random.Random(5)
    budget = RetryBudget()
    shared = policy(FakeTime(), budget=budget, max_attempts=8)
    for _ in range(5_000):
        failures = []
        while rng.random() < 0.2:
            failures.append(throttled())
        if len(failures) < 8:
            await shared.run(Flaky(*failures), idempotent=True)
    assert budget.tokens > budget.capacity / 2


async def test_cancellation_is_not_swallowed() -> None:
    import asyncio

    async def cancelled(_: int) -> str:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await policy(FakeTime()).run(cancelled, idempotent=True)


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
