"""``spacesync presign``: a URL that grants time-limited access to one object."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from spacesync.cli.context import EXIT_OK, add_verb, open_client
from spacesync.protocol.sigv4 import MAX_PRESIGN_EXPIRES
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "presign",
        run,
        help="print a presigned URL for an object",
        description="Print a Signature V4 presigned URL: anyone holding it may perform METHOD on "
        f"the object until it expires (at most {MAX_PRESIGN_EXPIRES} s, 7 days).\n\n"
        "examples:\n  spacesync presign s3://media/video.mp4 --expires 600\n"
        "  spacesync presign s3://uploads/in.bin --method PUT",
    )
    parser.add_argument("url", help="s3://BUCKET/KEY")
    parser.add_argument(
        "--expires",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="lifetime in seconds (default 3600, at most 604800)",
    )
    parser.add_argument(
        "--method",
        default="GET",
        choices=["GET", "PUT", "DELETE", "HEAD"],
        help="HTTP method the URL allows (default GET)",
    )


async def run(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url, require_key=True)
    async with open_client(args) as client:
        print(
            client.presign(location.bucket, location.key, method=args.method, expires=args.expires)
        )
    return EXIT_OK
