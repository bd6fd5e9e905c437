"""``spacesync lifecycle get|set|delete``: expiry and multipart clean-up rules."""

from __future__ import annotations

import argparse
from datetime import date

from spacesync import settings as ops
from spacesync.cli.settings_support import (
    ActionHelps,
    FileOption,
    Setting,
    read_config,
)
from spacesync.errors import ConfigError
from spacesync.protocol import bucket_config as cfg


def _rule_arguments(put: argparse.ArgumentParser) -> None:
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


def _rules(args: argparse.Namespace) -> list[cfg.LifecycleRule]:
    """Many rules from --file, or one from the flags; never both."""
    if args.file and args.id:
        raise ConfigError("give --file or a rule's flags (--id …), not both")
    if args.file:
        return cfg.parse_lifecycle(
            read_config(args.file, root="LifecycleConfiguration", lists=cfg.LIFECYCLE_JSON_LISTS)
        )
    if args.id:
        return [
            cfg.LifecycleRule(
                id=args.id,
                enabled=not args.disabled,
                prefix=args.prefix,
                expiration_days=args.expire_days,
                expiration_date=args.expire_date,
                abort_incomplete_days=args.abort_days,
            )
        ]
    raise ConfigError("give --file RULES, or --id with --expire-days/--expire-date/--abort-days")


LIFECYCLE = Setting(
    name="lifecycle",
    description="Lifecycle rules: expire objects after N days or on a date, abort "
    'unfinished multipart uploads. One rule from flags, or many from a JSON ({"Rules": '
    "[...]}) or XML file.\n\nexamples:\n"
    "  spacesync lifecycle set s3://logs --id old-logs --prefix logs/ --expire-days 90\n"
    "  spacesync lifecycle set s3://logs --id uploads --abort-days 1 --legacy\n"
    "  spacesync lifecycle set s3://logs --file lifecycle.json",
    actions=ActionHelps("print the rules as JSON", "replace the rules", "remove every rule"),
    get=lambda client, where, args: ops.get_lifecycle(client, where.bucket),
    file=FileOption(metavar="RULES", help="JSON or XML rules ('-': stdin)"),
    set_arguments=_rule_arguments,
    read=_rules,
    put=lambda client, where, rules, args: ops.put_lifecycle(
        client, where.bucket, rules, legacy=args.legacy
    ),
    note=lambda rules: f" ({len(rules)} rules)",
    delete=lambda client, where: ops.delete_lifecycle(client, where.bucket),
)

register = LIFECYCLE.register
