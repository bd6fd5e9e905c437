"""Running a sync in-process against the test server, and watching what it does."""

from __future__ import annotations

import asyncio
import builtins
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from spacesync.client import S3Call, SpacesClient
from spacesync.engine.checksum_cache import ChecksumCache
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.sync import Syncer, SyncEvent, SyncOptions, SyncPlanner, SyncSummary, describe
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions
from spacesync.urls import S3Location

TRANSFER = TransferOptions(part_size=5 * MiB, multipart_threshold=5 * MiB, resumable=False)


@dataclass
class Outcome:
    events: list[SyncEvent]
    summary: SyncSummary

    def actions(self) -> dict[str, set[str]]:
        """action → {source or destination basename-relative text}"""
        found: dict[str, set[str]] = {}
        for event in self.events:
            found.setdefault(event.action, set()).add(event.destination or event.source)
        return found


async def run_sync(
    client: SpacesClient,
    source: Path | S3Location,
    destination: Path | S3Location,
    *,
    state: Path,
    dry_run: bool = False,
    concurrency: int = 16,
    **options: Any,
) -> Outcome:
    """One sync with its own cache in ``state``, as the CLI runs it."""
    cache = await asyncio.to_thread(ChecksumCache.open, state)
    try:
        planner = SyncPlanner(
            client=client,
            cache=cache,
            options=SyncOptions(**options),
            transfer=TRANSFER,
            source=source,
            destination=destination,
        )
        if dry_run:
            planned = [describe(action) async for action in planner.plan()]
            return Outcome(planned, SyncSummary(actions=len(planned)))
        syncer = Syncer(
            TransferContext(
                client=client,
                scheduler=Scheduler(concurrency=concurrency, max_memory=64 * MiB),
                journals=None,
                progress=NoProgress(),
                options=TRANSFER,
            ),
            cache=cache,
            sync_options=SyncOptions(**options),
        )
        events: list[SyncEvent] = []
        summary = await syncer.run(planner.plan(), on_event=events.append)
        return Outcome(events, summary)
    finally:
        await asyncio.to_thread(cache.close)


@dataclass
class Requests:
    operations: list[str] = field(default_factory=list)


def count_requests(client: SpacesClient, monkeypatch: pytest.MonkeyPatch) -> Requests:
    """Every request the client sends, by S3 operation name (all go through _exchange)."""
    seen = Requests()
    original: Callable[[S3Call], AbstractAsyncContextManager[Any]] = client._exchange

    def exchange(call: S3Call) -> AbstractAsyncContextManager[Any]:
        seen.operations.append(call.operation)
        return original(call)

    monkeypatch.setattr(client, "_exchange", exchange)
    return seen


@contextmanager
def count_opens(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Paths below ``root`` opened by any means Python code here reads files with."""
    opened: list[str] = []
    prefix = os.path.abspath(root) + os.sep
    real_open, real_os_open = builtins.open, os.open

    def watch(path: Any) -> None:
        if isinstance(path, str | Path) and os.path.abspath(path).startswith(prefix):
            opened.append(str(path))

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        watch(file)
        return real_open(file, *args, **kwargs)

    def fake_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        watch(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    yield opened


async def remote_tree(client: SpacesClient, bucket: str, prefix: str = "") -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    async for entry in client.list_objects(bucket, prefix=prefix):
        _, body = await client.get_object(bucket, entry.key)
        found[entry.key[len(prefix) :]] = body
    return found


def local_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


async def aiter_list(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]
