"""Whole transfers through a proxy that resets 5% of requests after the server applied
them, answers 10% with SlowDown and truncates 5% of replies: every result must be byte
identical, with no multipart upload, journal or temporary file left behind.

CI runs reduced sizes (48 MiB, 100 files — the pacer rightly slows every request under
10% SlowDown, ~0.1 s a file both ways — and 1,000 keys); ``scripts/test --soak`` the sizes
of the issue (256 MiB, 1,000 files, 5,000 keys)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.engine.download import Downloader
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions
from spacesync.engine.upload import Uploader
from spacesync.transport.body import BytesBody
from tests.reliability.conftest import Proxied
from tests.reliability.helpers import (
    leftovers,
    md5_of,
    proxied_cli,
    read_tree,
    write_big,
    write_tree,
)
from tests.support.cli import Runner
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.s3 import open_upload_keys

MIX = {Fault.RESET_AFTER: 0.05, Fault.SLOW_DOWN: 0.10, Fault.TRUNCATE: 0.05}


async def roundtrip(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
    *,
    size: int,
    seed: int,
) -> None:
    source, destination = tmp_path / "source.bin", tmp_path / "out" / "copy.bin"
    destination.parent.mkdir()
    expected = await asyncio.to_thread(write_big, source, size, seed=seed)
    journals = JournalStore(tmp_path / "journals")
    options = TransferOptions(part_size=8 * MiB, multipart_threshold=8 * MiB)
    proxy = new_proxy(seed=seed, rates=MIX)
    async with through(proxy) as proxied:
        scheduler = Scheduler(concurrency=8, puts_per_object=proxied.profile.max_puts_per_object)
        context = TransferContext(
            client=proxied,
            scheduler=scheduler,
            journals=journals,
            progress=NoProgress(),
            options=options,
        )
        up = await Uploader(context).upload_file(source, bucket=bucket, key="big")
        down = await Downloader(context).download_file(
            bucket=bucket, key="big", destination=destination
        )
    assert up.size == down.size == size
    assert await asyncio.to_thread(md5_of, destination) == expected
    faults = proxy.faults()
    assert faults[Fault.RESET_AFTER] and faults[Fault.SLOW_DOWN] and faults[Fault.TRUNCATE]
    assert await open_upload_keys(client, bucket) == []
    assert journals.summaries() == []
    assert await asyncio.to_thread(leftovers, tmp_path / "out") == []


async def test_upload_and_download_under_faults(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    await roundtrip(new_proxy, through, client, bucket, tmp_path, size=48 * MiB, seed=11)


@pytest.mark.soak
async def test_upload_and_download_256mib_under_faults(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    await roundtrip(new_proxy, through, client, bucket, tmp_path, size=256 * MiB, seed=12)


# -- sync both ways, through the CLI -----------------------------------------------------


def sync_both_ways(cli: Runner, bucket_url: str, tmp_path: Path, *, files: int) -> None:
    made = write_tree(tmp_path / "up", files=files, seed=files)
    (tmp_path / "down").mkdir()
    proxy = FaultProxy(cli.env["SPACES_ENDPOINT"], seed=files, rates=MIX)
    with proxy.threaded():
        faulty = proxied_cli(cli, proxy)
        done = faulty("sync", str(tmp_path / "up"), f"{bucket_url}/tree/", "--quiet")
        assert done.returncode == 0, done.stderr
        done = faulty("sync", f"{bucket_url}/tree/", str(tmp_path / "down"), "--quiet")
        assert done.returncode == 0, done.stderr
    assert read_tree(tmp_path / "down") == made
    assert proxy.faults()[Fault.RESET_AFTER] > 0
    listed = cli("ls", f"{bucket_url}/tree/", "--recursive", "--json")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == files
    journals = cli("journals", "--json")
    assert journals.returncode == 0 and journals.stdout == ""


def test_sync_both_ways_under_faults(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    sync_both_ways(cli, bucket_url, tmp_path, files=100)


@pytest.mark.soak
def test_sync_1000_files_both_ways_under_faults(
    cli: Runner, bucket_url: str, tmp_path: Path
) -> None:
    sync_both_ways(cli, bucket_url, tmp_path, files=1000)


# -- recursive delete, through the CLI ---------------------------------------------------


async def put_many(client: SpacesClient, bucket: str, keys: list[str]) -> None:
    gate = asyncio.Semaphore(32)

    async def put(key: str) -> None:
        async with gate:
            await client.put_object(bucket, key, BytesBody(key.encode()))

    await asyncio.gather(*(put(key) for key in keys))


async def delete_under_faults(client: SpacesClient, cli: Runner, bucket: str, *, keys: int) -> None:
    doomed = [f"del/{n % 10}/k{n:05d}" for n in range(keys)]
    kept = ["keep/a", "dele"]  # same leading bytes as the prefix, not under it
    await put_many(client, bucket, doomed + kept)
    proxy = FaultProxy(cli.env["SPACES_ENDPOINT"], seed=keys, rates=MIX)

    def run() -> subprocess.CompletedProcess[str]:
        with proxy.threaded():
            return proxied_cli(cli, proxy)("rm", f"s3://{bucket}/del/", "--recursive", "--quiet")

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stderr
    assert [entry.key async for entry in client.list_objects(bucket)] == sorted(kept)
    assert proxy.count(method="POST", query="delete") >= keys // 1000


async def test_recursive_delete_under_faults(
    client: SpacesClient, cli: Runner, bucket: str
) -> None:
    await delete_under_faults(client, cli, bucket, keys=1000)


@pytest.mark.soak
async def test_recursive_delete_5000_keys_under_faults(
    client: SpacesClient, cli: Runner, bucket: str
) -> None:
    await delete_under_faults(client, cli, bucket, keys=5000)
