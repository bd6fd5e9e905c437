"""``spacesync mb`` and ``spacesync rb``: make and remove buckets."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spacesync.cli.commands.rm import report
from spacesync.cli.context import EXIT_FAILED, EXIT_OK, add_verb, describe_error, open_client
from spacesync.client import SpacesClient
from spacesync.engine.delete import BatchDeleter, abort_uploads
from spacesync.engine.scheduler import Scheduler
from spacesync.protocol.endpoint import validate_bucket_name
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    mb = add_verb(
        subparsers,
        parents,
        "mb",
        make_bucket,
        help="make a bucket",
        description="Create a bucket (a Space).\n\n"
        "example:\n  spacesync mb s3://backups --acl private",
    )
    mb.add_argument("url", help="s3://BUCKET")
    mb.add_argument("--acl", choices=["private", "public-read"], help="canned ACL")
    mb.add_argument("--location", help="LocationConstraint (region) for the bucket")
    rb = add_verb(
        subparsers,
        parents,
        "rb",
        remove_bucket,
        help="remove a bucket (--force: empty it first)",
        description="Remove a bucket. It must be empty: S3 refuses with BucketNotEmpty otherwise."
        "\nWith --force, first abort its unfinished multipart uploads and delete every object,"
        "\nversion and delete marker (DeleteObjects batches), then remove it; if anything"
        "\ncannot be deleted, the bucket is kept and the failures are listed."
        "\n\nexamples:\n  spacesync rb s3://old-backups\n  spacesync rb --force s3://old-backups",
    )
    rb.add_argument("url", help="s3://BUCKET")
    rb.add_argument(
        "--force",
        action="store_true",
        help="delete everything in the bucket (objects, versions, uploads) first",
    )


def _bucket_of(url: str) -> str:
    location = parse_s3_url(url)
    validate_bucket_name(location.bucket)
    return location.bucket


async def make_bucket(args: argparse.Namespace) -> int:
    bucket = _bucket_of(args.url)
    async with open_client(args) as client:
        await client.create_bucket(bucket, acl=args.acl, location=args.location)
    print(f"make_bucket: s3://{bucket}")
    return EXIT_OK


async def remove_bucket(args: argparse.Namespace) -> int:
    bucket = _bucket_of(args.url)
    async with open_client(args) as client:
        if args.force and not await _empty(client, bucket):
            print(
                f"spacesync: s3://{bucket} kept: not everything in it could be deleted",
                file=sys.stderr,
            )
            return EXIT_FAILED
        await client.delete_bucket(bucket)
    print(f"remove_bucket: s3://{bucket}")
    return EXIT_OK


async def _empty(client: SpacesClient, bucket: str) -> bool:
    """Abort the uploads, delete every object and version; True when nothing failed."""
    failed = 0
    async for aborted in abort_uploads(client, bucket):
        if aborted.error is None:
            print(f"abort: s3://{bucket}/{aborted.key} (upload {aborted.upload_id})")
        else:
            failed += 1
            print(
                f"failed: s3://{bucket}/{aborted.key} (upload {aborted.upload_id}): "
                f"{describe_error(aborted.error)}",
                file=sys.stderr,
            )
    deleter = BatchDeleter(client=client, scheduler=Scheduler())
    async for outcome in deleter.empty_bucket(bucket):
        failed += not outcome.ok
        report(bucket, outcome)
    return failed == 0
