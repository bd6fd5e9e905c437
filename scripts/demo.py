"""The demo job: a sample tree synced up to a local S3 server and back, verified, timed.

It runs the ``spacesync`` command itself (as a user would) against a private SeaweedFS on
127.0.0.1 that it starts and stops; nothing touches any real cloud endpoint.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spacesync.localserver import LocalServer

MiB = 1024 * 1024


def make_tree(root: Path, *, files: int, seed: int) -> dict[str, bytes]:
    """Deterministic sample data: many small files and a few large ones, nested, with
    non-ASCII names; returns each file's SHA-256."""
    rng = random.Random(seed)
    digests: dict[str, bytes] = {}
    for index in range(files):
        size = rng.choice([0, 1, 512, 4096, 65536, 300_000]) if index % 25 else 12 * MiB + index
        relative = f"dir{index % 4}/sub-{index % 3}/fichier-é-{index:04d}.bin"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(size)
        path.write_bytes(data)
        digests[relative] = hashlib.sha256(data).digest()
    return digests


def verify(root: Path, digests: dict[str, bytes]) -> None:
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    if found != set(digests):
        raise SystemExit(f"MISMATCH: {len(found ^ set(digests))} files differ in name")
    for relative, digest in digests.items():
        if hashlib.sha256((root / relative).read_bytes()).digest() != digest:
            raise SystemExit(f"MISMATCH: {relative}")


def spacesync(env: dict[str, str], *args: str) -> float:
    """Run one command; its wall time in seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "spacesync", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"spacesync {' '.join(args)} failed:\n{done.stderr}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=400, help="files in the sample tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spacesync-demo-") as scratch:
        base = Path(scratch)
        server = LocalServer(base / "server")
        info = server.start()
        print(f"local S3 server (SeaweedFS) at {info.endpoint_url}")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SPACES_"))},
            "SPACES_ENDPOINT": info.endpoint_url,
            "SPACES_KEY": info.admin.access_key,
            "SPACES_SECRET": info.admin.secret_key,
            "XDG_STATE_HOME": str(base / "state"),
        }
        try:
            digests = make_tree(base / "source", files=args.files, seed=42)
            total = sum((base / "source" / k).stat().st_size for k in digests)
            print(f"sample tree: {len(digests)} files, {total / MiB:.1f} MiB")
            spacesync(env, "mb", "s3://demo")
            up = spacesync(env, "sync", str(base / "source"), "s3://demo/tree/", "--quiet")
            print(f"sync up:    {total / MiB / up:8.1f} MiB/s ({up:.2f} s)")
            again = spacesync(env, "sync", str(base / "source"), "s3://demo/tree/", "--quiet")
            print(f"sync again: nothing to send ({again:.2f} s: one listing)")
            down = spacesync(env, "sync", "s3://demo/tree/", str(base / "back"), "--quiet")
            print(f"sync down:  {total / MiB / down:8.1f} MiB/s ({down:.2f} s)")
            verify(base / "back", digests)
            print(f"verified:   {len(digests)} files byte-identical after the round trip")
        finally:
            server.stop()
            print("local server stopped")


if __name__ == "__main__":
    main()
