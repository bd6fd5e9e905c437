"""Downloader against the real SeaweedFS server: sizes, ranges, ETag checks, changed objects,
broken bodies, cancellation and resume, streams, and a SIGKILL'd process resumed."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import random
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from spacesync.client import ObjectStream, SpacesClient
from spacesync.config import Settings, resolve_settings
from spacesync.engine.download import Downloader, EtagCheck, temp_path_for
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import DEFAULT_MAX_MEMORY, Scheduler
from spacesync.engine.transfer import (
    META_PART_SIZE,
    TransferContext,
    TransferOptions,
    TransferResult,
)
from spacesync.errors import ConnectionClosed, IntegrityError, LocalFileError, SourceChanged
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol.headers import Conditions, ObjectAttributes
from spacesync.protocol.model import CompletedPart, ObjectHead, ObjectInfo
from spacesync.transport.body import BytesBody
from spacesync.transport.retry import RetryPolicy

from ..support.scripted_server import Reply, scripted_server

PART = 5 * MiB
DRIVER = Path(__file__).with_name("download_driver.py")


# -- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The directory downloads go to: anything left in it besides the file is a leak."""
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture
def journals(tmp_path: Path) -> JournalStore:
    return JournalStore(tmp_path / "journals")


async def _no_sleep(_: float) -> None:
    pass


class Recording(SpacesClient):
    """Records every HEAD (key) and GET (range asked, body bytes delivered); hooks let a
    test act before a GET (``before_get(index)``) or on each chunk (``on_chunk(position,
    chunk)``: return the chunk, altered or not, or raise)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, retry=RetryPolicy(sleep=_no_sleep))
        self.heads: list[str] = []
        self.gets: list[tuple[int | None, int | None]] = []
        self.received = 0
        self.before_get: Callable[[int], Awaitable[None]] | None = None
        self.on_chunk: Callable[[int, bytes], bytes] | None = None

    async def __aenter__(self) -> Recording:
        return self

    async def head_object(self, bucket: str, key: str, **options: Any) -> ObjectHead:
        self.heads.append(key)
        return await super().head_object(bucket, key, **options)

    @asynccontextmanager
    async def open_object(
        self,
        bucket: str,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        conditions: Conditions | None = None,
        **options: Any,
    ) -> AsyncIterator[ObjectStream]:
        index = len(self.gets)
        self.gets.append((start, end))
        if self.before_get is not None:
            await self.before_get(index)
        async with super().open_object(
            bucket, key, start=start, end=end, conditions=conditions, **options
        ) as stream:
            chunks = stream.iter_chunks
            position = start or 0

            async def observed(size: int = MiB) -> AsyncIterator[bytes]:
                nonlocal position
                async for chunk in chunks(size):
                    if self.on_chunk is not None:
                        chunk = self.on_chunk(position, chunk)
                    position += len(chunk)
                    self.received += len(chunk)
                    yield chunk

            stream.iter_chunks = observed  # type: ignore[method-assign]
            yield stream


@pytest.fixture
async def recording(admin_settings: Settings) -> AsyncIterator[Recording]:
    async with Recording(admin_settings) as c:
        yield c


class Counting:
    def __init__(self) -> None:
        self.advanced = 0

    def add_work(self, *, files: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        self.advanced += nbytes

    def file_done(self, result: TransferResult) -> None:
        pass


def make_downloader(
    client: SpacesClient,
    journals: JournalStore | None,
    *,
    part_size: int = PART,
    threshold: int = PART,
    concurrency: int = 4,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> tuple[Downloader, Counting]:
    progress = Counting()
    downloader = Downloader(
        TransferContext(
            client=client,
            scheduler=Scheduler(concurrency=concurrency, max_memory=max_memory),
            journals=journals,
            progress=progress,
            options=TransferOptions(part_size=part_size, multipart_threshold=threshold),
        )
    )
    return downloader, progress


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(size * 31 + seed).randbytes(size)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def file_md5(path: Path) -> str:
    return md5(path.read_bytes())


def listing(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def journal_files(store: JournalStore) -> list[Path]:
    return sorted(store.root.glob("*.journal")) if store.root.is_dir() else []


def flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))


async def upload_multipart(
    client: SpacesClient, bucket: str, key: str, parts: list[bytes], *, part_size: int | None
) -> str:
    metadata = {META_PART_SIZE: str(part_size)} if part_size is not None else {}
    upload_id = await client.create_multipart_upload(
        bucket, key, attributes=ObjectAttributes(metadata=metadata)
    )
    done = [
        CompletedPart(
            number,
            await client.upload_part(
                bucket, key, upload_id=upload_id, part_number=number, body=BytesBody(body)
            ),
        )
        for number, body in enumerate(parts, 1)
    ]
    completed = await client.complete_multipart_upload(bucket, key, upload_id=upload_id, parts=done)
    return completed.etag


def ranges_of(size: int, part_size: int) -> list[tuple[int, int]]:
    return [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)]


# -- sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, PART - 1, PART, PART + 1, 3 * PART, 100 * MiB],
    ids=["0B", "1B", "5MiB-1", "5MiB", "5MiB+1", "3x5MiB", "100MiB"],
)
async def test_download_is_byte_identical(
    client: SpacesClient,
    recording: Recording,
    bucket: str,
    out: Path,
    journals: JournalStore,
    size: int,
) -> None:
    data = payload(size)
    await client.put_object(bucket, "obj", BytesBody(data))
    (out / "obj").write_bytes(b"an older file, replaced")
    downloader, progress = make_downloader(recording, journals)

    result = await downloader.download_file(bucket=bucket, key="obj", destination=out / "obj")

    assert file_md5(out / "obj") == md5(data)
    assert (result.size, result.etag, result.bytes_transferred) == (size, md5(data), size)
    assert not result.resumed
    assert result.source == f"s3://{bucket}/obj"
    assert progress.advanced == size
    if size <= PART:
        assert recording.gets == [(None, None)]  # one plain GET
    else:
        assert sorted(recording.gets) == ranges_of(size, PART)
    assert listing(out) == ["obj"]
    assert journal_files(journals) == []


# -- ETag verification ---------------------------------------------------------------------


def corrupt_at(target: int) -> Callable[[int, bytes], bytes]:
    """Flip the byte at absolute offset ``target`` as it passes."""

    def on_chunk(position: int, chunk: bytes) -> bytes:
        if position <= target < position + len(chunk):
            index = target - position
            return chunk[:index] + bytes([chunk[index] ^ 1]) + chunk[index + 1 :]
        return chunk

    return on_chunk


async def test_multipart_etag_recomputed_with_recorded_part_size(
    client: SpacesClient, recording: Recording, bucket: str, out: Path, journals: JournalStore
) -> None:
    parts = [payload(PART, 1), payload(PART, 2), payload(2 * MiB, 3)]
    etag = await upload_multipart(client, bucket, "mp", parts, part_size=PART)
    assert etag.endswith("-3")
    data = b"".join(parts)
    # Asked for 3 MiB ranges, but each range is one upload part so its MD5 is the part's.
    downloader, _ = make_downloader(recording, journals, part_size=3 * MiB, threshold=MiB)

    result = await downloader.download_file(bucket=bucket, key="mp", destination=out / "mp")

    assert file_md5(out / "mp") == md5(data)
    assert result.etag == etag
    assert sorted(recording.gets) == ranges_of(len(data), PART)

    recording.on_chunk = corrupt_at(PART + 12345)
    with pytest.raises(IntegrityError, match="does not match the object's ETag"):
        await downloader.download_file(bucket=bucket, key="mp", destination=out / "again")
    assert listing(out) == ["mp"]
    assert journal_files(journals) == []


async def test_multipart_without_part_size_is_not_verified_but_identical(
    client: SpacesClient, recording: Recording, bucket: str, out: Path, journals: JournalStore
) -> None:
    parts = [payload(PART, 4), payload(PART, 5), payload(MiB, 6)]
    await upload_multipart(client, bucket, "foreign", parts, part_size=None)
    data = b"".join(parts)
    head = await client.head_object(bucket, "foreign")
    assert EtagCheck.for_head(head) is None  # nothing to recompute the ETag with
    downloader, _ = make_downloader(recording, journals, part_size=4 * MiB, threshold=MiB)

    result = await downloader.download_file(
        bucket=bucket, key="foreign", destination=out / "foreign"
    )

    assert file_md5(out / "foreign") == md5(data)
    assert result.bytes_transferred == len(data)
    assert sorted(recording.gets) == ranges_of(len(data), 4 * MiB)


@pytest.mark.parametrize("size", [3 * MiB, 12 * MiB], ids=["single-get", "ranged"])
async def test_corrupted_single_part_object_is_refused(
    client: SpacesClient,
    recording: Recording,
    bucket: str,
    out: Path,
    journals: JournalStore,
    size: int,
) -> None:
    data = payload(size)
    await client.put_object(bucket, "obj", BytesBody(data))
    recording.on_chunk = corrupt_at(size - 100)
    downloader, _ = make_downloader(recording, journals)

    with pytest.raises(IntegrityError):
        await downloader.download_file(bucket=bucket, key="obj", destination=out / "obj")

    assert listing(out) == []  # neither the file nor its temp file
    assert journal_files(journals) == []


# -- the object changes, the body breaks ---------------------------------------------------


async def test_object_replaced_mid_download(
    client: SpacesClient, recording: Recording, bucket: str, out: Path, journals: JournalStore
) -> None:
    await client.put_object(bucket, "obj", BytesBody(payload(4 * PART)))

    async def replace_after_first(index: int) -> None:
        if index == 1:
            await client.put_object(bucket, "obj", BytesBody(payload(4 * PART, seed=9)))

    recording.before_get = replace_after_first
    downloader, _ = make_downloader(recording, journals, concurrency=1)

    with pytest.raises(SourceChanged, match="changed during download"):
        await downloader.download_file(bucket=bucket, key="obj", destination=out / "obj")

    assert listing(out) == []
    assert downloader.context.scheduler.requests_in_flight == 0  # every lease given back
    assert journal_files(journals) == []


@pytest.mark.parametrize(
    ("size", "break_after"),
    [(4 * MiB, MiB), (4 * PART, PART + 2 * MiB)],
    ids=["single-get", "ranged"],
)
async def test_broken_body_refetches_only_the_rest_of_its_range(
    client: SpacesClient,
    recording: Recording,
    bucket: str,
    out: Path,
    journals: JournalStore,
    size: int,
    break_after: int,
) -> None:
    data = payload(size)
    await client.put_object(bucket, "obj", BytesBody(data))
    broke_at: list[int] = []

    def break_once(position: int, chunk: bytes) -> bytes:
        if not broke_at and position >= break_after:
            broke_at.append(position)
            raise ConnectionClosed("connection reset by test")
        return chunk

    recording.on_chunk = break_once
    downloader, _ = make_downloader(recording, journals, concurrency=2)

    result = await downloader.download_file(bucket=bucket, key="obj", destination=out / "obj")

    assert file_md5(out / "obj") == md5(data)
    assert recording.received == size == result.bytes_transferred  # no byte twice
    [position] = broke_at
    range_end = min(-(-(position + 1) // PART) * PART, size) - 1
    expected = [(None, None)] if size <= PART else ranges_of(size, PART)
    assert sorted(recording.gets, key=str) == sorted([*expected, (position, range_end)], key=str)
    assert listing(out) == ["obj"]


# -- cancellation and resume ---------------------------------------------------------------


@pytest.mark.parametrize("damage", [False, True], ids=["intact", "damaged-range"])
async def test_cancelled_download_resumes(
    client: SpacesClient,
    admin_settings: Settings,
    bucket: str,
    out: Path,
    journals: JournalStore,
    damage: bool,
) -> None:
    size = 6 * PART
    data = payload(size)
    await client.put_object(bucket, "obj", BytesBody(data))
    destination = out / "obj"
    held = asyncio.Event()

    async def hold_fourth(index: int) -> None:
        if index == 3:
            held.set()
            await asyncio.Event().wait()

    async with Recording(admin_settings) as first:
        first.before_get = hold_fourth
        downloader, _ = make_downloader(first, journals, concurrency=1)
        task = asyncio.create_task(
            downloader.download_file(bucket=bucket, key="obj", destination=destination)
        )
        await held.wait()  # three ranges are done and journaled, one GET hangs
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert downloader.context.scheduler.requests_in_flight == 0

    temp = temp_path_for(destination, bucket=bucket, key="obj")
    assert listing(out) == [temp.name]
    journal = journals.find_download(destination=destination, bucket=bucket, key="obj")
    assert journal is not None
    assert sorted(journal.parts) == [1, 2, 3]
    if damage:
        flip_byte(temp, PART + 777)  # inside range 2

    async with Recording(admin_settings) as second:
        downloader, progress = make_downloader(second, journals, concurrency=2)
        result = await downloader.download_file(bucket=bucket, key="obj", destination=destination)

    reused = [1, 3] if damage else [1, 2, 3]
    assert result.resumed
    assert result.bytes_transferred == second.received == size - len(reused) * PART
    assert sorted(second.gets) == [
        r for number, r in enumerate(ranges_of(size, PART), 1) if number not in reused
    ]
    assert progress.advanced == size
    assert file_md5(destination) == md5(data)
    assert listing(out) == ["obj"]
    assert journal_files(journals) == []


async def test_changed_object_discards_the_earlier_download(
    client: SpacesClient,
    admin_settings: Settings,
    bucket: str,
    out: Path,
    journals: JournalStore,
) -> None:
    await client.put_object(bucket, "obj", BytesBody(payload(3 * PART)))
    destination = out / "obj"
    held = asyncio.Event()

    async def hold_second(index: int) -> None:
        if index == 1:
            held.set()
            await asyncio.Event().wait()

    async with Recording(admin_settings) as first:
        first.before_get = hold_second
        downloader, _ = make_downloader(first, journals, concurrency=1)
        task = asyncio.create_task(
            downloader.download_file(bucket=bucket, key="obj", destination=destination)
        )
        await held.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(journal_files(journals)) == 1

    data = payload(3 * PART, seed=5)
    await client.put_object(bucket, "obj", BytesBody(data))
    downloader, _ = make_downloader(client, journals)
    result = await downloader.download_file(bucket=bucket, key="obj", destination=destination)

    assert not result.resumed
    assert result.bytes_transferred == len(data)
    assert file_md5(destination) == md5(data)
    assert listing(out) == ["obj"]
    assert journal_files(journals) == []


async def test_missing_destination_directory(
    client: SpacesClient, recording: Recording, bucket: str, tmp_path: Path
) -> None:
    await client.put_object(bucket, "obj", BytesBody(b"data"))
    downloader, _ = make_downloader(recording, None)

    with pytest.raises(LocalFileError, match="no directory"):
        await downloader.download_file(
            bucket=bucket, key="obj", destination=tmp_path / "missing" / "obj"
        )
    assert recording.gets == []


# -- what the caller already knows ---------------------------------------------------------


async def listed(client: SpacesClient, bucket: str, key: str) -> ObjectInfo:
    [entry] = [entry async for entry in client.list_objects(bucket, prefix=key)]
    return entry


@pytest.mark.parametrize("size", [0, 100, 3 * PART + 1], ids=["0B", "100B", "ranged"])
async def test_listed_object_is_fetched_without_a_head(
    client: SpacesClient, recording: Recording, bucket: str, out: Path, size: int
) -> None:
    data = payload(size)
    await client.put_object(bucket, "obj", BytesBody(data))
    downloader, _ = make_downloader(recording, None)

    result = await downloader.download_file(
        bucket=bucket, key="obj", destination=out / "obj", known=await listed(client, bucket, "obj")
    )

    assert recording.heads == []
    assert sorted(recording.gets) == ([(None, None)] if size <= PART else ranges_of(size, PART))
    assert (out / "obj").read_bytes() == data
    assert (result.size, result.etag) == (size, md5(data))
    assert listing(out) == ["obj"]


async def test_listed_multipart_object_still_heads_for_its_part_size(
    client: SpacesClient, recording: Recording, bucket: str, out: Path
) -> None:
    """A multipart ETag can only be recomputed with the part size kept in metadata, which
    a listing does not carry."""
    parts = [payload(PART), payload(100, seed=1)]
    await upload_multipart(client, bucket, "obj", parts, part_size=PART)
    downloader, _ = make_downloader(recording, None, threshold=8 * PART)

    await downloader.download_file(
        bucket=bucket, key="obj", destination=out / "obj", known=await listed(client, bucket, "obj")
    )

    assert recording.heads == ["obj"]
    assert recording.gets == [(None, None)]  # one GET all the same: below the threshold
    assert (out / "obj").read_bytes() == b"".join(parts)


async def test_a_head_the_caller_made_is_not_repeated(
    client: SpacesClient, recording: Recording, bucket: str, out: Path
) -> None:
    await client.put_object(bucket, "obj", BytesBody(payload(100)))
    head = await client.head_object(bucket, "obj")
    downloader, _ = make_downloader(recording, None)

    await downloader.download_file(bucket=bucket, key="obj", destination=out / "obj", known=head)

    assert recording.heads == []
    assert (out / "obj").read_bytes() == payload(100)


@pytest.mark.parametrize("stale", ["etag", "size"])
@pytest.mark.parametrize("size", [100, 3 * PART + 1], ids=["single-get", "ranged"])
async def test_stale_listing_fails_cleanly(
    client: SpacesClient,
    recording: Recording,
    bucket: str,
    out: Path,
    journals: JournalStore,
    stale: str,
    size: int,
) -> None:
    """The object is not what the listing said (replaced since): nothing is written under
    the destination's name and no temp file or journal is left."""
    await client.put_object(bucket, "obj", BytesBody(payload(size)))
    entry = await listed(client, bucket, "obj")
    if stale == "etag":
        entry = ObjectInfo(entry.key, entry.size, md5(b"older"), entry.last_modified)
    else:
        entry = ObjectInfo(entry.key, entry.size + 1, entry.etag, entry.last_modified)
    downloader, _ = make_downloader(recording, journals)

    with pytest.raises(SourceChanged):
        await downloader.download_file(
            bucket=bucket, key="obj", destination=out / "obj", known=entry
        )

    assert recording.heads == []
    assert listing(out) == []
    assert journal_files(journals) == []


async def test_reply_of_another_version_is_refused_before_its_bytes(
    tmp_path: Path, out: Path
) -> None:
    """A server that ignores If-Match serves what it has now: the reply's ETag gives it
    away, and not one byte reaches the disk."""
    async with scripted_server() as server:
        server.add("GET", Reply(200, b"newer", headers={"ETag": f'"{md5(b"newer")}"'}))
        settings = resolve_settings(
            endpoint_url=server.url, access_key="AK", secret_key="secret", env={}, home=tmp_path
        )
        async with Recording(settings) as scripted:
            downloader, progress = make_downloader(scripted, None)
            with pytest.raises(SourceChanged, match="not the object expected"):
                await downloader.download_file(
                    bucket="bucket",
                    key="obj",
                    destination=out / "obj",
                    known=ObjectInfo("obj", 5, md5(b"older"), None),
                )
    assert [seen.headers.get("If-Match") for seen in server.seen] == [f'"{md5(b"older")}"']
    assert progress.advanced == 0
    assert listing(out) == []


# -- streams -------------------------------------------------------------------------------


async def test_stream_in_order_within_memory_budget(
    client: SpacesClient, recording: Recording, bucket: str
) -> None:
    part = 4 * MiB
    data = payload(10 * part + 123)
    await client.put_object(bucket, "big", BytesBody(data))
    budget = 3 * part
    downloader, progress = make_downloader(
        recording, None, part_size=part, threshold=part, concurrency=8, max_memory=budget
    )
    sink = io.BytesIO()

    result = await downloader.download_stream(sink.write, bucket=bucket, key="big")

    assert md5(sink.getvalue()) == md5(data)
    assert (result.destination, result.bytes_transferred) == ("-", len(data))
    assert sorted(recording.gets) == ranges_of(len(data), part)
    memory = downloader.context.scheduler.memory
    assert 2 * part <= memory.peak <= budget  # ranges overlapped, within the budget
    assert memory.reserved == 0
    assert downloader.context.scheduler.requests_in_flight == 0
    assert progress.advanced == len(data)


@pytest.mark.parametrize("size", [0, 3 * MiB], ids=["empty", "single-get"])
async def test_stream_small_objects(client: SpacesClient, bucket: str, size: int) -> None:
    data = payload(size)
    await client.put_object(bucket, "small", BytesBody(data))
    downloader, _ = make_downloader(client, None)
    sink = io.BytesIO()

    result = await downloader.download_stream(sink.write, bucket=bucket, key="small")

    assert sink.getvalue() == data
    assert result.bytes_transferred == size


async def test_stream_reports_corruption(recording: Recording, bucket: str) -> None:
    parts = [payload(PART, 7), payload(MiB, 8)]
    await upload_multipart(recording, bucket, "mp", parts, part_size=PART)
    recording.on_chunk = corrupt_at(PART + 5)
    downloader, _ = make_downloader(recording, None, part_size=2 * MiB, threshold=MiB)

    with pytest.raises(IntegrityError):
        await downloader.download_stream(io.BytesIO().write, bucket=bucket, key="mp")
    assert downloader.context.scheduler.memory.reserved == 0
    assert downloader.context.scheduler.requests_in_flight == 0


# -- a killed process --------------------------------------------------------------------


def complete_part_lines(store: JournalStore) -> int:
    """Recorded parts in the (only) journal: whole lines after the header."""
    files = journal_files(store)
    return max(0, files[0].read_bytes().count(b"\n") - 1) if files else 0


async def run_driver(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(DRIVER),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigkilled_download_resumes(
    client: SpacesClient,
    bucket: str,
    out: Path,
    journals: JournalStore,
    local_server: LocalServerInfo,
    admin_identity: Identity,
) -> None:
    size = 60 * MiB
    data = payload(size)
    await client.put_object(bucket, "big", BytesBody(data))
    destination = out / "big"
    env: dict[str, Any] = {
        **os.environ,
        "SPACESYNC_TEST_ENDPOINT": local_server.endpoint_url,
        "SPACESYNC_TEST_ACCESS_KEY": admin_identity.access_key,
        "SPACESYNC_TEST_SECRET_KEY": admin_identity.secret_key,
    }
    args = (str(journals.root), str(destination), bucket, "big")

    # GETs 5 and on hang after their first chunk: the kill lands mid-download, never late.
    first = await run_driver(*args, "5", env=env)
    try:
        async with asyncio.timeout(60):
            while complete_part_lines(journals) < 3:
                assert first.returncode is None, await first.communicate()
                await asyncio.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.communicate()
    assert first.returncode == -signal.SIGKILL
    assert not destination.exists()
    recorded = complete_part_lines(journals)

    second = await run_driver(*args, "0", env=env)
    stdout, stderr = await second.communicate()
    assert second.returncode == 0, stderr.decode()
    result = json.loads(stdout)

    assert result["resumed"]
    assert result["size"] == size
    assert result["bytes_transferred"] <= size - recorded * PART
    assert file_md5(destination) == md5(data)
    assert listing(out) == ["big"]  # no temp file left
    assert journal_files(journals) == []
