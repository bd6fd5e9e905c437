"""One pacer per endpoint: spaces out request starts so that every worker slows together.

Two things set the spacing: a request-rate ceiling (a provider limit, e.g. Spaces'
1,500 requests/s per client IP) and a throttle interval that doubles on each
SlowDown/503 and decays after successes, as rclone's pacer does. Backing off one
request (the retry policy's job) does not help if fifty others keep hammering.

The decay must outweigh the doubling at the throttle rates a busy endpoint keeps up: the
interval holds steady when ``p * ln 2 == (1 - p) * ln(1 / decay)`` for a fraction ``p`` of
requests throttled. rclone's 0.75 puts that point near 29%; a decay of 0.9 put it near 13%,
so a steady 10% of SlowDowns (the fault proxy's mix) left the interval a barely recurrent
random walk that spent long stretches at ``max_throttle``: 2,500 requests then paced for
minutes, most of it asleep here with starts booked tens of seconds ahead.

Waiters take turns and each is spaced by the interval in force when its turn comes, not
when it arrived: a burst of SlowDowns that briefly pushed the interval to the cap used to
book every queued request 2 s apart (20 s for ten of them) and keep those bookings after
the interval had decayed back to nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    def __init__(
        self,
        *,
        max_rate: float | None = None,
        first_throttle: float = 0.01,
        max_throttle: float = 2.0,
        decay: float = 0.75,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._floor = 1.0 / max_rate if max_rate else 0.0
        self._first_throttle = first_throttle
        self._max_throttle = max_throttle
        self._decay = decay
        self._clock = clock
        self._sleep = sleep
        #: Extra spacing learnt from throttling; 0 while the endpoint is happy.
        self.throttle_interval = 0.0
        self._last_start = -math.inf
        self._turn = asyncio.Lock()

    @property
    def interval(self) -> float:
        """Seconds between two request starts, across all workers."""
        return max(self._floor, self.throttle_interval)

    async def wait(self) -> None:
        """Wait for this request's turn to start; returns at once when no spacing is in
        force and nobody is waiting."""
        if self.interval <= 0 and not self._turn.locked():
            return
        async with self._turn:
            now = self._clock()
            start = max(now, self._last_start + self.interval)
            if start > now:
                await self._sleep(start - now)
            # The slot, not the wake-up: a late timer does not push back every later start.
            self._last_start = start

    def throttled(self) -> None:
        self.throttle_interval = min(
            self._max_throttle, max(self._first_throttle, self.throttle_interval * 2)
        )

    def succeeded(self) -> None:
        if self.throttle_interval:
            decayed = self.throttle_interval * self._decay
            self.throttle_interval = decayed if decayed >= self._first_throttle / 4 else 0.0
