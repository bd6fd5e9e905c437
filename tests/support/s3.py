"""Helpers for tests that talk to the session's real S3 server."""

from __future__ import annotations

import hashlib

from spacesync.client import SpacesClient
from spacesync.config import Settings, resolve_settings
from spacesync.errors import NotFound
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol.model import ObjectId


def settings_for(
    server: LocalServerInfo, identity: Identity, *, secret: str | None = None
) -> Settings:
    return resolve_settings(
        endpoint_url=server.endpoint_url,
        access_key=identity.access_key,
        secret_key=secret if secret is not None else identity.secret_key,
        env={},
        home=None,
    )


async def empty_bucket(client: SpacesClient, bucket: str) -> None:
    """Remove every object and unfinished upload, then the bucket itself."""
    try:
        async for upload in client.list_multipart_uploads(bucket):
            await client.abort_multipart_upload(bucket, upload.key, upload_id=upload.upload_id)
        batch: list[ObjectId] = []
        async for entry in client.list_objects(bucket):
            batch.append(ObjectId(entry.key))
            if len(batch) == 1000:
                await client.delete_objects(bucket, batch, quiet=True)
                batch = []
        if batch:
            await client.delete_objects(bucket, batch, quiet=True)
        await client.delete_bucket(bucket)
    except NotFound:
        pass


def multipart_etag_of(data: bytes, part_size: int) -> str:
    """The ETag S3 gives ``data`` uploaded in ``part_size`` parts, computed here on its own
    (not by the code under test) so that it is an independent oracle."""
    digests = b"".join(
        hashlib.md5(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)
    )
    return f"{hashlib.md5(digests).hexdigest()}-{-(-len(data) // part_size)}"


async def open_upload_keys(client: SpacesClient, bucket: str) -> list[str]:
    """The keys of the bucket's unfinished multipart uploads."""
    return [upload.key async for upload in client.list_multipart_uploads(bucket)]
