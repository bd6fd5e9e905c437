"""``spacesync logging get|set``: where a bucket's access logs go."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, emit_json, open_client
from spacesync.cli.settings_support import Parents, Subparsers, action, bucket_of, verb_group
from spacesync.protocol import bucket_config as cfg
from spacesync.urls import parse_s3_url


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "logging",
        help="show or set a bucket's access logging",
        description="Access logs of a bucket, delivered to another bucket under a prefix.\n\n"
        "examples:\n  spacesync logging set s3://media --target s3://media-logs/access/\n"
        "  spacesync logging set s3://media --off",
    )
    get = action(actions, parents, "get", get_logging, help="print the logging status as JSON")
    get.add_argument("url", help="s3://BUCKET")
    put = action(actions, parents, "set", set_logging, help="turn logging on or off")
    put.add_argument("url", help="s3://BUCKET")
    where = put.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", metavar="s3://BUCKET/PREFIX", help="where logs go")
    where.add_argument("--off", action="store_true", help="turn logging off")


async def get_logging(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        config = await ops.get_logging(client, bucket)
    emit_json(
        {"bucket": bucket, "enabled": False}
        if config is None
        else {
            "bucket": bucket,
            "enabled": True,
            "target": f"s3://{config.target_bucket}/{config.target_prefix}",
        }
    )
    return EXIT_OK


async def set_logging(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    config = None
    if args.target:
        target = parse_s3_url(args.target)
        config = cfg.LoggingConfig(target.bucket, target.key)
    async with open_client(args) as client:
        await ops.put_logging(client, bucket, config)
    print(f"logging {'off' if config is None else 'on'}: s3://{bucket}")
    return EXIT_OK
