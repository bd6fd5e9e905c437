"""Clients and a fresh bucket per test, against the session's real SeaweedFS server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

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


@pytest.fixture
def admin_settings(local_server: LocalServerInfo, admin_identity: Identity) -> Settings:
    return settings_for(local_server, admin_identity)


@pytest.fixture
async def client(admin_settings: Settings) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(admin_settings) as c:
        yield c


@pytest.fixture
async def readonly_client(
    local_server: LocalServerInfo, readonly_identity: Identity
) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(settings_for(local_server, readonly_identity)) as c:
        yield c


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


@pytest.fixture
async def bucket(client: SpacesClient) -> AsyncIterator[str]:
    """A new bucket for this test only, emptied and removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    await client.create_bucket(name)
    yield name
    await empty_bucket(client, name)
