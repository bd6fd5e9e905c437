"""BatchDeleter: batches of at most 1,000 keys, several in flight under scheduler leases,
each key's outcome reported, request-level refusals turned into per-key failures."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from spacesync.client import S3Call, S3Reply, SpacesClient
from spacesync.config import Settings, resolve_settings
from spacesync.engine.delete import BatchDeleter
from spacesync.engine.scheduler import Scheduler
from spacesync.protocol.model import DeleteOutcome, ObjectId
from spacesync.transport.body import BytesBody
from tests.support.scripted_server import Reply, scripted_server

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


class CountingClient(SpacesClient):
    """Counts the requests actually sent, by operation, and the most in flight at once."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: Counter[str] = Counter()
        self.in_flight = 0
        self.peak: Counter[str] = Counter()
        self._live: Counter[str] = Counter()

    async def call(self, call: S3Call, *, error_in_200: bool = False) -> S3Reply:
        self.sent[call.operation] += 1
        self._live[call.operation] += 1
        self.peak[call.operation] = max(self.peak[call.operation], self._live[call.operation])
        try:
            return await super().call(call, error_in_200=error_in_200)
        finally:
            self._live[call.operation] -= 1


async def ids(keys: Iterable[str]) -> AsyncIterator[ObjectId]:
    for key in keys:
        yield ObjectId(key)


async def put_many(client: SpacesClient, bucket: str, keys: list[str]) -> None:
    gate = asyncio.Semaphore(32)

    async def put(key: str) -> None:
        async with gate:
            await client.put_object(bucket, key, BytesBody(key.encode()))

    await asyncio.gather(*(put(k) for k in keys))


async def test_batches_in_flight_are_bounded_by_leases_and_every_key_reported(
    admin_settings: Settings, client: SpacesClient, bucket: str
) -> None:
    keys = [f"d/{i:03}" for i in range(45)]
    await put_many(client, bucket, keys)
    async with CountingClient(admin_settings) as counting:
        deleter = BatchDeleter(client=counting, scheduler=Scheduler(concurrency=3), batch_size=10)
        outcomes = [o async for o in deleter.delete(bucket, ids(keys))]
    assert sorted(o.key for o in outcomes) == keys
    assert all(o.ok for o in outcomes)
    assert counting.sent["DeleteObjects"] == 5  # 45 keys in batches of 10
    assert counting.peak["DeleteObjects"] == 3  # several at once, never past the budget
    assert [o.key async for o in client.list_objects(bucket)] == []


async def test_listing_streams_into_batches_of_1000(
    admin_settings: Settings, client: SpacesClient, bucket: str
) -> None:
    keys = [f"p/{i:04}" for i in range(2500)] + ["q/kept"]
    await put_many(client, bucket, keys)
    async with CountingClient(admin_settings) as counting:
        deleter = BatchDeleter(client=counting, scheduler=Scheduler())

        async def listed() -> AsyncIterator[ObjectId]:
            async for entry in counting.list_objects(bucket, prefix="p/"):
                yield ObjectId(entry.key)

        outcomes = [o async for o in deleter.delete(bucket, listed())]
    assert len(outcomes) == 2500 and all(o.ok for o in outcomes)
    assert counting.sent["DeleteObjects"] == 3
    assert counting.sent["ListObjectsV2"] == 3
    assert [o.key async for o in client.list_objects(bucket)] == ["q/kept"]


def _delete_result(deleted: list[str], failed: dict[str, str]) -> str:
    entries = "".join(f"<Deleted><Key>{k}</Key></Deleted>" for k in deleted) + "".join(
        f"<Error><Key>{k}</Key><Code>{code}</Code><Message>no</Message></Error>"
        for k, code in failed.items()
    )
    return f"<DeleteResult {NS}>{entries}</DeleteResult>"


async def test_per_key_errors_and_refused_batches_become_failed_outcomes(tmp_path: Path) -> None:
    async with scripted_server() as server:
        server.add(
            "POST",
            Reply(200, _delete_result(["a"], {"b": "AccessDenied"})),
            Reply(403, "<Error><Code>AccessDenied</Code><Message>nope</Message></Error>"),
        )
        settings = resolve_settings(
            endpoint_url=server.url, access_key="AK", secret_key="s", env={}, home=tmp_path
        )
        async with SpacesClient(settings) as scripted:
            deleter = BatchDeleter(
                client=scripted, scheduler=Scheduler(concurrency=1), batch_size=2
            )
            outcomes = [o async for o in deleter.delete("b", ids(["a", "b", "c", "d"]))]
    assert outcomes == [
        DeleteOutcome("a"),
        DeleteOutcome("b", error_code="AccessDenied", error_message="no"),
        DeleteOutcome("c", error_code="AccessDenied", error_message="nope"),
        DeleteOutcome("d", error_code="AccessDenied", error_message="nope"),
    ]
    assert [s.method for s in server.seen] == ["POST", "POST"]
