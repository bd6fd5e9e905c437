"""The one retry policy: what is retried, how long to wait, and when to give up.

Randomness, sleep and the clock are injected so tests run the whole policy
deterministically and without sleeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from spacesync.errors import (
    ClockSkew,
    ConnectError,
    NetworkTimeout,
    RequestTimeout,
    ServerError,
    SpacesError,
    Throttled,
    TLSVerificationError,
    TransportError,
)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class RetryBudget:
    """A token bucket shared by every request of a client, so that a dead endpoint is not
    hammered by every worker's full set of attempts (the AWS SDKs' "standard" mode).

    A retry spends tokens (timeouts more); a success after retries gives back what its last
    retry cost, a success at the first attempt a little more; an empty bucket means "fail
    now". So the bucket drains only while requests keep failing outright, never under a
    steady rate of faults that retries get past (refunding one token per success drained
    it at a quarter token per request with a fifth of attempts failing)."""

    capacity: float = 500.0
    retry_cost: float = 5.0
    timeout_cost: float = 10.0
    success_refund: float = 1.0
    tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def try_spend(self, error: BaseException) -> float | None:
        """The tokens a retry after ``error`` took, or None if the bucket cannot pay."""
        cost = self.timeout_cost if isinstance(error, NetworkTimeout) else self.retry_cost
        if self.tokens < cost:
            return None
        self.tokens -= cost
        return cost

    def refund(self, last_retry_cost: float | None) -> None:
        """A success: ``last_retry_cost`` is what its last retry took (None: no retry)."""
        amount = self.success_refund if last_retry_cost is None else last_retry_cost
        self.tokens = min(self.capacity, self.tokens + amount)


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """Told to observers before each backoff: which attempt failed, why, and the wait."""

    attempt: int
    error: SpacesError
    delay: float


class RetryPolicy:
    """Exponential backoff with jitter, bounded in attempts, total time and budget."""

    def __init__(
        self,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.1,
        max_delay: float = 20.0,
        max_elapsed: float = 300.0,
        jitter: Literal["full", "decorrelated"] = "full",
        budget: RetryBudget | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_elapsed = max_elapsed
        self.jitter = jitter
        self.budget = budget if budget is not None else RetryBudget()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock
        #: Told of every retry this policy makes (e.g. to count them per file).
        self.on_retry = on_retry

    @staticmethod
    def is_retryable(error: BaseException, *, idempotent: bool) -> bool:
        """The whole rule of what may be tried again.

        A connection that never opened cannot have applied anything, so it is always
        retried; a timeout or a broken connection may have applied the request, so only
        idempotent requests are. Server faults, throttling and S3's RequestTimeout are
        retried; a skewed clock is retried after the caller corrected it; no other 4xx is.
        """
        if isinstance(error, TLSVerificationError):
            return False
        if isinstance(error, ConnectError):
            return True
        if isinstance(error, TransportError):
            return idempotent
        return isinstance(error, Throttled | ServerError | RequestTimeout | ClockSkew)

    def _delay(self, attempt: int, previous: float) -> float:
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if self.jitter == "full":
            return self._rng.uniform(0, cap)
        # Decorrelated jitter: grows from the previous delay rather than the attempt count.
        return min(
            self.max_delay, self._rng.uniform(self.base_delay, max(self.base_delay, previous * 3))
        )

    async def run(
        self,
        attempt: Callable[[int], Awaitable[T]],
        *,
        idempotent: bool,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> T:
        """Call ``attempt(n)`` (n from 1) until it succeeds or the policy gives up; the
        error that ends it is the last one, raised as it was."""
        started = self._clock()
        delay = self.base_delay
        number = 1
        last_retry_cost: float | None = None
        while True:
            try:
                result = await attempt(number)
            except SpacesError as error:
                if number >= self.max_attempts or not self.is_retryable(
                    error, idempotent=idempotent
                ):
                    raise
                last_retry_cost = self.budget.try_spend(error)
                if last_retry_cost is None:
                    raise
                delay = 0.0 if isinstance(error, ClockSkew) else self._delay(number, delay)
                if self._clock() + delay - started > self.max_elapsed:
                    raise
                event = RetryEvent(attempt=number, error=error, delay=delay)
                for observer in (on_retry, self.on_retry):
                    if observer is not None:
                        observer(event)
                if delay:
                    await self._sleep(delay)
                number += 1
            else:
                self.budget.refund(last_retry_cost)
                return result
