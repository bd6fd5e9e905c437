"""Server-side copy: CopyObject below the threshold, parallel UploadPartCopy above it.

No byte crosses our link either way; the parts of a large copy run concurrently under
the scheduler's per-object PUT limit, pinned to the source's ETag.
"""

from __future__ import annotations

import contextlib
import time

from spacesync.engine.plan import PartPlan
from spacesync.engine.scheduler import Lease, run_shielded
from spacesync.engine.transfer import TransferContext, TransferResult
from spacesync.errors import IntegrityError, PreconditionFailed, SourceChanged
from spacesync.protocol.headers import Conditions, ObjectAttributes
from spacesync.protocol.model import CompletedPart, ObjectHead


class ServerSideCopier:
    def __init__(self, context: TransferContext) -> None:
        self._context = context

    async def copy(
        self, *, source_bucket: str, source_key: str, bucket: str, key: str
    ) -> TransferResult:
        started = time.monotonic()
        sse = self._context.options.sse
        async with self._context.scheduler.request():
            head = await self._context.client.head_object(source_bucket, source_key, sse=sse)
        pinned = Conditions(if_match=head.etag)
        try:
            if head.size <= self._context.options.copy_threshold:
                async with self._context.scheduler.request(put_object=(bucket, key)):
                    outcome = await self._context.client.copy_object(
                        source_bucket=source_bucket,
                        source_key=source_key,
                        bucket=bucket,
                        key=key,
                        attributes=self._context.options.attributes,
                        conditions=pinned,
                        source_sse=sse,
                        sse=sse,
                    )
                etag = outcome.etag
            else:
                etag = await self._copy_parts(
                    head, source_bucket=source_bucket, source_key=source_key, bucket=bucket, key=key
                )
        except PreconditionFailed as error:
            raise SourceChanged(
                f"s3://{source_bucket}/{source_key} changed during the copy"
            ) from error
        self._context.progress.advance(head.size)
        return TransferResult(
            source=f"s3://{source_bucket}/{source_key}",
            destination=f"s3://{bucket}/{key}",
            size=head.size,
            etag=etag,
            seconds=time.monotonic() - started,
        )

    async def _copy_parts(
        self, head: ObjectHead, *, source_bucket: str, source_key: str, bucket: str, key: str
    ) -> str:
        plan = PartPlan.for_upload(head.size, part_size=self._context.options.copy_part_size)
        attributes = self._context.options.attributes or _attributes_of(head)
        sse = self._context.options.sse
        scheduler = self._context.scheduler
        async with scheduler.request(put_object=(bucket, key)):
            upload_id = await self._context.client.create_multipart_upload(
                bucket, key, attributes=attributes, sse=sse
            )
        pinned = Conditions(if_match=head.etag)
        etags: dict[int, str] = {}
        try:

            async def copy_part(number: int, start: int, end: int, lease: Lease) -> None:
                try:
                    outcome = await self._context.client.upload_part_copy(
                        source_bucket=source_bucket,
                        source_key=source_key,
                        bucket=bucket,
                        key=key,
                        upload_id=upload_id,
                        part_number=number,
                        start=start,
                        end=end,
                        conditions=pinned,
                        source_sse=sse,
                        sse=sse,
                    )
                finally:
                    lease.release()
                etags[number] = outcome.etag

            async with scheduler.tasks() as spawner:
                for part in plan:
                    lease = await scheduler.lease(put_object=(bucket, key))
                    spawner.spawn(copy_part(part.number, part.offset, part.end, lease), lease=lease)
            async with scheduler.request():
                done = await self._context.client.complete_multipart_upload(
                    bucket,
                    key,
                    upload_id=upload_id,
                    parts=[CompletedPart(n, etags[n]) for n in sorted(etags)],
                )
        except BaseException:
            # A copy is cheap to redo, so there is nothing to resume: never leave the upload.
            with contextlib.suppress(Exception):
                await run_shielded(self._abort(bucket, key, upload_id=upload_id))
            raise
        if not done.etag.endswith(f"-{plan.count}"):
            raise IntegrityError(f"copy of {source_key} completed with unexpected ETag {done.etag}")
        return done.etag


    async def _abort(self, bucket: str, key: str, *, upload_id: str) -> None:
        async with self._context.scheduler.request():
            await self._context.client.abort_multipart_upload(bucket, key, upload_id=upload_id)


def _attributes_of(head: ObjectHead) -> ObjectAttributes:
    """UploadPartCopy copies bytes only: carry the source's metadata over explicitly."""
    return ObjectAttributes(
        content_type=head.content_type,
        cache_control=head.cache_control,
        content_disposition=head.content_disposition,
        content_encoding=head.content_encoding,
        metadata=dict(head.metadata),
    )
