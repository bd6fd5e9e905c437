"""Request bodies that can be sent again on a retry without being buffered twice.

A body is a *source* (bytes already in memory, which the engine read), not a stream:
every attempt iterates it from the start, so a retried UploadPart sends its part again
without a second copy. Reading files is the engine's business, never the transport's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

#: Slices handed to the socket: big enough to keep syscalls few, small enough that the
#: event loop interleaves many concurrent uploads fairly.
SEND_SLICE = 256 * 1024

#: Hashing below this size costs less than a hop to a worker thread.
_INLINE_HASH_LIMIT = 256 * 1024


class RequestBody(Protocol):
    """What the transport needs from a body: its exact size and fresh chunks per attempt."""

    @property
    def size(self) -> int: ...

    def chunks(self) -> AsyncIterator[memoryview]: ...

    async def sha256_hex(self) -> str: ...

    async def md5_base64(self) -> str: ...


class BytesBody:
    """A body already in memory, sent as memoryview slices (no copies). Hashes the caller
    already computed (e.g. while reading a part) are passed in, not computed twice."""

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        *,
        md5_base64: str | None = None,
        sha256_hex: str | None = None,
    ) -> None:
        self._view = memoryview(data).cast("B")
        self._sha256 = sha256_hex
        self._md5 = md5_base64

    @property
    def size(self) -> int:
        return len(self._view)

    async def chunks(self) -> AsyncIterator[memoryview]:
        view = self._view
        for start in range(0, len(view), SEND_SLICE):
            yield view[start : start + SEND_SLICE]

    async def sha256_hex(self) -> str:
        if self._sha256 is None:
            self._sha256 = await _hash(hashlib.sha256, self._view, _hex)
        return self._sha256

    async def md5_base64(self) -> str:
        if self._md5 is None:
            self._md5 = await _hash(hashlib.md5, self._view, _b64)
        return self._md5


class _Hasher(Protocol):
    def update(self, data: memoryview, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


def _hex(hasher: _Hasher) -> str:
    return hasher.hexdigest()


def _b64(hasher: _Hasher) -> str:
    return base64.b64encode(hasher.digest()).decode()


async def _hash(
    factory: Callable[[], _Hasher], view: memoryview, finish: Callable[[_Hasher], str]
) -> str:
    """Hash in a worker thread for large buffers (hashlib releases the GIL)."""

    def run() -> str:
        hasher = factory()
        hasher.update(view)
        return finish(hasher)

    if len(view) <= _INLINE_HASH_LIMIT:
        return run()
    return await asyncio.to_thread(run)
