"""What every transfer shares: its options, its result, and where it reports progress."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from spacesync.client import SpacesClient
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import DEFAULT_PART_SIZE
from spacesync.engine.scheduler import Scheduler
from spacesync.errors import SpacesError
from spacesync.protocol.headers import ObjectAttributes
from spacesync.protocol.sse import SseCustomerKey
from spacesync.transport.retry import RetryEvent, RetryPolicy

#: Metadata our uploads record: the source's mtime (ns) for sync, and the part size so a
#: download can recompute the multipart ETag.
META_MTIME = "mtime"
META_PART_SIZE = "spacesync-part-size"


def resumable_after(error: BaseException) -> bool:
    """Whether a later run could get past what stopped this transfer (a cancellation, or a
    failure the retry policy calls transient), so its journal and the work done are kept."""
    return not isinstance(error, Exception) or (
        isinstance(error, SpacesError) and RetryPolicy.is_retryable(error, idempotent=True)
    )


@dataclass(frozen=True, slots=True)
class TransferOptions:
    part_size: int = DEFAULT_PART_SIZE
    #: Objects above this size go multipart (uploads) or as parallel ranges (downloads).
    multipart_threshold: int = DEFAULT_PART_SIZE
    #: Keep journals so an interrupted transfer resumes; False aborts on any failure.
    resumable: bool = True
    attributes: ObjectAttributes | None = None
    #: Server-side copies above this size use parallel UploadPartCopy (S3's CopyObject
    #: stops at 5 GiB); lowered in tests.
    copy_threshold: int = 5 * 1024**3
    copy_part_size: int = 256 * 1024**2
    #: SSE-C: the customer key that encrypts uploads and copies and decrypts downloads and
    #: copy sources. Such an object's ETag is not its MD5, so ETag checks give way to the
    #: Content-MD5 each request carries.
    sse: SseCustomerKey | None = None


@dataclass(slots=True)
class TransferResult:
    """One file's outcome; ``error`` is None on success."""

    source: str
    destination: str
    size: int = 0
    etag: str = ""
    seconds: float = 0.0
    #: Bytes that crossed the network for this file (less than ``size`` when resumed).
    bytes_transferred: int = 0
    resumed: bool = False
    #: Requests retried on this file's behalf (all its parts).
    retries: int = 0
    error: SpacesError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ProgressSink(Protocol):
    """Where transfers report; the CLI plugs a progress bar in, tests a counter."""

    def add_work(self, *, files: int, nbytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def file_done(self, result: TransferResult) -> None: ...


class NoProgress:
    def add_work(self, *, files: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def file_done(self, result: TransferResult) -> None:
        pass


@dataclass(frozen=True, slots=True)
class TransferContext:
    """What every transfer of one job runs against, built once by the caller and handed
    whole to the uploader, downloader, copier, copy job and syncer, so they cannot drift."""

    client: SpacesClient
    scheduler: Scheduler
    #: None when the job keeps no journal (--no-resume, or a stream that cannot resume).
    journals: JournalStore | None
    progress: ProgressSink
    options: TransferOptions


@dataclass(slots=True)
class RetryTally:
    count: int = field(default=0)


#: The tally of the file being transferred: set by the job in each file's task, inherited by
#: the tasks of its parts, so a client-wide retry hook can charge the right file.
current_tally: ContextVar[RetryTally | None] = ContextVar("current_tally", default=None)


def count_retry(event: RetryEvent) -> None:
    """A client ``on_retry`` hook that charges the retry to the current file."""
    tally = current_tally.get()
    if tally is not None:
        tally.count += 1
