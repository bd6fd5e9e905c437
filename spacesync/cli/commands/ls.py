"""``spacesync ls``: buckets, or objects and "folders" under a prefix."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from spacesync.cli.context import EXIT_OK, add_verb, emit_json, human_size, open_client
from spacesync.client import SpacesClient
from spacesync.settings import version_pages
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "ls",
        run,
        help="list buckets, or objects under s3://BUCKET[/PREFIX]",
        description="List buckets (no argument), or the objects and folders under a prefix.\n"
        "Without --recursive, keys below the next '/' are shown as folders (PRE).\n\n"
        "examples:\n  spacesync ls\n  spacesync ls s3://backups/2026/ --recursive --human",
    )
    parser.add_argument("url", nargs="?", help="s3://BUCKET[/PREFIX]")
    parser.add_argument("-r", "--recursive", action="store_true", help="list every key below")
    parser.add_argument("-H", "--human", action="store_true", help="sizes in KiB/MiB/GiB")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--versions",
        action="store_true",
        help="list every version and delete marker (ListObjectVersions), newest first",
    )


async def run(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        if args.url is None:
            await _buckets(client, as_json=args.json)
        elif args.versions:
            await _versions(client, args)
        else:
            await _objects(client, args)
    return EXIT_OK


async def _buckets(client: SpacesClient, *, as_json: bool) -> None:
    for bucket in await client.list_buckets():
        if as_json:
            emit_json({"type": "bucket", "name": bucket.name, "created": bucket.created})
        else:
            created = bucket.created.strftime("%Y-%m-%d %H:%M:%S") if bucket.created else "-"
            print(f"{created}  s3://{bucket.name}")


async def _objects(client: SpacesClient, args: argparse.Namespace) -> None:
    location = parse_s3_url(args.url)
    delimiter = None if args.recursive else "/"
    async for page in client.list_pages(location.bucket, prefix=location.key, delimiter=delimiter):
        for prefix in page.prefixes:
            if args.json:
                emit_json(
                    {"type": "prefix", "key": prefix, "url": f"s3://{location.bucket}/{prefix}"}
                )
            else:
                print(f"{'PRE':>30}  {prefix}")
        for entry in page.objects:
            if args.json:
                emit_json(
                    {
                        "type": "object",
                        "key": entry.key,
                        "size": entry.size,
                        "etag": entry.etag,
                        "last_modified": entry.last_modified,
                        "storage_class": entry.storage_class,
                    }
                )
            else:
                when = (
                    entry.last_modified.strftime("%Y-%m-%d %H:%M:%S")
                    if entry.last_modified
                    else "-"
                )
                size = human_size(entry.size) if args.human else str(entry.size)
                print(f"{when} {size:>10}  {entry.key}")


async def _versions(client: SpacesClient, args: argparse.Namespace) -> None:
    location = parse_s3_url(args.url)
    delimiter = None if args.recursive else "/"
    async for page in version_pages(
        client, location.bucket, prefix=location.key, delimiter=delimiter
    ):
        for prefix in page.prefixes:
            if args.json:
                emit_json({"type": "prefix", "key": prefix})
            else:
                print(f"{'PRE':>30}  {prefix}")
        for version in page.versions:
            if args.json:
                emit_json(
                    {
                        "type": "delete-marker" if version.is_delete_marker else "version",
                        "key": version.key,
                        "version_id": version.version_id,
                        "is_latest": version.is_latest,
                        "size": version.size,
                        "etag": version.etag,
                        "last_modified": version.last_modified,
                    }
                )
                continue
            when = (
                version.last_modified.strftime("%Y-%m-%d %H:%M:%S")
                if version.last_modified
                else "-"
            )
            if version.is_delete_marker:
                size = "DELETED"
            else:
                size = human_size(version.size or 0) if args.human else str(version.size)
            latest = "*" if version.is_latest else " "
            print(f"{when} {size:>10} {latest} {version.version_id}  {version.key}")
