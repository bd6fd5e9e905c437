"""A copy job: expand what the user named into file transfers, run them through one
scheduler, and report each file's outcome as it finishes.

Expansion is a stream (a directory walk, a listing), consumed as slots free up, so a job
over millions of files holds only what is in flight.
"""

from __future__ import annotations

import asyncio
import fnmatch
import glob
import itertools
import os
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from spacesync.client import SpacesClient
from spacesync.engine.copy import ServerSideCopier
from spacesync.engine.download import Downloader, Known
from spacesync.engine.scheduler import FileSlot
from spacesync.engine.transfer import (
    RetryTally,
    TransferContext,
    TransferResult,
    current_tally,
)
from spacesync.engine.upload import Uploader
from spacesync.engine.walk import LocalFile, Skipped, walk_keys
from spacesync.errors import (
    ConfigError,
    LocalFileError,
    SpacesError,
    UnsafeKey,
    fails_every_request,
)
from spacesync.protocol.model import ObjectHead, ObjectInfo
from spacesync.protocol.sse import SseCustomerKey
from spacesync.urls import S3Location

WILDCARDS = frozenset("*?[")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Upload:
    path: Path
    bucket: str
    key: str
    size: int


@dataclass(frozen=True, slots=True)
class Download:
    bucket: str
    key: str
    destination: Path
    #: The listing entry (or HEAD reply) the download came from: it may save a HEAD.
    known: Known

    @property
    def size(self) -> int:
        return self.known.size


@dataclass(frozen=True, slots=True)
class MakeDirectory:
    """A "folder" object (zero bytes, key ending in '/') becomes a local directory."""

    key: str
    destination: Path


@dataclass(frozen=True, slots=True)
class Copy:
    source_bucket: str
    source_key: str
    bucket: str
    key: str
    size: int


@dataclass(frozen=True, slots=True)
class Refused:
    """A source that cannot be transferred safely; reported as a failure, the job goes on."""

    source: str
    error: SpacesError


Item = Upload | Download | MakeDirectory | Copy | Refused


@dataclass(slots=True)
class JobSummary:
    files: int = 0
    failed: int = 0
    nbytes: int = 0
    seconds: float = 0.0


def has_wildcard(text: str) -> bool:
    return any(c in WILDCARDS for c in text)


def local_path_for(root: Path, relative_key: str) -> Path:
    """Where a key lands under ``root``; refuses any key that could escape it."""
    shown = repr(relative_key)
    if "\x00" in relative_key or "\\" in relative_key:
        raise UnsafeKey(f"refusing key {shown}: it contains a NUL or a backslash")
    if relative_key.startswith("/"):
        raise UnsafeKey(f"refusing key {shown}: it is an absolute path")
    segments = relative_key.rstrip("/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise UnsafeKey(f"refusing key {shown}: it has an empty, '.' or '..' path segment")
    return root.joinpath(*segments)


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path``'s real parent is ``root``'s real path or below it (a symlinked
    directory inside the destination must not lead out of it)."""
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(path.parent)
    return real_parent == real_root or real_parent.startswith(real_root + os.sep)


def _local_sources(source: Path, *, recursive: bool) -> Iterator[tuple[Path, str, int] | Skipped]:
    """(file, key suffix, size) for a local source: a file, a directory, or a glob; what the
    walk could not take (a link loop, an unreadable directory…) as :class:`Skipped`."""
    text = str(source)
    if has_wildcard(text):
        base = Path(os.path.dirname(text[: min(text.index(c) for c in WILDCARDS if c in text)]))
        matches = sorted(glob.glob(text, recursive=recursive))
        if not matches:
            raise ConfigError(f"no local file matches {text!r}")
        for match in matches:
            path = Path(match)
            if path.is_file():
                yield path, path.relative_to(base).as_posix(), path.stat().st_size
        return
    if not source.exists():
        raise ConfigError(f"no such file or directory: {source}")
    if source.is_dir():
        if not recursive:
            raise ConfigError(f"{source} is a directory: add --recursive to copy what is in it")
        # Like cp(1) and aws s3 cp, links are followed; a loop is walked once, not forever.
        for entry in walk_keys(source, follow_symlinks=True):
            if isinstance(entry, LocalFile):
                yield entry.path, entry.key, entry.size
            elif isinstance(entry, Skipped):
                yield entry
        return
    st = source.stat()
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or a device would block the read forever, or never end.
        raise ConfigError(f"{source} is not a regular file")
    yield source, source.name, st.st_size


async def in_thread_batches(items: Iterator[T], batch: int = 512) -> AsyncIterator[T]:
    """Drive a blocking iterator (a directory walk) from worker threads, a batch per hop:
    the event loop never blocks on the disk, and small files don't pay a hop each."""
    async for chunk in thread_batches(items, batch):
        for item in chunk:
            yield item


async def thread_batches(items: Iterator[T], batch: int = 512) -> AsyncIterator[list[T]]:
    """:func:`in_thread_batches` a batch at a time, for callers that handle a batch in one
    go (sync's merge): no async step per item."""

    def take() -> list[T]:
        return list(itertools.islice(items, batch))

    while chunk := await asyncio.to_thread(take):
        yield chunk


class RemoteSource(NamedTuple):
    key: str
    #: The key relative to the source (where it lands under a destination folder).
    relative: str
    #: The listing entry, or the HEAD reply of a single object.
    known: ObjectInfo | ObjectHead

    @property
    def size(self) -> int:
        return self.known.size


async def remote_sources(
    client: SpacesClient,
    source: S3Location,
    *,
    recursive: bool,
    sse: SseCustomerKey | None = None,
) -> AsyncIterator[RemoteSource]:
    """Every object a remote source names: a glob, a prefix (``recursive``, as a folder) or
    one object; shared by cp, rm, mv and du."""
    if has_wildcard(source.key):
        literal = source.key[: min(source.key.index(c) for c in WILDCARDS if c in source.key)]
        base = literal[: literal.rfind("/") + 1]
        matched = False
        async for entry in client.list_objects(source.bucket, prefix=literal):
            if fnmatch.fnmatchcase(entry.key, source.key):
                matched = True
                yield RemoteSource(entry.key, entry.key[len(base) :], entry)
        if not matched:
            raise ConfigError(f"no object matches {source}")
        return
    if recursive:
        prefix = source.prefix
        async for entry in client.list_objects(source.bucket, prefix=prefix):
            yield RemoteSource(entry.key, entry.key[len(prefix) :], entry)
        return
    if source.is_prefix:
        raise ConfigError(f"{source} names a folder: add --recursive to include what is in it")
    head = await client.head_object(source.bucket, source.key, sse=sse)
    yield RemoteSource(source.key, source.key.rsplit("/", 1)[-1], head)


class CopyJob:
    """Runs the transfers of one ``cp``: uploads, downloads and server-side copies."""

    def __init__(self, context: TransferContext) -> None:
        self.context = context
        self.uploader = Uploader(context)
        self.downloader = Downloader(context)
        self.copier = ServerSideCopier(context)
        #: Directories this job made (or found) for its downloads: one mkdir hop each, not
        #: one per file.
        self._directories: set[Path] = set()

    # -- expansion ----------------------------------------------------------------------

    async def plan(
        self,
        source: Path | S3Location,
        destination: Path | S3Location,
        *,
        recursive: bool,
        into_directory: bool = False,
    ) -> AsyncIterator[Item]:
        """The items copying ``source`` to ``destination`` makes. A local destination is a
        directory the objects go into when it is one, or when ``into_directory`` says so
        (it is then made only if something lands in it); else it names the one file."""
        if isinstance(source, Path):
            if not isinstance(destination, S3Location):
                raise ConfigError("cp needs at least one s3:// location; use cp(1) for local files")
            many = recursive or has_wildcard(str(source))
            sources = _local_sources(source, recursive=recursive)
            async for found in in_thread_batches(sources):
                if isinstance(found, Skipped):
                    error = LocalFileError(found.reason)
                    yield Refused(found.subject, error)
                    continue
                path, suffix, size = found
                if many or destination.is_prefix:
                    key = destination.prefix + suffix
                else:
                    key = destination.key
                yield Upload(path, destination.bucket, key, size)
            return
        many = recursive or has_wildcard(source.key)
        entries = remote_sources(
            self.context.client, source, recursive=recursive, sse=self.context.options.sse
        )
        async for listed in entries:
            if isinstance(destination, S3Location):
                key = (
                    destination.prefix + listed.relative
                    if many or destination.is_prefix
                    else destination.key
                )
                yield Copy(source.bucket, listed.key, destination.bucket, key, listed.size)
            else:
                yield self._download_item(
                    source.bucket, listed, destination, many=many or into_directory
                )

    def _download_item(
        self, bucket: str, found: RemoteSource, destination: Path, *, many: bool
    ) -> Item:
        """One object to one local path: the destination itself for a single object named
        as a file, else the object's relative key under the destination directory."""
        key, size, relative = found.key, found.size, found.relative
        try:
            if not many and not destination.is_dir():
                target = destination
                root = destination.parent
            else:
                target = local_path_for(destination, relative)
                root = destination
            if not is_inside(target, root):
                raise UnsafeKey(f"refusing key {key!r}: it leads outside {root}")
        except UnsafeKey as error:
            return Refused(f"s3://{bucket}/{key}", error)
        if key.endswith("/") and size == 0:
            return MakeDirectory(key, target)
        return Download(bucket, key, target, found.known)

    # -- running ------------------------------------------------------------------------

    async def run(
        self, items: AsyncIterator[Item], *, on_result: Callable[[TransferResult], None]
    ) -> JobSummary:
        """Start each item as a file slot frees up; one file's failure never stops the rest,
        unless it would recur on every file (a missing bucket, bad credentials): then that
        error ends the job, raised once, and the transfers in flight are cancelled."""
        summary = JobSummary()
        started = time.monotonic()

        def finish(result: TransferResult) -> None:
            summary.files += 1
            summary.nbytes += result.size if result.ok else 0
            summary.failed += 0 if result.ok else 1
            self.context.progress.file_done(result)
            on_result(result)

        async with self.context.scheduler.tasks() as spawner:
            async for item in items:
                if isinstance(item, Refused):
                    finish(TransferResult(item.source, "", error=item.error))
                    continue
                self.context.progress.add_work(files=1, nbytes=getattr(item, "size", 0))
                slot = await self.context.scheduler.file_slot()
                spawner.spawn(self._transfer(item, slot, finish))
        summary.seconds = time.monotonic() - started
        return summary

    async def _transfer(
        self, item: Item, slot: FileSlot, finish: Callable[[TransferResult], None]
    ) -> None:
        tally = RetryTally()
        current_tally.set(tally)  # this task's own context: its part tasks inherit it
        try:
            result = await self._run_one(item)
        except SpacesError as error:
            if fails_every_request(error):
                raise
            result = TransferResult(
                _describe_source(item), _describe_destination(item), error=error
            )
        except OSError as error:
            result = TransferResult(
                _describe_source(item),
                _describe_destination(item),
                error=LocalFileError.from_os(
                    error, where=error.filename or _describe_source(item)
                ),
            )
        finally:
            slot.release()
        result.retries = tally.count
        finish(result)

    async def _make_directory(self, directory: Path) -> None:
        if directory not in self._directories:
            await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
            self._directories.add(directory)

    async def _run_one(self, item: Item) -> TransferResult:
        if isinstance(item, Upload):
            return await self.uploader.upload_file(item.path, bucket=item.bucket, key=item.key)
        if isinstance(item, Download):
            await self._make_directory(item.destination.parent)
            return await self.downloader.download_file(
                bucket=item.bucket, key=item.key, destination=item.destination, known=item.known
            )
        if isinstance(item, MakeDirectory):
            await asyncio.to_thread(item.destination.mkdir, parents=True, exist_ok=True)
            return TransferResult(item.key, str(item.destination))
        if isinstance(item, Copy):
            return await self.copier.copy(
                source_bucket=item.source_bucket,
                source_key=item.source_key,
                bucket=item.bucket,
                key=item.key,
            )
        raise AssertionError(f"unexpected item {item!r}")


def _describe_source(item: Item) -> str:
    if isinstance(item, Upload):
        return str(item.path)
    if isinstance(item, Download):
        return f"s3://{item.bucket}/{item.key}"
    if isinstance(item, Copy):
        return f"s3://{item.source_bucket}/{item.source_key}"
    return item.source if isinstance(item, Refused) else item.key


def _describe_destination(item: Item) -> str:
    if isinstance(item, Upload | Copy):
        return f"s3://{item.bucket}/{item.key}"
    if isinstance(item, Download | MakeDirectory):
        return str(item.destination)
    return ""
