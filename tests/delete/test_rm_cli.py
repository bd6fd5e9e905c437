"""``rm``, ``rb --force`` and ``du`` as a user runs them, against the real S3 server."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from spacesync.client import SpacesClient
from spacesync.errors import NotFound
from spacesync.localserver import Identity
from spacesync.protocol.model import ObjectId
from spacesync.settings import list_object_versions, put_versioning
from spacesync.transport.body import BytesBody
from tests.delete.test_deleter import put_many
from tests.support.cli import Runner


def sent(stderr: str, operation: str) -> int:
    """Requests of ``operation`` the CLI sent, from its --debug log (one line per reply)."""
    return len(re.findall(rf"^.*\b{operation} (?:GET|POST|PUT|DELETE|HEAD) ", stderr, re.M))


async def keys_in(client: SpacesClient, bucket: str) -> list[str]:
    return [o.key async for o in client.list_objects(bucket)]


async def test_recursive_rm_of_5000_keys_sends_5_delete_requests(
    cli: Runner, client: SpacesClient, bucket: str
) -> None:
    keys = [f"folder/{i:05}" for i in range(5000)]
    await put_many(client, bucket, [*keys, "folderish", "other/keep"])

    done = await asyncio.to_thread(cli, "--debug", "rm", "--recursive", f"s3://{bucket}/folder")

    assert done.returncode == 0, done.stderr[-2000:]
    assert sent(done.stderr, "DeleteObjects") == 5  # 5,000 keys, 1,000 a request
    assert sent(done.stderr, "ListObjectsV2") == 5
    lines = done.stdout.splitlines()
    assert sorted(lines) == [f"delete: s3://{bucket}/{k}" for k in keys]
    assert "deleted 5000, failed 0" in done.stderr
    assert await keys_in(client, bucket) == ["folderish", "other/keep"]


async def test_per_key_failures_are_listed_and_exit_1(
    cli: Runner, client: SpacesClient, bucket: str, readonly_identity: Identity
) -> None:
    await put_many(client, bucket, ["x/1", "x/2", "x/3"])
    readonly = {
        "SPACES_KEY": readonly_identity.access_key,
        "SPACES_SECRET": readonly_identity.secret_key,
    }
    done = await asyncio.to_thread(cli, "rm", "-r", f"s3://{bucket}/x/", env=readonly)
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if line.startswith("failed: ")]
    assert sorted(failed) == [
        f"failed: s3://{bucket}/x/{n}: AccessDenied: {line.split('AccessDenied: ')[1]}"
        for n, line in zip((1, 2, 3), sorted(failed), strict=True)
    ]
    assert "deleted 0, failed 3" in done.stderr
    assert await keys_in(client, bucket) == ["x/1", "x/2", "x/3"]

    as_json = await asyncio.to_thread(cli, "rm", "-r", "--json", f"s3://{bucket}/x/", env=readonly)
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert as_json.returncode == 1
    assert [(r["key"], r["ok"]) for r in sorted(records, key=lambda r: r["key"])] == [
        ("x/1", False),
        ("x/2", False),
        ("x/3", False),
    ]
    assert all(r["error"].startswith("AccessDenied") for r in records)


async def test_glob_single_key_dry_run_and_quiet(
    cli: Runner, client: SpacesClient, bucket: str
) -> None:
    await put_many(client, bucket, ["logs/a.gz", "logs/b.gz", "logs/c.txt", "logs/d/e.gz", "one"])

    dry = await asyncio.to_thread(cli, "rm", f"s3://{bucket}/logs/*.gz", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"(dry run) delete: s3://{bucket}/logs/a.gz",
        f"(dry run) delete: s3://{bucket}/logs/b.gz",
        f"(dry run) delete: s3://{bucket}/logs/d/e.gz",  # fnmatch's '*' crosses '/', as in cp
    ]
    assert len(await keys_in(client, bucket)) == 5

    glob = await asyncio.to_thread(cli, "rm", f"s3://{bucket}/logs/*.gz", "--quiet")
    assert glob.returncode == 0, glob.stderr
    assert glob.stdout == ""
    assert await keys_in(client, bucket) == ["logs/c.txt", "one"]

    single = await asyncio.to_thread(cli, "rm", f"s3://{bucket}/one")
    assert single.returncode == 0, single.stderr
    assert single.stdout == f"delete: s3://{bucket}/one\n"
    missing = await asyncio.to_thread(cli, "rm", f"s3://{bucket}/one")
    assert missing.returncode == 1
    folder = await asyncio.to_thread(cli, "rm", f"s3://{bucket}/logs/")
    assert folder.returncode == 2 and "--recursive" in folder.stderr
    assert await keys_in(client, bucket) == ["logs/c.txt"]


async def test_rerun_after_a_partial_delete_continues(
    cli: Runner, client: SpacesClient, bucket: str
) -> None:
    keys = [f"t/{i:04}" for i in range(1500)]
    await put_many(client, bucket, keys)
    # What an interruption leaves: the first batch gone, the rest still there.
    await client.delete_objects(bucket, [ObjectId(k) for k in keys[:1000]])
    done = await asyncio.to_thread(cli, "rm", "-r", f"s3://{bucket}/t/")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 500
    assert await keys_in(client, bucket) == []


async def test_all_versions_removes_versions_and_delete_markers(
    cli: Runner, client: SpacesClient, bucket: str
) -> None:
    await put_versioning(client, bucket, "Enabled")
    for body in (b"v1", b"v2"):
        await client.put_object(bucket, "doc/a.txt", BytesBody(body))
    await client.put_object(bucket, "doc/b.txt", BytesBody(b"b"))
    await client.delete_object(bucket, "doc/b.txt")  # leaves a delete marker
    await client.put_object(bucket, "keep.txt", BytesBody(b"k"))
    before = [v async for v in list_object_versions(client, bucket, prefix="doc/")]
    assert len(before) == 4 and sum(v.is_delete_marker for v in before) == 1

    done = await asyncio.to_thread(cli, "rm", "-r", "--all-versions", f"s3://{bucket}/doc/")

    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
    assert all("(version " in line for line in done.stdout.splitlines())
    assert [v async for v in list_object_versions(client, bucket, prefix="doc/")] == []
    assert await keys_in(client, bucket) == ["keep.txt"]


async def test_rb_force_empties_objects_versions_and_uploads(
    cli: Runner, client: SpacesClient, bucket: str
) -> None:
    await put_versioning(client, bucket, "Enabled")
    await put_many(client, bucket, [f"k/{i}" for i in range(30)])
    await client.put_object(bucket, "k/0", BytesBody(b"second version"))
    await client.delete_object(bucket, "k/1")
    upload_id = await client.create_multipart_upload(bucket, "unfinished.bin")

    # SeaweedFS removes a non-empty bucket (no BucketNotEmpty), so what was emptied is
    # checked from the report: every version, the delete marker and the upload.
    done = await asyncio.to_thread(cli, "rb", "--force", f"s3://{bucket}")

    assert done.returncode == 0, done.stderr
    assert f"remove_bucket: s3://{bucket}" in done.stdout
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("abort: ")] == [
        f"abort: s3://{bucket}/unfinished.bin (upload {upload_id})"
    ]
    deleted = [line for line in lines if line.startswith("delete: ")]
    assert len(deleted) == 32  # 30 keys' versions + k/0's second version + k/1's marker
    assert len(set(deleted)) == 32
    with pytest.raises(NotFound):
        await client.head_bucket(bucket)


async def test_rb_force_on_an_unversioned_bucket(
    cli: Runner, client: SpacesClient, bucket: str
) -> None:
    await put_many(client, bucket, [f"u/{i}" for i in range(1200)])
    done = await asyncio.to_thread(cli, "--debug", "rb", "--force", f"s3://{bucket}")
    assert done.returncode == 0, done.stderr[-2000:]
    deleted = {line for line in done.stdout.splitlines() if line.startswith("delete: ")}
    assert len(deleted) == 1200
    assert sent(done.stderr, "DeleteObjects") == 2
    with pytest.raises(NotFound):
        await client.head_bucket(bucket)


async def test_du_counts_objects_and_bytes(cli: Runner, client: SpacesClient, bucket: str) -> None:
    await client.put_object(bucket, "data/a", BytesBody(b"x" * 1000))
    await client.put_object(bucket, "data/sub/b", BytesBody(b"x" * 2048))
    await client.put_object(bucket, "database", BytesBody(b"not in data/"))

    done = await asyncio.to_thread(cli, "du", f"s3://{bucket}/data", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"url": f"s3://{bucket}/data", "objects": 2, "bytes": 3048}

    human = await asyncio.to_thread(cli, "du", f"s3://{bucket}", "-H")
    assert human.stdout == f"3 objects, 3.0 KiB  s3://{bucket}\n"
