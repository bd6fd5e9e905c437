"""The demo job: a sample tree up to a local S3 server and back, verified, with throughput."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import tempfile
import time
from pathlib import Path

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.localserver import LocalServer
from spacesync.transport.body import FileRangeBody

MiB = 1024 * 1024


def make_tree(root: Path, *, files: int, seed: int) -> dict[str, bytes]:
    """Deterministic sample data: many small files and a few larger ones, nested."""
    rng = random.Random(seed)
    digests: dict[str, bytes] = {}
    for index in range(files):
        size = rng.choice([0, 1, 512, 4096, 65536, 300_000]) if index % 10 else 4 * MiB + index
        relative = f"dir{index % 4}/sub{index % 3}/file-{index:04d}.bin"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(size)
        path.write_bytes(data)
        digests[relative] = hashlib.sha256(data).digest()
    return digests


async def run(files: int, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="spacesync-demo-") as scratch:
        base = Path(scratch)
        server = LocalServer(base / "server")
        info = server.start()
        print(f"local S3 server (SeaweedFS) at {info.endpoint_url}")
        try:
            settings = resolve_settings(
                endpoint_url=info.endpoint_url,
                access_key=info.admin.access_key,
                secret_key=info.admin.secret_key,
            )
            digests = make_tree(base / "source", files=files, seed=42)
            total = sum((base / "source" / k).stat().st_size for k in digests)
            print(f"sample tree: {len(digests)} files, {total / MiB:.1f} MiB")
            limit = asyncio.Semaphore(workers)
            async with SpacesClient(settings) as client:
                await client.create_bucket("demo")

                async def upload(key: str) -> None:
                    async with limit:
                        await client.put_object("demo", key, FileRangeBody(base / "source" / key))

                started = time.monotonic()
                await asyncio.gather(*(upload(k) for k in digests))
                up = time.monotonic() - started
                print(f"upload:   {total / MiB / up:8.1f} MiB/s ({up:.2f} s)")

                listed = {o.key: o.size async for o in client.list_objects("demo")}
                assert set(listed) == set(digests), "listing does not match the tree"

                async def download(key: str) -> None:
                    async with limit:
                        _, data = await client.get_object("demo", key)
                    if hashlib.sha256(data).digest() != digests[key]:
                        raise SystemExit(f"MISMATCH: {key}")

                started = time.monotonic()
                await asyncio.gather(*(download(k) for k in digests))
                down = time.monotonic() - started
                print(f"download: {total / MiB / down:8.1f} MiB/s ({down:.2f} s)")
                print(f"verified: {len(digests)} files byte-identical after the round trip")
        finally:
            server.stop()
            print("local server stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args.files, args.workers))


if __name__ == "__main__":
    main()
