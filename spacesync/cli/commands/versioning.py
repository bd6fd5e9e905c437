"""``spacesync versioning get|enable|suspend|restore``: bucket versioning, and bringing an
earlier version back."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, emit_json, open_client
from spacesync.cli.settings_support import (
    Parents,
    Subparsers,
    action,
    bucket_of,
    object_of,
    verb_group,
)


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "versioning",
        help="show or change bucket versioning; restore an earlier version",
        description="Versioning keeps every version of every key. List versions with "
        "`spacesync ls --versions`.\n\nexamples:\n"
        "  spacesync versioning enable s3://backups\n"
        "  spacesync versioning restore s3://backups/db.sql --version-id 3HL4kqtJlcpXroDTDmJ",
    )
    for name, command, text in (
        ("get", get_versioning, "print the state: Enabled, Suspended or never-enabled"),
        ("enable", enable, "turn versioning on"),
        ("suspend", suspend, "stop making new versions (old ones are kept)"),
    ):
        action(actions, parents, name, command, help=text).add_argument("url", help="s3://BUCKET")
    restore = action(
        actions,
        parents,
        "restore",
        restore_version,
        help="make an earlier version current again (server-side copy)",
    )
    restore.add_argument("url", help="s3://BUCKET/KEY")
    restore.add_argument("--version-id", required=True, help="the version to bring back")


async def get_versioning(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        status = await ops.get_versioning(client, bucket)
    emit_json({"bucket": bucket, "versioning": status or "never-enabled"})
    return EXIT_OK


async def _set(args: argparse.Namespace, status: str) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        await ops.put_versioning(client, bucket, status)
    print(f"versioning {status.lower()}: s3://{bucket}")
    return EXIT_OK


async def enable(args: argparse.Namespace) -> int:
    return await _set(args, "Enabled")


async def suspend(args: argparse.Namespace) -> int:
    return await _set(args, "Suspended")


async def restore_version(args: argparse.Namespace) -> int:
    location = object_of(args.url)
    async with open_client(args) as client:
        result = await ops.restore_version(client, location.bucket, location.key, args.version_id)
    emit_json(
        {
            "restored": str(location),
            "from_version": args.version_id,
            "new_version": result.version_id,
            "etag": result.etag,
        }
    )
    return EXIT_OK
