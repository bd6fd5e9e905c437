"""Stopping short: an endpoint that dies for good, Ctrl-C, a full disk. Each must end with
a clear error, nothing corrupt under a final name, and what a rerun needs to resume."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.engine import download as download_module
from spacesync.engine.download import Downloader
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions
from spacesync.errors import LocalFileError
from spacesync.transport.body import BytesBody
from tests.reliability.helpers import leftovers, md5_of, proxied_cli, random_bytes, write_big
from tests.support.cli import Runner
from tests.support.fault_proxy import Fault, FaultProxy, Rule
from tests.support.s3 import open_upload_keys

SIZE = 30 * MiB + 5
PART_OPTIONS = ("--part-size", "5MiB", "--concurrency", "2")


def journals_of(cli: Runner) -> list[dict[str, object]]:
    done = cli("journals", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def test_endpoint_dying_for_good_stops_with_a_journal_to_resume(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    """After the create and two part PUTs every request is reset. `cp` must give up within
    its retry bounds (the Runner's timeout is the bound asserted), say why in one line, and
    keep the journal; a rerun against the healthy server sends only what is missing."""
    source = tmp_path / "big.bin"
    expected = await asyncio.to_thread(write_big, source, SIZE, seed=21)
    proxy = FaultProxy(cli.env["SPACES_ENDPOINT"], rules=[Rule(Fault.RESET_BEFORE, skip=3)])
    args = ("cp", str(source), f"s3://{bucket}/big", *PART_OPTIONS, "--json")

    def first_run() -> subprocess.CompletedProcess[str]:
        with proxy.threaded():
            return proxied_cli(cli, proxy)(*args)

    failed = await asyncio.to_thread(first_run)
    assert failed.returncode == 1
    reported = json.loads(failed.stdout)
    assert not reported["ok"] and "connection" in reported["error"]
    assert "Traceback" not in failed.stderr
    assert proxy.faults()[Fault.RESET_BEFORE] > 0
    (journal,) = journals_of(cli)
    assert journal["kind"] == "upload" and journal["remote"] == f"s3://{bucket}/big"
    assert journal["parts_done"] == 2
    assert await open_upload_keys(client, bucket) == ["big"]

    resumed = await asyncio.to_thread(cli, *args)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["ok"] and result["resumed"]
    copy = tmp_path / "copy.bin"
    assert cli("cp", f"s3://{bucket}/big", str(copy)).returncode == 0
    assert await asyncio.to_thread(md5_of, copy) == expected
    assert journals_of(cli) == []
    assert await open_upload_keys(client, bucket) == []


async def test_ctrl_c_keeps_the_journal_and_says_how_to_resume(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    expected = await asyncio.to_thread(write_big, source, SIZE, seed=22)
    # 1 s per part PUT: after the second part, two more rounds (2 s) remain for Ctrl-C to
    # land in, however late a loaded machine lets this test see the journal.
    slow = FaultProxy(
        cli.env["SPACES_ENDPOINT"], latency=1.0, rules=[Rule(Fault.LATENCY, method="PUT")]
    )
    journals = JournalStore(Path(cli.env["XDG_STATE_HOME"]) / "spacesync" / "journals")
    args = ("cp", str(source), f"s3://{bucket}/big", *PART_OPTIONS, "--json")
    async with slow.running():
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "spacesync", *args,
            env={**cli.env, "SPACES_ENDPOINT": slow.url},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(60):
            while not any(s.parts_done >= 2 for s in await asyncio.to_thread(journals.summaries)):
                assert process.returncode is None, "the upload ended before Ctrl-C"
                await asyncio.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 130
    assert err.decode().strip().splitlines()[-1] == (
        "spacesync: interrupted: run the same command again to resume "
        "(unfinished transfers: spacesync journals)"
    )
    (journal,) = journals_of(cli)
    assert isinstance(journal["parts_done"], int) and journal["parts_done"] >= 2
    assert await open_upload_keys(client, bucket) == ["big"]

    resumed = await asyncio.to_thread(cli, *args)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed"]
    copy = tmp_path / "copy.bin"
    assert cli("cp", f"s3://{bucket}/big", str(copy)).returncode == 0
    assert await asyncio.to_thread(md5_of, copy) == expected
    assert journals_of(cli) == []
    assert await open_upload_keys(client, bucket) == []


# -- a full disk ------------------------------------------------------------------------


def mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_download_onto_a_full_disk_fails_cleanly(
    cli: Runner, bucket_url: str, tmp_path: Path
) -> None:
    """A real ENOSPC: a 4 MiB tmpfs, an 8 MiB object. The space is reserved up front, so
    the error comes before any byte is fetched; nothing is left behind."""
    disk = tmp_path / "small-disk"
    if not mount_tmpfs(disk, "4m"):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
    try:
        source = tmp_path / "obj.bin"
        source.write_bytes(random_bytes(8 * MiB, seed=23))
        assert cli("cp", str(source), f"{bucket_url}/obj", "--part-size", "5MiB").returncode == 0
        done = cli("cp", f"{bucket_url}/obj", str(disk / "obj.bin"), "--part-size", "5MiB")
        assert done.returncode == 1
        assert f"failed: {bucket_url}/obj: " in done.stderr
        assert "No space left on device" in done.stderr
        assert "Traceback" not in done.stderr
        assert os.listdir(disk) == []
        assert journals_of(cli) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


async def test_disk_filling_up_mid_download_keeps_nothing_under_the_final_name(
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ENOSPC on a write halfway through (on a filesystem that cannot reserve space up
    front): one clear error and nothing under the final name; a full disk is not a
    transient failure, so the temp file and its journal are removed, not kept."""
    data = random_bytes(20 * MiB, seed=24)
    await client.put_object(bucket, "obj", BytesBody(data))
    write_chunk = download_module._write_chunk
    writes = 0

    def failing_write(fd: int, chunk: bytes, offset: int, hashers: object) -> None:
        nonlocal writes
        writes += 1
        if writes == 8:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_chunk(fd, chunk, offset, hashers)  # type: ignore[arg-type]

    monkeypatch.setattr(download_module, "_write_chunk", failing_write)
    out = tmp_path / "out"
    out.mkdir()
    journals = JournalStore(tmp_path / "journals")
    downloader = Downloader(
        TransferContext(
            client=client,
            scheduler=Scheduler(concurrency=2),
            journals=journals,
            progress=NoProgress(),
            options=TransferOptions(part_size=5 * MiB, multipart_threshold=5 * MiB),
        )
    )
    with pytest.raises(LocalFileError, match="No space left on device"):
        await downloader.download_file(bucket=bucket, key="obj", destination=out / "obj.bin")
    assert not (out / "obj.bin").exists()
    assert leftovers(out) == [] and journals.summaries() == []
