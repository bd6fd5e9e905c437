"""``spacesync sync`` as a user runs it; malicious keys served from moto (SeaweedFS refuses
to store keys with '..' segments, a leading '/', or '//')."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.transport.body import BytesBody
from tests.support.cli import Runner
from tests.support.moto import MOTO_KEY, MOTO_SECRET, moto_server
from tests.sync.support import write_tree


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_sync_up_json_dry_run_and_delete(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, {"a.txt": b"a", "d/b.txt": b"bb", "skip.tmp": b"t"})
    (src / "link").symlink_to(src / "a.txt")
    planned = cli("sync", str(src), bucket_url, "--dry-run", "--json", "--exclude", "*.tmp")
    assert planned.returncode == 0, planned.stderr
    records = lines(planned.stdout)
    assert {(r["action"], r["destination"], r["dry_run"]) for r in records} == {
        ("upload", f"{bucket_url}/a.txt", True),
        ("upload", f"{bucket_url}/d/b.txt", True),
        ("skip", "", True),
    }
    assert cli("ls", bucket_url, "--recursive").stdout == ""

    done = cli("sync", str(src), bucket_url, "--exclude", "*.tmp")
    assert done.returncode == 0, done.stderr
    assert "upload:" in done.stdout and "symbolic link" in done.stderr
    again = cli("sync", str(src), bucket_url, "--exclude", "*.tmp", "--json")
    assert [r["action"] for r in lines(again.stdout)] == ["skip"]  # only the link's note

    (src / "a.txt").unlink()
    guarded = cli("sync", str(src), bucket_url, "--delete", "--max-delete", "0")
    assert guarded.returncode == 1 and "--max-delete 0" in guarded.stderr
    pruned = cli("sync", str(src), bucket_url, "--delete", "--json")
    assert pruned.returncode == 0, pruned.stderr
    deletes = [r for r in lines(pruned.stdout) if r["action"] == "delete"]
    assert [r["destination"] for r in deletes] == [f"{bucket_url}/a.txt"]


def test_usage_errors_exit_2(cli: Runner, tmp_path: Path) -> None:
    assert cli("sync", str(tmp_path), str(tmp_path)).returncode == 2
    assert cli("sync", str(tmp_path), "s3://b", "--max-delete", "3").returncode == 2
    assert cli("sync", str(tmp_path), "s3://b", "--size-only", "--checksum").returncode == 2


MALICIOUS = ["../../etc/passwd", "a/../../b", "/abs/path", "back\\slash", "x//y", "./dot"]


async def _seed(endpoint: str) -> None:
    settings = resolve_settings(
        endpoint_url=endpoint, access_key=MOTO_KEY, secret_key=MOTO_SECRET, env={}, home=None
    )
    async with SpacesClient(settings) as client:
        await client.create_bucket("evil")
        for key in [*MALICIOUS, "good.txt", "sub/fine.txt"]:
            await client.put_object("evil", key, BytesBody(key.encode()))


def test_malicious_keys_are_refused_and_the_rest_synced(cli: Runner, tmp_path: Path) -> None:
    with moto_server() as server:
        asyncio.run(_seed(server.endpoint_url))
        for verb in (["sync"], ["cp", "--recursive"]):
            dest = tmp_path / "deep" / "er" / verb[0]
            dest.mkdir(parents=True)
            done = cli(*verb, "s3://evil", str(dest), env=server.env())
            assert done.returncode == 1, done.stderr
            for key in MALICIOUS:
                assert f"refusing key {key!r}" in done.stderr, (verb, key, done.stderr)
            written = sorted(
                os.path.relpath(os.path.join(d, f), tmp_path)
                for d, _, files in os.walk(tmp_path)
                for f in files
                if not d.startswith((str(tmp_path / "state"), str(tmp_path / "home")))
            )
            assert written == sorted(
                f"deep/er/{v}/{name}"
                for v in ("sync", "cp")[: 1 + (verb[0] == "cp")]
                for name in ("good.txt", "sub/fine.txt")
            )
