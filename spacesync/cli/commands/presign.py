"""``spacesync presign``: a URL that grants time-limited access to one object."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from spacesync.cli.context import EXIT_OK, add_expires_option, add_verb, open_client, parse_pairs
from spacesync.protocol.sigv4 import MAX_PRESIGN_EXPIRES
from spacesync.settings import presign_url
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
        "  spacesync presign s3://uploads/in.bin --method PUT\n"
        "  spacesync presign s3://media/a.pdf --response content-disposition=attachment\n"
        "  spacesync presign s3://media/a.pdf --signature-version 2 --expires 604800",
    )
    parser.add_argument("url", help="s3://BUCKET/KEY")
    add_expires_option(parser, help="lifetime in seconds (default 3600, at most 604800)")
    parser.add_argument(
        "--method",
        default="GET",
        choices=["GET", "PUT", "DELETE", "HEAD"],
        help="HTTP method the URL allows (default GET)",
    )
    parser.add_argument(
        "--signature-version",
        type=int,
        choices=[4, 2],
        default=4,
        help="4 (default, at most 7 days) or 2 (legacy clients); either way at most 7 days",
    )
    parser.add_argument(
        "--response",
        action="append",
        default=[],
        metavar="HEADER=VALUE",
        help="override a reply header: content-disposition, content-type, cache-control, "
        "content-encoding, content-language, expires (repeatable)",
    )


async def run(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url, require_key=True)
    async with open_client(args) as client:
        print(
            presign_url(
                client,
                location.bucket,
                location.key,
                method=args.method,
                expires=args.expires,
                signature_version=args.signature_version,
                response_headers=parse_pairs(args.response, "--response {!r} is not HEADER=VALUE"),
            )
        )
    return EXIT_OK
