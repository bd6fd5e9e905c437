"""Batched journal durability: fsyncs are batched, and a download part's line never
reaches the journal before its data was made durable (data sync, then append + fsync)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from spacesync.engine import download as download_module
from spacesync.engine import journal as journal_module
from spacesync.engine.journal import (
    SYNC_EVERY_PARTS,
    DownloadJournal,
    JournalPart,
    JournalStore,
    LocalIdentity,
    RemoteIdentity,
    UploadJournal,
)

NOW = 1_700_000_000.0


def part(number: int, *, etag: str | None = None) -> JournalPart:
    return JournalPart(number, (number - 1) * 100, 100, etag, f"{number:032x}")


def lines_on_disk(journal: DownloadJournal | UploadJournal) -> int:
    return journal.path.read_bytes().count(b"\n") - 1  # minus the header


@pytest.fixture
def store(tmp_path: Path) -> JournalStore:
    return JournalStore(tmp_path / "journals")


@pytest.fixture
def download_journal(store: JournalStore, tmp_path: Path) -> DownloadJournal:
    destination = tmp_path / "big.bin"
    return store.start_download(
        remote=RemoteIdentity(bucket="bkt", key="big.bin", etag="abc-3", size=10_000),
        destination=destination,
        temp_path=tmp_path / ".big.bin.part",
        part_size=100,
        now=NOW,
    )


@pytest.fixture
def upload_journal(store: JournalStore, tmp_path: Path) -> UploadJournal:
    source = tmp_path / "src.bin"
    source.write_bytes(b"x" * 10_000)
    return store.start_upload(
        local=LocalIdentity.of(source),
        bucket="bkt",
        key="src.bin",
        part_size=100,
        upload_id="u-1",
        now=NOW,
    )


def test_download_lines_wait_for_the_data_sync_and_follow_it(
    download_journal: DownloadJournal,
) -> None:
    on_disk_at_data_sync: list[int] = []

    def data_sync() -> None:
        on_disk_at_data_sync.append(lines_on_disk(download_journal))

    download_journal.record(part(1), data_sync=data_sync)
    download_journal.record(part(2), data_sync=data_sync)
    assert lines_on_disk(download_journal) == 0  # held: the data may not be durable yet
    assert on_disk_at_data_sync == []

    download_journal.sync(data_sync)
    assert on_disk_at_data_sync == [0]  # the data sync came first, before any line
    assert lines_on_disk(download_journal) == 2
    found = JournalStore(download_journal.path.parent).find_download(
        destination=Path(download_journal.destination), bucket="bkt", key="big.bin"
    )
    assert found is not None and sorted(found.parts) == [1, 2]


def test_a_full_batch_of_download_parts_syncs_by_itself(
    download_journal: DownloadJournal,
) -> None:
    data_syncs: list[int] = []

    def data_sync() -> None:
        data_syncs.append(lines_on_disk(download_journal))

    for number in range(1, SYNC_EVERY_PARTS + 1):
        download_journal.record(part(number), data_sync=data_sync)
    assert data_syncs == [0]
    assert lines_on_disk(download_journal) == SYNC_EVERY_PARTS


def test_an_old_batch_syncs_on_the_next_record(
    download_journal: DownloadJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "SYNC_EVERY_SECONDS", 0.0)
    calls: list[int] = []
    download_journal.record(part(1), data_sync=lambda: calls.append(1))
    assert calls == [1] and lines_on_disk(download_journal) == 1


def test_upload_lines_are_appended_at_once_and_fsynced_in_batches(
    upload_journal: UploadJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs = 0
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    count = 2 * SYNC_EVERY_PARTS + 3
    for number in range(1, count + 1):
        upload_journal.record(part(number, etag=f"e{number}"))
        assert lines_on_disk(upload_journal) == number  # a killed process loses nothing
    assert fsyncs == 2
    upload_journal.sync()
    assert fsyncs == 3


def test_records_from_threads_during_syncs_all_land_once(
    download_journal: DownloadJournal,
) -> None:
    def worker(first: int) -> None:
        for number in range(first, first + 50):
            download_journal.record(part(number), data_sync=lambda: None)

    threads = [threading.Thread(target=worker, args=(1 + 50 * i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    download_journal.sync(lambda: None)
    found = JournalStore(download_journal.path.parent).find_download(
        destination=Path(download_journal.destination), bucket="bkt", key="big.bin"
    )
    assert found is not None and sorted(found.parts) == list(range(1, 201))
    assert lines_on_disk(download_journal) == 200


def test_sync_after_discard_does_not_recreate_the_journal(
    download_journal: DownloadJournal,
) -> None:
    download_journal.record(part(1), data_sync=lambda: None)
    download_journal.discard()
    download_journal.sync(lambda: None)
    assert not download_journal.path.exists()


async def test_renames_in_one_directory_share_directory_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each commit returns only after an fsync of its directory that began after it asked;
    commits arriving together share one."""
    started: list[float] = []

    def slow_fsync(path: Path) -> None:
        started.append(time.monotonic())
        time.sleep(0.05)

    monkeypatch.setattr(download_module, "_fsync_directory", slow_fsync)
    sync = download_module._DirectorySync()
    loop = asyncio.get_running_loop()

    async def commit() -> tuple[float, float]:
        asked = loop.time()
        await sync.after_rename(tmp_path)
        return asked, loop.time()

    first = await asyncio.gather(*(commit() for _ in range(20)))
    # The first starts one; the 19 arriving while it runs share the next one.
    assert len(started) == 2
    assert all(done >= asked for asked, done in first)
    alone = await commit()
    assert len(started) == 3 and started[2] >= alone[0] - 0.001
