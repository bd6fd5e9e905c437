"""Applied, but the reply was lost: the server did the work, the connection died before its
answer. Each operation must end as if the reply had come, with nothing left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spacesync.client import SpacesClient
from spacesync.engine.copy import ServerSideCopier
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import MiB
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions
from spacesync.engine.upload import Uploader
from spacesync.protocol.model import ObjectId
from spacesync.transport.body import BytesBody
from tests.reliability.conftest import Proxied
from tests.reliability.helpers import md5_hex, random_bytes
from tests.support.fault_proxy import Fault, FaultProxy, Rule
from tests.support.s3 import multipart_etag_of, open_upload_keys

PART = 5 * MiB
OPTIONS = TransferOptions(part_size=PART, multipart_threshold=PART, copy_part_size=PART)


def uploader(client: SpacesClient, journals: JournalStore) -> Uploader:
    return Uploader(
        TransferContext(
            client=client,
            scheduler=Scheduler(concurrency=4, puts_per_object=client.profile.max_puts_per_object),
            journals=journals,
            progress=NoProgress(),
            options=OPTIONS,
        )
    )


async def upload_with_complete_lost(
    proxy: FaultProxy, client: SpacesClient, bucket: str, tmp_path: Path
) -> tuple[bytes, str, JournalStore]:
    """A 3½-part upload whose first CompleteMultipartUpload is applied but not answered."""
    data = random_bytes(3 * PART + 1234, seed=1)
    (tmp_path / "src").write_bytes(data)
    journals = JournalStore(tmp_path / "journals")
    complete = Rule(Fault.RESET_AFTER, method="POST", query="uploadId=", times=1)
    proxy.rules.append(complete)
    source = tmp_path / "src"
    result = await uploader(client, journals).upload_file(source, bucket=bucket, key="big")
    assert complete.fired == 1
    assert result.etag == multipart_etag_of(data, PART)
    return data, result.etag, journals


def server_side_copier(client: SpacesClient, options: TransferOptions) -> ServerSideCopier:
    context = TransferContext(
        client=client, scheduler=Scheduler(), journals=None, progress=NoProgress(), options=options
    )
    return ServerSideCopier(context)


async def test_complete_applied_and_completed_again(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    """SeaweedFS answers a second Complete of a completed upload with success again."""
    proxy = new_proxy()
    async with through(proxy) as proxied:
        data, etag, journals = await upload_with_complete_lost(proxy, proxied, bucket, tmp_path)
    completes = proxy.matching(method="POST", query="uploadId=")
    assert [seen.upstream_status for seen in completes] == [200, 200]
    head, stored = await client.get_object(bucket, "big")
    assert stored == data and head.etag == etag
    assert await open_upload_keys(client, bucket) == []
    assert journals.summaries() == []


async def test_complete_applied_then_no_such_upload_is_success(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    """S3 answers the retried Complete NoSuchUpload (scripted here): the uploader checks
    the object's size and ETag with a HEAD and calls it done."""
    retried = Rule(Fault.NO_SUCH_UPLOAD, method="POST", query="uploadId=", skip=1, times=1)
    proxy = new_proxy(rules=[retried])
    async with through(proxy) as proxied:
        data, etag, journals = await upload_with_complete_lost(proxy, proxied, bucket, tmp_path)
    assert retried.fired == 1
    assert [seen.fault for seen in proxy.matching(method="POST", query="uploadId=")] == [
        Fault.RESET_AFTER,
        Fault.NO_SUCH_UPLOAD,
    ]
    assert proxy.count(method="HEAD") == 1
    head, stored = await client.get_object(bucket, "big")
    assert stored == data and head.etag == etag
    assert await open_upload_keys(client, bucket) == []
    assert journals.summaries() == []


async def test_create_applied_leaves_no_orphan(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    """CreateMultipartUpload is not idempotent: a lost reply must not orphan the upload
    the server made."""
    data = random_bytes(2 * PART + 1, seed=2)
    (tmp_path / "src").write_bytes(data)
    journals = JournalStore(tmp_path / "journals")
    create = Rule(Fault.RESET_AFTER, method="POST", query="uploads", times=1)
    proxy = new_proxy(rules=[create])
    async with through(proxy) as proxied:
        result = await uploader(proxied, journals).upload_file(
            tmp_path / "src", bucket=bucket, key="k"
        )
    assert create.fired == 1
    # The upload the lost reply hid was found and aborted before the retry.
    assert proxy.count(method="DELETE", query="uploadId=") == 1
    assert result.etag == multipart_etag_of(data, PART)
    assert (await client.get_object(bucket, "k"))[1] == data
    assert await open_upload_keys(client, bucket) == []
    assert journals.summaries() == []


async def test_upload_part_applied_is_sent_again(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    data = random_bytes(2 * PART + 1, seed=3)
    (tmp_path / "src").write_bytes(data)
    journals = JournalStore(tmp_path / "journals")
    part = Rule(Fault.RESET_AFTER, method="PUT", query="partNumber=2", times=1)
    proxy = new_proxy(rules=[part])
    async with through(proxy) as proxied:
        result = await uploader(proxied, journals).upload_file(
            tmp_path / "src", bucket=bucket, key="k"
        )
    assert part.fired == 1
    assert proxy.count(method="PUT", query="partNumber=2&") == 2
    assert result.bytes_transferred == len(data)  # progress counts the part once
    assert (await client.get_object(bucket, "k"))[1] == data
    assert await open_upload_keys(client, bucket) == []


async def test_put_object_applied_is_retried(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    data = random_bytes(100_000, seed=4)
    (tmp_path / "small").write_bytes(data)
    put = Rule(Fault.RESET_AFTER, method="PUT", times=1)
    proxy = new_proxy(rules=[put])
    async with through(proxy) as proxied:
        result = await uploader(proxied, JournalStore(tmp_path / "j")).upload_file(
            tmp_path / "small", bucket=bucket, key="small"
        )
    assert put.fired == 1 and proxy.count(method="PUT") == 2
    assert result.etag == md5_hex(data)
    assert (await client.get_object(bucket, "small"))[1] == data


async def test_copy_object_applied_is_retried(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
) -> None:
    data = random_bytes(50_000, seed=5)
    await client.put_object(bucket, "src", BytesBody(data))
    copy = Rule(Fault.RESET_AFTER, method="PUT", times=1)
    proxy = new_proxy(rules=[copy])
    async with through(proxy) as proxied:
        copier = server_side_copier(proxied, OPTIONS)
        result = await copier.copy(source_bucket=bucket, source_key="src", bucket=bucket, key="dst")
    assert copy.fired == 1 and proxy.count(method="PUT") == 2
    assert result.etag == md5_hex(data)
    assert (await client.get_object(bucket, "dst"))[1] == data


async def test_multipart_copy_with_lost_replies(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
) -> None:
    """UploadPartCopy and the Complete of a parallel copy, each answered into the void."""
    data = random_bytes(2 * PART + 7, seed=6)
    await client.put_object(bucket, "src", BytesBody(data))
    rules = [
        Rule(Fault.RESET_AFTER, method="PUT", query="partNumber=1&", times=1),
        Rule(Fault.RESET_AFTER, method="POST", query="uploadId=", times=1),
    ]
    proxy = new_proxy(rules=rules)
    options = TransferOptions(part_size=PART, copy_threshold=PART, copy_part_size=PART)
    async with through(proxy) as proxied:
        copier = server_side_copier(proxied, options)
        await copier.copy(source_bucket=bucket, source_key="src", bucket=bucket, key="dst")
    assert [rule.fired for rule in rules] == [1, 1]
    assert (await client.get_object(bucket, "dst"))[1] == data
    assert await open_upload_keys(client, bucket) == []


async def test_delete_objects_applied_is_retried(
    new_proxy: Callable[..., FaultProxy],
    through: Proxied,
    client: SpacesClient,
    bucket: str,
) -> None:
    keys = [f"k{n:03d}" for n in range(50)]
    for key in keys:
        await client.put_object(bucket, key, BytesBody(key.encode()))
    delete = Rule(Fault.RESET_AFTER, method="POST", query="delete", times=1)
    proxy = new_proxy(rules=[delete])
    async with through(proxy) as proxied:
        outcomes = await proxied.delete_objects(bucket, [ObjectId(k) for k in keys], quiet=True)
    assert delete.fired == 1 and proxy.count(method="POST", query="delete") == 2
    assert [o.key for o in outcomes] == keys
    assert all(o.error_code is None for o in outcomes)
    assert [entry.key async for entry in client.list_objects(bucket)] == []
