"""``spacesync du``: how many objects, and how many bytes, under a prefix."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from spacesync.cli.context import EXIT_OK, add_verb, emit_json, human_size, open_client
from spacesync.engine.job import remote_sources
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "du",
        run,
        help="count objects and bytes under s3://BUCKET[/PREFIX]",
        description='Count the objects and add up their sizes under a prefix (a "folder": '
        "s3://b/logs means logs/…), a glob, or a whole bucket. Current versions only.\n\n"
        "examples:\n  spacesync du s3://backups\n  spacesync du s3://backups/2026/ --human\n"
        "  spacesync du 's3://logs/*.gz' --json",
    )
    parser.add_argument("url", help="s3://BUCKET[/PREFIX] or s3://BUCKET/GLOB")
    parser.add_argument("-H", "--human", action="store_true", help="size in KiB/MiB/GiB")
    parser.add_argument("--json", action="store_true", help="one JSON object")


async def run(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url)
    objects = nbytes = 0
    async with open_client(args) as client:
        async for found in remote_sources(client, location, recursive=True):
            objects += 1
            nbytes += found.size
    if args.json:
        emit_json({"url": str(location), "objects": objects, "bytes": nbytes})
    else:
        size = human_size(nbytes) if args.human else f"{nbytes} bytes"
        print(f"{objects} objects, {size}  {location}")
    return EXIT_OK
