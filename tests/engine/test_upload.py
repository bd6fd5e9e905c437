"""The upload state machine against the real SeaweedFS server: every object is read back
byte for byte and its ETag checked against the one computed here."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from spacesync.client import SpacesClient
from spacesync.engine.journal import JOURNAL_MAX_AGE, JournalStore, UploadJournal
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import (
    META_MTIME,
    META_PART_SIZE,
    TransferContext,
    TransferOptions,
    TransferResult,
)
from spacesync.engine.upload import Uploader
from spacesync.errors import (
    AccessDenied,
    ConnectionClosed,
    IntegrityError,
    LocalFileError,
    NotFound,
    RequestTimeout,
    SourceChanged,
    SpacesError,
    TransportError,
)
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol.model import CompletedPart, CompletedUpload
from spacesync.transport.body import RequestBody
from tests.support.s3 import empty_bucket, multipart_etag_of, settings_for

PART = 5 * MiB
OPTIONS = TransferOptions(part_size=PART, multipart_threshold=PART)
DRIVER = Path(__file__).with_name("upload_driver.py")


class InstrumentedClient(SpacesClient):
    """The real client, counting what it sends and able to misbehave on request."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sent_parts: list[int] = []
        self.part_bytes = 0
        self.in_flight = 0
        self.max_in_flight = 0
        #: Raise this on the UploadPart of ``fail_part_number`` (instead of sending it).
        self.part_error: SpacesError | None = None
        self.fail_part_number = 0
        #: "lost-reply": complete, then answer NoSuchUpload; "no-such-upload": just answer
        #: it; "wrong-etag": complete, then report another ETag.
        self.complete_mode = "normal"
        self.put_etag: str | None = None
        #: Raised by CreateMultipartUpload: a transport error after the server made the
        #: upload (its reply lost, as by a killed process), any other instead of making it.
        self.create_error: SpacesError | None = None

    async def create_multipart_upload(self, bucket: str, key: str, **options: Any) -> str:
        if self.create_error is not None and not isinstance(self.create_error, TransportError):
            raise self.create_error
        upload_id = await super().create_multipart_upload(bucket, key, **options)
        if self.create_error is not None:
            raise self.create_error
        return upload_id

    async def upload_part(
        self,
        bucket: str,
        key: str,
        *,
        upload_id: str,
        part_number: int,
        body: RequestBody,
        content_md5: bool = True,
        **options: Any,
    ) -> str:
        if self.part_error is not None and part_number == self.fail_part_number:
            raise self.part_error
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            etag = await super().upload_part(
                bucket, key, upload_id=upload_id, part_number=part_number, body=body, **options
            )
        finally:
            self.in_flight -= 1
        self.sent_parts.append(part_number)
        self.part_bytes += body.size
        return etag

    async def complete_multipart_upload(
        self, bucket: str, key: str, *, upload_id: str, parts: Sequence[CompletedPart]
    ) -> CompletedUpload:
        no_such_upload = NotFound("NoSuchUpload", "no such upload", status=404)
        if self.complete_mode == "no-such-upload":
            raise no_such_upload
        done = await super().complete_multipart_upload(
            bucket, key, upload_id=upload_id, parts=parts
        )
        if self.complete_mode == "lost-reply":
            raise no_such_upload
        if self.complete_mode == "wrong-etag":
            return replace(done, etag=f"{'0' * 32}-{len(parts)}")
        return done

    async def put_object(self, bucket: str, key: str, body: RequestBody, **kwargs: object) -> str:
        etag = await super().put_object(bucket, key, body, **kwargs)  # type: ignore[arg-type]
        return self.put_etag or etag


class Recorder:
    """A ProgressSink that counts bytes and can act after the n-th advance."""

    def __init__(self, *, after: int = 0, then: Callable[[], None] | None = None) -> None:
        self.advanced = 0
        self.calls = 0
        self._after = after
        self._then = then

    def add_work(self, *, files: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        self.advanced += nbytes
        self.calls += 1
        if self._then is not None and self.calls == self._after:
            self._then()

    def file_done(self, result: TransferResult) -> None:
        pass


@pytest.fixture
async def client(
    local_server: LocalServerInfo, admin_identity: Identity
) -> AsyncIterator[InstrumentedClient]:
    instrumented = InstrumentedClient(settings_for(local_server, admin_identity))
    async with instrumented:
        yield instrumented


@pytest.fixture
async def bucket(client: InstrumentedClient) -> AsyncIterator[str]:
    name = f"up-{uuid.uuid4().hex[:20]}"
    await client.create_bucket(name)
    yield name
    await empty_bucket(client, name)


@pytest.fixture
def journals(tmp_path: Path) -> JournalStore:
    return JournalStore(tmp_path / "journals")


def uploader(
    client: SpacesClient,
    *,
    journals: JournalStore | None = None,
    progress: Recorder | None = None,
    options: TransferOptions = OPTIONS,
    scheduler: Scheduler | None = None,
    now: Callable[[], float] = time.time,
) -> Uploader:
    return Uploader(
        TransferContext(
            client=client,
            scheduler=scheduler
            or Scheduler(concurrency=4, puts_per_object=client.profile.max_puts_per_object),
            journals=journals,
            progress=progress or Recorder(),
            options=options,
        ),
        now=now,
    )


def write_file(path: Path, size: int, *, seed: int = 0) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(data: bytes, part_size: int = PART) -> str:
    return multipart_etag_of(data, part_size)


async def assert_stored(
    client: SpacesClient, bucket: str, key: str, data: bytes, etag: str
) -> None:
    head, body = await client.get_object(bucket, key)
    assert body == data
    assert head.etag == etag


async def open_uploads(client: SpacesClient, bucket: str) -> list[str]:
    return [upload.upload_id async for upload in client.list_multipart_uploads(bucket)]


# -- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [0, 1, PART - 1, PART, PART + 1, 2 * PART, 3 * PART], ids=lambda s: f"{s}B"
)
async def test_file_round_trip(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "source.bin"
    data = write_file(path, size, seed=size)
    progress = Recorder()
    result = await uploader(client, journals=journals, progress=progress).upload_file(
        path, bucket=bucket, key="obj"
    )
    multipart = size > OPTIONS.multipart_threshold
    etag = multipart_etag(data) if multipart else md5_hex(data)
    assert (result.etag, result.size, result.bytes_transferred) == (etag, size, size)
    assert not result.resumed
    assert progress.advanced == size
    assert result.destination == f"s3://{bucket}/obj"
    await assert_stored(client, bucket, "obj", data, etag)
    head = await client.head_object(bucket, "obj")
    assert head.metadata[META_MTIME] == str(path.stat().st_mtime_ns)
    assert head.metadata.get(META_PART_SIZE) == (str(PART) if multipart else None)
    assert client.part_bytes == (size if multipart else 0)
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []


async def test_large_file_stays_within_memory_and_put_limits(
    client: InstrumentedClient, bucket: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.bin"
    data = write_file(path, 100 * MiB, seed=7)
    scheduler = Scheduler(concurrency=8, max_memory=6 * PART, puts_per_object=3)
    result = await uploader(client, scheduler=scheduler).upload_file(path, bucket=bucket, key="big")
    assert result.etag == multipart_etag(data)
    await assert_stored(client, bucket, "big", data, result.etag)
    assert 0 < scheduler.memory.peak <= 6 * PART
    assert scheduler.memory.reserved == 0
    assert client.max_in_flight <= 3
    assert sorted(client.sent_parts) == list(range(1, 21))
    assert await open_uploads(client, bucket) == []


# -- streams -----------------------------------------------------------------------------


def pipe_reader(data: bytes) -> tuple[Callable[[int], bytes], threading.Thread]:
    """A real pipe fed by a thread: reads come back short (at most the pipe's buffer)."""
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as writer:
            writer.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    reader = os.fdopen(read_fd, "rb", buffering=0)
    return reader.read, feeder


@pytest.mark.parametrize(
    ("size", "source"),
    [
        (0, "bytesio"),
        (1000, "bytesio"),
        (PART - 1, "pipe"),
        (2 * PART, "bytesio"),
        (2 * PART + PART // 2, "pipe"),
    ],
)
async def test_stream_round_trip(
    client: InstrumentedClient, bucket: str, size: int, source: str
) -> None:
    data = random.Random(size).randbytes(size)
    feeder: threading.Thread | None = None
    if source == "pipe":
        read, feeder = pipe_reader(data)
    else:
        read = io.BytesIO(data).read
    scheduler = Scheduler(concurrency=4, max_memory=2 * PART, puts_per_object=10)
    progress = Recorder()
    result = await uploader(client, scheduler=scheduler, progress=progress).upload_stream(
        read, bucket=bucket, key="stream", name="stdin"
    )
    if feeder is not None:
        feeder.join()
    multipart = size >= PART
    etag = multipart_etag(data) if multipart else md5_hex(data)
    assert (result.etag, result.size, result.bytes_transferred) == (etag, size, size)
    assert result.source == "stdin"
    assert progress.advanced == size
    await assert_stored(client, bucket, "stream", data, etag)
    head = await client.head_object(bucket, "stream")
    assert META_MTIME in head.metadata
    assert scheduler.memory.peak <= 2 * PART
    assert await open_uploads(client, bucket) == []


# -- failures leave nothing behind -------------------------------------------------------


async def test_source_changing_mid_upload_fails_and_aborts(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    path = tmp_path / "moving.bin"
    write_file(path, 3 * PART)

    def append() -> None:
        with path.open("ab") as file:
            file.write(b"more")

    with pytest.raises(SourceChanged):
        await uploader(
            client, journals=journals, progress=Recorder(after=1, then=append)
        ).upload_file(path, bucket=bucket, key="moving")
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []
    with pytest.raises(NotFound):
        await client.head_object(bucket, "moving")


@pytest.mark.parametrize("size", [PART, 2 * PART], ids=["put", "multipart"])
async def test_refused_upload_leaves_no_orphan(
    client: InstrumentedClient,
    bucket: str,
    journals: JournalStore,
    local_server: LocalServerInfo,
    readonly_identity: Identity,
    tmp_path: Path,
    size: int,
) -> None:
    path = tmp_path / "source.bin"
    write_file(path, size)
    async with SpacesClient(settings_for(local_server, readonly_identity)) as readonly:
        with pytest.raises(AccessDenied):
            await uploader(readonly, journals=journals).upload_file(path, bucket=bucket, key="k")
    with pytest.raises(NotFound):
        await uploader(client, journals=journals).upload_file(
            path, bucket=f"missing-{uuid.uuid4().hex[:12]}", key="k"
        )
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []


@pytest.mark.parametrize("refused", ["create", "part"])
async def test_a_refusal_aborts_the_upload_and_drops_its_journal(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path, refused: str
) -> None:
    """Refused at CreateMultipartUpload (its intent journal goes) or at part 3 midway."""
    path = tmp_path / "source.bin"
    write_file(path, 4 * PART)
    refusal = AccessDenied("AccessDenied", "no", status=403)
    if refused == "create":
        client.create_error = refusal
    else:
        client.part_error, client.fail_part_number = refusal, 3
    scheduler = Scheduler(concurrency=2, max_memory=2 * PART)
    with pytest.raises(AccessDenied):
        await uploader(client, journals=journals, scheduler=scheduler).upload_file(
            path, bucket=bucket, key="k"
        )
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []
    # Every lease came back, also those of parts cancelled before they started.
    assert (scheduler.memory.reserved, scheduler.requests_in_flight) == (0, 0)


async def test_unreadable_sources_are_local_file_errors(
    client: InstrumentedClient, bucket: str, tmp_path: Path
) -> None:
    with pytest.raises(LocalFileError):
        await uploader(client).upload_file(tmp_path / "missing", bucket=bucket, key="k")
    stream = io.BytesIO(random.Random(1).randbytes(2 * PART))

    def failing_read(n: int) -> bytes:
        if stream.tell() >= 2 * PART:
            raise OSError(5, "Input/output error")
        return stream.read(n)

    with pytest.raises(LocalFileError, match="Input/output error"):
        await uploader(client).upload_stream(failing_read, bucket=bucket, key="k")
    assert await open_uploads(client, bucket) == []


@pytest.mark.parametrize("with_journals", [True, False])
@pytest.mark.parametrize(
    "error",
    [
        ConnectionClosed("connection reset mid-body"),
        # Transient too (the retry policy's rule, shared with downloads): keep the work.
        RequestTimeout("RequestTimeout", "too slow", status=400),
    ],
    ids=["reset", "request-timeout"],
)
async def test_transient_failure_keeps_the_upload_only_with_a_journal(
    client: InstrumentedClient,
    bucket: str,
    journals: JournalStore,
    tmp_path: Path,
    with_journals: bool,
    error: SpacesError,
) -> None:
    path = tmp_path / "source.bin"
    write_file(path, 4 * PART)
    client.part_error = error
    client.fail_part_number = 3
    store = journals if with_journals else None
    with pytest.raises(type(error)):
        await uploader(client, journals=store).upload_file(path, bucket=bucket, key="k")
    kept = journals.find_upload(local_path=path, bucket=bucket, key="k")
    if with_journals:
        assert kept is not None
        assert await open_uploads(client, bucket) == [kept.upload_id]
    else:
        assert kept is None
        assert await open_uploads(client, bucket) == []


async def test_not_resumable_option_never_journals(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    path = tmp_path / "source.bin"
    write_file(path, 3 * PART)
    client.part_error = ConnectionClosed("reset")
    client.fail_part_number = 2
    options = replace(OPTIONS, resumable=False)
    with pytest.raises(ConnectionClosed):
        await uploader(client, journals=journals, options=options).upload_file(
            path, bucket=bucket, key="k"
        )
    assert journals.summaries() == []
    assert await open_uploads(client, bucket) == []


# -- integrity ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [PART, 3 * PART], ids=["put", "multipart"])
async def test_wrong_etag_is_an_integrity_error_and_the_object_is_deleted(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "source.bin"
    write_file(path, size)
    client.complete_mode = "wrong-etag"
    client.put_etag = "0" * 32
    with pytest.raises(IntegrityError):
        await uploader(client, journals=journals).upload_file(path, bucket=bucket, key="bad")
    with pytest.raises(NotFound):
        await client.head_object(bucket, "bad")
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []


async def test_complete_reply_lost_after_success_is_a_success(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    path = tmp_path / "source.bin"
    data = write_file(path, 3 * PART)
    client.complete_mode = "lost-reply"
    result = await uploader(client, journals=journals).upload_file(path, bucket=bucket, key="k")
    assert result.etag == multipart_etag(data)
    await assert_stored(client, bucket, "k", data, result.etag)
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []


async def test_no_such_upload_without_the_object_fails_and_aborts(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    path = tmp_path / "source.bin"
    write_file(path, 3 * PART)
    client.complete_mode = "no-such-upload"
    with pytest.raises(NotFound):
        await uploader(client, journals=journals).upload_file(path, bucket=bucket, key="k")
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []


# -- cancellation and resuming -----------------------------------------------------------


async def interrupt(
    client: InstrumentedClient, journals: JournalStore, path: Path, *, bucket: str, after: int
) -> UploadJournal:
    """Cancel an upload (as Ctrl-C would) once ``after`` parts were sent; returns its journal."""
    task: asyncio.Task[TransferResult] | None = None

    def cancel() -> None:
        assert task is not None
        task.cancel()

    scheduler = Scheduler(concurrency=2, puts_per_object=client.profile.max_puts_per_object)
    sender = uploader(
        client, journals=journals, scheduler=scheduler, progress=Recorder(after=after, then=cancel)
    )
    task = asyncio.create_task(sender.upload_file(path, bucket=bucket, key="k"))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert scheduler.memory.reserved == 0
    journal = journals.find_upload(local_path=path, bucket=bucket, key="k")
    assert journal is not None
    assert len(journal.parts) >= after
    assert await open_uploads(client, bucket) == [journal.upload_id]
    client.sent_parts.clear()
    client.part_bytes = 0
    return journal


async def test_cancelled_upload_is_kept_and_resumed(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    path = tmp_path / "source.bin"
    data = write_file(path, 8 * PART + 123)
    await interrupt(client, journals, path, bucket=bucket, after=3)
    progress = Recorder()
    result = await uploader(client, journals=journals, progress=progress).upload_file(
        path, bucket=bucket, key="k"
    )
    assert result.resumed
    assert result.bytes_transferred == client.part_bytes
    assert 0 < client.part_bytes <= len(data) - 3 * PART
    assert progress.advanced == len(data)  # reused parts count as done
    assert result.etag == multipart_etag(data)
    await assert_stored(client, bucket, "k", data, result.etag)
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []


async def test_part_with_tampered_hash_is_sent_again(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    path = tmp_path / "source.bin"
    data = write_file(path, 6 * PART)
    journal = await interrupt(client, journals, path, bucket=bucket, after=3)
    tampered = min(journal.parts)
    journal.record(replace(journal.parts[tampered], xxh3="0" * 32))
    result = await uploader(client, journals=journals).upload_file(path, bucket=bucket, key="k")
    assert result.resumed
    assert tampered in client.sent_parts
    assert not (set(journal.parts) - {tampered}) & set(client.sent_parts)
    await assert_stored(client, bucket, "k", data, multipart_etag(data))
    assert await open_uploads(client, bucket) == []


@pytest.mark.parametrize("why", ["upload-gone", "file-changed", "stale", "other-part-size"])
async def test_unusable_journal_starts_over(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path, why: str
) -> None:
    path = tmp_path / "source.bin"
    data = write_file(path, 4 * PART)
    journal = await interrupt(client, journals, path, bucket=bucket, after=2)
    options: TransferOptions = OPTIONS
    now: Callable[[], float] = time.time
    if why == "upload-gone":
        await client.abort_multipart_upload(bucket, "k", upload_id=journal.upload_id)
    elif why == "file-changed":
        data = write_file(path, 4 * PART, seed=99)
    elif why == "stale":
        now = functools.partial(float, journal.created + JOURNAL_MAX_AGE + 1)
    else:
        options = replace(OPTIONS, part_size=2 * PART)
    result = await uploader(client, journals=journals, options=options, now=now).upload_file(
        path, bucket=bucket, key="k"
    )
    assert not result.resumed
    assert result.bytes_transferred == client.part_bytes == len(data)
    await assert_stored(client, bucket, "k", data, multipart_etag(data, options.part_size))
    assert await open_uploads(client, bucket) == []  # the old upload was aborted
    assert journals.summaries() == []


async def test_an_upload_whose_create_reply_was_lost_is_aborted_by_the_next_run(
    client: InstrumentedClient, bucket: str, journals: JournalStore, tmp_path: Path
) -> None:
    """The server made an upload no reply told us of (as when the process is killed right
    after CreateMultipartUpload): the intent journal kept names it, and the next run
    aborts it before starting its own."""
    path = tmp_path / "source.bin"
    data = write_file(path, 3 * PART)
    other = await client.create_multipart_upload(bucket, "k-other")
    client.create_error = ConnectionClosed("reply lost")
    with pytest.raises(ConnectionClosed):
        await uploader(client, journals=journals).upload_file(path, bucket=bucket, key="k")
    intent = journals.find_upload(local_path=path, bucket=bucket, key="k")
    assert intent is not None and intent.upload_id is None
    assert len(await open_uploads(client, bucket)) == 2  # the hidden one and k-other's

    client.create_error = None
    result = await uploader(client, journals=journals).upload_file(path, bucket=bucket, key="k")
    assert not result.resumed
    await assert_stored(client, bucket, "k", data, multipart_etag(data))
    assert await open_uploads(client, bucket) == [other]  # another key's upload is left be
    assert journals.summaries() == []


# -- a killed process resumes ------------------------------------------------------------


def driver_env(local_server: LocalServerInfo, identity: Identity) -> dict[str, str]:
    return {
        **os.environ,
        "SPACESYNC_TEST_ENDPOINT": local_server.endpoint_url,
        "SPACESYNC_TEST_ACCESS_KEY": identity.access_key,
        "SPACESYNC_TEST_SECRET_KEY": identity.secret_key,
    }


async def run_driver(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(DRIVER),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigkilled_upload_resumes_in_a_new_process(
    client: InstrumentedClient,
    bucket: str,
    journals: JournalStore,
    local_server: LocalServerInfo,
    admin_identity: Identity,
    tmp_path: Path,
) -> None:
    path = tmp_path / "source.bin"
    data = write_file(path, 60 * MiB, seed=3)
    env = driver_env(local_server, admin_identity)
    args = (str(journals.root), str(path), bucket, "k")
    first = await run_driver(env, *args, "0.3")
    try:
        async with asyncio.timeout(60):
            while True:
                journal = journals.find_upload(local_path=path, bucket=bucket, key="k")
                if journal is not None and len(journal.parts) >= 3:
                    break
                assert first.returncode is None, "the upload ended before it could be killed"
                await asyncio.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.communicate()
    assert first.returncode == -signal.SIGKILL
    assert len(await open_uploads(client, bucket)) == 1

    second = await run_driver(env, *args, "0")
    out, err = await second.communicate()
    assert second.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["resumed"]
    assert result["bytes_transferred"] <= len(data) - 3 * PART
    assert result["etag"] == multipart_etag(data)
    await assert_stored(client, bucket, "k", data, result["etag"])
    assert await open_uploads(client, bucket) == []
    assert journals.summaries() == []
