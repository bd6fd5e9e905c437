"""The one owner of concurrency in a job: requests, bytes and files in flight.

Transfers are state machines that *ask* for a :class:`Lease` before each request and
start their tasks only through :meth:`Scheduler.tasks`; a producer that waits for its
lease before spawning keeps the number of live tasks bounded by the budget, however
many files or parts a job has (aws-c-s3 reserves memory when a part is scheduled, not
when it is read; so do we).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from spacesync.engine.plan import MiB

T = TypeVar("T")

DEFAULT_CONCURRENCY = 16
#: = DEFAULT_CONCURRENCY * the default 8 MiB part: the defaults never wait for memory.
#: Measured (1 GiB up, 2026-11-21): 64, 128 and 256 MiB run at the same speed; part
#: buffers are released as each part is sent (upload.py ``_buffer``), so RSS stays ~150 MiB.
DEFAULT_MAX_MEMORY = 128 * MiB
DEFAULT_PUTS_PER_OBJECT = 10


class ByteBudget:
    """Bytes reserved for part buffers, granted first come, first served. A reservation
    larger than the whole budget is granted when nothing else is reserved, so an oversized
    part slows the job instead of deadlocking it. Release is synchronous so that it can run
    from a task's done-callback."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the memory budget must be positive")
        self.capacity = capacity
        self.reserved = 0
        self.peak = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def _fits(self, nbytes: int) -> bool:
        return self.reserved == 0 or self.reserved + nbytes <= self.capacity

    def _reserve(self, nbytes: int) -> None:
        self.reserved += nbytes
        self.peak = max(self.peak, self.reserved)

    async def acquire(self, nbytes: int) -> None:
        if not self._waiters and self._fits(nbytes):
            self._reserve(nbytes)
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiters.append((nbytes, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release(nbytes)  # granted just as we were cancelled: give it back
            else:
                self._waiters.remove((nbytes, granted))
                self._grant()
            raise

    def release(self, nbytes: int) -> None:
        self.reserved -= nbytes
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self._fits(self._waiters[0][0]):
            nbytes, granted = self._waiters.popleft()
            if not granted.done():
                self._reserve(nbytes)
                granted.set_result(None)


@dataclass
class Lease:
    """What one request holds while it runs; released exactly once."""

    scheduler: Scheduler
    nbytes: int
    put_object: tuple[str, str] | None
    released: bool = field(default=False, init=False)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.scheduler._give_back(self)


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_error(error)
        if not isinstance(error, asyncio.CancelledError):
            return error
    return group.exceptions[0]


class FileSlot:
    def __init__(self, files: asyncio.Semaphore) -> None:
        self._files: asyncio.Semaphore | None = files

    def release(self) -> None:
        if self._files is not None:
            self._files.release()
            self._files = None


class TaskSpawner:
    """The handle through which transfers start tasks, inside a structured group: when
    one task fails, its siblings are cancelled and the error surfaces at the group."""

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self._group = group

    def spawn(self, coro: Coroutine[Any, Any, T], *, lease: Lease | None = None) -> asyncio.Task[T]:
        """Start ``coro``; a ``lease`` handed to it is released when the task ends, however
        it ends: a task cancelled before it first runs never reaches its own ``finally``."""
        task = self._group.create_task(coro)
        if lease is not None:
            task.add_done_callback(lambda _: lease.release())
        return task


class Scheduler:
    """Concurrency budget for one job.

    - ``concurrency``: HTTP requests in flight (one connection each).
    - ``max_memory``: bytes of part buffers reserved at once (uploads read a part into a
      buffer it holds until the part is sent).
    - ``max_files``: files transferring at once (open descriptors, per-file state).
    - ``puts_per_object``: concurrent UploadPart/UploadPartCopy on one object (Spaces
      allows 10).

    Worst-case memory of a job ≈ ``max(max_memory, largest part)`` for upload buffers
    + ``concurrency * 1 MiB`` for download pieces batched before a write (``WRITE_BATCH``)
    + ``max_files * ~10 KiB`` of per-file state.
    """

    def __init__(
        self,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_memory: int = DEFAULT_MAX_MEMORY,
        max_files: int | None = None,
        puts_per_object: int = DEFAULT_PUTS_PER_OBJECT,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.memory = ByteBudget(max_memory)
        self.max_files = max_files or concurrency * 4
        self.puts_per_object = puts_per_object
        self._requests = asyncio.Semaphore(concurrency)
        self._files = asyncio.Semaphore(self.max_files)
        self._object_slots: dict[tuple[str, str], tuple[asyncio.Semaphore, int]] = {}

    async def lease(self, *, nbytes: int = 0, put_object: tuple[str, str] | None = None) -> Lease:
        """Wait for memory, then a per-object PUT slot, then a request slot: always in this
        order, and each is released by a running request, so waiting cannot deadlock."""
        if nbytes:
            await self.memory.acquire(nbytes)
        acquired_slot = False
        try:
            if put_object is not None:
                await self._object_slot(put_object).acquire()
                acquired_slot = True
            await self._requests.acquire()
        except BaseException:
            if put_object is not None:
                self._drop_object_slot(put_object, acquired=acquired_slot)
            if nbytes:
                self.memory.release(nbytes)
            raise
        return Lease(self, nbytes, put_object)

    def _give_back(self, lease: Lease) -> None:
        self._requests.release()
        if lease.put_object is not None:
            self._drop_object_slot(lease.put_object, acquired=True)
        if lease.nbytes:
            self.memory.release(lease.nbytes)

    def _object_slot(self, name: tuple[str, str]) -> asyncio.Semaphore:
        slot, users = self._object_slots.get(name) or (asyncio.Semaphore(self.puts_per_object), 0)
        self._object_slots[name] = (slot, users + 1)
        return slot

    def _drop_object_slot(self, name: tuple[str, str], *, acquired: bool) -> None:
        slot, users = self._object_slots[name]
        if acquired:
            slot.release()
        if users <= 1:
            del self._object_slots[name]
        else:
            self._object_slots[name] = (slot, users - 1)

    @asynccontextmanager
    async def request(
        self, *, nbytes: int = 0, put_object: tuple[str, str] | None = None
    ) -> AsyncIterator[Lease]:
        """A lease held for the body of a ``with`` block."""
        lease = await self.lease(nbytes=nbytes, put_object=put_object)
        try:
            yield lease
        finally:
            lease.release()

    async def file_slot(self) -> FileSlot:
        """A file slot, taken by the job before it starts a file's transfer task and
        released by that task when the file is done."""
        await self._files.acquire()
        return FileSlot(self._files)

    @asynccontextmanager
    async def tasks(self) -> AsyncIterator[TaskSpawner]:
        """A structured group of tasks. A failure surfaces as the first task's own error
        (not an ExceptionGroup), so callers handle it like any other: one part failing
        after its retries means the file failed."""
        try:
            async with asyncio.TaskGroup() as group:
                yield TaskSpawner(group)
        except BaseExceptionGroup as failed:
            raise _first_error(failed) from failed

    @property
    def requests_in_flight(self) -> int:
        return self.concurrency - self._requests._value


_cleanups: set[asyncio.Task[Any]] = set()


async def run_shielded(coro: Coroutine[Any, Any, T]) -> T:
    """Run cleanup (an abort, a temp file's removal) to its end even if the caller is
    cancelled meanwhile (Ctrl-C mid-abort). Besides this, only downloads start work outside
    a task group, and for the same reason: a worker thread's write cannot be cancelled, so
    its temp file is closed only after the write has ended (``download._TempFile``), and a
    directory fsync shared by several downloads outlives each of them (``_DirectorySync``)."""
    task = asyncio.ensure_future(coro)
    _cleanups.add(task)  # a strong reference, so an abandoned cleanup is not collected
    task.add_done_callback(_cleanups.discard)
    return await asyncio.shield(task)
