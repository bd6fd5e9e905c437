"""``spacesync rm``: delete one object, a "folder", or a glob, in DeleteObjects batches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Sequence

from spacesync.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    add_verb,
    emit_json,
    open_client,
)
from spacesync.engine.delete import BatchDeleter, objects_named, versions_named
from spacesync.engine.scheduler import DEFAULT_CONCURRENCY, Scheduler
from spacesync.errors import ConfigError
from spacesync.protocol.model import DeleteOutcome, ObjectId
from spacesync.urls import parse_s3_url

EXAMPLES = """\
S3 has no folders to delete: a "folder" is every key under a prefix. rm lists them and
deletes them in DeleteObjects batches of 1,000 keys, several batches in flight, while the
listing goes on. Every key's result is reported; any failure means exit code 1. An
interrupted delete simply continues when run again.

examples:
  spacesync rm s3://media/old.png
  spacesync rm --recursive s3://media/tmp/
  spacesync rm 's3://logs/2025/*.gz'
  spacesync rm --recursive --all-versions s3://backups/db/
  spacesync rm --recursive --dry-run s3://media/tmp/
"""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(subparsers, parents, "rm", run, help="delete objects", description=EXAMPLES)
    parser.add_argument("url", help="s3://BUCKET/KEY, s3://BUCKET/PREFIX/ or s3://BUCKET/GLOB")
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="delete every key under the prefix"
    )
    parser.add_argument(
        "--all-versions",
        action="store_true",
        help="delete every version and delete marker too (ListObjectVersions)",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    parser.add_argument("--json", action="store_true", help="one JSON object per key")


def _shown(bucket: str, key: str, version_id: str | None) -> str:
    """How a deleted key reads in a line of output."""
    return f"s3://{bucket}/{key}" + (f" (version {version_id})" if version_id else "")


def report(
    bucket: str,
    outcome: DeleteOutcome,
    *,
    as_json: bool = False,
    quiet: bool = False,
    dry_run: bool = False,
) -> None:
    """One line per key: successes on stdout (unless ``quiet``), failures on stderr."""
    if as_json:
        emit_json(
            {
                "action": "would-delete" if dry_run else "delete",
                "url": f"s3://{bucket}/{outcome.key}",
                "key": outcome.key,
                "version_id": outcome.version_id,
                "ok": outcome.ok,
                "error": None if outcome.ok else f"{outcome.error_code}: {outcome.error_message}",
            }
        )
    elif not outcome.ok:
        print(
            f"failed: {_shown(bucket, outcome.key, outcome.version_id)}: "
            f"{outcome.error_code}: {outcome.error_message or 'no message'}",
            file=sys.stderr,
        )
    elif not quiet:
        prefix = "(dry run) delete" if dry_run else "delete"
        print(f"{prefix}: {_shown(bucket, outcome.key, outcome.version_id)}")


async def run(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url, require_key=not args.recursive)
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    deleted = failed = 0
    async with open_client(args) as client:
        named: AsyncIterator[ObjectId] = (
            versions_named(client, location, recursive=args.recursive)
            if args.all_versions
            else objects_named(client, location, recursive=args.recursive)
        )
        if args.dry_run:
            async for obj in named:
                would = DeleteOutcome(obj.key, obj.version_id)
                report(location.bucket, would, as_json=args.json, quiet=args.quiet, dry_run=True)
                deleted += 1
            print(f"(dry run) {deleted} to delete", file=sys.stderr)
            return EXIT_OK
        deleter = BatchDeleter(client=client, scheduler=Scheduler(concurrency=args.concurrency))
        async for outcome in deleter.delete(location.bucket, named):
            report(location.bucket, outcome, as_json=args.json, quiet=args.quiet)
            deleted += outcome.ok
            failed += not outcome.ok
    print(f"deleted {deleted}, failed {failed}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
