"""``spacesync cat``: an object's bytes to standard output, in order."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spacesync.cli.context import EXIT_OK, add_sse_c_key_option, add_verb, open_client, sse_c_key
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "cat",
        run,
        help="print an object to standard output",
        description="Write an object's content to standard output.\n\n"
        "example:\n  spacesync cat s3://logs/app.log | grep ERROR",
    )
    parser.add_argument("url", help="s3://BUCKET/KEY")
    add_sse_c_key_option(parser)


async def run(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url, require_key=True)
    out = sys.stdout.buffer
    async with (
        open_client(args) as client,
        client.open_object(location.bucket, location.key, sse=sse_c_key(args)) as stream,
    ):
        async for chunk in stream.iter_chunks():
            out.write(chunk)
    out.flush()
    return EXIT_OK
