"""Uploads: one object's state machine, from a local file or a stream to S3.

Each object moves through :class:`UploadState`::

    NEW ─► PUTTING ─────────────────────────────────────────► DONE   (size ≤ threshold)
    NEW ─► CREATING ─► SENDING ─► COMPLETING ───────────────► DONE   (multipart)
    NEW ─► RESUMING ─► SENDING (journal's parts reused)
                    └► CREATING (journal unusable, or only an intent: start over)
    any live state ─► KEPT   (interrupted: the journal, intent or upload id, kept for a resume)
                   └► FAILED (upload aborted, journal dropped: nothing orphaned)

Integrity is end to end: every part carries Content-MD5, and the final ETag must equal
the one computed locally (MD5 of the part MD5s, ``-N``), else the object is deleted.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import functools
import hashlib
import logging
import mimetypes
import mmap
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import xxhash

from spacesync.engine.journal import JournalPart, LocalIdentity, UploadJournal
from spacesync.engine.plan import MAX_PARTS, PartPlan, PartRange
from spacesync.engine.scheduler import Lease, Scheduler, TaskSpawner, run_shielded
from spacesync.engine.transfer import (
    META_MTIME,
    META_PART_SIZE,
    TransferContext,
    TransferResult,
    resumable_after,
)
from spacesync.errors import (
    ConfigError,
    IntegrityError,
    LocalFileError,
    NotFound,
    SourceChanged,
    SpacesError,
)
from spacesync.protocol.etag import multipart_etag
from spacesync.protocol.headers import ObjectAttributes
from spacesync.protocol.model import CompletedPart
from spacesync.transport.body import BytesBody

log = logging.getLogger("spacesync.upload")

#: Chunk of a resumed part re-read to check its hash: small, since nothing is sent.
_VERIFY_CHUNK = 1024 * 1024
#: How far the clock that dated an intent journal may be off the server's clock: S3 refuses
#: requests signed further off than this unless the client corrected its clock.
INTENT_CLOCK_SLACK = timedelta(minutes=15)
#: Part buffers from this size up are their own anonymous mappings (see :func:`_buffer`).
_MMAP_FROM = 1024 * 1024


def _buffer(size: int) -> bytearray | mmap.mmap:
    """A zeroed buffer for one part. Big ones are mmap'd, so they go back to the system
    (munmap) as soon as the part is sent: as malloc'd bytearrays, glibc raises its mmap
    threshold after the first free and then carves later parts out of per-thread heaps
    that never shrink, so RSS grew with the file (113 MiB at 64 MiB, 241 MiB at 1 GiB)."""
    return mmap.mmap(-1, size) if size >= _MMAP_FROM else bytearray(size)


class UploadState(enum.Enum):
    """Where one object's upload is (transitions drawn in the module docstring)."""

    NEW = "new"
    PUTTING = "putting"  # one PutObject
    RESUMING = "resuming"  # matching a journal against ListParts and the file
    CREATING = "creating"  # CreateMultipartUpload
    SENDING = "sending"  # parts in flight
    COMPLETING = "completing"  # CompleteMultipartUpload and the ETag check
    DONE = "done"
    KEPT = "kept"  # interrupted; the upload id and journal are kept for a resume
    FAILED = "failed"  # aborted and journal dropped (or a completed bad object deleted)


_TERMINAL = frozenset({UploadState.DONE, UploadState.KEPT, UploadState.FAILED})
_NEXT: dict[UploadState, frozenset[UploadState]] = {
    UploadState.NEW: frozenset({UploadState.PUTTING, UploadState.CREATING, UploadState.RESUMING}),
    UploadState.RESUMING: frozenset({UploadState.SENDING, UploadState.CREATING}),
    UploadState.CREATING: frozenset({UploadState.SENDING}),
    UploadState.SENDING: frozenset({UploadState.COMPLETING}),
    UploadState.PUTTING: frozenset({UploadState.DONE}),
    UploadState.COMPLETING: frozenset({UploadState.DONE}),
}


@dataclass(eq=False)
class _ObjectUpload:
    """One object's upload: where it is, and what would be left behind if it stopped now."""

    bucket: str
    key: str
    state: UploadState = UploadState.NEW
    #: Set while a multipart upload exists on the server (it must be aborted or kept).
    upload_id: str | None = None
    journal: UploadJournal | None = None
    #: MD5 digest of every part the object will be made of, sent or reused.
    md5s: dict[int, bytes] = field(default_factory=dict)
    #: The server's ETag of every part, as CompleteMultipartUpload wants them (the MD5s,
    #: unless SSE-C encrypted the parts).
    part_etags: dict[int, str] = field(default_factory=dict)
    sent: int = 0  # bytes sent by this run
    reused: int = 0  # bytes of parts reused from an earlier run
    etag: str = ""

    @property
    def target(self) -> tuple[str, str]:
        return self.bucket, self.key

    def enter(self, state: UploadState) -> None:
        """Move to ``state``; a failure state may follow any live one, the rest only as drawn
        in the module docstring (a wrong move is a bug in this module)."""
        allowed = (
            self.state not in _TERMINAL
            if state in (UploadState.KEPT, UploadState.FAILED)
            else state in _NEXT.get(self.state, ())
        )
        if not allowed:
            raise AssertionError(f"upload of {self.key!r}: {self.state.name} -> {state.name}")
        log.debug("s3://%s/%s: %s -> %s", self.bucket, self.key, self.state.name, state.name)
        self.state = state

    def adopt(self, journal: UploadJournal) -> None:
        self.upload_id, self.journal = journal.upload_id, journal

    def expected_etag(self) -> str:
        """The multipart ETag S3 computes: MD5 of the concatenated part MD5s, then ``-N``."""
        return multipart_etag([self.md5s[number] for number in sorted(self.md5s)])


@dataclass(frozen=True, slots=True)
class _PartData:
    """A part read into memory, hashed once right after reading (in the worker thread)."""

    view: memoryview
    md5: bytes
    xxh3: str

    @classmethod
    def of(cls, view: memoryview) -> _PartData:
        return cls(view, hashlib.md5(view).digest(), xxhash.xxh3_128_hexdigest(view))

    @property
    def size(self) -> int:
        return len(self.view)

    @property
    def md5_base64(self) -> str:
        return base64.b64encode(self.md5).decode()


def _fill(buffer: bytearray | mmap.mmap, pull: Callable[[memoryview, int], int]) -> memoryview:
    """Fill ``buffer`` by repeated ``pull(free_space, filled_so_far)`` (reads may be short);
    returns the filled part, shorter than the buffer only at end of input."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        got = pull(view[filled:], filled)
        if got == 0:
            break
        filled += got
    return view[:filled]


def _read_stream_part(read: Callable[[int], bytes], *, size: int, name: str) -> _PartData:
    """Up to ``size`` bytes of a blocking stream; fewer only at its end."""

    def pull(free: memoryview, _: int) -> int:
        data = read(len(free))
        free[: len(data)] = data
        return len(data)

    with _local_io(name):
        return _PartData.of(_fill(_buffer(size), pull))


@contextmanager
def _local_io(name: str) -> Iterator[None]:
    """A local read failing (missing file, permission, I/O error) fails this upload only."""
    try:
        yield
    except OSError as error:
        raise LocalFileError.from_os(error, where=name) from error


@dataclass(frozen=True, slots=True)
class _Source:
    """An open local file and the identity it had when the upload began. Its methods block:
    call them through ``asyncio.to_thread``."""

    fd: int
    identity: LocalIdentity

    @classmethod
    def open(cls, path: Path) -> _Source:
        with _local_io(str(path)):
            fd = os.open(path, os.O_RDONLY)
            try:
                st = os.fstat(fd)
            except BaseException:
                os.close(fd)
                raise
        identity = LocalIdentity(
            path=os.path.abspath(path), size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino
        )
        return cls(fd, identity)

    def close(self) -> None:
        os.close(self.fd)

    def read(self, part: PartRange) -> _PartData:
        """The part's bytes with positional reads into one buffer (no shared file offset)."""
        with _local_io(self.identity.path):
            view = _fill(
                _buffer(part.size),
                lambda free, done: os.preadv(self.fd, [free], part.offset + done),
            )
        if len(view) < part.size:
            raise SourceChanged(f"{self.identity.path} shrank while it was being uploaded")
        return _PartData.of(view)

    def xxh3(self, part: PartRange) -> str:
        """The part's xxh3_128, read in small chunks: a resume only checks, it sends nothing."""
        hasher = xxhash.xxh3_128()
        position, end = part.offset, part.offset + part.size
        while position < end:
            with _local_io(self.identity.path):
                chunk = os.pread(self.fd, min(_VERIFY_CHUNK, end - position), position)
            if not chunk:
                break
            hasher.update(chunk)
            position += len(chunk)
        return str(hasher.hexdigest())

    def read_whole(self) -> _PartData:
        """The whole (small) file, checked unchanged in the same worker-thread hop: one hop
        per small file, not two."""
        data = self.read(PartRange(1, 0, self.identity.size))
        self.check_unchanged()
        return data

    def check_unchanged(self) -> None:
        """Size and mtime still those we began with, so the parts sent form one version."""
        with _local_io(self.identity.path):
            st = os.fstat(self.fd)
        if (st.st_size, st.st_mtime_ns) != (self.identity.size, self.identity.mtime_ns):
            raise SourceChanged(f"{self.identity.path} changed while it was being uploaded")


class _PartTasks:
    """Spawns one object's part tasks, each owning a lease taken before its part is read.

    A spawned task's lease is released when the task ends (the scheduler sees to it); a
    lease taken but never handed to a task (its part's read failed) is given back when the
    group ends. Releasing is idempotent."""

    def __init__(self, scheduler: Scheduler, spawner: TaskSpawner, target: tuple[str, str]) -> None:
        self._scheduler = scheduler
        self._spawner = spawner
        self._target = target
        self._leases: list[Lease] = []

    async def lease(self, nbytes: int) -> Lease:
        lease = await self._scheduler.lease(nbytes=nbytes, put_object=self._target)
        self._leases = [held for held in self._leases if not held.released]
        self._leases.append(lease)
        return lease

    def spawn(self, coro: Coroutine[Any, Any, None], *, lease: Lease) -> None:
        self._spawner.spawn(coro, lease=lease)

    def release_all(self) -> None:
        for lease in self._leases:
            lease.release()


class Uploader:
    """Uploads files and streams, one object at a time per call, many calls at once; all
    concurrency comes from the scheduler's leases, one per request."""

    def __init__(self, context: TransferContext, *, now: Callable[[], float] = time.time) -> None:
        self._context = context
        #: Journals only when resuming is wanted; without them every failure aborts.
        self._journals = context.journals if context.options.resumable else None
        self._now = now

    # -- entry points ---------------------------------------------------------------------

    async def upload_file(self, path: Path, *, bucket: str, key: str) -> TransferResult:
        """Upload ``path`` to ``bucket``/``key``; raises SpacesError on failure."""
        started = time.monotonic()
        upload = _ObjectUpload(bucket=bucket, key=key)
        source = await asyncio.to_thread(_Source.open, path)
        try:
            if source.identity.size <= self._context.options.multipart_threshold:
                await self._put_file(upload, source)
            else:
                await self._multipart_file(upload, source)
        finally:
            source.close()
        return self._result(upload, source=str(path), size=source.identity.size, started=started)

    async def upload_stream(
        self, read: Callable[[int], bytes], *, bucket: str, key: str, name: str = "-"
    ) -> TransferResult:
        """Upload what the blocking ``read(n)`` returns until it returns ``b""``.

        At most the scheduler's memory budget is buffered; a stream shorter than a part
        goes as one PutObject. A stream cannot be re-read, so it is never journaled."""
        started = time.monotonic()
        upload = _ObjectUpload(bucket=bucket, key=key)
        part_size = PartPlan.for_upload(0, part_size=self._context.options.part_size).part_size
        mtime_ns = int(self._now() * 1_000_000_000)  # a stream's content is made now
        read_part = functools.partial(_read_stream_part, read, size=part_size, name=name)
        async with self._settled(upload):
            async with self._part_tasks(upload) as tasks:
                lease = await tasks.lease(part_size)
                data = await asyncio.to_thread(read_part)
                if data.size < part_size:
                    upload.enter(UploadState.PUTTING)
                    attributes = self._attributes(key=key, mtime_ns=mtime_ns)
                    await self._put(upload, lease, data, attributes=attributes)
                    return self._result(upload, source=name, size=data.size, started=started)
                attributes = self._attributes(key=key, mtime_ns=mtime_ns, part_size=part_size)
                await self._create(upload, attributes=attributes, local=None, part_size=part_size)
                upload.enter(UploadState.SENDING)
                part = PartRange(1, 0, data.size)
                while True:
                    tasks.spawn(self._send_part(upload, lease, part=part, data=data), lease=lease)
                    if data.size < part_size:
                        break
                    lease = await tasks.lease(part_size)
                    data = await asyncio.to_thread(read_part)
                    if not data.size:
                        break
                    if part.number == MAX_PARTS:
                        raise ConfigError(
                            f"{name} is longer than {MAX_PARTS} parts of {part_size} bytes: "
                            "use a larger part size"
                        )
                    part = PartRange(part.number + 1, part.offset + part.size, data.size)
            size = part.offset + part.size
            await self._complete(upload, size=size)
        return self._result(upload, source=name, size=size, started=started)

    # -- single PUT -----------------------------------------------------------------------

    async def _put_file(self, upload: _ObjectUpload, source: _Source) -> None:
        size = source.identity.size
        attributes = self._attributes(key=upload.key, mtime_ns=source.identity.mtime_ns)
        async with (
            self._settled(upload),
            self._context.scheduler.request(nbytes=size, put_object=upload.target) as lease,
        ):
            upload.enter(UploadState.PUTTING)
            data = await asyncio.to_thread(source.read_whole)
            await self._put(upload, lease, data, attributes=attributes)

    async def _put(
        self,
        upload: _ObjectUpload,
        lease: Lease,
        data: _PartData,
        *,
        attributes: ObjectAttributes,
    ) -> None:
        """One PutObject under ``lease`` (given back once sent); its ETag must be the MD5."""
        try:
            etag = await self._context.client.put_object(
                upload.bucket,
                upload.key,
                BytesBody(data.view, md5_base64=data.md5_base64),
                attributes=attributes,
                sse=self._context.options.sse,
            )
        finally:
            lease.release()
        upload.sent += data.size
        self._context.progress.advance(data.size)
        await self._check_etag(upload, got=etag, expected=data.md5.hex())
        upload.enter(UploadState.DONE)

    # -- multipart ------------------------------------------------------------------------

    async def _multipart_file(self, upload: _ObjectUpload, source: _Source) -> None:
        plan = PartPlan.for_upload(source.identity.size, part_size=self._context.options.part_size)
        async with self._settled(upload):
            todo = await self._resume(upload, source, plan)
            if upload.upload_id is None:
                attributes = self._attributes(
                    key=upload.key, mtime_ns=source.identity.mtime_ns, part_size=plan.part_size
                )
                async with self._context.scheduler.request():
                    await self._create(
                        upload,
                        attributes=attributes,
                        local=source.identity,
                        part_size=plan.part_size,
                    )
            upload.enter(UploadState.SENDING)
            async with self._part_tasks(upload) as tasks:
                for part in todo:
                    lease = await tasks.lease(part.size)
                    tasks.spawn(
                        self._file_part(upload, lease, source=source, part=part), lease=lease
                    )
            await asyncio.to_thread(source.check_unchanged)
            await self._complete(upload, size=plan.size)

    async def _resume(
        self, upload: _ObjectUpload, source: _Source, plan: PartPlan
    ) -> list[PartRange]:
        """Adopt a matching journal's upload and return the parts still to send; a journal
        that no longer fits (file changed, other part size, too old) is abandoned."""
        if self._journals is None:
            return list(plan)
        journal = await asyncio.to_thread(
            self._journals.find_upload,
            local_path=Path(source.identity.path),
            bucket=upload.bucket,
            key=upload.key,
        )
        if journal is None:
            return list(plan)
        upload.enter(UploadState.RESUMING)
        if journal.upload_id is None:
            await self._reap_intent(upload, journal)
            return list(plan)
        upload.adopt(journal)
        if (
            journal.local != source.identity
            or journal.part_size != plan.part_size
            or journal.is_stale(self._now())
        ):
            await self._abandon(upload)
            return list(plan)
        try:
            async with self._context.scheduler.request():
                listed = await self._context.client.list_parts(
                    upload.bucket, upload.key, upload_id=journal.upload_id
                )
        except NotFound:  # aborted or expired meanwhile: nothing to reuse or abort
            upload.upload_id = None
            await self._abandon(upload)
            return list(plan)
        on_server = {part.part_number: part.etag for part in listed}
        todo: list[PartRange] = []
        for part in plan:
            recorded = journal.parts.get(part.number)
            if (
                recorded is None
                or recorded.etag is None
                or on_server.get(part.number) != recorded.etag
                or (recorded.offset, recorded.size) != (part.offset, part.size)
                or await asyncio.to_thread(source.xxh3, part) != recorded.xxh3
            ):
                todo.append(part)
                continue
            upload.part_etags[part.number] = recorded.etag
            if self._context.options.sse is None:
                upload.md5s[part.number] = bytes.fromhex(recorded.etag)
            upload.reused += part.size
            self._context.progress.advance(part.size)
        return todo

    async def _reap_intent(self, upload: _ObjectUpload, journal: UploadJournal) -> None:
        """A run was killed after journaling its intent, before its upload id: abort the
        uploads of this key begun since the intent (give or take a skewed clock), the one
        it may have made among them, then forget the intent."""
        since = datetime.fromtimestamp(journal.created + self._context.client.clock_offset, UTC)
        async with self._context.scheduler.request():
            await self._context.client.abort_uploads_since(
                upload.bucket, upload.key, since=since - INTENT_CLOCK_SLACK
            )
        await asyncio.to_thread(journal.discard)

    async def _create(
        self,
        upload: _ObjectUpload,
        *,
        attributes: ObjectAttributes,
        local: LocalIdentity | None,
        part_size: int,
    ) -> None:
        """CreateMultipartUpload (the caller holds its lease). When ``local`` can be re-read
        later it is journaled: the intent first, so that no kill can leave an upload on the
        server that no journal names, then the upload id."""
        upload.enter(UploadState.CREATING)
        if self._journals is not None and local is not None:
            upload.journal = await asyncio.to_thread(
                self._journals.start_upload,
                local=local,
                bucket=upload.bucket,
                key=upload.key,
                part_size=part_size,
                upload_id=None,
                now=self._now(),
            )
        upload.upload_id = await self._context.client.create_multipart_upload(
            upload.bucket, upload.key, attributes=attributes, sse=self._context.options.sse
        )
        if upload.journal is not None:
            await asyncio.to_thread(upload.journal.begin, upload.upload_id)

    async def _file_part(
        self, upload: _ObjectUpload, lease: Lease, *, source: _Source, part: PartRange
    ) -> None:
        """Read one part in a worker thread (its memory already leased), then send it."""
        try:
            data = await asyncio.to_thread(source.read, part)
        except BaseException:
            lease.release()
            raise
        await self._send_part(upload, lease, part=part, data=data)

    async def _send_part(
        self, upload: _ObjectUpload, lease: Lease, *, part: PartRange, data: _PartData
    ) -> None:
        """UploadPart, then journal it; the lease goes back as soon as the part is sent."""
        assert upload.upload_id is not None
        try:
            etag = await self._context.client.upload_part(
                upload.bucket,
                upload.key,
                upload_id=upload.upload_id,
                part_number=part.number,
                body=BytesBody(data.view, md5_base64=data.md5_base64),
                sse=self._context.options.sse,
            )
        finally:
            lease.release()
        if self._context.options.sse is None and etag != data.md5.hex():
            raise IntegrityError(
                f"part {part.number} of s3://{upload.bucket}/{upload.key} was stored with ETag "
                f"{etag}, not its MD5 {data.md5.hex()}"
            )
        upload.md5s[part.number] = data.md5
        upload.part_etags[part.number] = etag
        if upload.journal is not None:
            record = JournalPart(part.number, part.offset, part.size, etag, data.xxh3)
            await asyncio.to_thread(upload.journal.record, record)
        upload.sent += data.size
        self._context.progress.advance(data.size)

    async def _complete(self, upload: _ObjectUpload, *, size: int) -> None:
        """CompleteMultipartUpload and the ETag check; a NoSuchUpload reply after a lost
        reply is a success if the object is exactly the one we meant to make."""
        assert upload.upload_id is not None
        upload.enter(UploadState.COMPLETING)
        expected = upload.expected_etag()
        parts = [CompletedPart(n, upload.part_etags[n]) for n in sorted(upload.part_etags)]
        try:
            async with self._context.scheduler.request():
                completed = await self._context.client.complete_multipart_upload(
                    upload.bucket, upload.key, upload_id=upload.upload_id, parts=parts
                )
            etag = completed.etag
        except NotFound as error:
            if error.code != "NoSuchUpload" or not await self._is_stored(
                upload, size=size, etag=expected
            ):
                raise
            etag = expected
        upload.upload_id = None  # completed: nothing left to abort
        await self._check_etag(upload, got=etag, expected=expected)
        if upload.journal is not None:
            await asyncio.to_thread(upload.journal.discard)
            upload.journal = None
        upload.enter(UploadState.DONE)

    async def _is_stored(self, upload: _ObjectUpload, *, size: int, etag: str) -> bool:
        try:
            async with self._context.scheduler.request():
                head = await self._context.client.head_object(
                    upload.bucket, upload.key, sse=self._context.options.sse
                )
        except NotFound:
            return False
        return head.size == size and (self._context.options.sse is not None or head.etag == etag)

    async def _check_etag(self, upload: _ObjectUpload, *, got: str, expected: str) -> None:
        """A stored object whose ETag is not ours holds other bytes: delete it, so nothing
        corrupt is left looking whole. SSE-C ETags are not MD5s: there the Content-MD5 of
        every request vouched for the bytes instead."""
        if got == expected or self._context.options.sse is not None:
            upload.etag = got
            return
        location = f"s3://{upload.bucket}/{upload.key}"
        try:
            async with self._context.scheduler.request():
                await self._context.client.delete_object(upload.bucket, upload.key)
        except SpacesError as error:
            log.warning("could not delete the corrupt %s: %s", location, error)
        raise IntegrityError(f"{location} was stored with ETag {got}, expected {expected}")

    # -- leaving nothing behind -----------------------------------------------------------

    @asynccontextmanager
    async def _settled(self, upload: _ObjectUpload) -> AsyncIterator[None]:
        """On failure leave no orphan: abort the upload and drop its journal, unless it was
        interrupted (cancelled, network down) and its journal can resume it."""
        try:
            yield
        except BaseException as error:
            if upload.state in _TERMINAL:  # e.g. cancelled just after the object was made
                raise
            if upload.journal is not None and resumable_after(error):
                # Kept with its upload id for a resume, or as an intent whose upload (if the
                # lost reply hid one) the next run aborts.
                upload.enter(UploadState.KEPT)
            else:
                await run_shielded(self._abandon(upload))
                upload.enter(UploadState.FAILED)
            raise

    async def _abandon(self, upload: _ObjectUpload) -> None:
        """Abort the upload (already gone is fine) and discard its journal. A journal whose
        upload could not be aborted stays: it is the only record of that upload."""
        upload_id, journal = upload.upload_id, upload.journal
        upload.upload_id = upload.journal = None
        if upload_id is not None:
            try:
                async with self._context.scheduler.request():
                    await self._context.client.abort_multipart_upload(
                        upload.bucket, upload.key, upload_id=upload_id
                    )
            except NotFound:
                pass
            except SpacesError as error:
                log.warning(
                    "could not abort upload %s of s3://%s/%s: %s",
                    upload_id,
                    upload.bucket,
                    upload.key,
                    error,
                )
                return
        if journal is not None:
            await asyncio.to_thread(journal.discard)

    @asynccontextmanager
    async def _part_tasks(self, upload: _ObjectUpload) -> AsyncIterator[_PartTasks]:
        """The task group of one object's parts; a failure surfaces as the error itself."""
        tasks: _PartTasks | None = None
        try:
            async with self._context.scheduler.tasks() as spawner:
                tasks = _PartTasks(self._context.scheduler, spawner, upload.target)
                yield tasks
        finally:
            if tasks is not None:
                tasks.release_all()

    # -- helpers --------------------------------------------------------------------------

    def _attributes(
        self, *, key: str, mtime_ns: int, part_size: int | None = None
    ) -> ObjectAttributes:
        """The caller's attributes plus our metadata: the source's mtime and the part size
        (so a download can recompute the multipart ETag); the content type is guessed from
        the key's name unless the caller set one."""
        base = self._context.options.attributes or ObjectAttributes()
        metadata = {**base.metadata, META_MTIME: str(mtime_ns)}
        if part_size is not None:
            metadata[META_PART_SIZE] = str(part_size)
        content_type = base.content_type or mimetypes.guess_type(key)[0]
        return replace(base, metadata=metadata, content_type=content_type)

    def _result(
        self, upload: _ObjectUpload, *, source: str, size: int, started: float
    ) -> TransferResult:
        return TransferResult(
            source=source,
            destination=f"s3://{upload.bucket}/{upload.key}",
            size=size,
            etag=upload.etag,
            seconds=time.monotonic() - started,
            bytes_transferred=upload.sent,
            resumed=upload.reused > 0,
        )
