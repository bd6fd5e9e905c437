"""Helpers of the fault, crash and interrupt tests: fast clients through a fault proxy,
seeded trees of files, and what an interrupted transfer may leave behind."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

from spacesync.client import SpacesClient
from spacesync.config import Settings, resolve_settings
from spacesync.engine.plan import MiB
from spacesync.localserver import Identity
from spacesync.transport.http import HttpTransport, Timeouts
from spacesync.transport.pacer import Pacer
from spacesync.transport.retry import RetryPolicy
from tests.support.cli import Runner
from tests.support.fault_proxy import FaultProxy

#: Read timeout of library clients under test: generous, since a loaded CI machine is slow;
#: a test of the STALL fault passes a shorter one.
READ_TIMEOUT = 10.0


def settings_at(endpoint: str, *, access_key: str, secret_key: str) -> Settings:
    return resolve_settings(
        endpoint_url=endpoint,
        access_key=access_key,
        secret_key=secret_key,
        env={},
        home=None,
    )


def fast_client(
    endpoint: str, identity: Identity, *, seed: int = 0, read_timeout: float = READ_TIMEOUT
) -> SpacesClient:
    return fast_client_with(
        endpoint,
        access_key=identity.access_key,
        secret_key=identity.secret_key,
        seed=seed,
        read_timeout=read_timeout,
    )


def fast_client_with(
    endpoint: str,
    *,
    access_key: str,
    secret_key: str,
    seed: int = 0,
    read_timeout: float = READ_TIMEOUT,
) -> SpacesClient:
    """A client that retries often and quickly (fresh budget, seeded jitter) and whose pacer
    never slows it by more than 50 ms, so a 10% SlowDown rate costs little time."""
    return SpacesClient(
        settings_at(endpoint, access_key=access_key, secret_key=secret_key),
        transport=HttpTransport(timeouts=Timeouts(connect=5.0, read=read_timeout)),
        retry=RetryPolicy(
            max_attempts=12, base_delay=0.01, max_delay=0.05, rng=random.Random(seed)
        ),
        pacer=Pacer(max_throttle=0.05),
    )


def proxied_cli(cli: Runner, proxy: FaultProxy) -> Runner:
    """The ``spacesync`` command pointed at ``proxy`` instead of the server."""
    return Runner({**cli.env, "SPACES_ENDPOINT": proxy.url}, cli.cwd)


def random_bytes(size: int, *, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def write_tree(root: Path, *, files: int, seed: int, max_size: int = 4096) -> dict[str, bytes]:
    """``files`` small files of seeded sizes and content in a few subdirectories."""
    rng = random.Random(seed)
    made: dict[str, bytes] = {}
    for n in range(files):
        relative = f"d{n % 7}/f{n:05d}.bin"
        data = rng.randbytes(rng.randrange(0, max_size))
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        made[relative] = data
    return made


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (temp files included: a test sees them)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def leftovers(root: Path) -> list[str]:
    """Temporary files of interrupted downloads anywhere under ``root``."""
    return sorted(os.path.relpath(path, root) for path in root.rglob(".*.spacesync-*.part"))


def write_big(path: Path, size: int, *, seed: int) -> str:
    """A file of seeded pseudo-random bytes, written a MiB at a time; returns its MD5."""
    md5 = hashlib.md5()
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    with path.open("wb") as out:
        for n in range(0, size, MiB):
            chunk = (n.to_bytes(8, "big") + block)[: min(MiB, size - n)]
            out.write(chunk)
            md5.update(chunk)
    return md5.hexdigest()


def md5_of(path: Path) -> str:
    md5 = hashlib.md5()
    with path.open("rb") as src:
        while chunk := src.read(MiB):
            md5.update(chunk)
    return md5.hexdigest()
