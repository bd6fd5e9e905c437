"""The harness's own S3 work (buckets, seeding keys, listings, cleanup), never timed.

It goes through spacesync's library client so it needs no tool under test; every call
is a short ``asyncio.run`` with its own connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from benchmarks.tools import Endpoint
from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.errors import Conflict, NotFound
from spacesync.protocol.model import ObjectId, ObjectInfo
from spacesync.transport.body import BytesBody

T = TypeVar("T")


class S3Admin:
    def __init__(self, endpoint: Endpoint, *, concurrency: int = 64) -> None:
        self.settings = resolve_settings(
            endpoint_url=endpoint.url,
            access_key=endpoint.access_key,
            secret_key=endpoint.secret_key,
            addressing="path",
            env={},
        )
        self.concurrency = concurrency

    def _run(self, work: Callable[[SpacesClient], Awaitable[T]]) -> T:
        async def main() -> T:
            async with SpacesClient(self.settings) as client:
                return await work(client)

        return asyncio.run(main())

    def make_bucket(self, bucket: str) -> None:
        async def work(client: SpacesClient) -> None:
            with contextlib.suppress(Conflict):
                await client.create_bucket(bucket)

        self._run(work)

    def put_many(self, bucket: str, items: Iterable[tuple[str, bytes]]) -> None:
        """PUT many small objects concurrently."""
        pending = list(items)

        async def work(client: SpacesClient) -> None:
            limit = asyncio.Semaphore(self.concurrency)

            async def put(key: str, data: bytes) -> None:
                async with limit:
                    await client.put_object(bucket, key, BytesBody(data))

            await asyncio.gather(*(put(k, d) for k, d in pending))

        self._run(work)

    def listing(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        async def work(client: SpacesClient) -> list[ObjectInfo]:
            return [o async for o in client.list_objects(bucket, prefix=prefix)]

        return self._run(work)

    def delete_prefix(self, bucket: str, prefix: str = "") -> None:
        async def work(client: SpacesClient) -> None:
            keys = [o.key async for o in client.list_objects(bucket, prefix=prefix)]
            batches = [keys[i : i + 1000] for i in range(0, len(keys), 1000)]
            await asyncio.gather(
                *(client.delete_objects(bucket, [ObjectId(k) for k in b], quiet=True)
                  for b in batches)
            )

        self._run(work)

    def drop_bucket(self, bucket: str) -> None:
        """Empty the bucket (objects and unfinished uploads) and remove it; frees its volumes."""

        async def work(client: SpacesClient) -> None:
            try:
                while True:
                    keys = [o.key async for o in client.list_objects(bucket)]
                    if not keys:
                        break
                    batches = [keys[i : i + 1000] for i in range(0, len(keys), 1000)]
                    await asyncio.gather(
                        *(client.delete_objects(bucket, [ObjectId(k) for k in b], quiet=True)
                          for b in batches)
                    )
                uploads = [u async for u in client.list_multipart_uploads(bucket)]
                for upload in uploads:
                    await client.abort_multipart_upload(
                        bucket, upload.key, upload_id=upload.upload_id
                    )
                await client.delete_bucket(bucket)
            except NotFound:
                pass

        self._run(work)

