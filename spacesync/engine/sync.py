"""Sync: make a destination (a local directory or a prefix) hold what a source holds.

Planning is a merge of two streams in one order (:func:`merge_order`): the local walk
(:func:`walk_keys`) and the remote listing, both keyed by the path relative to their root.
Memory stays bounded by what is in flight (plus one directory's entries), not by the tree.

Rules:

- Keys are compared by their NFC form on both sides: a local name in NFD (as macOS
  writes) and an object key in NFC, or the reverse, are the same entry. New objects are
  uploaded under the NFC form and new files downloaded under it; an entry that exists on
  both sides keeps its own spelling there. Two names on one side that differ only by
  normalisation are not synced (the second is reported as skipped).
- Change detection, in this order: sizes differ → copy. ``--size-only`` stops there.
  The record of an earlier sync (same ETag listed, same local identity) means unchanged.
  ``--checksum`` compares content (the local file's MD5 or multipart ETag against the
  listed ETag, from the content cache while the file is unchanged). Otherwise mtimes:
  an object's mtime is the one recorded when sync uploaded or downloaded it (the
  ``x-amz-meta-mtime`` it wrote), else its LastModified (compared in whole seconds);
  the source newer than the destination → copy; ``--exact-timestamps``: any difference.
- A no-op sync sends the listing requests and nothing else, in every mode: the record
  replaces any HEAD, and ``--checksum`` reads a file only if it changed since the record.
- Deletions (``--delete``) are spooled to a temporary file while the transfers run and
  carried out after them, so a ``--max-delete`` guard can refuse them all before any.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import heapq
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO

from spacesync.client import SpacesClient
from spacesync.engine.checksum_cache import ChecksumCache, FileIdentity, SyncRecord
from spacesync.engine.delete import BatchDeleter
from spacesync.engine.filters import PathFilter
from spacesync.engine.job import (
    Copy,
    CopyJob,
    Download,
    Item,
    MakeDirectory,
    Refused,
    Upload,
    in_thread_batches,
    is_inside,
    local_path_for,
    thread_batches,
)
from spacesync.engine.plan import DEFAULT_PART_SIZE, PartPlan
from spacesync.engine.transfer import TransferContext, TransferOptions, TransferResult
from spacesync.engine.walk import LocalDirectory, LocalFile, Skipped, nfc, walk_keys
from spacesync.errors import ConfigError, LocalFileError, SpacesError, UnsafeKey, s3_error_from
from spacesync.protocol.model import ObjectId, ObjectInfo
from spacesync.transport.body import BytesBody
from spacesync.urls import S3Location

Location = Path | S3Location

#: Pairs decided per hop to a worker thread (cache look-ups, and hashing with --checksum).
_DECIDE_BATCH = 256
#: Part sizes tried, after the configured one, to recompute a multipart ETag.
_COMMON_PART_SIZES = (DEFAULT_PART_SIZE, 5 * 1024**2, 16 * 1024**2, 15 * 1024**2)
_NS = 1_000_000_000


class Compare(enum.Enum):
    SIZE_AND_MTIME = "size-and-mtime"
    SIZE_ONLY = "size-only"
    EXACT_TIMESTAMPS = "exact-timestamps"
    CHECKSUM = "checksum"


@dataclass(frozen=True, slots=True)
class SyncOptions:
    compare: Compare = Compare.SIZE_AND_MTIME
    delete: bool = False
    #: With ``delete``: more deletions than this and none is made.
    max_delete: int | None = None
    filters: PathFilter = field(default_factory=PathFilter)
    follow_symlinks: bool = False
    #: Upload empty local directories as "folder" objects (zero bytes, key ending in '/').
    folders: bool = False


# -- entries on either side ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteObject:
    key: str  # relative to the prefix, NFC
    info: ObjectInfo

    @property
    def size(self) -> int:
        return self.info.size

    @property
    def is_folder(self) -> bool:
        return self.info.key.endswith("/") and self.info.size == 0


Entry = LocalFile | LocalDirectory | RemoteObject


def _subject(entry: Entry) -> str:
    return entry.info.key if isinstance(entry, RemoteObject) else str(entry.path)


# -- the remote listing -----------------------------------------------------------------------


def merge_order(key: str) -> tuple[bytes, ...]:
    """The order both sides of a merge are produced in: by path component, each by its
    UTF-8 bytes (a directory's contents come where its name sorts). S3 lists by whole-key
    bytes instead, where "a-b" and "a.b" come before "a/x" ('/' is 0x2F); some servers
    (SeaweedFS) list by component. :func:`_listing_floor` bridges either to this order.
    (Splitting the UTF-8 bytes is splitting the key: no multi-byte sequence holds 0x2F.)"""
    return tuple(key.encode().split(b"/"))


#: A character below '/': where a listing by whole-key bytes and merge order may disagree.
_BELOW_SLASH = re.compile("[\x00-\x2e]")


def _listing_floor(listed: str) -> tuple[bytes, ...]:
    """A lower bound, in merge order, of every key a listing can give after ``listed``,
    whether it lists by whole-key bytes or by component. By bytes, "a/..." may follow
    "a-b" yet precede it in merge order: the bound is cut at the first character below
    '/' (so an entry waits only while keys that would sort before it may still come)."""
    below = _BELOW_SLASH.search(listed)
    return merge_order(listed if below is None else listed[: below.start()])


async def _remote_batches(
    client: SpacesClient, bucket: str, prefix: str
) -> AsyncIterator[list[RemoteObject]]:
    """The listing keyed by NFC relative keys, in merge order, a page at a time (the
    next page is asked for while this one is merged). Entries wait in a heap until the
    listing has passed where they sort: a few at a time (neighbours of a directory named
    like it, "a.txt" beside "a/"; keys not in NFC, whose composed form sorts a little
    later)."""
    waiting: list[tuple[tuple[bytes, ...], int, RemoteObject]] = []
    count = 0
    async for page in client.list_pages(bucket, prefix=prefix, read_ahead=True):
        ready: list[RemoteObject] = []
        for info in page.objects:
            relative = info.key[len(prefix) :]
            if not relative:
                continue  # the prefix's own folder object
            key = nfc(relative)
            heapq.heappush(waiting, (merge_order(key), count, RemoteObject(key, info)))
            count += 1
            floor = _listing_floor(relative)
            while waiting and waiting[0][0] <= floor:
                ready.append(heapq.heappop(waiting)[2])
        if ready:
            yield ready
    if waiting:
        yield [heapq.heappop(waiting)[2] for _ in range(len(waiting))]


# -- the merge --------------------------------------------------------------------------------


class _Cursor:
    """One side of the merge: its current entry, and what it skipped on the way. Entries
    come in batches: only a refill awaits."""

    def __init__(self, batches: AsyncIterator[Sequence[Entry | Skipped]], keep: PathFilter) -> None:
        self._batches = batches
        self._items: Iterator[Entry | Skipped] = iter(())
        self._keep = keep
        self._last: tuple[bytes, ...] | None = None
        self.current: Entry | None = None
        self.order: tuple[bytes, ...] = ()
        self.skipped: list[Skipped] = []

    async def advance(self) -> None:
        while True:
            self._take()
            if self.current is not None:
                return
            batch = await anext(self._batches, None)
            if batch is None:
                return
            self._items = iter(batch)

    def _take(self) -> None:
        """The next entry of the batch at hand as current (None: the batch is used up)."""
        self.current = None
        for item in self._items:
            if isinstance(item, Skipped):
                self.skipped.append(item)
                continue
            if not self._keep.includes(item.key):
                continue
            order = merge_order(item.key)
            if self._last is not None and order <= self._last:
                why = "same key as another once Unicode-normalised (NFC)"
                self.skipped.append(
                    Skipped(
                        _subject(item),
                        why
                        if order == self._last
                        else "listed out of order once Unicode-normalised",
                    )
                )
                continue
            self._last, self.current, self.order = order, item, order
            return


Pair = tuple[Entry | None, Entry | None]


async def merge(
    source: AsyncIterator[Sequence[Entry | Skipped]],
    destination: AsyncIterator[Sequence[Entry | Skipped]],
    *,
    keep: PathFilter,
) -> AsyncIterator[list[Pair | Skipped]]:
    """Two-pointer walk over two key-ordered streams of batches: (source, destination) per
    key, None where a side lacks it; entries ``keep`` excludes are on neither side. Comes
    in batches of up to ``_DECIDE_BATCH`` pairs, each with the skips met on the way."""
    left, right = _Cursor(source, keep), _Cursor(destination, keep)
    await left.advance()
    await right.advance()
    batch: list[Pair | Skipped] = []
    pairs = 0
    while left.current is not None or right.current is not None:
        for cursor in (left, right):
            batch += cursor.skipped
            cursor.skipped.clear()
        if right.current is None or (left.current is not None and left.order < right.order):
            batch.append((left.current, None))
            await left.advance()
        elif left.current is None or right.order < left.order:
            batch.append((None, right.current))
            await right.advance()
        else:
            batch.append((left.current, right.current))
            await left.advance()
            await right.advance()
        pairs += 1
        if pairs == _DECIDE_BATCH:
            yield batch
            batch, pairs = [], 0
    for cursor in (left, right):
        batch += cursor.skipped
    if batch:
        yield batch


# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncUpload(Upload):
    identity: FileIdentity
    reason: str


@dataclass(frozen=True, slots=True)
class SyncDownload(Download):
    #: Set on the file once written: the object's mtime as far as the listing tells.
    mtime_ns: int
    reason: str


@dataclass(frozen=True, slots=True)
class SyncCopy(Copy):
    reason: str


@dataclass(frozen=True, slots=True)
class SyncMakeDirectory(MakeDirectory):
    reason: str


@dataclass(frozen=True, slots=True)
class PutFolder:
    """A folder object (zero bytes, key ending in '/'): for an empty local directory with
    ``--folders``, or a source folder object (a PUT, not a copy: SeaweedFS's CopyObject
    of such a key makes no listable object)."""

    source: str
    bucket: str
    key: str


@dataclass(frozen=True, slots=True)
class DeleteRemote:
    bucket: str
    key: str
    size: int


@dataclass(frozen=True, slots=True)
class DeleteLocal:
    path: Path
    size: int


Action = (
    SyncUpload
    | SyncDownload
    | SyncCopy
    | SyncMakeDirectory
    | PutFolder
    | DeleteRemote
    | DeleteLocal
    | Skipped
    | Refused
)


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One planned or finished action, as the CLI reports it."""

    action: str  # upload, download, copy, mkdir, folder, delete, skip, refuse
    source: str
    destination: str
    size: int = 0
    reason: str = ""
    etag: str = ""
    error: SpacesError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(action: Action) -> SyncEvent:
    """What an action will do (for ``--dry-run``, and the start of what it did)."""
    if isinstance(action, SyncUpload):
        where = f"s3://{action.bucket}/{action.key}"
        return SyncEvent("upload", str(action.path), where, action.size, action.reason)
    if isinstance(action, SyncDownload):
        source = f"s3://{action.bucket}/{action.key}"
        return SyncEvent("download", source, str(action.destination), action.size, action.reason)
    if isinstance(action, SyncCopy):
        return SyncEvent(
            "copy",
            f"s3://{action.source_bucket}/{action.source_key}",
            f"s3://{action.bucket}/{action.key}",
            action.size,
            action.reason,
        )
    if isinstance(action, SyncMakeDirectory):
        return SyncEvent("mkdir", action.key, str(action.destination), reason=action.reason)
    if isinstance(action, PutFolder):
        return SyncEvent("folder", action.source, f"s3://{action.bucket}/{action.key}")
    if isinstance(action, DeleteRemote):
        return SyncEvent("delete", "", f"s3://{action.bucket}/{action.key}", action.size)
    if isinstance(action, DeleteLocal):
        return SyncEvent("delete", "", str(action.path), action.size)
    if isinstance(action, Skipped):
        return SyncEvent("skip", action.subject, "", reason=action.reason)
    return SyncEvent("refuse", action.source, "", error=action.error)


@dataclass(slots=True)
class SyncSummary:
    actions: int = 0
    failed: int = 0
    nbytes: int = 0
    deleted: int = 0


# -- planning ---------------------------------------------------------------------------------


def _seconds(when: datetime | None) -> int:
    return int(when.timestamp()) if when is not None else 0


#: Sync records by listed key, looked up a batch of pairs at a time.
Records = dict[str, SyncRecord]


def _record(remote: RemoteObject, records: Records) -> SyncRecord | None:
    """The record of this machine's last sync of the object (from the batch's
    :meth:`SyncPlanner._records`), while the object is still the one synced (same ETag
    listed)."""
    record = records.get(remote.info.key)
    if record is None or record.etag != remote.info.etag:
        return None
    return record


class SyncPlanner:
    """Turns a source and a destination into a stream of actions (nothing is changed)."""

    def __init__(
        self,
        *,
        client: SpacesClient,
        cache: ChecksumCache,
        options: SyncOptions,
        transfer: TransferOptions,
        source: Location,
        destination: Location,
    ) -> None:
        if isinstance(source, Path) and isinstance(destination, Path):
            raise ConfigError("sync needs at least one s3:// location; use rsync for local trees")
        self.client = client
        self.cache = cache
        self.options = options
        self.transfer = transfer
        self.source = source
        self.destination = destination
        #: The bucket whose objects are paired with local files (records apply there).
        self._local_bucket = next(
            (
                side.bucket
                for side, other in ((source, destination), (destination, source))
                if isinstance(side, S3Location) and isinstance(other, Path)
            ),
            None,
        )

    async def plan(self) -> AsyncIterator[Action]:
        source = await self._entries(self.source)
        destination = await self._entries(self.destination)
        async for batch in merge(source, destination, keep=self.options.filters):
            pairs: list[Pair] = []
            for item in batch:
                if isinstance(item, Skipped):
                    yield item
                else:
                    pairs.append(item)
            if pairs:
                for action in await asyncio.to_thread(self._decide_all, pairs):
                    yield action

    async def _entries(self, location: Location) -> AsyncIterator[Sequence[Entry | Skipped]]:
        if isinstance(location, S3Location):
            return _remote_batches(self.client, location.bucket, location.prefix)
        if not await asyncio.to_thread(location.is_dir):
            if location is self.destination and not await asyncio.to_thread(location.exists):
                return _nothing()  # created as files land in it
            raise ConfigError(f"{location} is not a directory")
        walk = walk_keys(location, follow_symlinks=self.options.follow_symlinks)
        return thread_batches(walk)

    def _decide_all(self, pairs: list[Pair]) -> list[Action]:
        records = self._records(pairs)
        decided = (self._decide(src, dst, records) for src, dst in pairs)
        return [action for action in decided if action is not None]

    def _records(self, pairs: list[Pair]) -> Records:
        """The records of the listed objects of a batch paired with local files, in one
        query: by listed key."""
        if self._local_bucket is None:
            return {}
        keys = [side.info.key for pair in pairs for side in pair if isinstance(side, RemoteObject)]
        return self.cache.recorded_many(self._local_bucket, keys)

    def _decide(self, src: Entry | None, dst: Entry | None, records: Records) -> Action | None:
        if src is None:
            assert dst is not None
            return self._deletion(dst) if self.options.delete else None
        if _is_directory(src):
            return None if dst is not None else self._new_directory(src, records)
        reason = "new" if dst is None else self._change(src, dst, records)
        return None if reason is None else self._transfer(src, dst, reason, records)

    def _deletion(self, dst: Entry) -> Action | None:
        if isinstance(dst, RemoteObject):
            assert isinstance(self.destination, S3Location)
            return DeleteRemote(self.destination.bucket, dst.info.key, dst.size)
        if isinstance(dst, LocalFile):
            return DeleteLocal(dst.path, dst.size)
        return None  # directories are left in place

    def _remote_key(self, src: Entry, dst: Entry | None) -> str:
        """Where ``src`` goes in the destination bucket: over the object it matched (whatever
        its normalisation), else under the NFC key."""
        if isinstance(dst, RemoteObject):
            return dst.info.key
        assert isinstance(self.destination, S3Location)
        return self.destination.prefix + src.key

    def _new_directory(self, src: Entry, records: Records) -> Action | None:
        if isinstance(src, LocalDirectory):
            if not (self.options.folders and src.empty):
                return None
            assert isinstance(self.destination, S3Location)
            return PutFolder(str(src.path), self.destination.bucket, self._remote_key(src, None))
        assert isinstance(src, RemoteObject) and isinstance(self.source, S3Location)
        if isinstance(self.destination, S3Location):
            source = f"s3://{self.source.bucket}/{src.info.key}"
            return PutFolder(source, self.destination.bucket, self._remote_key(src, None))
        return self._transfer(src, None, "new", records)

    def _transfer(self, src: Entry, dst: Entry | None, reason: str, records: Records) -> Action:
        destination = self.destination
        if isinstance(src, LocalFile):
            assert isinstance(destination, S3Location)
            key = self._remote_key(src, dst)
            return SyncUpload(src.path, destination.bucket, key, src.size, src.identity, reason)
        source = self.source
        assert isinstance(src, RemoteObject) and isinstance(source, S3Location)
        if isinstance(destination, S3Location):
            key = self._remote_key(src, dst)
            return SyncCopy(source.bucket, src.info.key, destination.bucket, key, src.size, reason)
        root = Path(os.path.abspath(destination))
        try:
            target = dst.path if isinstance(dst, LocalFile) else local_path_for(root, src.key)
            if not is_inside(target, root):
                raise UnsafeKey(f"refusing key {src.info.key!r}: it leads outside {root}")
        except UnsafeKey as error:
            return Refused(f"s3://{source.bucket}/{src.info.key}", error)
        if src.is_folder:
            return SyncMakeDirectory(src.info.key, target, reason)
        mtime_ns = self._mtime(src, _record(src, records))[0]
        return SyncDownload(source.bucket, src.info.key, target, src.info, mtime_ns, reason)

    # -- change detection ---------------------------------------------------------------

    def _change(self, src: Entry, dst: Entry, records: Records) -> str | None:
        """Why ``src`` must be copied over ``dst`` (None: it need not)."""
        if _is_directory(dst):
            return "replaces a directory"
        if src.size != dst.size:
            return "size"
        compare = self.options.compare
        if compare is Compare.SIZE_ONLY:
            return None
        local = src if isinstance(src, LocalFile) else dst if isinstance(dst, LocalFile) else None
        remote = (
            src if isinstance(src, RemoteObject) else dst if isinstance(dst, RemoteObject) else None
        )
        record = _record(remote, records) if remote is not None else None
        if record is not None and local is not None and record.identity == local.identity:
            return None  # neither side changed since this machine synced them
        if compare is Compare.CHECKSUM:
            return None if self._same_content(src, dst) else "checksum"
        src_time, src_exact = self._mtime(src, record)
        dst_time, dst_exact = self._mtime(dst, record)
        if not (src_exact and dst_exact):
            src_time, dst_time = src_time // _NS, dst_time // _NS
        if compare is Compare.EXACT_TIMESTAMPS:
            return "mtime" if src_time != dst_time else None
        return "newer" if src_time > dst_time else None

    @staticmethod
    def _mtime(entry: Entry, record: SyncRecord | None) -> tuple[int, bool]:
        """(mtime in ns, exact?): an object's is the one recorded at its last sync (what it
        carries as x-amz-meta-mtime), else its LastModified, whole seconds, not exact."""
        if isinstance(entry, LocalFile):
            return entry.identity.mtime_ns, True
        assert isinstance(entry, RemoteObject)
        if record is not None:
            return record.identity.mtime_ns, True
        return _seconds(entry.info.last_modified) * _NS, False

    def _same_content(self, src: Entry, dst: Entry) -> bool:
        if isinstance(src, RemoteObject) and isinstance(dst, RemoteObject):
            return src.info.etag == dst.info.etag
        local = src if isinstance(src, LocalFile) else dst
        remote = dst if isinstance(dst, RemoteObject) else src
        assert isinstance(local, LocalFile) and isinstance(remote, RemoteObject)
        try:
            same = self.cache.matches_etag(
                local.identity, remote.info.etag, part_sizes=self._part_sizes(local.size)
            )
        except OSError:
            return False  # unreadable here: the transfer will report why
        return bool(same)

    def _part_sizes(self, size: int) -> list[int]:
        wanted = (self.transfer.part_size, *_COMMON_PART_SIZES)
        return list(dict.fromkeys(PartPlan.for_upload(size, part_size=p).part_size for p in wanted))


async def _nothing() -> AsyncIterator[Sequence[Entry | Skipped]]:
    return
    yield


def _is_directory(entry: Entry) -> bool:
    return isinstance(entry, LocalDirectory) or (
        isinstance(entry, RemoteObject) and entry.is_folder
    )


# -- running ----------------------------------------------------------------------------------

#: The item a transfer task is running, so its result is reported as the action it was.
_running: contextvars.ContextVar[Item | None] = contextvars.ContextVar("sync_item", default=None)

#: Deletions buffered in memory before they go to the spool file.
_SPOOL_BATCH = 1000


class _SyncJob(CopyJob):
    """The copy job's runner, plus what sync does after a transfer: record what was synced,
    and give a downloaded file the object's mtime."""

    def __init__(self, context: TransferContext, *, cache: ChecksumCache) -> None:
        super().__init__(context)
        self.cache = cache

    async def _run_one(self, item: Item) -> TransferResult:
        _running.set(item)  # this task's own context, read back when its result is reported
        result = await super()._run_one(item)
        if isinstance(item, SyncUpload):
            await asyncio.to_thread(self._uploaded, item, result)
        elif isinstance(item, SyncDownload):
            await asyncio.to_thread(self._downloaded, item, result)
        return result

    def _uploaded(self, item: SyncUpload, result: TransferResult) -> None:
        """Record the upload if the file is still what was read (else the next sync looks)."""
        identity = FileIdentity.of(item.path, os.stat(item.path))
        if identity == item.identity:
            self.cache.record(item.bucket, item.key, etag=result.etag, identity=identity)

    def _downloaded(self, item: SyncDownload, result: TransferResult) -> None:
        path = item.destination
        os.utime(path, ns=(item.mtime_ns, item.mtime_ns))
        identity = FileIdentity.of(path, os.stat(path))
        self.cache.record(item.bucket, item.key, etag=result.etag, identity=identity)


class _DeleteSpool:
    """Deletions waiting for the transfers to end: in memory up to a batch, then in an
    unnamed temporary file, so their number costs no memory."""

    def __init__(self) -> None:
        self.count = 0
        self.bucket: str | None = None
        self._buffer: list[DeleteRemote | DeleteLocal] = []
        self._file: IO[str] | None = None

    async def add(self, action: DeleteRemote | DeleteLocal) -> None:
        self.count += 1
        if isinstance(action, DeleteRemote):
            self.bucket = action.bucket
        self._buffer.append(action)
        if len(self._buffer) >= _SPOOL_BATCH:
            await asyncio.to_thread(self._spill)

    def _spill(self) -> None:
        if self._file is None:
            # Closed by close(), once the deletions it holds are done.
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        for action in self._buffer:
            record = (
                {"k": action.key, "s": action.size}
                if isinstance(action, DeleteRemote)
                else {"p": str(action.path), "s": action.size}
            )
            self._file.write(json.dumps(record) + "\n")
        self._buffer.clear()

    def _replay(self) -> Iterator[DeleteRemote | DeleteLocal]:
        if self._file is not None:
            self._file.seek(0)
            for line in self._file:
                record = json.loads(line)
                if "k" in record:
                    assert self.bucket is not None
                    yield DeleteRemote(self.bucket, record["k"], record["s"])
                else:
                    yield DeleteLocal(Path(record["p"]), record["s"])
        yield from self._buffer

    def actions(self) -> AsyncIterator[DeleteRemote | DeleteLocal]:
        return in_thread_batches(self._replay())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _unlink(path: Path) -> SpacesError | None:
    try:
        path.unlink()
    except FileNotFoundError:
        return None  # already gone: what was wanted
    except OSError as error:
        return LocalFileError.from_os(error, where=path)
    return None


class Syncer:
    """Carries out a plan: transfers through the copy job's runner (uploads, downloads,
    server-side copies under one scheduler), then the deletions, in batches."""

    def __init__(
        self, context: TransferContext, *, cache: ChecksumCache, sync_options: SyncOptions
    ) -> None:
        self.context = context
        self.cache = cache
        self.sync_options = sync_options
        self._job = _SyncJob(context, cache=cache)

    async def run(
        self, actions: AsyncIterator[Action], *, on_event: Callable[[SyncEvent], None]
    ) -> SyncSummary:
        """Run every action; one failing never stops the rest. Each is reported once done."""
        summary = SyncSummary()

        def report(event: SyncEvent) -> None:
            summary.actions += 1
            summary.failed += 0 if event.ok else 1
            on_event(event)

        def finished(result: TransferResult) -> None:
            item = _running.get()
            event = (
                describe(item)
                if isinstance(item, SyncUpload | SyncDownload | SyncCopy | SyncMakeDirectory)
                else SyncEvent("copy", result.source, result.destination, result.size)
            )
            summary.nbytes += result.size if result.ok else 0
            report(replace(event, etag=result.etag, error=result.error))

        spool = _DeleteSpool()
        try:
            await self._job.run(self._transfers(actions, spool, report), on_result=finished)
            await self._delete(spool, report, summary)
        finally:
            await asyncio.to_thread(spool.close)
            await asyncio.to_thread(self.cache.flush)
        return summary

    async def _transfers(
        self,
        actions: AsyncIterator[Action],
        spool: _DeleteSpool,
        report: Callable[[SyncEvent], None],
    ) -> AsyncIterator[Item]:
        """The transfers, for the job to run; the rest is spooled or reported here."""
        async for action in actions:
            if isinstance(action, DeleteRemote | DeleteLocal):
                await spool.add(action)
            elif isinstance(action, PutFolder):
                report(await self._put_folder(action))
            elif isinstance(action, Skipped | Refused):
                report(describe(action))
            else:
                yield action

    async def _put_folder(self, action: PutFolder) -> SyncEvent:
        event = describe(action)
        context = self.context
        try:
            async with context.scheduler.request(put_object=(action.bucket, action.key)):
                etag = await context.client.put_object(
                    action.bucket, action.key, BytesBody(b""), attributes=context.options.attributes
                )
        except SpacesError as error:
            return replace(event, error=error)
        return replace(event, etag=etag)

    async def _delete(
        self, spool: _DeleteSpool, report: Callable[[SyncEvent], None], summary: SyncSummary
    ) -> None:
        limit = self.sync_options.max_delete
        if limit is not None and spool.count > limit:
            refused = ConfigError(
                f"{spool.count} deletions planned, more than --max-delete {limit}: none made"
            )
            report(SyncEvent("delete", "", "", error=refused))
            return
        if spool.bucket is not None:
            bucket = spool.bucket
            deleter = BatchDeleter(client=self.context.client, scheduler=self.context.scheduler)
            # Consumed to the end, as the deleter asks: report() does not raise.
            async for outcome in deleter.delete(bucket, _object_ids(spool.actions())):
                error = (
                    None
                    if outcome.ok
                    else s3_error_from(
                        outcome.error_code or "DeleteFailed",
                        outcome.error_message or "",
                        status=0,
                        resource=outcome.key,
                    )
                )
                summary.deleted += 0 if error else 1
                report(SyncEvent("delete", "", f"s3://{bucket}/{outcome.key}", error=error))
            return
        batch: list[DeleteLocal] = []
        async for action in spool.actions():
            if isinstance(action, DeleteLocal):
                batch.append(action)
            if len(batch) >= _DECIDE_BATCH:
                await self._unlink_all(batch, report, summary)
                batch = []
        await self._unlink_all(batch, report, summary)

    async def _unlink_all(
        self, batch: list[DeleteLocal], report: Callable[[SyncEvent], None], summary: SyncSummary
    ) -> None:
        errors = await asyncio.to_thread(lambda: [_unlink(action.path) for action in batch])
        for action, error in zip(batch, errors, strict=True):
            summary.deleted += 0 if error else 1
            report(replace(describe(action), error=error))


async def _object_ids(
    actions: AsyncIterator[DeleteRemote | DeleteLocal],
) -> AsyncIterator[ObjectId]:
    async for action in actions:
        if isinstance(action, DeleteRemote):
            yield ObjectId(action.key)
