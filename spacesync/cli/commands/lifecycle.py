"""``spacesync lifecycle get|set|delete``: expiry and multipart clean-up rules."""

from __future__ import annotations

import argparse
from datetime import date

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, open_client
from spacesync.cli.settings_support import (
    Parents,
    Subparsers,
    action,
    bucket_of,
    emit,
    read_file,
    verb_group,
)
from spacesync.errors import ConfigError
from spacesync.protocol import bucket_config as cfg


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "lifecycle",
        help="show, set or delete a bucket's lifecycle rules",
        description="Lifecycle rules: expire objects after N days or on a date, abort "
        'unfinished multipart uploads. One rule from flags, or many from a JSON ({"Rules": '
        "[...]}) or XML file.\n\nexamples:\n"
        "  spacesync lifecycle set s3://logs --id old-logs --prefix logs/ --expire-days 90\n"
        "  spacesync lifecycle set s3://logs --id uploads --abort-days 1 --legacy\n"
        "  spacesync lifecycle set s3://logs --file lifecycle.json",
    )
    get = action(actions, parents, "get", get_lifecycle, help="print the rules as JSON")
    get.add_argument("url", help="s3://BUCKET")
    put = action(actions, parents, "set", set_lifecycle, help="replace the rules")
    put.add_argument("url", help="s3://BUCKET")
    put.add_argument("--file", metavar="RULES", help="JSON or XML rules ('-': stdin)")
    put.add_argument("--id", help="rule ID (one rule from flags)")
    put.add_argument("--prefix", default="", help="only keys under this prefix")
    put.add_argument("--expire-days", type=int, metavar="N", help="delete objects N days old")
    put.add_argument(
        "--expire-date",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="delete objects on this date (midnight UTC)",
    )
    put.add_argument(
        "--abort-days",
        type=int,
        metavar="N",
        help="abort multipart uploads unfinished after N days",
    )
    put.add_argument("--disabled", action="store_true", help="store the rule disabled")
    put.add_argument(
        "--legacy",
        action="store_true",
        help="send the legacy PutBucketLifecycle form (<Prefix> in the rule)",
    )
    delete = action(actions, parents, "delete", delete_lifecycle, help="remove every rule")
    delete.add_argument("url", help="s3://BUCKET")


async def get_lifecycle(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        emit(await ops.get_lifecycle(client, bucket_of(args.url)))
    return EXIT_OK


async def set_lifecycle(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    if args.file and args.id:
        raise ConfigError("give --file or a rule's flags (--id …), not both")
    if args.file:
        document = cfg.parse_config_file(
            read_file(args.file), root="LifecycleConfiguration", lists=cfg.LIFECYCLE_JSON_LISTS
        )
        rules = cfg.parse_lifecycle(document)
    elif args.id:
        rules = [
            cfg.LifecycleRule(
                id=args.id,
                enabled=not args.disabled,
                prefix=args.prefix,
                expiration_days=args.expire_days,
                expiration_date=args.expire_date,
                abort_incomplete_days=args.abort_days,
            )
        ]
    else:
        raise ConfigError(
            "give --file RULES, or --id with --expire-days/--expire-date/--abort-days"
        )
    async with open_client(args) as client:
        await ops.put_lifecycle(client, bucket, rules, legacy=args.legacy)
    print(f"lifecycle set: s3://{bucket} ({len(rules)} rules)")
    return EXIT_OK


async def delete_lifecycle(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        await ops.delete_lifecycle(client, bucket)
    print(f"lifecycle deleted: s3://{bucket}")
    return EXIT_OK
