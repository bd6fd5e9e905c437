"""Every client operation against the real SeaweedFS server (signatures checked)."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from spacesync.client import SpacesClient
from spacesync.config import Settings
from spacesync.errors import (
    AccessDenied,
    Conflict,
    NotFound,
    NotModified,
    PreconditionFailed,
)
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol.headers import Conditions, ObjectAttributes
from spacesync.protocol.model import CompletedPart, ObjectId
from spacesync.transport.body import BytesBody
from tests.support.s3 import settings_for

MiB = 1024 * 1024


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"


# -- buckets ---------------------------------------------------------------------------


async def test_bucket_lifecycle(client: SpacesClient) -> None:
    name = f"life-{uuid.uuid4().hex[:12]}"
    await client.create_bucket(name, acl="private")
    await client.head_bucket(name)
    assert name in {b.name for b in await client.list_buckets()}
    assert await client.get_bucket_location(name) in (None, "us-east-1")
    await client.put_object(name, "keep", BytesBody(b"x"))
    with pytest.raises(Conflict) as caught:
        await client.delete_bucket(name)
    assert caught.value.code == "BucketNotEmpty"
    await client.delete_object(name, "keep")
    await client.delete_bucket(name)
    with pytest.raises(NotFound):
        await client.head_bucket(name)


async def test_missing_bucket_is_not_found(client: SpacesClient) -> None:
    with pytest.raises(NotFound) as caught:
        await client.list_pages("no-such-bucket-here").__anext__()
    assert caught.value.code == "NoSuchBucket"
    assert caught.value.status == 404


# -- objects ---------------------------------------------------------------------------


async def test_put_head_get_with_attributes(client: SpacesClient, bucket: str) -> None:
    data = b"hello spaces\n" * 1000
    attributes = ObjectAttributes(
        content_type="text/plain",
        cache_control="max-age=60",
        content_disposition='attachment; filename="hello.txt"',
        content_encoding="identity",
        metadata={"origin": "test", "mtime": "1700000000000000000"},
    )
    etag = await client.put_object(bucket, "docs/hello.txt", BytesBody(data), attributes=attributes)
    assert etag == md5_hex(data)
    head = await client.head_object(bucket, "docs/hello.txt")
    assert (head.size, head.etag, head.content_type) == (len(data), etag, "text/plain")
    assert head.cache_control == "max-age=60"
    assert head.content_disposition == 'attachment; filename="hello.txt"'
    assert head.metadata == {"origin": "test", "mtime": "1700000000000000000"}
    assert head.last_modified is not None
    assert abs(head.last_modified - datetime.now(UTC)) < timedelta(minutes=5)
    got_head, body = await client.get_object(bucket, "docs/hello.txt")
    assert body == data
    assert got_head.etag == etag


async def test_empty_object(client: SpacesClient, bucket: str) -> None:
    etag = await client.put_object(bucket, "empty", BytesBody(b""))
    assert etag == md5_hex(b"")
    head, body = await client.get_object(bucket, "empty")
    assert (head.size, body) == (0, b"")


async def test_ranged_get_checks_content_range(client: SpacesClient, bucket: str) -> None:
    data = bytes(range(256)) * 40
    await client.put_object(bucket, "r", BytesBody(data))
    head, part = await client.get_object(bucket, "r", start=100, end=299)
    assert part == data[100:300]
    assert head.size == len(data)
    _, tail = await client.get_object(bucket, "r", start=len(data) - 10)
    assert tail == data[-10:]
    async with client.open_object(bucket, "r", start=5, end=9) as stream:
        assert stream.content_range == (5, 9, len(data))
        assert b"".join([c async for c in stream.iter_chunks()]) == data[5:10]


async def test_streamed_get_in_chunks(client: SpacesClient, bucket: str) -> None:
    data = bytes(range(256)) * (3 * 4096)  # 3 MiB
    await client.put_object(bucket, "big", BytesBody(data))
    async with client.open_object(bucket, "big") as stream:
        chunks = [c async for c in stream.iter_chunks(MiB)]
    assert b"".join(chunks) == data
    assert all(len(c) <= MiB for c in chunks)


async def test_conditional_requests(client: SpacesClient, bucket: str) -> None:
    etag = await client.put_object(bucket, "c", BytesBody(b"v1"))
    head = await client.head_object(bucket, "c", conditions=Conditions(if_match=etag))
    assert head.etag == etag
    with pytest.raises(PreconditionFailed):
        await client.get_object(bucket, "c", conditions=Conditions(if_match="0" * 32))
    with pytest.raises(NotModified):
        await client.get_object(bucket, "c", conditions=Conditions(if_none_match=etag))
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(NotModified):
        await client.get_object(bucket, "c", conditions=Conditions(if_modified_since=later))
    earlier = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(PreconditionFailed):
        await client.get_object(bucket, "c", conditions=Conditions(if_unmodified_since=earlier))
    _, body = await client.get_object(bucket, "c", conditions=Conditions(if_unmodified_since=later))
    assert body == b"v1"


async def test_missing_key(client: SpacesClient, bucket: str) -> None:
    with pytest.raises(NotFound) as get_error:
        await client.get_object(bucket, "nope")
    assert get_error.value.code == "NoSuchKey"
    with pytest.raises(NotFound):
        await client.head_object(bucket, "nope")


async def test_copy_object_keeps_or_replaces_metadata(client: SpacesClient, bucket: str) -> None:
    attrs = ObjectAttributes(content_type="text/plain", metadata={"a": "1"})
    etag = await client.put_object(bucket, "src", BytesBody(b"copy me"), attributes=attrs)
    kept = await client.copy_object(source_bucket=bucket, source_key="src", bucket=bucket, key="k")
    assert kept.etag == etag
    assert (await client.head_object(bucket, "k")).metadata == {"a": "1"}
    await client.copy_object(
        source_bucket=bucket,
        source_key="src",
        bucket=bucket,
        key="r",
        attributes=ObjectAttributes(content_type="text/csv", metadata={"b": "2"}),
    )
    replaced = await client.head_object(bucket, "r")
    assert (replaced.metadata, replaced.content_type) == ({"b": "2"}, "text/csv")
    assert (await client.get_object(bucket, "r"))[1] == b"copy me"


async def test_delete_object_and_batch(client: SpacesClient, bucket: str) -> None:
    for i in range(5):
        await client.put_object(bucket, f"d/{i}", BytesBody(b"x"))
    await client.delete_object(bucket, "d/0")
    outcomes = await client.delete_objects(
        bucket, [ObjectId("d/1"), ObjectId("d/2"), ObjectId("d/missing")]
    )
    assert [o.key for o in outcomes] == ["d/1", "d/2", "d/missing"]
    assert all(o.ok for o in outcomes)
    quiet = await client.delete_objects(bucket, [ObjectId("d/3")], quiet=True)
    assert [(o.key, o.ok) for o in quiet] == [("d/3", True)]
    assert [o.key async for o in client.list_objects(bucket)] == ["d/4"]


# -- listing ---------------------------------------------------------------------------


async def _fill(client: SpacesClient, bucket: str, keys: list[str]) -> None:
    for key in keys:
        await client.put_object(bucket, key, BytesBody(key.encode()))


KEYS = ["a/1", "a/2", "a/b/3", "c", "d/4", "e"]


async def test_list_v2_pages_and_prefixes(client: SpacesClient, bucket: str) -> None:
    await _fill(client, bucket, KEYS)
    pages = [p async for p in client.list_pages(bucket, page_size=2)]
    assert len(pages) == 3
    assert [o.key for p in pages for o in p.objects] == KEYS
    assert [p.is_truncated for p in pages] == [True, True, False]
    top = [p async for p in client.list_pages(bucket, delimiter="/")]
    assert [o.key for p in top for o in p.objects] == ["c", "e"]
    assert [x for p in top for x in p.prefixes] == ["a/", "d/"]
    under_a = [o.key async for o in client.list_objects(bucket, prefix="a/")]
    assert under_a == ["a/1", "a/2", "a/b/3"]
    after = [o.key async for o in client.list_objects(bucket, start_after="a/b/3")]
    assert after == ["c", "d/4", "e"]


async def test_list_v1_markers(admin_settings: Settings, bucket: str) -> None:
    async with SpacesClient(admin_settings, list_api="v1") as v1:
        await _fill(v1, bucket, KEYS)
        pages = [p async for p in v1.list_pages(bucket, page_size=4)]
        assert [o.key for p in pages for o in p.objects] == KEYS
        assert len(pages) == 2
        top = [p async for p in v1.list_pages(bucket, delimiter="/", page_size=1)]
        assert [o.key for p in top for o in p.objects] == ["c", "e"]
        assert [x for p in top for x in p.prefixes] == ["a/", "d/"]


# -- multipart -------------------------------------------------------------------------


async def test_multipart_upload_complete(client: SpacesClient, bucket: str) -> None:
    parts = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"tail"]
    upload_id = await client.create_multipart_upload(
        bucket, "mp/big", attributes=ObjectAttributes(metadata={"kind": "mp"})
    )
    etags = []
    for number, data in enumerate(parts, start=1):
        etag = await client.upload_part(
            bucket, "mp/big", upload_id=upload_id, part_number=number, body=BytesBody(data)
        )
        assert etag == md5_hex(data)
        etags.append(etag)
    listed = await client.list_parts(bucket, "mp/big", upload_id=upload_id)
    assert [(p.part_number, p.etag, p.size) for p in listed] == [
        (i + 1, etags[i], len(parts[i])) for i in range(3)
    ]
    uploads = [u async for u in client.list_multipart_uploads(bucket)]
    assert [(u.key, u.upload_id) for u in uploads] == [("mp/big", upload_id)]
    done = await client.complete_multipart_upload(
        bucket,
        "mp/big",
        upload_id=upload_id,
        parts=[CompletedPart(i + 1, e) for i, e in enumerate(etags)],
    )
    assert done.etag == multipart_etag(parts)
    head, body = await client.get_object(bucket, "mp/big")
    assert body == b"".join(parts)
    assert (head.etag, head.metadata) == (multipart_etag(parts), {"kind": "mp"})
    assert [u async for u in client.list_multipart_uploads(bucket)] == []


async def test_multipart_abort_and_missing_upload(client: SpacesClient, bucket: str) -> None:
    upload_id = await client.create_multipart_upload(bucket, "gone")
    await client.upload_part(
        bucket, "gone", upload_id=upload_id, part_number=1, body=BytesBody(b"x" * 100)
    )
    await client.abort_multipart_upload(bucket, "gone", upload_id=upload_id)
    assert [u async for u in client.list_multipart_uploads(bucket)] == []
    with pytest.raises(NotFound) as caught:
        await client.list_parts(bucket, "gone", upload_id=upload_id)
    assert caught.value.code == "NoSuchUpload"


async def test_upload_part_copy(client: SpacesClient, bucket: str) -> None:
    source = bytes(range(256)) * (24 * 1024)  # 6 MiB
    await client.put_object(bucket, "copy-src", BytesBody(source))
    upload_id = await client.create_multipart_upload(bucket, "copy-dst")
    first = await client.upload_part_copy(
        source_bucket=bucket,
        source_key="copy-src",
        bucket=bucket,
        key="copy-dst",
        upload_id=upload_id,
        part_number=1,
        start=0,
        end=5 * MiB - 1,
    )
    second = await client.upload_part_copy(
        source_bucket=bucket,
        source_key="copy-src",
        bucket=bucket,
        key="copy-dst",
        upload_id=upload_id,
        part_number=2,
        start=5 * MiB,
        end=len(source) - 1,
    )
    await client.complete_multipart_upload(
        bucket,
        "copy-dst",
        upload_id=upload_id,
        parts=[CompletedPart(1, first.etag), CompletedPart(2, second.etag)],
    )
    assert (await client.get_object(bucket, "copy-dst"))[1] == source


# -- credentials, clock, presigning --------------------------------------------------


async def test_wrong_secret_is_signature_mismatch(
    local_server: LocalServerInfo, admin_identity: Identity
) -> None:
    settings = settings_for(local_server, admin_identity, secret="not-the-secret")
    async with SpacesClient(settings) as wrong:
        with pytest.raises(AccessDenied) as caught:
            await wrong.list_buckets()
    assert caught.value.code == "SignatureDoesNotMatch"
    assert "not-the-secret" not in str(caught.value)


async def test_readonly_identity_cannot_write(
    client: SpacesClient, readonly_client: SpacesClient, bucket: str
) -> None:
    await client.put_object(bucket, "ro", BytesBody(b"data"))
    assert (await readonly_client.get_object(bucket, "ro"))[1] == b"data"
    with pytest.raises(AccessDenied) as caught:
        await readonly_client.put_object(bucket, "ro2", BytesBody(b"data"))
    assert caught.value.code == "AccessDenied"


async def test_clock_skew_is_corrected_from_the_server(
    admin_settings: Settings, bucket: str
) -> None:
    async with SpacesClient(admin_settings, wall_clock=lambda: time.time() - 3600) as skewed:
        await skewed.put_object(bucket, "skew", BytesBody(b"on time"))
        assert abs(skewed.clock_offset - 3600) < 120
    async with SpacesClient(admin_settings) as normal:
        assert (await normal.get_object(bucket, "skew"))[1] == b"on time"


async def test_presigned_get_and_put(client: SpacesClient, bucket: str) -> None:
    await client.put_object(bucket, "shared file.txt", BytesBody(b"for you"))
    get_url = client.presign(bucket, "shared file.txt", expires=300)
    put_url = client.presign(bucket, "upload.bin", method="PUT", expires=300)
    async with aiohttp.ClientSession() as http:
        async with http.get(get_url) as reply:
            assert reply.status == 200
            assert await reply.read() == b"for you"
        async with http.put(put_url, data=b"via presign") as reply:
            assert reply.status == 200
    assert (await client.get_object(bucket, "upload.bin"))[1] == b"via presign"
