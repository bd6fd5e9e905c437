"""``spacesync sync``: make a destination hold what a source holds, sending only changes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from spacesync.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    add_transfer_options,
    add_verb,
    describe_error,
    emit_json,
    open_client,
    transfer_context,
)
from spacesync.cli.progress import ProgressBar
from spacesync.engine.checksum_cache import ChecksumCache
from spacesync.engine.filters import EXCLUDE, INCLUDE, FilterRule, PathFilter
from spacesync.engine.sync import (
    Compare,
    Syncer,
    SyncEvent,
    SyncOptions,
    SyncPlanner,
    describe,
)
from spacesync.errors import ConfigError
from spacesync.statedir import default_state_dir
from spacesync.urls import parse_location

EXAMPLES = """\
Local -> Space, Space -> local, or Space -> Space. Only what differs is sent: by default
a file whose size differs, or whose source is newer (an object's time is the mtime sync
recorded when it uploaded or downloaded it, else its LastModified). A sync with nothing to
do sends one listing and nothing else.

Names are compared in Unicode NFC on both sides: a name that differs only by normalisation
(NFC vs NFD, as macOS writes) is the same entry, never a re-upload or a duplicate. New keys
and new files take the NFC form; an entry already on both sides keeps its own spelling.

--include/--exclude are globs on the path relative to SRC/DST ('*' also matches '/'),
read in order, the last match deciding, as in aws s3. Excluded entries are neither
copied nor deleted. A key that would write outside DST (.., absolute, '\\', NUL) is
refused with a message; the rest goes on and the exit code is 1.

examples:
  spacesync sync ./site s3://www/site/ --delete
  spacesync sync s3://backups/db/ ./restore --exclude '*.tmp'
  spacesync sync ./photos s3://media/photos/ --checksum --dry-run
  spacesync sync s3://a/logs/ s3://b/logs/ --exclude '*' --include '*.gz'
"""


class _FilterAction(argparse.Action):
    """--include and --exclude into one ordered list: their order is their meaning."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        rules = list(getattr(namespace, "filters", None) or [])
        kind = INCLUDE if option_string == "--include" else EXCLUDE
        rules.append(FilterRule(kind, str(values)))
        namespace.filters = rules


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "sync",
        run,
        help="send only what changed between a directory and a prefix, or two prefixes",
        description=EXAMPLES,
    )
    parser.add_argument("source", help="DIR or s3://BUCKET[/PREFIX]")
    parser.add_argument("destination", help="DIR or s3://BUCKET[/PREFIX]")
    compare = parser.add_mutually_exclusive_group()
    compare.add_argument("--size-only", action="store_true", help="compare sizes only")
    compare.add_argument(
        "--exact-timestamps", action="store_true", help="copy when mtimes differ at all"
    )
    compare.add_argument(
        "--checksum",
        action="store_true",
        help="compare content (MD5/multipart ETag; unchanged files are not read again)",
    )
    parser.add_argument(
        "--delete", action="store_true", help="delete what DST has and SRC does not"
    )
    parser.add_argument(
        "--max-delete",
        type=int,
        metavar="N",
        help="with --delete: if more than N deletions are planned, make none",
    )
    for name in ("--include", "--exclude"):
        parser.add_argument(
            name, action=_FilterAction, dest="filters", metavar="GLOB", help="repeatable"
        )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--follow-symlinks", action="store_true", help="follow symbolic links (loops reported)"
    )
    parser.add_argument(
        "--folders", action="store_true", help="upload empty directories as folder objects"
    )
    add_transfer_options(parser)


def _compare(args: argparse.Namespace) -> Compare:
    if args.size_only:
        return Compare.SIZE_ONLY
    if args.exact_timestamps:
        return Compare.EXACT_TIMESTAMPS
    return Compare.CHECKSUM if args.checksum else Compare.SIZE_AND_MTIME


def _report(event: SyncEvent, *, as_json: bool, quiet: bool, dry_run: bool) -> None:
    if as_json:
        emit_json(
            {
                "action": event.action,
                "source": event.source,
                "destination": event.destination,
                "size": event.size,
                "reason": event.reason,
                "etag": event.etag,
                "dry_run": dry_run,
                "ok": event.ok,
                "error": describe_error(event.error) if event.error else None,
            }
        )
        return
    if event.error is not None:
        subject = event.source or event.destination
        where = f"{subject}: " if subject else ""
        print(f"failed: {event.action}: {where}{describe_error(event.error)}", file=sys.stderr)
    elif event.action == "skip":
        print(f"skipped: {event.source}: {event.reason}", file=sys.stderr)
    elif not quiet:
        mark = "(dry run) " if dry_run else ""
        arrow = f"{event.source} -> " if event.source else ""
        why = f" ({event.reason})" if event.reason else ""
        print(f"{mark}{event.action}: {arrow}{event.destination}{why}")


async def run(args: argparse.Namespace) -> int:
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    if args.max_delete is not None and (args.max_delete < 0 or not args.delete):
        raise ConfigError("--max-delete takes a number ≥ 0 and goes with --delete")
    options = SyncOptions(
        compare=_compare(args),
        delete=args.delete,
        max_delete=args.max_delete,
        filters=PathFilter(args.filters or ()),
        follow_symlinks=args.follow_symlinks,
        folders=args.folders,
    )
    cache = await asyncio.to_thread(ChecksumCache.open, args.state_dir or default_state_dir())
    failed = 0
    try:
        async with open_client(args) as client:
            context = transfer_context(args, client, attributes=None)
            planner = SyncPlanner(
                client=client,
                cache=cache,
                options=options,
                transfer=context.options,
                source=source,
                destination=destination,
            )

            def report(event: SyncEvent) -> None:
                _report(event, as_json=args.json, quiet=args.quiet, dry_run=args.dry_run)

            if args.dry_run:
                async for action in planner.plan():
                    event = describe(action)
                    failed += 0 if event.ok else 1
                    report(event)
                return EXIT_FAILED if failed else EXIT_OK
            syncer = Syncer(context, cache=cache, sync_options=options)
            try:
                summary = await syncer.run(planner.plan(), on_event=report)
            finally:
                if isinstance(context.progress, ProgressBar):
                    context.progress.close()
    finally:
        await asyncio.to_thread(cache.close)
    if summary.failed:
        print(f"spacesync: {summary.failed} of {summary.actions} actions failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
