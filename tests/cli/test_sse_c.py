"""SSE-C through the transfer commands: customer-key encryption on upload (single and
multipart), download (single GET and parallel ranges), server-side copy and sync."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.errors import SpacesError
from tests.support.cli import Runner

MiB = 1024 * 1024


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "sse.key"
    path.write_bytes(base64.b64encode(os.urandom(32)))
    return path


def test_encrypted_round_trip_single_and_multipart(
    cli: Runner, bucket_url: str, tmp_path: Path, key_file: Path
) -> None:
    small = tmp_path / "up" / "small.bin"
    big = tmp_path / "up" / "big.bin"
    small.parent.mkdir()
    small.write_bytes(os.urandom(1000))
    big.write_bytes(os.urandom(12 * MiB + 7))
    key = f"file:{key_file}"
    opts = ["--part-size", "5MiB", "--sse-c-key", key]
    up = cli("cp", "-r", str(tmp_path / "up"), f"{bucket_url}/enc/", *opts)
    assert up.returncode == 0, up.stderr

    down = cli("cp", "-r", f"{bucket_url}/enc/", str(tmp_path / "down"), *opts)
    assert down.returncode == 0, down.stderr
    for name in ("small.bin", "big.bin"):
        assert (tmp_path / "down" / name).read_bytes() == (tmp_path / "up" / name).read_bytes()

    copied = cli("cp", f"{bucket_url}/enc/big.bin", f"{bucket_url}/copy.bin", *opts)
    assert copied.returncode == 0, copied.stderr
    back = cli("cp", f"{bucket_url}/copy.bin", str(tmp_path / "copy.bin"), *opts)
    assert back.returncode == 0, back.stderr
    assert (tmp_path / "copy.bin").read_bytes() == big.read_bytes()


async def test_encrypted_objects_need_the_key(
    cli: Runner, bucket_url: str, tmp_path: Path, key_file: Path, client: SpacesClient
) -> None:
    source = tmp_path / "secret.txt"
    source.write_bytes(b"for your eyes only")
    key = f"file:{key_file}"
    assert cli("cp", str(source), f"{bucket_url}/secret.txt", "--sse-c-key", key).returncode == 0
    bucket = bucket_url.removeprefix("s3://")
    with pytest.raises(SpacesError):
        await client.get_object(bucket, "secret.txt")
    without = cli("cp", f"{bucket_url}/secret.txt", str(tmp_path / "out.txt"))
    assert without.returncode == 1
    assert not (tmp_path / "out.txt").exists()
    assert cli("cat", f"{bucket_url}/secret.txt").returncode == 1
    shown = cli("cat", f"{bucket_url}/secret.txt", "--sse-c-key", key)
    assert (shown.returncode, shown.stdout) == (0, "for your eyes only")


def test_bad_key_material_is_a_usage_error(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    done = cli("cp", str(source), f"{bucket_url}/f", "--sse-c-key", "env:NO_SUCH_VARIABLE_X")
    assert done.returncode == 2
    assert "NO_SUCH_VARIABLE_X" in done.stderr
