"""Keys that name paths outside the destination are refused by downloads, one message each,
while the rest still download. SeaweedFS refuses such keys (``..`` segments, a leading
``/``), so they are stored in moto's S3 server, which keeps any key byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.transport.body import BytesBody
from tests.support.cli import Runner
from tests.support.moto import MOTO_KEY, MOTO_SECRET, MotoServer, moto_server

BAD_KEYS = ("../../etc/passwd", "/abs/path", "a/../../b", "back\\slash", "nul\x00")
GOOD_KEY = "ok/normal.txt"


def snapshot(root: Path) -> set[Path]:
    """Every path below ``root``, relative to it."""
    return {p.relative_to(root) for p in root.rglob("*")}


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
async def evil_bucket(moto: MotoServer, tmp_path: Path) -> AsyncIterator[str]:
    settings = resolve_settings(
        endpoint_url=moto.endpoint_url,
        access_key=MOTO_KEY,
        secret_key=MOTO_SECRET,
        env={},
        home=tmp_path,
    )
    async with SpacesClient(settings) as client:
        await client.create_bucket("evil")
        for key in (*BAD_KEYS, GOOD_KEY):
            await client.put_object("evil", key, BytesBody(b"payload of " + key.encode()))
        stored = sorted([o.key async for o in client.list_objects("evil")])
        assert stored == sorted((*BAD_KEYS, GOOD_KEY))
        yield "evil"


async def test_recursive_download_refuses_escaping_keys_and_gets_the_rest(
    cli: Runner, moto: MotoServer, evil_bucket: str, tmp_path: Path
) -> None:
    dest = tmp_path / "sandbox" / "a" / "b" / "dest"  # '../../x' would land in sandbox/a
    await asyncio.to_thread(dest.mkdir, parents=True)
    before = await asyncio.to_thread(snapshot, tmp_path)

    done = await asyncio.to_thread(
        cli, "cp", "--recursive", f"s3://{evil_bucket}/", str(dest), env=moto.env()
    )

    assert done.returncode == 1, done.stderr
    assert (dest / "ok" / "normal.txt").read_bytes() == b"payload of ok/normal.txt"
    refusals = [line for line in done.stderr.splitlines() if "refusing key" in line]
    assert len(refusals) == len(BAD_KEYS), done.stderr
    for key in BAD_KEYS:
        assert any(repr(key) in line for line in refusals), (key, done.stderr)
    # Nothing new anywhere but the normal file under dest: not beside it, not above it.
    new = await asyncio.to_thread(snapshot, tmp_path) - before
    dest_rel = dest.relative_to(tmp_path)
    assert new <= {dest_rel / "ok", dest_rel / "ok" / "normal.txt"} | {
        p
        for p in new
        if p.parts[0] in ("home", "state")  # the CLI's own HOME/XDG_STATE_HOME
    }, new
    would_be = (
        dest / "../../etc/passwd",
        dest / "a/../../b",
        dest.parent / "b",
        dest / "slash",
        Path("/abs/path"),
    )
    assert not any(await asyncio.to_thread(lambda: [t.exists() for t in would_be]))


async def test_single_escaping_key_into_a_directory_is_refused(
    cli: Runner, moto: MotoServer, evil_bucket: str, tmp_path: Path
) -> None:
    dest = tmp_path / "one"
    dest.mkdir()
    done = await asyncio.to_thread(
        cli, "cp", "--recursive", f"s3://{evil_bucket}/a/", str(dest), env=moto.env()
    )
    assert done.returncode == 1
    assert "s3://evil/a/../../b: refusing key '../../b'" in done.stderr
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "b").exists()
