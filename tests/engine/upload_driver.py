"""Runs one journaled Uploader.upload_file in its own process, for the SIGKILL test.

Usage: upload_driver.py JOURNALS PATH BUCKET KEY PART_DELAY; the endpoint and credentials
come from SPACESYNC_TEST_ENDPOINT / _ACCESS_KEY / _SECRET_KEY. PART_DELAY (seconds) slows
every UploadPart so the test can kill the process mid-way. Prints the TransferResult as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions
from spacesync.engine.upload import Uploader
from spacesync.transport.body import RequestBody


class SlowClient(SpacesClient):
    part_delay = 0.0

    async def upload_part(
        self,
        bucket: str,
        key: str,
        *,
        upload_id: str,
        part_number: int,
        body: RequestBody,
        content_md5: bool = True,
        **options: Any,
    ) -> str:
        await asyncio.sleep(self.part_delay)
        return await super().upload_part(
            bucket,
            key,
            upload_id=upload_id,
            part_number=part_number,
            body=body,
            **options,
            content_md5=content_md5,
        )


async def main(journals: str, path: str, bucket: str, key: str, part_delay: str) -> None:
    settings = resolve_settings(
        endpoint_url=os.environ["SPACESYNC_TEST_ENDPOINT"],
        access_key=os.environ["SPACESYNC_TEST_ACCESS_KEY"],
        secret_key=os.environ["SPACESYNC_TEST_SECRET_KEY"],
        env={},
        home=None,
    )
    client = SlowClient(settings)
    client.part_delay = float(part_delay)
    async with client:
        uploader = Uploader(
            TransferContext(
                client=client,
                scheduler=Scheduler(
                    concurrency=2, puts_per_object=client.profile.max_puts_per_object
                ),
                journals=JournalStore(Path(journals)),
                progress=NoProgress(),
                options=TransferOptions(part_size=5 * MiB, multipart_threshold=5 * MiB),
            )
        )
        result = await uploader.upload_file(Path(path), bucket=bucket, key=key)
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
