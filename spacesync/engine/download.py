"""Downloads: an object into a local file (verified, resumable, renamed into place at the
end) or onto a stream, in order.

One object's download walks through named phases (:class:`Phase`). A file download:

- PROBING: HEAD gives the size, the ETag (which pins the version: every GET carries
  ``If-Match``, so a replaced object fails with :class:`SourceChanged` instead of mixing two
  versions) and the part size our uploads record in metadata. No HEAD when the caller
  already knows the object (:data:`Known`): a HEAD it made, or a listing entry whose ETag
  is not a multipart one (only those need the part size). Every GET's reply must agree with
  the ETag and size the download started from, whichever told them.
- PREPARING: the temp file ``.<name>.spacesync-<hash>.part`` beside the destination is
  opened and preallocated (one worker-thread hop with the directory check and the lookup
  of an earlier run's journal); a journal of an earlier run of the same download is resumed
  (its ranges re-checked by xxh3) or a new one started. Objects up to
  ``multipart_threshold`` are one plain GET and keep no journal.
- FETCHING: ranged GETs run concurrently under the scheduler's leases, their bodies written
  with ``pwritev`` in worker threads, :data:`WRITE_BATCH` bytes per hop. The journal is
  synced (temp file data first, then the journal) every 0.2 s or batch of parts. A
  body that breaks is retried by the client's policy asking only for the bytes not yet
  received (received bytes stay batched or written, in-order hashes continue), so a flaky
  connection costs no byte twice.
- VERIFYING: the ETag is recomputed (see :class:`EtagCheck`).
- COMMITTING: fsync, close and ``os.replace`` onto the destination (one hop), fsync of the
  directory (shared by the commits in the same directory at the same moment:
  :class:`_DirectorySync`); the journal goes.
- DONE, or FAILED from any phase: the temp file is kept only when a later run can resume
  from it (a journal exists and the failure was a cancellation or one the retry policy
  calls transient); otherwise it and the journal are removed. Nothing ever appears under
  the destination's name before the content is verified.

A stream download goes PROBING, FETCHING, VERIFYING, DONE: ranges are fetched concurrently
into buffers leased from the scheduler's memory budget and written in order. Its ETag is
checked as the bytes go out; a mismatch can only be reported after they went.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import xxhash

from spacesync.client import ObjectStream, SpacesClient
from spacesync.engine.journal import (
    SYNC_EVERY_SECONDS,
    DownloadJournal,
    JournalPart,
    RemoteIdentity,
)
from spacesync.engine.plan import MiB, PartPlan, PartRange
from spacesync.engine.scheduler import Lease, Scheduler, run_shielded
from spacesync.engine.transfer import (
    META_PART_SIZE,
    ProgressSink,
    TransferContext,
    TransferResult,
    resumable_after,
)
from spacesync.errors import (
    ConnectionClosed,
    IntegrityError,
    LocalFileError,
    NotFound,
    PreconditionFailed,
    SourceChanged,
)
from spacesync.protocol.etag import is_plain_md5, multipart_etag, multipart_part_count
from spacesync.protocol.headers import Conditions
from spacesync.protocol.model import ObjectHead, ObjectInfo
from spacesync.protocol.sse import SseCustomerKey
from spacesync.urls import S3Location

log = logging.getLogger("spacesync.download")

T = TypeVar("T")

#: Bodies are read in pieces of at most this size (as they arrive, not joined) …
CHUNK = MiB
#: … and written and hashed in one worker-thread hop per this many bytes (or the range's
#: end). Small enough that the batches of all ranges in flight (16 of 1 MiB) stay in the
#: CPU cache until pwritev copies them and MD5 reads them: with 4 MiB batches that copy
#: cost about 3 times more CPU (read from memory). At most this much per range in flight
#: is buffered.
WRITE_BATCH = MiB
#: Buffers handed to one pwritev (IOV_MAX is 1024 on Linux).
_IOV_MAX = 512

#: A temp name keeps at most this many bytes of the destination's name (NAME_MAX is 255).
_NAME_KEEP = 160


#: What a stream download reports as its destination.
STREAM_DESTINATION = "-"

#: What a caller may already know of the object: the reply to a HEAD it made, or its entry
#: in a listing (see PROBING above).
Known = ObjectHead | ObjectInfo


class Phase(enum.Enum):
    """Where one object's download is; it only moves forward, or to FAILED."""

    PROBING = 1
    PREPARING = 2
    FETCHING = 3
    VERIFYING = 4
    COMMITTING = 5
    DONE = 6
    FAILED = 7


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


# -- ETag verification ----------------------------------------------------------------


@dataclass
class EtagCheck:
    """Recomputes an ETag from the MD5s of consecutive segments of the object.

    A single-part ETag is the MD5 of the whole content (one segment). A multipart ETag is
    ``md5(md5(part 1) + … + md5(part N))-N``, so it needs the upload's part size: our
    uploads record it as ``x-amz-meta-spacesync-part-size``. Other ETags — multipart
    without that metadata (another tool uploaded it), or metadata whose part count
    disagrees with the ETag's — cannot be recomputed and are not checked.

    Segment digests come from whatever sees the bytes in order (a range that starts on a
    segment boundary); :meth:`fill_from_file` reads the rest back from the file.
    """

    expected: str
    segments: PartPlan
    multipart: bool
    digests: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def for_head(cls, head: ObjectHead) -> EtagCheck | None:
        etag = head.etag.lower()
        if is_plain_md5(etag):
            plan = PartPlan.for_download(head.size, part_size=max(head.size, 1))
            return cls(expected=etag, segments=plan, multipart=False)
        count = multipart_part_count(etag)
        part_size = recorded_part_size(head)
        if count is None or part_size is None:
            return None
        plan = PartPlan.for_download(head.size, part_size=part_size)
        if plan.count != count:
            return None
        return cls(expected=etag, segments=plan, multipart=True)

    def hasher_for(self, part: PartRange) -> SegmentHasher | None:
        """A hasher for ``part`` streamed in order, if it covers whole segments."""
        size = self.segments.part_size
        ends_on_boundary = part.size % size == 0 or part.offset + part.size == self.segments.size
        if part.offset % size or not ends_on_boundary:
            return None
        return SegmentHasher(self, part.offset // size + 1)

    @property
    def complete(self) -> bool:
        """Every segment was hashed on the fly: nothing to read back."""
        return len(self.digests) == self.segments.count

    def fill_from_file(self, fd: int) -> None:
        """One sequential MD5 pass over the segments nobody hashed on the fly (blocking)."""
        for segment in self.segments:
            if segment.number not in self.digests:
                md5 = hashlib.md5()
                for chunk in _read_range(fd, segment.offset, segment.size):
                    md5.update(chunk)
                self.digests[segment.number] = md5.digest()

    def verify(self) -> None:
        digests = [self.digests[segment.number] for segment in self.segments]
        got = multipart_etag(digests) if self.multipart else digests[0].hex()
        if got != self.expected:
            raise IntegrityError(
                f"downloaded content does not match the object's ETag {self.expected} "
                f"(recomputed {got})"
            )


class SegmentHasher:
    """MD5s of the segments a byte stream crosses, fed in order from segment ``number``'s
    first byte; each digest lands in the check when its segment is complete."""

    def __init__(self, check: EtagCheck, number: int) -> None:
        self._check = check
        #: The first segment this hasher feeds: the one before it belongs to another.
        self._first = number
        self._number = number - 1
        self._left = 0
        self._md5 = hashlib.md5()
        self._next_segment()

    def _next_segment(self) -> None:
        """Close the segment just completed (if any) and open the next, empty ones at once."""
        segments = self._check.segments
        while self._left == 0 and self._number <= segments.count:
            if self._number >= self._first:
                self._check.digests[self._number] = self._md5.digest()
            self._number += 1
            if self._number <= segments.count:
                self._md5 = hashlib.md5()
                self._left = segments.part(self._number).size

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._left:
            take = min(self._left, len(view))
            self._md5.update(view[:take])
            view = view[take:]
            self._left -= take
            self._next_segment()


def recorded_part_size(head: ObjectHead) -> int | None:
    """The part size our uploader recorded in the object's metadata, if it is sane."""
    value = head.metadata.get(META_PART_SIZE, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else None


# -- blocking helpers (run in worker threads) -------------------------------------------


def _read_range(fd: int, offset: int, size: int) -> Iterable[bytes]:
    end = offset + size
    while offset < end:
        chunk = os.pread(fd, min(CHUNK, end - offset), offset)
        if not chunk:
            raise IntegrityError(f"temp file ends at {offset}, {end - offset} bytes early")
        offset += len(chunk)
        yield chunk


def _write_chunk(fd: int, pieces: list[bytes], offset: int, hashers: Iterable[_Hasher]) -> None:
    """Write consecutive ``pieces`` from ``offset`` with few ``pwritev`` calls (no join into
    one copy), then feed them to the hashers in order."""
    views = [memoryview(piece) for piece in pieces if piece]
    first, position = 0, offset
    while first < len(views):
        written = os.pwritev(fd, views[first : first + _IOV_MAX], position)
        position += written
        while written:
            if written >= len(views[first]):
                written -= len(views[first])
                first += 1
            else:
                views[first] = views[first][written:]
                written = 0
    for hasher in hashers:
        for piece in pieces:
            hasher.update(piece)


def _xxh3_of(fd: int, offset: int, size: int) -> str:
    hasher = xxhash.xxh3_128()
    for chunk in _read_range(fd, offset, size):
        hasher.update(chunk)
    return str(hasher.hexdigest())


def _intact_parts(fd: int, journal: DownloadJournal, plan: PartPlan) -> set[int]:
    """Recorded ranges of the plan whose bytes in the temp file still hash as recorded."""
    intact: set[int] = set()
    for recorded in journal.parts.values():
        if not 1 <= recorded.number <= plan.count:
            continue
        part = plan.part(recorded.number)
        if (recorded.offset, recorded.size) != (part.offset, part.size):
            continue
        if _xxh3_of(fd, part.offset, part.size) == recorded.xxh3:
            intact.add(part.number)
        else:
            log.info("%s: range %d is damaged, fetching it again", journal.temp_path, part.number)
    return intact


def _preallocate(fd: int, size: int) -> None:
    """Reserve the blocks now: a full disk fails here, not halfway through the object."""
    if size and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    os.ftruncate(fd, size)


def _close(fd: int, *, sync: bool, then: Callable[[], object] | None) -> None:
    try:
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if then is not None:
        then()


def _fsync_directory(path: Path) -> None:
    """Make the rename durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _DirectorySync:
    """Group commit of directory fsyncs: a rename is durable once an fsync of its directory
    *started after it* has finished. Commits arriving while one runs share the next one,
    so N files renamed together into a directory cost ~2 fsyncs, not N."""

    def __init__(self) -> None:
        #: Per directory: the fsync running, and the one the late arrivals wait for.
        self._running: dict[Path, asyncio.Future[None]] = {}
        self._next: dict[Path, asyncio.Future[None]] = {}

    async def after_rename(self, directory: Path) -> None:
        """Return once ``directory`` was fsync'd after this call began."""
        future = self._next.get(directory)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._next[directory] = future
            if directory not in self._running:
                self._start(directory)
        await asyncio.shield(future)

    def _start(self, directory: Path) -> None:
        future = self._next.pop(directory)
        self._running[directory] = future
        task = asyncio.ensure_future(asyncio.to_thread(_fsync_directory, directory))
        task.add_done_callback(lambda done: self._finished(directory, future, done))

    def _finished(
        self, directory: Path, future: asyncio.Future[None], done: asyncio.Future[None]
    ) -> None:
        del self._running[directory]
        if done.cancelled():
            future.cancel()
        elif (error := done.exception()) is not None:
            future.set_exception(error)
        else:
            future.set_result(None)
        if not future.cancelled():
            future.exception()  # retrieved: every waiter may have been cancelled meanwhile
        if directory in self._next:
            self._start(directory)


#: One per event loop (a job's downloads run on one loop).
_directory_syncs: dict[asyncio.AbstractEventLoop, _DirectorySync] = {}


def _directory_sync() -> _DirectorySync:
    loop = asyncio.get_running_loop()
    if loop not in _directory_syncs:
        for stale in [other for other in _directory_syncs if other.is_closed()]:
            del _directory_syncs[stale]
        _directory_syncs[loop] = _DirectorySync()
    return _directory_syncs[loop]


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def temp_path_for(destination: Path, *, bucket: str, key: str) -> Path:
    """The hidden temp file beside ``destination``, named from the object so that a later
    run of the same download finds it."""
    digest = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:16]
    name = os.fsdecode(os.fsencode(destination.name)[:_NAME_KEEP])
    return destination.parent / f".{name}.spacesync-{digest}.part"


# -- failures -------------------------------------------------------------------------


# -- fetching ranges ------------------------------------------------------------------


@dataclass
class _Ranges:
    """GETs of one version of one object (pinned by its ETag) and the bytes they brought."""

    client: SpacesClient
    progress: ProgressSink
    bucket: str
    key: str
    etag: str
    #: The whole object's size.
    size: int
    sse: SseCustomerKey | None = None
    #: Body bytes received in this run.
    fetched: int = 0

    async def fetch(
        self,
        part: PartRange,
        *,
        whole: bool,
        sink: Callable[[bytes, int], Awaitable[None]],
    ) -> None:
        """Stream ``part`` in order into ``sink(chunk, offset)``. ``whole``: the part is the
        whole object, asked for without a Range header (so an empty object works too).

        A broken body is retried by the client's policy from the first byte not received.
        """
        received = 0
        conditions = Conditions(if_match=self.etag)

        async def attempt(number: int) -> None:
            nonlocal received
            if number > 1 and received == part.size:
                return  # the body broke after its last byte
            ranged = not whole or received > 0
            async with self.client.open_object(
                self.bucket,
                self.key,
                start=part.offset + received if ranged else None,
                end=part.end if ranged else None,
                conditions=conditions,
                sse=self.sse,
                retry=False,
            ) as stream:
                self._check_identity(stream)
                if stream.length != part.size - received:
                    raise IntegrityError(
                        f"GET returned {stream.length} bytes where the object has {part.size}"
                    )
                async for chunk in stream.iter_chunks(CHUNK):
                    if len(chunk) > part.size - received:
                        raise IntegrityError(f"more than the {part.size} bytes asked for")
                    await sink(chunk, part.offset + received)
                    received += len(chunk)
                    self.fetched += len(chunk)
                    self.progress.advance(len(chunk))
            if received < part.size:
                raise ConnectionClosed(
                    f"body of bytes {part.offset}-{part.end} ended after {received} bytes"
                )

        try:
            await self.client.retry.run(attempt, idempotent=True)
        except (PreconditionFailed, NotFound) as exc:
            raise SourceChanged(
                f"s3://{self.bucket}/{self.key} changed during download ({exc})"
            ) from exc

    def _check_identity(self, stream: ObjectStream) -> None:
        """The reply must be the version asked for (``If-Match`` asked for it; a server
        that ignored it, or a listing that was stale, is caught here, before any byte)."""
        head = stream.head
        if (head.etag and head.etag.lower() != self.etag.lower()) or head.size != self.size:
            raise SourceChanged(
                f"s3://{self.bucket}/{self.key} is not the object expected "
                f"(ETag {head.etag}, {head.size} bytes; expected {self.etag}, {self.size} bytes)"
            )


async def _spawn_leased(
    scheduler: Scheduler,
    parts: Iterable[PartRange],
    *,
    nbytes: Callable[[PartRange], int],
    work: Callable[[PartRange, Lease], Coroutine[Any, Any, None]],
    also: Coroutine[Any, Any, None] | None = None,
) -> None:
    """Run ``work(part, lease)`` for every part, each started once its lease is granted
    (so live tasks stay bounded), plus ``also`` beside them. The work may release its lease
    early; the scheduler releases it when the task ends in any case."""
    async with scheduler.tasks() as spawner:
        if also is not None:
            spawner.spawn(also)
        for part in parts:
            lease = await scheduler.lease(nbytes=nbytes(part))
            spawner.spawn(work(part, lease), lease=lease)


# -- the per-object state machines -------------------------------------------------------


class _Download:
    """What file and stream downloads share: the phase, the plan, the result."""

    def __init__(self, owner: Downloader, *, bucket: str, key: str) -> None:
        self.owner = owner
        self.context = owner.context
        self.bucket = bucket
        self.key = key
        self.phase = Phase.PROBING
        self.started = time.monotonic()

    def move(self, phase: Phase) -> None:
        if self.phase in (Phase.DONE, Phase.FAILED) or (
            phase is not Phase.FAILED and phase.value <= self.phase.value
        ):
            raise RuntimeError(f"download cannot go from {self.phase.name} to {phase.name}")
        log.debug("s3://%s/%s: %s", self.bucket, self.key, phase.name)
        self.phase = phase

    def plan(self, head: ObjectHead, *, part_size: int) -> tuple[PartPlan, bool]:
        """Ranges to fetch, and whether they are ranged GETs (vs one plain GET)."""
        if head.size <= self.context.options.multipart_threshold:
            return PartPlan.for_download(head.size, part_size=max(head.size, 1)), False
        return PartPlan.for_download(head.size, part_size=part_size), True

    def ranges(self, head: ObjectHead) -> _Ranges:
        return _Ranges(
            client=self.context.client,
            progress=self.context.progress,
            bucket=self.bucket,
            key=self.key,
            etag=head.etag,
            size=head.size,
            sse=self.context.options.sse,
        )

    def result(
        self, head: ObjectHead, *, destination: str, fetched: int, resumed: bool
    ) -> TransferResult:
        return TransferResult(
            source=str(S3Location(self.bucket, self.key)),
            destination=destination,
            size=head.size,
            etag=head.etag,
            seconds=time.monotonic() - self.started,
            bytes_transferred=fetched,
            resumed=resumed,
        )


class _TempFile:
    """The temp file's descriptor and the worker-thread operations on it. A cancelled
    caller does not stop a thread already running, so the descriptor is closed only once
    none is (a reused descriptor number would otherwise receive another file's bytes)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._running: set[asyncio.Future[Any]] = set()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        self._running.add(future)
        future.add_done_callback(self._settled)
        return await asyncio.shield(future)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._running.discard(future)
        if not future.cancelled():
            future.exception()  # retrieved: a caller cancelled meanwhile has not seen it

    async def close(self, *, sync: bool = False, then: Callable[[], object] | None = None) -> None:
        """Close once no operation runs; in the same hop, fsync first (``sync``) and call
        ``then`` after a successful close (the commit's rename)."""
        if self._running:
            await asyncio.wait(set(self._running))
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            await asyncio.to_thread(_close, fd, sync=sync, then=then)


class _FileDownload(_Download):
    def __init__(
        self, owner: Downloader, *, bucket: str, key: str, destination: Path, known: Known | None
    ) -> None:
        super().__init__(owner, bucket=bucket, key=key)
        self.known = known
        self.destination = destination
        self.temp_path = temp_path_for(destination, bucket=bucket, key=key)
        self.temp: _TempFile | None = None
        self.journal: DownloadJournal | None = None

    async def run(self) -> TransferResult:
        try:
            head = await self._probe()
            ranges = self.ranges(head)
            check = self.owner.etag_check(head)
            plan, ranged, done = await self._prepare(head, check=check)
            await self._fetch(plan, whole=not ranged, done=done, check=check, ranges=ranges)
            await self._verify(check)
            await self._commit()
        except BaseException as exc:
            failed_in = self.phase
            self.move(Phase.FAILED)
            if failed_in is not Phase.PROBING:  # before PREPARING no file was touched
                keep = self.journal is not None and resumable_after(exc)
                await run_shielded(self._abandon(keep=keep))
            if isinstance(exc, OSError):
                raise LocalFileError.from_os(exc, where=self.destination) from exc
            raise
        self.move(Phase.DONE)
        return self.result(
            head, destination=str(self.destination), fetched=ranges.fetched, resumed=bool(done)
        )

    async def _probe(self) -> ObjectHead:
        """The object's head: what the caller knows when that is enough, else a HEAD."""
        known = self.known
        if isinstance(known, ObjectHead):
            return known
        if known is not None and multipart_part_count(known.etag) is None:
            return ObjectHead(size=known.size, etag=known.etag, last_modified=known.last_modified)
        async with self.context.scheduler.request():
            return await self.context.client.head_object(
                self.bucket, self.key, sse=self.context.options.sse
            )

    async def _prepare(
        self, head: ObjectHead, *, check: EtagCheck | None
    ) -> tuple[PartPlan, bool, set[int]]:
        """Open the temp file, resuming an earlier run's ranges where they are still good;
        returns the plan, whether it is ranged, and the part numbers already fetched."""
        self.move(Phase.PREPARING)
        context = self.context
        remote = RemoteIdentity(self.bucket, self.key, head.etag, head.size)
        wanted = check.segments.part_size if check is not None and check.multipart else None
        plan, ranged = self.plan(head, part_size=wanted or context.options.part_size)
        store = context.journals if ranged and context.options.resumable else None
        earlier, fd = await asyncio.to_thread(
            self._open_temp, remote, resumable=store is not None
        )
        if earlier is not None:
            plan = PartPlan.for_download(head.size, part_size=earlier.part_size)
        self.temp = _TempFile(fd)
        done: set[int] = set()
        if earlier is not None:
            self.journal = earlier  # from here on a failure may keep the temp file
            done = await self.temp.run(_intact_parts, fd, earlier, plan)
            context.progress.advance(sum(plan.part(number).size for number in done))
        elif store is not None:
            self.journal = await asyncio.to_thread(
                partial(
                    store.start_download,
                    remote=remote,
                    destination=self.destination,
                    temp_path=self.temp_path,
                    part_size=plan.part_size,
                    now=self.owner.now(),
                )
            )
        return plan, ranged, done

    def _earlier_journal(
        self, remote: RemoteIdentity, *, resumable: bool
    ) -> DownloadJournal | None:
        """The journal of an earlier run that can be resumed; any other is discarded with
        its temp file (the object changed, or the temp file is gone or the wrong size)."""
        journals = self.context.journals
        if journals is None:
            return None
        journal = journals.find_download(
            destination=self.destination, bucket=self.bucket, key=self.key
        )
        if journal is None:
            return None
        if (
            resumable
            and journal.remote == remote
            and journal.temp_path == os.path.abspath(self.temp_path)
            and _file_size(self.temp_path) == remote.size
        ):
            return journal
        log.info("s3://%s/%s: not resuming the earlier download", self.bucket, self.key)
        Path(journal.temp_path).unlink(missing_ok=True)
        journal.discard()
        return None

    def _open_temp(
        self, remote: RemoteIdentity, *, resumable: bool
    ) -> tuple[DownloadJournal | None, int]:
        """The earlier run's journal to resume (if any) and the temp file, opened: the
        earlier one as it is, else a fresh one preallocated to the object's size."""
        parent = self.destination.parent
        if not parent.is_dir():
            raise LocalFileError(f"cannot download to {self.destination}: no directory {parent}")
        earlier = self._earlier_journal(remote, resumable=resumable)
        if earlier is not None:
            return earlier, os.open(self.temp_path, os.O_RDWR)
        fd = os.open(self.temp_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _preallocate(fd, remote.size)
        except BaseException:
            os.close(fd)
            raise
        return None, fd

    async def _fetch(
        self,
        plan: PartPlan,
        *,
        whole: bool,
        done: set[int],
        check: EtagCheck | None,
        ranges: _Ranges,
    ) -> None:
        self.move(Phase.FETCHING)

        async def fetch_part(part: PartRange, lease: Lease) -> None:
            try:
                await self._fetch_part(part, whole=whole, check=check, ranges=ranges)
            finally:
                lease.release()

        todo = [part for part in plan if part.number not in done]
        scheduler = self.context.scheduler
        # The journal's syncer runs beside the parts, in a group of its own: it never ends
        # by itself, so it is cancelled once they all have.
        async with scheduler.tasks() as spawner:
            syncer = spawner.spawn(self._sync_journal()) if self.journal is not None else None
            # File ranges lease no memory: their bodies go to disk a batch at a time.
            await _spawn_leased(scheduler, todo, nbytes=lambda _: 0, work=fetch_part)
            if syncer is not None:
                syncer.cancel()

    def _data_sync(self) -> None:
        """Make the temp file's bytes durable (before the journal vouches for them)."""
        assert self.temp is not None
        os.fdatasync(self.temp.fd)

    async def _sync_journal(self) -> None:
        """Sync the journal every :data:`SYNC_EVERY_SECONDS` while the ranges are fetched,
        so parts recorded just before a stall are not lost to a kill."""
        journal, temp = self.journal, self.temp
        assert journal is not None and temp is not None
        while True:
            await asyncio.sleep(SYNC_EVERY_SECONDS)
            await temp.run(journal.sync, self._data_sync)

    async def _fetch_part(
        self, part: PartRange, *, whole: bool, check: EtagCheck | None, ranges: _Ranges
    ) -> None:
        assert self.temp is not None
        temp = self.temp
        xxh3 = xxhash.xxh3_128() if self.journal is not None else None
        segment_hasher = check.hasher_for(part) if check is not None else None
        hashers = [hasher for hasher in (xxh3, segment_hasher) if hasher is not None]
        # Received but not yet written: consecutive pieces from `start` (a retried body
        # continues right after the last piece handed over, so they stay consecutive).
        batch: list[bytes] = []
        batched = start = 0

        async def flush() -> None:
            nonlocal batch, batched
            pieces, batch, batched = batch, [], 0
            if pieces:
                await temp.run(_write_chunk, temp.fd, pieces, start, hashers)

        async def write(chunk: bytes, offset: int) -> None:
            nonlocal batched, start
            if not batch:
                start = offset
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                await flush()

        await ranges.fetch(part, whole=whole, sink=write)
        await flush()
        if self.journal is not None and xxh3 is not None:
            record = JournalPart(part.number, part.offset, part.size, None, xxh3.hexdigest())
            await temp.run(partial(self.journal.record, record, data_sync=self._data_sync))

    async def _verify(self, check: EtagCheck | None) -> None:
        self.move(Phase.VERIFYING)
        if check is None:
            log.debug("s3://%s/%s: ETag cannot be recomputed, not verified", self.bucket, self.key)
            return
        assert self.temp is not None
        if not check.complete:
            await self.temp.run(check.fill_from_file, self.temp.fd)
        check.verify()

    async def _commit(self) -> None:
        self.move(Phase.COMMITTING)
        assert self.temp is not None
        await self.temp.close(sync=True, then=partial(os.replace, self.temp_path, self.destination))
        await _directory_sync().after_rename(self.destination.parent)
        if self.journal is not None:
            await asyncio.to_thread(self.journal.discard)

    async def _abandon(self, *, keep: bool) -> None:
        """After a failure: keep the temp file and journal for a resume, or remove both."""
        if self.temp is not None:
            if keep and self.journal is not None:
                try:  # what was fetched stays fetched for the resume
                    await self.temp.run(self.journal.sync, self._data_sync)
                except OSError as error:
                    log.warning("%s: could not sync the journal: %s", self.temp_path, error)
            await self.temp.close()
        if not keep:
            await asyncio.to_thread(self._remove_leftovers)

    def _remove_leftovers(self) -> None:
        self.temp_path.unlink(missing_ok=True)
        if self.journal is not None:
            self.journal.discard()


@dataclass
class _Buffered:
    """One range of a stream download, from fetched to written."""

    chunks: list[bytes] = field(default_factory=list)
    fetched: asyncio.Event = field(default_factory=asyncio.Event)
    written: asyncio.Event = field(default_factory=asyncio.Event)


class _StreamDownload(_Download):
    def __init__(
        self, owner: Downloader, *, bucket: str, key: str, write: Callable[[bytes], object]
    ) -> None:
        super().__init__(owner, bucket=bucket, key=key)
        self.write = write

    async def run(self) -> TransferResult:
        try:
            async with self.context.scheduler.request():
                head = await self.context.client.head_object(
                    self.bucket, self.key, sse=self.context.options.sse
                )
            ranges = self.ranges(head)
            check = self.owner.etag_check(head)
            await self._fetch(head, check=check, ranges=ranges)
            self.move(Phase.VERIFYING)
            if check is not None:
                check.verify()
        except BaseException as exc:
            self.move(Phase.FAILED)
            if isinstance(exc, OSError):
                raise LocalFileError.from_os(exc, where="output stream") from exc
            raise
        self.move(Phase.DONE)
        return self.result(
            head, destination=STREAM_DESTINATION, fetched=ranges.fetched, resumed=False
        )

    async def _fetch(self, head: ObjectHead, *, check: EtagCheck | None, ranges: _Ranges) -> None:
        """Ranges are leased (their size in memory) in order and fetched concurrently; one
        writer puts them out in order and hashes them as they go."""
        self.move(Phase.FETCHING)
        # In order, any range size hashes every segment: no need for the recorded one.
        plan, ranged = self.plan(head, part_size=self.context.options.part_size)
        in_order = SegmentHasher(check, 1) if check is not None else None
        # Met first by its fetcher or by the writer, whichever runs first.
        slots: dict[int, _Buffered] = {}

        def slot(number: int) -> _Buffered:
            return slots.setdefault(number, _Buffered())

        async def buffer(part: PartRange, lease: Lease) -> None:
            try:
                buffered = slot(part.number)

                async def keep(chunk: bytes, _: int) -> None:
                    buffered.chunks.append(chunk)

                await ranges.fetch(part, whole=not ranged, sink=keep)
                buffered.fetched.set()
                await buffered.written.wait()
            finally:
                lease.release()

        async def write_in_order() -> None:
            for number in range(1, plan.count + 1):
                buffered = slot(number)
                await buffered.fetched.wait()
                await asyncio.to_thread(self._write_out, buffered.chunks, in_order)
                buffered.chunks.clear()
                buffered.written.set()
                del slots[number]

        await _spawn_leased(
            self.context.scheduler,
            plan,
            nbytes=lambda part: part.size,
            work=buffer,
            also=write_in_order(),
        )

    def _write_out(self, chunks: list[bytes], hasher: SegmentHasher | None) -> None:
        for chunk in chunks:
            self.write(chunk)
            if hasher is not None:
                hasher.update(chunk)


class Downloader:
    """Downloads objects for one job, under its scheduler's concurrency and memory budget."""

    def __init__(self, context: TransferContext, *, now: Callable[[], float] = time.time) -> None:
        self.context = context
        self.now = now

    def etag_check(self, head: ObjectHead) -> EtagCheck | None:
        """How to verify this object's bytes against its ETag; None where the ETag says
        nothing about them (SSE-C, or a multipart ETag whose part size is unknown)."""
        return None if self.context.options.sse is not None else EtagCheck.for_head(head)

    async def download_file(
        self, *, bucket: str, key: str, destination: Path, known: Known | None = None
    ) -> TransferResult:
        """Download ``bucket``/``key`` to the file ``destination`` (replaced atomically once
        the content is verified); raises SpacesError on failure. ``known``: what the caller
        already knows of the object (a HEAD reply or a listing entry), which may save the
        HEAD."""
        job = _FileDownload(self, bucket=bucket, key=key, destination=destination, known=known)
        return await job.run()

    async def download_stream(
        self, write: Callable[[bytes], object], *, bucket: str, key: str
    ) -> TransferResult:
        """Download ``bucket``/``key`` through ``write`` (blocking; called in a worker
        thread), in order; raises SpacesError on failure, IntegrityError after the fact."""
        job = _StreamDownload(self, bucket=bucket, key=key, write=write)
        return await job.run()
