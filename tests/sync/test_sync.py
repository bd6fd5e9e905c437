"""sync against the real server (SeaweedFS): what is sent, what is not, and what it costs."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.engine.filters import EXCLUDE, INCLUDE, FilterRule, PathFilter
from spacesync.engine.sync import Compare
from spacesync.protocol.model import ObjectId
from spacesync.transport.body import BytesBody
from spacesync.urls import S3Location
from tests.sync.support import (
    count_opens,
    count_requests,
    local_tree,
    remote_tree,
    run_sync,
    write_tree,
)

NFD_NAME = unicodedata.normalize("NFD", "résumé.txt")
TREE = {
    "a.txt": b"alpha",
    "a-b.txt": b"dash",
    "a/b.txt": b"nested",
    "a/deep/er/c.bin": os.urandom(3000),
    "日本/ファイル.txt": "こんにちは".encode(),
    NFD_NAME: b"written by a mac",
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


async def test_new_changed_deleted_and_unchanged_files(
    client: SpacesClient, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, state = tmp_path / "src", tmp_path / "state"
    write_tree(src, TREE)
    dest = S3Location(bucket, "up/")
    first = await run_sync(client, src, dest, state=state)
    assert first.summary.failed == 0
    assert {e.action for e in first.events} == {"upload"}
    assert {e.reason for e in first.events} == {"new"}
    # keys are the NFC form of local names (the NFD one included)
    assert await remote_tree(client, bucket, "up/") == {nfc(k): v for k, v in TREE.items()}

    requests = count_requests(client, monkeypatch)
    again = await run_sync(client, src, dest, state=state)
    assert again.events == []
    assert requests.operations == ["ListObjectsV2"]

    (src / "a.txt").write_bytes(b"alpha, longer now")
    (src / "new" / "n.txt").parent.mkdir()
    (src / "new" / "n.txt").write_bytes(b"n")
    (src / "a-b.txt").unlink()
    requests.operations.clear()
    changed = await run_sync(client, src, dest, state=state, delete=True)
    assert {(e.action, e.destination, e.reason) for e in changed.events} == {
        ("upload", f"s3://{bucket}/up/a.txt", "size"),
        ("upload", f"s3://{bucket}/up/new/n.txt", "new"),
        ("delete", f"s3://{bucket}/up/a-b.txt", ""),
    }
    assert sorted(requests.operations) == [
        "DeleteObjects",
        "ListObjectsV2",
        "PutObject",
        "PutObject",
    ]
    assert await remote_tree(client, bucket, "up/") == {
        nfc(k): v for k, v in local_tree(src).items()
    }


async def test_round_trip_down_sets_mtimes_and_a_second_sync_lists_only(
    client: SpacesClient, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, down = tmp_path / "src", tmp_path / "down"
    write_tree(src, TREE)
    await run_sync(client, src, S3Location(bucket), state=tmp_path / "s1")
    # another machine: its own state dir, so no record of the upload; no directory yet
    fetched = await run_sync(client, S3Location(bucket), down, state=tmp_path / "s2")
    assert fetched.summary.failed == 0
    assert {e.action for e in fetched.events} == {"download"}
    assert local_tree(down) == {nfc(k): v for k, v in TREE.items()}
    listed = {o.key: o async for o in client.list_objects(bucket)}
    mtime = (down / "a.txt").stat().st_mtime_ns
    assert mtime == int(listed["a.txt"].last_modified.timestamp()) * 10**9  # type: ignore[union-attr]

    requests = count_requests(client, monkeypatch)
    for compare in Compare:
        again = await run_sync(
            client, S3Location(bucket), down, state=tmp_path / "s2", compare=compare
        )
        assert again.events == []
    assert requests.operations == ["ListObjectsV2"] * len(Compare)

    # --delete on a local destination unlinks what the bucket does not have
    (down / "stray.txt").write_bytes(b"x")
    pruned = await run_sync(client, S3Location(bucket), down, state=tmp_path / "s2", delete=True)
    assert [(e.action, e.destination) for e in pruned.events] == [
        ("delete", str(down / "stray.txt"))
    ]
    assert not (down / "stray.txt").exists()


async def test_names_differing_only_by_normalisation_are_one_entry(
    client: SpacesClient, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object stored under the NFD key and a local NFC file: no re-upload, no duplicate;
    and the reverse direction downloads nothing."""
    nfd_key = unicodedata.normalize("NFD", "café/menü.txt")
    await client.put_object(bucket, nfd_key, BytesBody(b"same"))
    src = tmp_path / "src"
    write_tree(src, {"café/menü.txt": b"same"})
    os.utime(src / "café" / "menü.txt", ns=(10**18, 10**18))  # older than the upload
    up = await run_sync(client, src, S3Location(bucket), state=tmp_path / "s")
    assert up.events == []
    down = await run_sync(
        client, S3Location(bucket), src, state=tmp_path / "s", delete=True, compare=Compare.CHECKSUM
    )
    assert down.events == []  # same content, the NFD key matched: nothing fetched or deleted
    # a changed size goes over the existing key: still no duplicate
    (src / "café" / "menü.txt").write_bytes(b"different")
    again = await run_sync(client, src, S3Location(bucket), state=tmp_path / "s")
    assert [e.destination for e in again.events] == [f"s3://{bucket}/{nfd_key}"]
    assert [o.key async for o in client.list_objects(bucket)] == [nfd_key]


async def test_checksum_noop_reads_no_content_and_sends_no_head(
    client: SpacesClient, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, state = tmp_path / "src", tmp_path / "state"
    files = {f"d{i % 4}/f{i}.bin": os.urandom(100 + i) for i in range(40)}
    files["big.bin"] = os.urandom(6 * 1024 * 1024)  # multipart: its ETag is md5-N
    write_tree(src, files)
    first = await run_sync(client, src, S3Location(bucket), state=state, compare=Compare.CHECKSUM)
    assert len(first.events) == 41 and first.summary.failed == 0

    requests = count_requests(client, monkeypatch)
    with count_opens(src, monkeypatch) as opened:
        again = await run_sync(
            client, src, S3Location(bucket), state=state, compare=Compare.CHECKSUM
        )
    assert again.events == []
    assert opened == []  # not one local file opened, so no content read
    assert requests.operations == ["ListObjectsV2"]  # no HEAD, no GET


async def test_checksum_catches_an_edit_that_keeps_size_and_mtime(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    src, state = tmp_path / "src", tmp_path / "state"
    write_tree(src, {"doc.txt": b"version one", "other.txt": b"untouched"})
    await run_sync(client, src, S3Location(bucket), state=state)
    path = src / "doc.txt"
    before = path.stat()
    with path.open("r+b") as edit:  # in place: same inode
        edit.write(b"VERSION")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    blind = await run_sync(client, src, S3Location(bucket), state=state)
    assert blind.events == []  # size and mtime alone cannot see it
    caught = await run_sync(client, src, S3Location(bucket), state=state, compare=Compare.CHECKSUM)
    assert [(e.action, e.reason) for e in caught.events] == [("upload", "checksum")]
    assert (await client.get_object(bucket, "doc.txt"))[1] == b"VERSION one"


async def test_checksum_without_a_record_compares_content_once(
    client: SpacesClient, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh state dir: the files are hashed (once) against the listed ETags, no HEAD."""
    src = tmp_path / "src"
    write_tree(src, {"same.txt": b"same bytes", "differs.txt": b"local bytes"})
    await client.put_object(bucket, "same.txt", BytesBody(b"same bytes"))
    await client.put_object(bucket, "differs.txt", BytesBody(b"other bytes"))
    requests = count_requests(client, monkeypatch)
    state = tmp_path / "fresh"
    outcome = await run_sync(client, src, S3Location(bucket), state=state, compare=Compare.CHECKSUM)
    assert [(e.destination, e.reason) for e in outcome.events] == [
        (f"s3://{bucket}/differs.txt", "checksum")
    ]
    assert "HeadObject" not in requests.operations


async def test_dry_run_and_filters(client: SpacesClient, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, {"a.log": b"1", "keep.log": b"2", "b.txt": b"3", "d/c.txt": b"4"})
    await client.put_object(bucket, "gone.txt", BytesBody(b"x"))
    await client.put_object(bucket, "old.log", BytesBody(b"x"))  # excluded: not deleted
    rules = PathFilter([FilterRule(EXCLUDE, "*.log"), FilterRule(INCLUDE, "keep.log")])
    planned = await run_sync(
        client,
        src,
        S3Location(bucket),
        state=tmp_path / "s",
        dry_run=True,
        delete=True,
        filters=rules,
    )
    expected = {
        ("upload", f"s3://{bucket}/keep.log"),
        ("upload", f"s3://{bucket}/b.txt"),
        ("upload", f"s3://{bucket}/d/c.txt"),
        ("delete", f"s3://{bucket}/gone.txt"),
    }
    assert {(e.action, e.destination) for e in planned.events} == expected
    assert sorted(await remote_tree(client, bucket)) == ["gone.txt", "old.log"]  # untouched
    done = await run_sync(
        client, src, S3Location(bucket), state=tmp_path / "s", delete=True, filters=rules
    )
    assert {(e.action, e.destination) for e in done.events} == expected
    assert sorted(await remote_tree(client, bucket)) == ["b.txt", "d/c.txt", "keep.log", "old.log"]


async def test_max_delete_refuses_every_deletion(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    for i in range(3):
        await client.put_object(bucket, f"x{i}", BytesBody(b"x"))
    src = tmp_path / "empty"
    src.mkdir()
    outcome = await run_sync(
        client, src, S3Location(bucket), state=tmp_path / "s", delete=True, max_delete=2
    )
    assert outcome.summary.failed == 1
    assert "--max-delete 2" in str(outcome.events[-1].error)
    assert len([o async for o in client.list_objects(bucket)]) == 3


async def test_space_to_space_and_folders(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_tree(src, {"f.txt": b"f"})
    (src / "empty" / "inner").mkdir(parents=True)
    up = await run_sync(client, src, S3Location(bucket, "one/"), state=tmp_path / "s", folders=True)
    assert {(e.action, e.destination) for e in up.events} == {
        ("upload", f"s3://{bucket}/one/f.txt"),
        ("folder", f"s3://{bucket}/one/empty/inner/"),
    }
    copied = await run_sync(
        client, S3Location(bucket, "one/"), S3Location(bucket, "two/"), state=tmp_path / "s"
    )
    assert {e.action for e in copied.events} == {"copy", "folder"}
    assert sorted(await remote_tree(client, bucket, "two/")) == ["empty/inner/", "f.txt"]
    again = await run_sync(
        client, S3Location(bucket, "one/"), S3Location(bucket, "two/"), state=tmp_path / "s"
    )
    assert again.events == []
    down = tmp_path / "down"
    down.mkdir()
    fetched = await run_sync(client, S3Location(bucket, "two/"), down, state=tmp_path / "s")
    assert {e.action for e in fetched.events} == {"download", "mkdir"}
    assert (down / "empty" / "inner").is_dir()
    assert (
        await run_sync(client, S3Location(bucket, "two/"), down, state=tmp_path / "s")
    ).events == []


async def test_ten_thousand_files_then_nothing_sent(
    client: SpacesClient, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    write_tree(src, {f"d{i // 500:02d}/f{i:05d}": b"0123456789" for i in range(10_000)})
    first = await run_sync(client, src, S3Location(bucket), state=tmp_path / "s", concurrency=64)
    assert first.summary.actions == 10_000 and first.summary.failed == 0
    requests = count_requests(client, monkeypatch)
    again = await run_sync(client, src, S3Location(bucket), state=tmp_path / "s")
    assert again.events == []
    assert requests.operations == ["ListObjectsV2"] * 10  # 1,000 keys a page, nothing else
    listed = [o.key async for o in client.list_objects(bucket)]
    assert len(listed) == 10_000
    # the bucket's own cleanup would take a while one page at a time: batch it here
    for start in range(0, len(listed), 1000):
        await client.delete_objects(
            bucket, [ObjectId(k) for k in listed[start : start + 1000]], quiet=True
        )
