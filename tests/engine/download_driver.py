"""Runs one journaled Downloader.download_file in its own process, for the SIGKILL test.

Usage: download_driver.py JOURNALS DESTINATION BUCKET KEY HOLD_FROM; the endpoint and
credentials come from SPACESYNC_TEST_ENDPOINT / _ACCESS_KEY / _SECRET_KEY. Ranges are 5 MiB,
two at a time. HOLD_FROM > 0 holds every GET from that one on (1-based) after its first body
chunk, so a test can kill the process mid-download without racing it; 0 holds none.
Prints the TransferResult as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from spacesync.client import ObjectStream, SpacesClient
from spacesync.config import resolve_settings
from spacesync.engine.download import Downloader
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions
from spacesync.protocol.headers import Conditions


class HoldingClient(SpacesClient):
    hold_from = 0
    gets = 0

    @asynccontextmanager
    async def open_object(
        self,
        bucket: str,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        conditions: Conditions | None = None,
        **options: Any,
    ) -> AsyncIterator[ObjectStream]:
        self.gets += 1
        held = 0 < self.hold_from <= self.gets
        async with super().open_object(
            bucket, key, start=start, end=end, conditions=conditions, **options
        ) as stream:
            if held:
                chunks = stream.iter_chunks

                async def first_then_hold(size: int = MiB) -> AsyncIterator[bytes]:
                    async for chunk in chunks(size):
                        yield chunk
                        await asyncio.Event().wait()

                stream.iter_chunks = first_then_hold  # type: ignore[method-assign]
            yield stream


async def main(journals: str, destination: str, bucket: str, key: str, hold_from: str) -> None:
    settings = resolve_settings(
        endpoint_url=os.environ["SPACESYNC_TEST_ENDPOINT"],
        access_key=os.environ["SPACESYNC_TEST_ACCESS_KEY"],
        secret_key=os.environ["SPACESYNC_TEST_SECRET_KEY"],
        env={},
        home=None,
    )
    client = HoldingClient(settings)
    client.hold_from = int(hold_from)
    async with client:
        downloader = Downloader(
            TransferContext(
                client=client,
                scheduler=Scheduler(concurrency=2),
                journals=JournalStore(Path(journals)),
                progress=NoProgress(),
                options=TransferOptions(part_size=5 * MiB, multipart_threshold=5 * MiB),
            )
        )
        result = await downloader.download_file(
            bucket=bucket, key=key, destination=Path(destination)
        )
    print(
        json.dumps(
            {
                "size": result.size,
                "etag": result.etag,
                "bytes_transferred": result.bytes_transferred,
                "resumed": result.resumed,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
