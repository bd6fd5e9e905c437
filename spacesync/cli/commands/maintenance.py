"""``spacesync journals`` and ``spacesync abort-uploads``: what interrupted transfers leave."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spacesync.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    add_verb,
    describe_error,
    emit_json,
    open_client,
)
from spacesync.engine.delete import abort_uploads as remove_uploads
from spacesync.engine.journal import JournalStore, JournalSummary
from spacesync.statedir import default_state_dir
from spacesync.urls import parse_s3_url

_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` (or a sum like ``1d12h``) -> seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 12h, 7d, 1d12h)")
    return float(sum(int(n) * _SECONDS[u.lower()] for n, u in parts))


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    journals = add_verb(
        subparsers,
        parents,
        "journals",
        list_journals,
        help="list (or --clean) the journals of interrupted transfers",
        description="Interrupted multipart transfers keep a journal so that running the same "
        "command again resumes them. List them, or remove them with --clean (removing a "
        "download journal also removes its temporary file; the server-side upload stays "
        "until `spacesync abort-uploads` or the provider's 30-day cleanup).\n\n"
        "examples:\n  spacesync journals\n  spacesync journals --clean --older-than 7d",
    )
    journals.add_argument("--clean", action="store_true", help="remove the journals listed")
    journals.add_argument(
        "--older-than",
        type=parse_duration,
        metavar="DURATION",
        help="only journals older than this (e.g. 7d, 12h)",
    )
    journals.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="state directory (default $XDG_STATE_HOME/spacesync)",
    )
    journals.add_argument("--json", action="store_true", help="one JSON object per line")

    abort = add_verb(
        subparsers,
        parents,
        "abort-uploads",
        abort_uploads,
        help="abort unfinished multipart uploads on the server",
        description="Unfinished multipart uploads hold storage until aborted (Spaces deletes "
        "them after 30 days). Abort those under a prefix, optionally only older ones.\n\n"
        "examples:\n  spacesync abort-uploads s3://backups --older-than 2d --dry-run\n"
        "  spacesync abort-uploads s3://backups/tmp/",
    )
    abort.add_argument("url", help="s3://BUCKET[/PREFIX]")
    abort.add_argument(
        "--older-than",
        type=parse_duration,
        metavar="DURATION",
        help="only uploads started longer ago than this",
    )
    abort.add_argument("--dry-run", action="store_true", help="list what would be aborted")
    abort.add_argument("--json", action="store_true", help="one JSON object per line")


def _show_journal(summary: JournalSummary, *, as_json: bool, verb: str) -> None:
    created = datetime.fromtimestamp(summary.created, UTC)
    if as_json:
        emit_json(
            {
                "action": verb,
                "kind": summary.kind,
                "local": summary.local_path,
                "remote": f"s3://{summary.bucket}/{summary.key}",
                "parts_done": summary.parts_done,
                "created": created,
                "upload_id": summary.upload_id,
            }
        )
    else:
        arrow = "->" if summary.kind == "upload" else "<-"
        print(
            f"{verb}: {created:%Y-%m-%d %H:%M} {summary.kind:8} {summary.local_path} {arrow} "
            f"s3://{summary.bucket}/{summary.key} ({summary.parts_done} parts done)"
        )


async def list_journals(args: argparse.Namespace) -> int:
    store = JournalStore((args.state_dir or default_state_dir()) / "journals")
    now = time.time()
    if args.clean:
        for summary in store.clean(older_than=args.older_than, now=now):
            _show_journal(summary, as_json=args.json, verb="removed")
        return EXIT_OK
    for summary in store.summaries():
        if args.older_than is None or now - summary.created > args.older_than:
            _show_journal(summary, as_json=args.json, verb="journal")
    return EXIT_OK


async def abort_uploads(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url)
    cutoff = datetime.now(UTC) - timedelta(seconds=args.older_than) if args.older_than else None
    failed = 0
    async with open_client(args) as client:
        async for outcome in remove_uploads(
            client,
            location.bucket,
            prefix=location.key,
            initiated_before=cutoff,
            dry_run=args.dry_run,
        ):
            if outcome.error is not None:
                failed += 1
                action = f"failed ({describe_error(outcome.error)})"
            else:
                action = "would abort" if args.dry_run else "aborted"
            if args.json:
                emit_json(
                    {
                        "action": action,
                        "key": outcome.key,
                        "upload_id": outcome.upload_id,
                        "initiated": outcome.initiated,
                    }
                )
            else:
                print(f"{action}: s3://{location.bucket}/{outcome.key} ({outcome.upload_id})")
    return EXIT_FAILED if failed else EXIT_OK
