"""Memory stays bounded by what is in flight: 100,000 local files merged with a 100,000-key
listing (served by a fake lister, so only the planner is measured)."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spacesync.engine.checksum_cache import ChecksumCache
from spacesync.engine.sync import SyncOptions, SyncPlanner
from spacesync.protocol.model import ListPage, ObjectInfo
from spacesync.urls import S3Location
from tests.sync.support import TRANSFER

COUNT = 100_000


class Listing:
    """Keys d000/f00000 … in order, each 10 bytes, last modified long ago."""

    async def list_pages(
        self, bucket: str, *, prefix: str = "", read_ahead: bool = False
    ) -> AsyncIterator[ListPage]:
        old = datetime(2000, 1, 1, tzinfo=UTC)
        etag = hashlib.md5(b"0123456789").hexdigest()
        for start in range(0, COUNT, 1000):
            objects = [
                ObjectInfo(key=f"d{i // 1000:03d}/f{i:05d}", size=10, etag=etag, last_modified=old)
                for i in range(start, start + 1000)
            ]
            more = start + 1000 < COUNT
            yield ListPage(objects, [], is_truncated=more, next_token="t" if more else None)
            await asyncio.sleep(0)


def make_tree(root: Path) -> None:
    for i in range(COUNT):
        if i % 1000 == 0:
            (root / f"d{i // 1000:03d}").mkdir(parents=True)
        (root / f"d{i // 1000:03d}" / f"f{i:05d}").write_bytes(b"0123456789")


@pytest.mark.soak
async def test_planning_a_hundred_thousand_files_stays_small(tmp_path: Path) -> None:
    await asyncio.to_thread(make_tree, tmp_path / "src")
    cache = ChecksumCache(None)
    planner = SyncPlanner(
        client=Listing(),  # type: ignore[arg-type]
        cache=cache,
        options=SyncOptions(),
        transfer=TRANSFER,
        source=tmp_path / "src",
        destination=S3Location("b"),
    )
    tracemalloc.start()
    try:
        actions = 0
        async for _ in planner.plan():
            actions += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert actions == COUNT  # every local file is newer than the listing says
    assert peak < 64 * 1024**2, peak
