"""The copy job: expansion of files, directories, globs and prefixes, and its safety rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.engine.job import CopyJob, Refused, RemoteSource, local_path_for
from spacesync.engine.scheduler import Scheduler
from spacesync.engine.transfer import NoProgress, TransferContext, TransferOptions, TransferResult
from spacesync.errors import ConfigError, UnsafeKey
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol.model import ObjectInfo
from spacesync.transport.body import BytesBody
from spacesync.urls import S3Location

from ..support.fault_proxy import FaultProxy

MiB = 1024 * 1024


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/abs/path",
        "a/../../b",
        "a/./b",
        "a//b",
        "back\\slash",
        "nul\x00byte",
        "..",
        "trailing/..",
    ],
)
def test_keys_that_could_escape_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(UnsafeKey) as caught:
        local_path_for(tmp_path, key)
    assert "refusing key" in str(caught.value)


def test_ordinary_keys_land_under_the_root(tmp_path: Path) -> None:
    assert local_path_for(tmp_path, "a/b c/é.txt") == tmp_path / "a" / "b c" / "é.txt"
    assert local_path_for(tmp_path, "folder/") == tmp_path / "folder"
    assert local_path_for(tmp_path, "...hidden") == tmp_path / "...hidden"


def make_job(client: SpacesClient, **options: int) -> CopyJob:
    return CopyJob(
        TransferContext(
            client=client,
            scheduler=Scheduler(concurrency=8, max_memory=64 * MiB),
            journals=None,
            progress=NoProgress(),
            options=TransferOptions(part_size=5 * MiB, multipart_threshold=5 * MiB, **options),
        )
    )


async def run_job(
    job: CopyJob,
    source: Path | S3Location,
    destination: Path | S3Location,
    *,
    recursive: bool = False,
) -> list[TransferResult]:
    results: list[TransferResult] = []
    items = job.plan(source, destination, recursive=recursive)
    summary = await job.run(items, on_result=results.append)
    assert summary.files == len(results)
    assert summary.failed == len([r for r in results if not r.ok])
    return results


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha",
        "sub/b.log": b"bravo" * 1000,
        "sub/deeper/c.log": os.urandom(6 * MiB + 3),
        "sub/deeper/empty": b"",
        "unicodé/ñ.txt": "ñ".encode(),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


async def test_recursive_up_and_down_round_trip(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    files = make_tree(tmp_path / "src")
    job = make_job(client)
    up = await run_job(job, tmp_path / "src", S3Location(bucket, "backup/"), recursive=True)
    assert all(r.ok for r in up), [r.error for r in up]
    keys = sorted([o.key async for o in client.list_objects(bucket)])
    assert keys == sorted(f"backup/{name}" for name in files)

    down = await run_job(job, S3Location(bucket, "backup"), tmp_path / "back", recursive=True)
    assert all(r.ok for r in down), [r.error for r in down]
    for name, data in files.items():
        assert (tmp_path / "back" / name).read_bytes() == data
    leftovers = [p for p in (tmp_path / "back").rglob("*") if ".spacesync" in p.name]
    assert leftovers == []


async def test_downloads_take_size_and_etag_from_the_listing(
    client: SpacesClient,
    bucket: str,
    tmp_path: Path,
    local_server: LocalServerInfo,
    admin_identity: Identity,
) -> None:
    """Recursive or a single object, the download asks nothing the listing (or the single
    object's HEAD) already told: per object one GET, or its ranges, and no HEAD."""
    files = {f"d/{n}/f": os.urandom(1000 * n) for n in range(4)} | {"d/big": os.urandom(6 * MiB)}
    for key, data in files.items():
        await client.put_object(bucket, key, BytesBody(data))
    proxy = FaultProxy(local_server.endpoint_url)
    async with proxy.running():
        settings = resolve_settings(
            endpoint_url=proxy.url,
            access_key=admin_identity.access_key,
            secret_key=admin_identity.secret_key,
            env={},
            home=None,
        )
        async with SpacesClient(settings) as proxied:
            job = make_job(proxied)
            down = await run_job(job, S3Location(bucket, "d"), tmp_path / "down", recursive=True)
            one = await run_job(job, S3Location(bucket, "d/big"), tmp_path / "one")

    assert all(r.ok for r in down + one), [r.error for r in down + one]
    for key, data in files.items():
        assert (tmp_path / "down" / key.removeprefix("d/")).read_bytes() == data
    assert (tmp_path / "one").read_bytes() == files["d/big"]
    assert proxy.count(method="HEAD") == 1  # the single object's, made by the expansion
    object_gets = [seen for seen in proxy.matching(method="GET") if "list-type" not in seen.path_qs]
    assert len(object_gets) == 4 + 2 + 2  # small files, then d/big's two ranges, twice


async def test_directory_without_recursive_is_refused(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path / "src")
    with pytest.raises(ConfigError, match="--recursive"):
        await run_job(make_job(client), tmp_path / "src", S3Location(bucket, "x/"))


async def test_globs_on_both_sides(client: SpacesClient, bucket: str, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    job = make_job(client)
    up = await run_job(job, tmp_path / "src" / "sub" / "*.log", S3Location(bucket, "logs/"))
    assert [r.destination for r in up] == [f"s3://{bucket}/logs/b.log"]
    await client.put_object(bucket, "logs/x/y.log", BytesBody(b"y"))
    await client.put_object(bucket, "logs/z.txt", BytesBody(b"z"))
    down = await run_job(job, S3Location(bucket, "logs/*.log"), tmp_path / "out")
    assert sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.log")
    ) == [
        "b.log",
        "x/y.log",
    ]
    assert all(r.ok for r in down)
    with pytest.raises(ConfigError, match="no object matches"):
        await run_job(job, S3Location(bucket, "nothing/*.gz"), tmp_path / "out")


async def test_folder_objects_become_directories(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    await client.put_object(bucket, "tree/empty-folder/", BytesBody(b""))
    await client.put_object(bucket, "tree/file", BytesBody(b"f"))
    results = await run_job(
        make_job(client), S3Location(bucket, "tree/"), tmp_path / "t", recursive=True
    )
    assert all(r.ok for r in results)
    assert (tmp_path / "t" / "empty-folder").is_dir()
    assert (tmp_path / "t" / "file").read_bytes() == b"f"


async def test_server_side_copies_small_and_multipart(client: SpacesClient, bucket: str) -> None:
    small = b"small" * 10
    big = os.urandom(11 * MiB)
    await client.put_object(bucket, "src/small", BytesBody(small))
    await client.put_object(bucket, "src/big", BytesBody(big))
    # A lowered threshold exercises the > 5 GiB path (parallel UploadPartCopy).
    job = make_job(client, copy_threshold=5 * MiB, copy_part_size=5 * MiB)
    results = await run_job(
        job, S3Location(bucket, "src/"), S3Location(bucket, "dst/"), recursive=True
    )
    assert all(r.ok for r in results), [r.error for r in results]
    assert (await client.get_object(bucket, "dst/small"))[1] == small
    head, copied = await client.get_object(bucket, "dst/big")
    assert copied == big
    assert head.etag.endswith("-3")
    assert [u async for u in client.list_multipart_uploads(bucket)] == []


async def test_one_failure_does_not_stop_the_job(
    client: SpacesClient, bucket: str, tmp_path: Path
) -> None:
    await client.put_object(bucket, "p/ok", BytesBody(b"ok"))
    await client.put_object(bucket, "p/also-ok", BytesBody(b"ok"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ok").mkdir()  # a directory where the file should go
    results = await run_job(
        make_job(client), S3Location(bucket, "p/"), tmp_path / "out", recursive=True
    )
    by_source = {r.source: r for r in results}
    assert by_source[f"s3://{bucket}/p/also-ok"].ok
    assert not by_source[f"s3://{bucket}/p/ok"].ok
    assert (tmp_path / "out" / "also-ok").read_bytes() == b"ok"


def test_refused_items_are_reported_not_followed(tmp_path: Path) -> None:
    job = CopyJob.__new__(CopyJob)
    entry = ObjectInfo("../../etc/passwd", 5, "etag", None)
    found = RemoteSource(entry.key, entry.key, entry)
    item = job._download_item("b", found, tmp_path, many=True)
    assert isinstance(item, Refused)
    assert isinstance(item.error, UnsafeKey)
