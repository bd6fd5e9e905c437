"""Transfer journals: durable, private, crash-tolerant, and exactly what was recorded."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacesync.engine.journal import (
    JOURNAL_MAX_AGE,
    DownloadJournal,
    JournalPart,
    JournalStore,
    LocalIdentity,
    RemoteIdentity,
    UploadJournal,
)

NOW = 1_700_000_000.0
DAY = 24 * 3600.0


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def part(number: int, *, size: int = 100, etag: str | None = None) -> JournalPart:
    return JournalPart(
        number=number,
        offset=(number - 1) * size,
        size=size,
        etag=etag if etag is not None else f"etag-{number}",
        xxh3=f"{number:032x}",
    )


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The most permissive umask: modes must come from the code, not the environment."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "big.bin"
    path.parent.mkdir()
    path.write_bytes(b"x" * 1000)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journals"


def start_upload(store: JournalStore, source: Path, *, now: float = NOW) -> UploadJournal:
    return store.start_upload(
        local=LocalIdentity.of(source),
        bucket="bkt",
        key="dir/big.bin",
        part_size=100,
        upload_id="upload-1",
        now=now,
    )


def start_download(
    store: JournalStore, destination: Path, *, now: float = NOW, key: str = "dir/big.bin"
) -> DownloadJournal:
    return store.start_download(
        remote=RemoteIdentity(bucket="bkt", key=key, etag="abc-3", size=1000),
        destination=destination,
        temp_path=destination.with_name(destination.name + ".part"),
        part_size=100,
        now=now,
    )


def find_upload(root: Path, source: Path) -> UploadJournal | None:
    """As after a restart: a fresh store sees only what reached the disk."""
    return JournalStore(root).find_upload(local_path=source, bucket="bkt", key="dir/big.bin")


def test_local_identity_of_stats_an_absolute_path(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(source.parent)
    identity = LocalIdentity.of(Path(source.name))
    st_ = source.stat()
    assert identity == LocalIdentity(
        path=str(source), size=1000, mtime_ns=st_.st_mtime_ns, inode=st_.st_ino
    )


def test_upload_round_trips_through_a_new_store(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.record(part(2))
    journal.record(part(1))

    found = find_upload(root, source)
    assert found is not None
    assert found.path == journal.path
    assert found.local == LocalIdentity.of(source)
    assert (found.bucket, found.key, found.upload_id) == ("bkt", "dir/big.bin", "upload-1")
    assert (found.part_size, found.created) == (100, NOW)
    assert found.parts == {1: part(1), 2: part(2)}
    assert not found.is_stale(NOW)


def test_download_round_trips_through_a_new_store(root: Path, tmp_path: Path) -> None:
    destination = tmp_path / "out" / "big.bin"
    journal = start_download(JournalStore(root), destination)
    journal.record(part(1, etag=None))

    found = JournalStore(root).find_download(
        destination=destination, bucket="bkt", key="dir/big.bin"
    )
    assert found is not None
    assert found.remote == RemoteIdentity(bucket="bkt", key="dir/big.bin", etag="abc-3", size=1000)
    assert found.destination == str(destination)
    assert found.temp_path == str(destination) + ".part"
    assert found.parts == {1: part(1, etag=None)}


def test_relative_and_absolute_paths_find_the_same_journal(
    root: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_upload(JournalStore(root), source)
    monkeypatch.chdir(source.parent)
    assert find_upload(root, Path(source.name)) is not None


def test_find_misses_other_transfers(root: Path, source: Path, tmp_path: Path) -> None:
    store = JournalStore(root)
    start_upload(store, source)
    assert store.find_upload(local_path=source, bucket="bkt", key="other") is None
    assert store.find_upload(local_path=source, bucket="other", key="dir/big.bin") is None
    assert store.find_upload(local_path=tmp_path / "x", bucket="bkt", key="dir/big.bin") is None
    # Same path, bucket and key, but the other direction.
    assert store.find_download(destination=source, bucket="bkt", key="dir/big.bin") is None


def test_find_in_a_missing_directory_creates_nothing(root: Path, source: Path) -> None:
    assert find_upload(root, source) is None
    assert JournalStore(root).summaries() == []
    assert not root.exists()


def test_journal_is_json_lines_appended_per_part(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.record(part(1))
    journal.record(part(2))
    lines = journal.path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    header, *parts = (json.loads(line) for line in lines[:-1])
    assert header["version"] == 1
    assert header["kind"] == "upload"
    assert [p["n"] for p in parts] == [1, 2]
    assert journal.path.name.endswith(".journal")
    assert len(journal.path.stem) == 32


def test_torn_last_line_is_ignored_and_cut_off_by_the_next_append(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.record(part(1))
    journal.record(part(2))
    # A crash in the middle of appending part 2's line.
    size = journal.path.stat().st_size
    os.truncate(journal.path, size - 10)

    found = find_upload(root, source)
    assert found is not None
    assert found.parts == {1: part(1)}

    found.record(part(3))
    again = find_upload(root, source)
    assert again is not None
    assert again.parts == {1: part(1), 3: part(3)}


def test_torn_header_means_no_journal(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    os.truncate(journal.path, 20)
    assert find_upload(root, source) is None


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda header, rest: b"not json\n" + rest, id="garbage-header"),
        pytest.param(lambda header, rest: b"[1, 2]\n" + rest, id="header-not-object"),
        pytest.param(lambda header, rest: b"", id="empty-file"),
        pytest.param(
            lambda header, rest: header.replace(b'"version":1', b'"version":2') + rest,
            id="unknown-version",
        ),
        pytest.param(
            lambda header, rest: header.replace(b'"version":1', b'"version":true') + rest,
            id="boolean-version",
        ),
        pytest.param(
            lambda header, rest: header.replace(b'"upload"', b'"sideways"') + rest,
            id="unknown-kind",
        ),
        pytest.param(
            lambda header, rest: header.replace(b'"upload_id":', b'"uploadid":') + rest,
            id="missing-field",
        ),
        pytest.param(
            lambda header, rest: header.replace(b'"part_size":100', b'"part_size":"100"') + rest,
            id="mistyped-field",
        ),
        pytest.param(lambda header, rest: header + b"{oops}\n" + rest, id="garbage-part-line"),
        pytest.param(
            lambda header, rest: header + rest.replace(b'"n":1', b'"n":0'), id="part-number-zero"
        ),
        pytest.param(lambda header, rest: header + b"\xff\xfe\n" + rest, id="not-utf8"),
    ],
)
def test_other_damage_means_no_journal_and_the_file_stays(
    root: Path, source: Path, damage: Callable[[bytes, bytes], bytes]
) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.record(part(1))
    header, _, rest = journal.path.read_bytes().partition(b"\n")
    journal.path.write_bytes(damage(header + b"\n", rest))

    assert find_upload(root, source) is None
    assert JournalStore(root).summaries() == []
    assert journal.path.exists()  # left for `clean`


@pytest.mark.usefixtures("umask_zero")
def test_files_are_0600_in_a_0700_directory(root: Path, source: Path, tmp_path: Path) -> None:
    store = JournalStore(root)
    upload = start_upload(store, source)
    upload.record(part(1))
    download = start_download(store, tmp_path / "out.bin")
    download.record(part(1, etag=None))
    assert mode_of(root) == 0o700
    assert mode_of(upload.path) == 0o600
    assert mode_of(download.path) == 0o600


def test_starting_again_replaces_the_old_journal(root: Path, source: Path) -> None:
    store = JournalStore(root)
    old = start_upload(store, source)
    old.record(part(1))

    new = store.start_upload(
        local=LocalIdentity.of(source),
        bucket="bkt",
        key="dir/big.bin",
        part_size=200,
        upload_id="upload-2",
        now=NOW + 60,
    )
    assert new.path == old.path
    assert new.parts == {}
    found = find_upload(root, source)
    assert found is not None
    assert (found.upload_id, found.part_size, found.created, found.parts) == (
        "upload-2",
        200,
        NOW + 60,
        {},
    )
    assert [p.name for p in root.iterdir()] == [new.path.name]  # no temp file left behind


def test_discard_removes_the_file_and_tolerates_a_missing_one(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.discard()
    assert not journal.path.exists()
    journal.discard()
    assert find_upload(root, source) is None


def test_record_after_the_journal_was_removed_fails_without_recreating_it(
    root: Path, source: Path
) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.discard()
    with pytest.raises(FileNotFoundError):
        journal.record(part(1))
    assert not journal.path.exists()


def test_upload_journal_goes_stale_just_before_spaces_forgets_the_upload(
    root: Path, source: Path
) -> None:
    journal = start_upload(JournalStore(root), source)
    assert JOURNAL_MAX_AGE < 30 * DAY
    assert not journal.is_stale(NOW + JOURNAL_MAX_AGE)
    assert journal.is_stale(NOW + JOURNAL_MAX_AGE + 1)
    found = find_upload(root, source)
    assert found is not None
    assert found.is_stale(NOW + 30 * DAY)


def test_summaries_list_every_readable_journal_oldest_first(
    root: Path, source: Path, tmp_path: Path
) -> None:
    store = JournalStore(root)
    download = start_download(store, tmp_path / "out.bin", now=NOW - DAY)
    upload = start_upload(store, source)
    upload.record(part(1))
    upload.record(part(2))
    (root / ("0" * 32 + ".journal")).write_bytes(b"garbage\n")

    summaries = JournalStore(root).summaries()
    assert [s.kind for s in summaries] == ["download", "upload"]
    down, up = summaries
    assert down.path == download.path
    assert down.local_path == str(tmp_path / "out.bin")
    assert (down.bucket, down.key, down.parts_done, down.created) == (
        "bkt",
        "dir/big.bin",
        0,
        NOW - DAY,
    )
    assert down.upload_id is None
    assert up.local_path == str(source)
    assert (up.parts_done, up.upload_id, up.created) == (2, "upload-1", NOW)


def test_clean_removes_everything_with_temp_files(root: Path, source: Path, tmp_path: Path) -> None:
    store = JournalStore(root)
    upload = start_upload(store, source)
    download = start_download(store, tmp_path / "out.bin")
    temp = Path(download.temp_path)
    temp.write_bytes(b"partial")
    unreadable = root / ("0" * 32 + ".journal")
    unreadable.write_bytes(b"garbage\n")

    removed = store.clean(now=NOW)
    assert sorted(s.path for s in removed) == sorted([upload.path, download.path])
    assert list(root.iterdir()) == []
    assert not temp.exists()
    assert source.exists()  # an upload's source is the user's file, never touched


def test_clean_older_than_keeps_recent_journals(root: Path, source: Path, tmp_path: Path) -> None:
    store = JournalStore(root)
    recent = start_upload(store, source, now=NOW - DAY)
    old = start_download(store, tmp_path / "old.bin", now=NOW - 10 * DAY)
    old_temp = Path(old.temp_path)
    old_temp.write_bytes(b"partial")
    kept = start_download(store, tmp_path / "new.bin", now=NOW - DAY, key="other")
    kept_temp = Path(kept.temp_path)
    kept_temp.write_bytes(b"partial")
    old_unreadable = root / ("0" * 32 + ".journal")
    old_unreadable.write_bytes(b"garbage\n")
    os.utime(old_unreadable, (NOW - 10 * DAY, NOW - 10 * DAY))
    new_unreadable = root / ("1" * 32 + ".journal")
    new_unreadable.write_bytes(b"garbage\n")
    os.utime(new_unreadable, (NOW, NOW))

    removed = store.clean(older_than=7 * DAY, now=NOW)
    assert [s.path for s in removed] == [old.path]
    assert not old.path.exists()
    assert not old_temp.exists()
    assert not old_unreadable.exists()
    assert recent.path.exists()
    assert kept.path.exists()
    assert kept_temp.exists()
    assert new_unreadable.exists()


def test_clean_with_a_missing_temp_file(root: Path, tmp_path: Path) -> None:
    store = JournalStore(root)
    download = start_download(store, tmp_path / "out.bin")
    assert [s.path for s in store.clean(now=NOW)] == [download.path]


def test_concurrent_records_from_threads_all_survive(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    numbers = list(range(1, 201))
    barrier = threading.Barrier(8)

    def worker(mine: list[int]) -> None:
        barrier.wait()
        for number in mine:
            journal.record(part(number))

    threads = [threading.Thread(target=worker, args=(numbers[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    expected = {number: part(number) for number in numbers}
    assert journal.parts == expected
    found = find_upload(root, source)
    assert found is not None
    assert found.parts == expected


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30)
parts = st.builds(
    JournalPart,
    number=st.integers(min_value=1, max_value=10_000),
    offset=st.integers(min_value=0, max_value=2**50),
    size=st.integers(min_value=0, max_value=5 * 2**30),
    etag=st.none() | names,
    xxh3=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
)


@settings(max_examples=50, deadline=None)
@given(bucket=names, key=names, recorded=st.lists(parts, max_size=20))
def test_find_returns_exactly_what_was_recorded(
    bucket: str, key: str, recorded: list[JournalPart]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "journals"
        source = Path(scratch) / "src"
        source.write_bytes(b"")
        destination = Path(scratch) / "dst"
        store = JournalStore(root)
        upload = store.start_upload(
            local=LocalIdentity.of(source),
            bucket=bucket,
            key=key,
            part_size=1,
            upload_id=key,
            now=NOW,
        )
        download = store.start_download(
            remote=RemoteIdentity(bucket=bucket, key=key, etag=key, size=0),
            destination=destination,
            temp_path=destination,
            part_size=1,
            now=NOW,
        )
        for recorded_part in recorded:
            upload.record(recorded_part)
            download.record(recorded_part)

        expected = {p.number: p for p in recorded}  # a part recorded again: the last counts
        again = JournalStore(root)
        found_upload = again.find_upload(local_path=source, bucket=bucket, key=key)
        found_download = again.find_download(destination=destination, bucket=bucket, key=key)
        assert found_upload is not None
        assert found_download is not None
        assert (found_upload.bucket, found_upload.key, found_upload.upload_id) == (bucket, key, key)
        assert found_download.remote == RemoteIdentity(bucket=bucket, key=key, etag=key, size=0)
        assert found_upload.parts == expected
        assert found_download.parts == expected


def test_an_intent_becomes_an_upload_journal_when_the_id_is_known(
    root: Path, source: Path
) -> None:
    store = JournalStore(root)
    intent = store.start_upload(
        local=LocalIdentity.of(source),
        bucket="bkt",
        key="dir/big.bin",
        part_size=100,
        upload_id=None,
        now=NOW,
    )
    found = find_upload(root, source)
    assert found is not None and found.upload_id is None and found.created == NOW
    assert store.summaries()[0].upload_id is None

    intent.begin("upload-9")
    intent.record(part(1))
    found = find_upload(root, source)
    assert found is not None
    assert (found.upload_id, found.created, sorted(found.parts)) == ("upload-9", NOW, [1])
    assert [p.name for p in root.iterdir()] == [intent.path.name]  # no temp file left


def test_an_upload_id_is_recorded_before_any_part(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    journal.record(part(1))
    with pytest.raises(ValueError):
        journal.begin("upload-2")
    found = find_upload(root, source)
    assert found is not None and found.upload_id == "upload-1"


def test_a_non_string_upload_id_makes_the_journal_unreadable(root: Path, source: Path) -> None:
    journal = start_upload(JournalStore(root), source)
    header = json.loads(journal.path.read_bytes().splitlines()[0])
    journal.path.write_text(json.dumps({**header, "upload_id": 7}) + "\n")
    assert find_upload(root, source) is None
