"""Pure parts of sync: the key-ordered walk, filters, the NFC merge, content digests."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from spacesync.engine.checksum_cache import ChecksumCache, FileIdentity, hash_file
from spacesync.engine.filters import EXCLUDE, INCLUDE, FilterRule, PathFilter
from spacesync.engine.sync import RemoteObject, _remote_batches, merge, merge_order
from spacesync.engine.walk import LocalDirectory, LocalFile, Skipped, walk_keys
from spacesync.protocol.model import ListPage, ObjectInfo


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())


def file_keys(root: Path, *, follow: bool = False) -> list[str]:
    return [e.key for e in walk_keys(root, follow_symlinks=follow) if isinstance(e, LocalFile)]


def test_walk_yields_keys_in_merge_order(tmp_path: Path) -> None:
    names = ["a/b", "a-b", "a.b", "a0", "a/c/d", "ab", "B", "é", "z/é/x", "~", "a/b0"]
    touch(tmp_path, *names)
    keys = file_keys(tmp_path)
    assert keys == sorted(names, key=merge_order)
    # by component: the directory "a" and what is in it before "a-b" and "a.b"
    assert keys[:5] == ["B", "a/b", "a/b0", "a/c/d", "a-b"]


@pytest.mark.parametrize(
    "keys",
    [
        ["a-b", "a.b", "a/b.txt", "a/b/c", "a/c", "a0", "b.txt", "b/x.y", "b/x/z", "c"],
        ["x/f1.bin", "x/f1/g", "x/f2.bin", "x.zip", "x/y.tar.gz", "x/y/z", "y"],
    ],
)
async def test_a_byte_ordered_listing_comes_out_in_merge_order(keys: list[str]) -> None:
    """S3 lists by whole-key bytes, SeaweedFS by component: both give merge order."""
    for lister in (FakeLister(keys), FakeLister(keys, order=merge_order)):
        entries = await flatten(_remote_batches(lister, "b", ""))  # type: ignore[arg-type]
        assert [e.key for e in entries] == sorted(keys, key=merge_order)  # type: ignore[attr-defined]


def test_walk_marks_directories_and_skips_symlinks_by_default(tmp_path: Path) -> None:
    touch(tmp_path, "d/f")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "d")
    items = list(walk_keys(tmp_path, follow_symlinks=False))
    directories = {i.key: i.empty for i in items if isinstance(i, LocalDirectory)}
    assert directories == {"d/": False, "empty/": True}
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [Path(s.subject).name for s in skipped] == ["link"]
    assert "--follow-symlinks" in skipped[0].reason


def test_followed_symlink_loops_are_reported_not_walked(tmp_path: Path) -> None:
    touch(tmp_path, "d/f")
    (tmp_path / "d" / "back").symlink_to(tmp_path)
    (tmp_path / "d2").symlink_to(tmp_path / "d")
    items = list(walk_keys(tmp_path, follow_symlinks=True))
    keys = [i.key for i in items if isinstance(i, LocalFile)]
    assert keys == ["d/f", "d2/f"]
    loops = [s for s in items if isinstance(s, Skipped)]
    assert len(loops) == 2 and all("loop" in s.reason for s in loops)


def test_walk_keys_are_nfc_and_normalisation_twins_are_skipped(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café")
    touch(tmp_path, nfd, "caf\u00e9")
    items = list(walk_keys(tmp_path, follow_symlinks=False))
    files = [i for i in items if isinstance(i, LocalFile)]
    assert [f.key for f in files] == ["caf\u00e9"]
    assert any("NFC" in i.reason for i in items if isinstance(i, Skipped))


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], {"a.txt", "b.log", "d/c.txt"}),
        ([(EXCLUDE, "*.txt")], {"b.log"}),
        ([(EXCLUDE, "*"), (INCLUDE, "*.txt")], {"a.txt", "d/c.txt"}),
        ([(INCLUDE, "*.txt"), (EXCLUDE, "*")], set()),
        ([(EXCLUDE, "d/*")], {"a.txt", "b.log"}),
    ],
)
def test_filters_last_matching_rule_wins(rules: list[tuple[str, str]], expected: set[str]) -> None:
    keep = PathFilter(FilterRule(kind, pattern) for kind, pattern in rules)
    assert {k for k in ("a.txt", "b.log", "d/c.txt") if keep.includes(k)} == expected


def info(key: str, size: int = 1) -> ObjectInfo:
    return ObjectInfo(key=key, size=size, etag="e", last_modified=datetime(2026, 1, 1, tzinfo=UTC))


class FakeLister:
    """Pages of ``page_size`` keys (small, so that reordering crosses page boundaries)."""

    def __init__(
        self,
        keys: Iterable[str],
        *,
        order: Callable[[str], Any] = lambda k: k.encode(),
        page_size: int = 2,
    ) -> None:
        self.keys = sorted(keys, key=order)
        self.page_size = page_size

    async def list_pages(
        self, bucket: str, *, prefix: str = "", read_ahead: bool = False
    ) -> AsyncIterator[ListPage]:
        listed = [info(key) for key in self.keys if key.startswith(prefix)]
        for start in range(0, len(listed), self.page_size):
            objects = listed[start : start + self.page_size]
            more = start + self.page_size < len(listed)
            yield ListPage(objects, [], is_truncated=more, next_token="t" if more else None)


async def flatten(batches: AsyncIterator[Iterable[object]]) -> list[object]:
    return [item async for batch in batches for item in batch]


async def test_remote_nfd_keys_are_reordered_by_their_nfc_form() -> None:
    nfd = unicodedata.normalize("NFD", "p/é")
    lister = FakeLister(["p/e", nfd, "p/f", "p/z"])
    entries = await flatten(_remote_batches(lister, "b", "p/"))  # type: ignore[arg-type]
    assert [e.key for e in entries if isinstance(e, RemoteObject)] == ["e", "f", "z", "é"]
    assert [e.info.key for e in entries if isinstance(e, RemoteObject)][-1] == nfd


async def test_merge_pairs_keys_and_reports_twins() -> None:
    async def stream(*entries: object) -> AsyncIterator[list[object]]:
        for entry in entries:  # one a batch: each step of the merge crosses a batch boundary
            yield [entry]

    identity = FileIdentity("/x", 1, 0, 0, 0)
    local = [LocalFile(k, identity) for k in ("a", "c", "é")]
    remote = [RemoteObject(k, info(k)) for k in ("b", "c", "é", "é")]
    merged = await flatten(merge(stream(*local), stream(*remote), keep=PathFilter()))  # type: ignore[arg-type]
    pairs = []
    for item in merged[:4]:
        assert isinstance(item, tuple)
        pairs.append(tuple(side.key if side is not None else None for side in item))
    assert pairs == [("a", None), (None, "b"), ("c", "c"), ("é", "é")]
    assert len(merged) == 5 and isinstance(merged[4], Skipped)
    assert "NFC" in merged[4].reason


@pytest.mark.parametrize("size", [0, 1, 5 * 1024 * 1024, 5 * 1024 * 1024 + 3, 11 * 1024 * 1024])
def test_hash_file_gives_md5_and_the_multipart_etag(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    data = os.urandom(size)
    path.write_bytes(data)
    part = 5 * 1024 * 1024
    digests, _ = hash_file(str(path), part_size=part)
    assert digests.md5 == hashlib.md5(data).hexdigest()
    chunks = [data[i : i + part] for i in range(0, max(size, 1), part)]
    md5s = b"".join(hashlib.md5(c).digest() for c in chunks)
    assert digests.multipart_etag == f"{hashlib.md5(md5s).hexdigest()}-{len(chunks)}"


def test_cache_reads_a_file_once_while_its_identity_holds(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    cache = ChecksumCache(None)
    identity = FileIdentity.of(path, path.stat())
    etag = hashlib.md5(b"hello").hexdigest()
    assert cache.matches_etag(identity, etag, part_sizes=[]) is True
    assert cache.matches_etag(identity, etag, part_sizes=[]) is True
    assert cache.bytes_read == 5
    assert cache.matches_etag(identity, "not-an-etag", part_sizes=[]) is None
    cache.record("b", "k", etag=etag, identity=identity)
    cache.flush()
    record = cache.recorded_many("b", ["k"]).get("k")
    assert record is not None and record.identity == identity


def test_records_are_looked_up_many_keys_per_query() -> None:
    """Flushed and pending records alike, by key; other buckets' and unknown keys are not
    found; more keys than one query takes are split."""
    cache = ChecksumCache(None)
    identity = FileIdentity("/f", 1, 2, 3, 4)
    for i in range(0, 1200, 2):
        cache.record("b", f"k{i}", etag=f"e{i}", identity=identity)
    cache.flush()
    cache.record("b", "pending", etag="p", identity=identity)
    cache.record("b", "k0", etag="newer", identity=identity)
    cache.record("other", "k1", etag="x", identity=identity)
    keys = [f"k{i}" for i in range(1200)] + ["pending", "missing"]
    found = cache.recorded_many("b", keys)
    assert set(found) == {f"k{i}" for i in range(0, 1200, 2)} | {"pending"}
    assert found["k2"].etag == "e2" and found["k0"].etag == "newer"
    assert found["pending"].identity == identity
    assert cache.recorded_many("b", []) == {}


def test_walk_gives_absolute_paths_and_identities(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path, "d/f", "g")
    monkeypatch.chdir(tmp_path)
    files = [e for e in walk_keys(Path("."), follow_symlinks=False) if isinstance(e, LocalFile)]
    assert [(f.key, f.path) for f in files] == [("d/f", tmp_path / "d/f"), ("g", tmp_path / "g")]
    assert all(f.identity == FileIdentity.of(f.path, f.path.stat()) for f in files)
