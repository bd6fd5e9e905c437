"""``spacesync mb`` and ``spacesync rb``: make and remove buckets."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from spacesync.cli.context import EXIT_OK, add_verb, open_client
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
        help="remove an empty bucket",
        description="Remove a bucket. It must be empty: S3 refuses with BucketNotEmpty otherwise."
        "\n\nexample:\n  spacesync rb s3://old-backups",
    )
    rb.add_argument("url", help="s3://BUCKET")


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
        await client.delete_bucket(bucket)
    print(f"remove_bucket: s3://{bucket}")
    return EXIT_OK
