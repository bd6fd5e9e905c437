"""``mv``: each source is removed only once its copy is verified; a failed copy keeps it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from spacesync.client import SpacesClient
from spacesync.transport.body import BytesBody
from tests.delete.test_rm_cli import keys_in
from tests.support.cli import Runner


async def test_mv_local_to_s3_and_back(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    (outbox / "sub").mkdir(parents=True)
    (outbox / "a.txt").write_bytes(b"a")
    (outbox / "sub" / "b.bin").write_bytes(b"b" * 70_000)

    up = await asyncio.to_thread(cli, "mv", "-r", str(outbox), f"s3://{bucket}/in/")
    assert up.returncode == 0, up.stderr
    assert await keys_in(client, bucket) == ["in/a.txt", "in/sub/b.bin"]
    assert [p for p in outbox.rglob("*") if p.is_file()] == []
    assert up.stdout.count("removed: ") == 2

    back = tmp_path / "back"
    back.mkdir()
    down = await asyncio.to_thread(cli, "mv", f"s3://{bucket}/in/a.txt", f"{back}/")
    assert down.returncode == 0, down.stderr
    assert (back / "a.txt").read_bytes() == b"a"
    assert await keys_in(client, bucket) == ["in/sub/b.bin"]


async def test_mv_s3_to_s3_recursive(cli: Runner, client: SpacesClient, bucket: str) -> None:
    for key in ("src/1", "src/2/3", "other"):
        await client.put_object(bucket, key, BytesBody(key.encode()))
    done = await asyncio.to_thread(cli, "mv", "-r", f"s3://{bucket}/src/", f"s3://{bucket}/dst/")
    assert done.returncode == 0, done.stderr
    assert await keys_in(client, bucket) == ["dst/1", "dst/2/3", "other"]
    _, body = await client.get_object(bucket, "dst/2/3")
    assert body == b"src/2/3"


async def test_failed_copy_keeps_its_source(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    await client.put_object(bucket, "stay", BytesBody(b"stay"))
    missing_bucket = f"s3://{bucket}-missing/stay"
    done = await asyncio.to_thread(cli, "mv", f"s3://{bucket}/stay", missing_bucket)
    assert done.returncode == 1
    assert "failed: " in done.stderr and "removed" not in done.stdout
    assert await keys_in(client, bucket) == ["stay"]

    local = tmp_path / "keep.txt"
    local.write_bytes(b"keep")
    up = await asyncio.to_thread(cli, "mv", str(local), missing_bucket)
    assert up.returncode == 1
    assert local.read_bytes() == b"keep"

    same = await asyncio.to_thread(cli, "mv", f"s3://{bucket}/stay", f"s3://{bucket}/stay")
    assert same.returncode == 2
    assert await keys_in(client, bucket) == ["stay"]
