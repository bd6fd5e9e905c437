"""Deleting many objects: DeleteObjects batches of up to 1,000 keys, several in flight.

S3 has no recursive delete: a "folder" goes by listing its prefix and deleting what was
listed. Listing and deleting overlap here: keys stream from the listing into batches, each
full batch is sent under a scheduler lease while the listing goes on, and every key's
outcome is yielded as its batch returns. An interrupted delete needs no journal: running it
again lists what is left and deletes that.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from spacesync.client import SpacesClient
from spacesync.engine.job import (
    WILDCARDS,
    CopyJob,
    Item,
    JobSummary,
    has_wildcard,
    remote_sources,
)
from spacesync.engine.scheduler import Scheduler, TaskSpawner
from spacesync.engine.transfer import TransferResult
from spacesync.errors import ConfigError, NotImplementedByEndpoint, S3Error, SpacesError
from spacesync.protocol.model import DeleteOutcome, ObjectId
from spacesync.urls import S3Location, is_s3_url, parse_s3_url

#: DeleteObjects takes at most this many keys per request.
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AbortOutcome:
    """One unfinished multipart upload aborted (``error`` None) or not."""

    key: str
    upload_id: str
    initiated: datetime | None = None
    error: SpacesError | None = None


def _failed(batch: Sequence[ObjectId], error: SpacesError) -> list[DeleteOutcome]:
    """A request refused or lost as a whole: each of its keys failed for that reason."""
    code = error.code if isinstance(error, S3Error) else type(error).__name__
    message = error.message if isinstance(error, S3Error) else str(error)
    return [
        DeleteOutcome(o.key, o.version_id, error_code=code, error_message=message) for o in batch
    ]


class BatchDeleter:
    """The one delete batcher (rm, rb --force, mv, sync --delete)."""

    def __init__(
        self, *, client: SpacesClient, scheduler: Scheduler, batch_size: int = MAX_BATCH
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"a DeleteObjects batch holds 1 to {MAX_BATCH} keys")
        self.client = client
        self.scheduler = scheduler
        self.batch_size = batch_size

    async def delete(
        self, bucket: str, objects: AsyncIterator[ObjectId]
    ) -> AsyncIterator[DeleteOutcome]:
        """Delete every object ``objects`` yields; each key's outcome, as batches finish.

        A batch the server refuses as a whole (AccessDenied, retries exhausted) yields a
        failed outcome for each of its keys and the others go on; an error of ``objects``
        itself (the listing) ends the delete with that error. Consume it to the end (or
        close it with ``contextlib.aclosing``): its tasks live while it is open."""
        # Bounded: a consumer slower than the deletes holds batches (and their leases) back.
        finished: asyncio.Queue[list[DeleteOutcome] | int] = asyncio.Queue(
            maxsize=self.scheduler.concurrency
        )
        async with self.scheduler.tasks() as spawner:
            spawner.spawn(self._feed(bucket, objects, spawner=spawner, finished=finished))
            batches: int | None = None  # known once the feed has ended
            received = 0
            while batches is None or received < batches:
                message = await finished.get()
                if isinstance(message, int):
                    batches = message
                    continue
                received += 1
                for outcome in message:
                    yield outcome

    async def _feed(
        self,
        bucket: str,
        objects: AsyncIterator[ObjectId],
        *,
        spawner: TaskSpawner,
        finished: asyncio.Queue[list[DeleteOutcome] | int],
    ) -> None:
        """Cut the stream into batches; each waits for a lease, so batches in flight (and
        keys held) stay within the scheduler's budget."""
        sent = 0
        batch: list[ObjectId] = []
        async for obj in objects:
            batch.append(obj)
            if len(batch) < self.batch_size:
                continue
            lease = await self.scheduler.lease()
            spawner.spawn(self._send(bucket, batch, finished), lease=lease)
            sent += 1
            batch = []
        if batch:
            lease = await self.scheduler.lease()
            spawner.spawn(self._send(bucket, batch, finished), lease=lease)
            sent += 1
        await finished.put(sent)

    async def _send(
        self,
        bucket: str,
        batch: list[ObjectId],
        finished: asyncio.Queue[list[DeleteOutcome] | int],
    ) -> None:
        try:
            # Quiet: the reply lists only failures; the client fills in the successes.
            outcomes = await self.client.delete_objects(bucket, batch, quiet=True)
        except SpacesError as error:
            outcomes = _failed(batch, error)
        await finished.put(outcomes)

    async def empty_bucket(self, bucket: str) -> AsyncIterator[DeleteOutcome]:
        """Every version and delete marker, then any object still listed: versions go first
        because deleting a current object of a versioned bucket without its version only
        adds a delete marker; an endpoint without ListObjectVersions gets the second pass."""
        try:
            async for outcome in self.delete(bucket, _versions(self.client, bucket)):
                yield outcome
        except NotImplementedByEndpoint:
            pass
        async for outcome in self.delete(bucket, _current_objects(self.client, bucket)):
            yield outcome


async def _current_objects(client: SpacesClient, bucket: str) -> AsyncIterator[ObjectId]:
    async for entry in client.list_objects(bucket):
        yield ObjectId(entry.key)


async def _versions(
    client: SpacesClient,
    bucket: str,
    *,
    prefix: str = "",
    pattern: str | None = None,
) -> AsyncIterator[ObjectId]:
    """Versions and delete markers under ``prefix`` whose key matches ``pattern`` (fnmatch;
    a key without wildcards matches only itself)."""
    # Here, not at the top: spacesync.settings (every bucket setting's XML) costs sync and
    # rm ~10 ms of start-up, and only version deletes need it.
    from spacesync.settings import list_object_versions

    async for version in list_object_versions(client, bucket, prefix=prefix):
        if pattern is None or fnmatch.fnmatchcase(version.key, pattern):
            yield ObjectId(version.key, version.version_id)


async def versions_named(
    client: SpacesClient, source: S3Location, *, recursive: bool
) -> AsyncIterator[ObjectId]:
    """Every version and delete marker of what ``source`` names, with the meaning
    :func:`~spacesync.engine.job.remote_sources` gives it: a glob, a folder
    (``recursive``), or one key."""
    key = source.key
    if has_wildcard(key):
        prefix, pattern = key[: min(key.index(c) for c in WILDCARDS if c in key)], key
    elif recursive:
        prefix, pattern = source.prefix, None
    elif source.is_prefix:
        raise ConfigError(f"{source} names a folder: add --recursive to include what is in it")
    else:
        prefix, pattern = key, key
    found = False
    async for version in _versions(client, source.bucket, prefix=prefix, pattern=pattern):
        found = True
        yield version
    if not found and pattern is not None:
        raise ConfigError(f"no object or version matches {source}")


async def objects_named(
    client: SpacesClient, source: S3Location, *, recursive: bool
) -> AsyncIterator[ObjectId]:
    """The current objects ``source`` names (a glob, a folder, or one key), as cp reads it."""
    async for found in remote_sources(client, source, recursive=recursive):
        yield ObjectId(found.key)


async def abort_uploads(
    client: SpacesClient,
    bucket: str,
    *,
    prefix: str = "",
    initiated_before: datetime | None = None,
    dry_run: bool = False,
) -> AsyncIterator[AbortOutcome]:
    """Abort the unfinished multipart uploads under ``prefix`` (they hold storage and keep
    a bucket from being removed), only those started before ``initiated_before`` if given;
    one that cannot be aborted is reported, not raised. ``dry_run`` reports without aborting."""
    async for upload in client.list_multipart_uploads(bucket, prefix=prefix):
        if initiated_before is not None and (
            upload.initiated is None or upload.initiated > initiated_before
        ):
            continue
        try:
            if not dry_run:
                await client.abort_multipart_upload(bucket, upload.key, upload_id=upload.upload_id)
        except SpacesError as error:
            yield AbortOutcome(upload.key, upload.upload_id, upload.initiated, error)
        else:
            yield AbortOutcome(upload.key, upload.upload_id, upload.initiated)


async def move(
    *,
    job: CopyJob,
    deleter: BatchDeleter,
    items: AsyncIterator[Item],
    source: S3Location | Path,
    on_copied: Callable[[TransferResult], None],
    on_removed: Callable[[str, str | None], None],
) -> JobSummary:
    """Copy ``items`` with ``job``, and remove each source once its copy is verified (the
    transfer's result is ok: ETag checked, renamed into place): objects through
    ``deleter``, files by unlink. A source whose copy failed, or that is its own
    destination, is never removed. ``on_removed`` gets each removed source and the reason
    it could not be removed (None when it was)."""
    doomed: asyncio.Queue[ObjectId | None] = asyncio.Queue()

    async def queued() -> AsyncIterator[ObjectId]:
        while (obj := await doomed.get()) is not None:
            yield obj

    async def remove_objects(bucket: str) -> None:
        async for outcome in deleter.delete(bucket, queued()):
            error = None if outcome.ok else f"{outcome.error_code}: {outcome.error_message}"
            on_removed(str(S3Location(bucket, outcome.key)), error)

    async def remove_file(path: Path) -> None:
        try:
            await asyncio.to_thread(path.unlink)
        except OSError as error:
            on_removed(str(path), error.strerror or str(error))
        else:
            on_removed(str(path), None)

    async with job.context.scheduler.tasks() as spawner:
        if isinstance(source, S3Location):
            spawner.spawn(remove_objects(source.bucket))

        def copied(result: TransferResult) -> None:
            on_copied(result)
            if not result.ok or result.source == result.destination:
                return
            if isinstance(source, Path):
                spawner.spawn(remove_file(Path(result.source)))
            elif is_s3_url(result.source):
                doomed.put_nowait(ObjectId(parse_s3_url(result.source).key))
            else:  # a "folder" object made into a directory reports its bare key
                doomed.put_nowait(ObjectId(result.source))

        summary = await job.run(items, on_result=copied)
        doomed.put_nowait(None)
    return summary
