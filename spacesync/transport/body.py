"""Request bodies that can be sent again on a retry without being buffered twice.

A body is a *source* (bytes already in memory, or a range of a file read with
``os.pread``), not a stream: every attempt iterates it from the start, so a retried
UploadPart re-reads its own range instead of keeping a second copy around.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
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


class FileRangeBody:
    """``length`` bytes of ``path`` from ``offset``, read with positional reads per attempt.

    Hashes are computed by one extra pass over the range, so nothing is held in memory
    beyond one slice.
    """

    def __init__(self, path: Path, *, offset: int = 0, length: int | None = None) -> None:
        self._path = path
        self._offset = offset
        self._length = os.stat(path).st_size - offset if length is None else length
        self._sha256: str | None = None
        self._md5: str | None = None

    @property
    def size(self) -> int:
        return self._length

    async def chunks(self) -> AsyncIterator[memoryview]:
        fd = await asyncio.to_thread(os.open, self._path, os.O_RDONLY)
        try:
            position, end = self._offset, self._offset + self._length
            while position < end:
                want = min(SEND_SLICE * 4, end - position)
                data = await asyncio.to_thread(os.pread, fd, want, position)
                if not data:
                    raise OSError(f"{self._path} shrank while it was being sent")
                position += len(data)
                yield memoryview(data)
        finally:
            os.close(fd)

    async def _digest(self, factory: Callable[[], _Hasher]) -> _Hasher:
        hasher = factory()
        async for chunk in self.chunks():
            await asyncio.to_thread(hasher.update, chunk)
        return hasher

    async def sha256_hex(self) -> str:
        if self._sha256 is None:
            self._sha256 = _hex(await self._digest(hashlib.sha256))
        return self._sha256

    async def md5_base64(self) -> str:
        if self._md5 is None:
            self._md5 = _b64(await self._digest(hashlib.md5))
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
