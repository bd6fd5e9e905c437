"""``spacesync mv``: cp, then remove each source once its copy is verified."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spacesync.cli.commands.cp import copy_job
from spacesync.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    add_transfer_options,
    add_verb,
    emit_json,
    names_directory,
    open_client,
    report_transfer,
    transfer_setup,
)
from spacesync.cli.progress import ProgressBar
from spacesync.engine.delete import BatchDeleter, move
from spacesync.errors import ConfigError
from spacesync.urls import parse_location

EXAMPLES = """\
Moves files and objects: copies them exactly as cp does (parallel parts, ETag verified,
downloads renamed into place only once complete), then removes each source whose copy
succeeded: objects in DeleteObjects batches, local files by unlink. A source whose copy
failed is never removed; run the same command again to move what is left.

examples:
  spacesync mv report.pdf s3://docs/2026/
  spacesync mv s3://docs/2026/report.pdf ./archive/
  spacesync mv --recursive s3://media/incoming/ s3://media/photos/
  spacesync mv --recursive ./outbox s3://uploads/outbox/
"""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers, parents, "mv", run, help="move files and objects", description=EXAMPLES
    )
    parser.add_argument("source", help="FILE, DIR, GLOB or s3://BUCKET/KEY[*]")
    parser.add_argument("destination", help="FILE, DIR/, s3://BUCKET/KEY or PREFIX/")
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="move whole directories/prefixes"
    )
    add_transfer_options(parser)


def _report_removed(source: str, error: str | None, *, as_json: bool, quiet: bool) -> None:
    if as_json:
        emit_json(
            {"action": "remove-source", "source": source, "ok": error is None, "error": error}
        )
    elif error is not None:
        print(f"failed to remove: {source}: {error}", file=sys.stderr)
    elif not quiet:
        print(f"removed: {source}")


async def run(args: argparse.Namespace) -> int:
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    if source == destination:
        raise ConfigError("source and destination are the same: nothing to move")
    if "-" in (str(source), str(destination)):
        raise ConfigError("mv cannot stream: use cp with '-'")
    unremoved = 0

    def removed(path: str, error: str | None) -> None:
        nonlocal unremoved
        unremoved += error is not None
        _report_removed(path, error, as_json=args.json, quiet=args.quiet)

    async with open_client(args) as client:
        setup = transfer_setup(args, client, attributes=None)
        job = copy_job(client, setup)
        try:
            summary = await move(
                job=job,
                deleter=BatchDeleter(client=client, scheduler=setup.scheduler),
                items=job.plan(
                    source,
                    destination,
                    recursive=args.recursive,
                    into_directory=names_directory(args.destination),
                ),
                source=source,
                on_copied=lambda r: report_transfer(r, as_json=args.json, quiet=args.quiet),
                on_removed=removed,
            )
        finally:
            if isinstance(setup.progress, ProgressBar):
                setup.progress.close()
    if summary.failed or unremoved:
        print(
            f"spacesync: {summary.failed} of {summary.files} files failed to copy, "
            f"{unremoved} sources could not be removed",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK
