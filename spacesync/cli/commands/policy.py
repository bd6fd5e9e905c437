"""``spacesync policy get|set|delete``: a bucket policy (JSON, checked before sending)."""

from __future__ import annotations

import argparse
import sys

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, open_client
from spacesync.cli.settings_support import (
    Parents,
    Subparsers,
    action,
    bucket_of,
    read_file,
    verb_group,
)
from spacesync.errors import ConfigError


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "policy",
        help="show, set or delete a bucket policy",
        description="A bucket policy in IAM JSON. It is validated locally (JSON, Effect, "
        "Action, Resource, 20 KB) before it is sent.\n\nexample:\n"
        "  spacesync policy set s3://media --file policy.json",
    )
    get = action(actions, parents, "get", get_policy, help="print the policy")
    get.add_argument("url", help="s3://BUCKET")
    put = action(actions, parents, "set", set_policy, help="replace the policy from a file")
    put.add_argument("url", help="s3://BUCKET")
    put.add_argument("--file", required=True, metavar="POLICY.json", help="('-': stdin)")
    delete = action(actions, parents, "delete", delete_policy, help="remove the policy")
    delete.add_argument("url", help="s3://BUCKET")


async def get_policy(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        sys.stdout.write((await ops.get_policy(client, bucket_of(args.url))).rstrip("\n") + "\n")
    return EXIT_OK


async def set_policy(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    try:
        text = read_file(args.file).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{args.file} is not UTF-8 text") from None
    async with open_client(args) as client:
        await ops.put_policy(client, bucket, text)
    print(f"policy set: s3://{bucket}")
    return EXIT_OK


async def delete_policy(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        await ops.delete_policy(client, bucket)
    print(f"policy deleted: s3://{bucket}")
    return EXIT_OK
