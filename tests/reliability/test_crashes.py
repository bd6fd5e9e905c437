"""SIGKILL at seeded random points of `spacesync cp` (upload and download) and `spacesync
sync`, each run again to completion: the destination must be byte identical, with no
temporary file, no open multipart upload and no journal left.

The killed run goes through a fault proxy that only adds latency to part PUTs and GETs, so
the transfer lasts long enough for the kill to land inside it; a point either waits for
N parts journaled or for a seeded delay. Points run a few at a time, each with its own
state directory. CI runs 24 points (20 of cp, 2 + 2 of sync); ``scripts/test --soak``
96 more."""

from __future__ import annotations

import asyncio
import hashlib
import random
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from tests.reliability.helpers import leftovers, md5_of, read_tree, write_big, write_tree
from tests.support.cli import Runner
from tests.support.fault_proxy import Fault, FaultProxy, Rule

SIZE = 20 * MiB + 123
PART_OPTIONS = ("--part-size", "5MiB", "--concurrency", "2", "--quiet")
#: Points in flight at once.
PARALLEL = 4


@dataclass(frozen=True)
class Point:
    """One kill: how it is triggered, and whether the process was still running then."""

    seed: int
    trigger: str
    killed: bool


def slow_proxy(endpoint: str) -> FaultProxy:
    return FaultProxy(
        endpoint,
        latency=0.2,
        rules=[
            Rule(Fault.LATENCY, method="PUT"),
            Rule(Fault.LATENCY, method="GET"),
        ],
    )


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "spacesync", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def kill_somewhere(env: dict[str, str], args: list[str], *, seed: int, state: Path) -> Point:
    """Start the command and SIGKILL it at the point ``seed`` picks."""
    rng = random.Random(seed)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "spacesync", *args, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    journals = JournalStore(state / "spacesync" / "journals")
    if rng.random() < 0.5:
        parts = rng.randrange(0, 3)
        trigger = f"{parts} parts journaled"
        async with asyncio.timeout(60):
            while process.returncode is None:
                summaries = await asyncio.to_thread(journals.summaries)
                if any(summary.parts_done >= parts for summary in summaries):
                    await asyncio.sleep(rng.uniform(0, 0.1))
                    break
                await asyncio.sleep(0.01)
    else:
        delay = rng.uniform(0.3, 1.2)
        trigger = f"after {delay:.2f}s"
        await asyncio.sleep(delay)
    killed = process.returncode is None
    if killed:
        process.send_signal(signal.SIGKILL)
    await process.wait()
    return Point(seed, trigger, killed)


async def assert_clean(
    client: SpacesClient, bucket: str, state: Path, local: Path, *, prefix: str = ""
) -> None:
    """No unfinished upload under ``prefix`` (points running at once each have their own:
    another point's upload may be legitimately in flight), no journal, no temp file."""
    assert [u.key async for u in client.list_multipart_uploads(bucket, prefix=prefix)] == []
    assert JournalStore(state / "spacesync" / "journals").summaries() == []
    assert leftovers(local) == []


async def run_points(seeds: range, point: Callable[[int], Awaitable[Point]]) -> list[Point]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(seed: int) -> Point:
        async with gate:
            return await point(seed)

    points = await asyncio.gather(*(one(seed) for seed in seeds))
    # Nearly every kill must land inside the transfer, or the test proves little.
    assert sum(p.killed for p in points) >= len(points) * 3 // 4, points
    return points


def env_for(cli: Runner, state: Path, endpoint: str | None = None) -> dict[str, str]:
    env = {**cli.env, "XDG_STATE_HOME": str(state)}
    if endpoint is not None:
        env["SPACES_ENDPOINT"] = endpoint
    return env


async def crash_uploads(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path, seeds: range
) -> None:
    source = tmp_path / "source.bin"
    expected = await asyncio.to_thread(write_big, source, SIZE, seed=1)
    proxy = slow_proxy(cli.env["SPACES_ENDPOINT"])

    async def point(seed: int) -> Point:
        state = tmp_path / f"state-{seed}"
        key = f"up/{seed}.bin"
        args = ["cp", str(source), f"s3://{bucket}/{key}", *PART_OPTIONS]
        done = await kill_somewhere(env_for(cli, state, proxy.url), args, seed=seed, state=state)
        code, _, err = await run_cli(env_for(cli, state), *args)
        assert code == 0, (done, err)
        head = await client.head_object(bucket, key)
        assert head.size == SIZE
        return done

    async with proxy.running():
        await run_points(seeds, point)
    for seed in seeds:
        _, stored = await client.get_object(bucket, f"up/{seed}.bin")
        assert hashlib.md5(stored).hexdigest() == expected
        await assert_clean(client, bucket, tmp_path / f"state-{seed}", tmp_path)


async def crash_downloads(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path, seeds: range
) -> None:
    source = tmp_path / "source.bin"
    expected = await asyncio.to_thread(write_big, source, SIZE, seed=2)
    code, _, err = await run_cli(cli.env, "cp", str(source), f"s3://{bucket}/obj", *PART_OPTIONS)
    assert code == 0, err
    proxy = slow_proxy(cli.env["SPACES_ENDPOINT"])

    async def point(seed: int) -> Point:
        state = tmp_path / f"state-{seed}"
        target = tmp_path / f"out-{seed}"
        target.mkdir()
        args = ["cp", f"s3://{bucket}/obj", str(target / "obj.bin"), *PART_OPTIONS]
        done = await kill_somewhere(env_for(cli, state, proxy.url), args, seed=seed, state=state)
        code, _, err = await run_cli(env_for(cli, state), *args)
        assert code == 0, (done, err)
        assert await asyncio.to_thread(md5_of, target / "obj.bin") == expected
        assert sorted(p.name for p in target.iterdir()) == ["obj.bin"]
        await assert_clean(client, bucket, state, target)
        return done

    async with proxy.running():
        await run_points(seeds, point)


async def test_sigkilled_uploads_resume(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    await crash_uploads(cli, client, bucket, tmp_path, range(10))


async def test_sigkilled_downloads_resume(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    await crash_downloads(cli, client, bucket, tmp_path, range(100, 110))


async def crash_syncs(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path, seeds: range
) -> None:
    """Each point syncs a tree (small files and one multipart file) up, killed and rerun,
    then down into a fresh directory, killed and rerun."""
    tree = tmp_path / "tree"
    made = write_tree(tree, files=40, seed=3, max_size=64 * 1024)
    await asyncio.to_thread(write_big, tree / "big.bin", SIZE, seed=3)
    made["big.bin"] = (tree / "big.bin").read_bytes()
    proxy = slow_proxy(cli.env["SPACES_ENDPOINT"])

    async def point(seed: int) -> Point:
        state = tmp_path / f"state-{seed}"
        prefix = f"s3://{bucket}/sync-{seed}/"
        down = tmp_path / f"down-{seed}"
        down.mkdir()
        points: list[Point] = []
        for args in (
            ["sync", str(tree), prefix, *PART_OPTIONS],
            ["sync", prefix, str(down), *PART_OPTIONS],
        ):
            env = env_for(cli, state, proxy.url)
            points.append(await kill_somewhere(env, args, seed=seed, state=state))
            code, _, err = await run_cli(env_for(cli, state), *args)
            assert code == 0, (points, err)
        assert read_tree(down) == made
        await assert_clean(client, bucket, state, down, prefix=f"sync-{seed}/")
        return Point(seed, " / ".join(p.trigger for p in points), all(p.killed for p in points))

    async with proxy.running():
        await run_points(seeds, point)


async def test_sigkilled_syncs_resume(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    await crash_syncs(cli, client, bucket, tmp_path, range(200, 202))


@pytest.mark.soak
async def test_sigkilled_transfers_soak(
    cli: Runner, client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    for name in ("u", "d", "s"):
        (tmp_path / name).mkdir()
    await crash_uploads(cli, client, bucket, tmp_path / "u", range(1000, 1040))
    await crash_downloads(cli, client, bucket, tmp_path / "d", range(2000, 2040))
    await crash_syncs(cli, client, bucket, tmp_path / "s", range(3000, 3016))
