"""``spacesync presign-post``: a browser upload form (PostObject) as JSON."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, add_expires_option, add_verb, emit_json, open_client
from spacesync.protocol.post_policy import FILENAME_VARIABLE
from spacesync.protocol.sigv4 import MAX_PRESIGN_EXPIRES
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "presign-post",
        run,
        help="print a browser upload form (URL and fields) as JSON",
        description="Sign a PostObject policy: a browser may POST one file under the prefix, "
        f"of at most --max-size bytes, until it expires (at most {MAX_PRESIGN_EXPIRES} s). "
        f"The key is the prefix plus the file's name ({FILENAME_VARIABLE}); send the fields, "
        "then the file as the form's last field 'file'.\n\nexample:\n"
        "  spacesync presign-post s3://uploads/incoming/ --expires 900 --max-size 10485760",
    )
    parser.add_argument("url", help="s3://BUCKET/PREFIX")
    add_expires_option(parser, help="lifetime in seconds (default 3600)")
    parser.add_argument(
        "--max-size", type=int, required=True, metavar="BYTES", help="largest upload allowed"
    )
    parser.add_argument("--min-size", type=int, default=0, metavar="BYTES")
    parser.add_argument("--acl", choices=["private", "public-read"], help="canned ACL of uploads")
    parser.add_argument(
        "--content-type-prefix",
        metavar="TYPE",
        help="uploads' Content-Type must start with this, e.g. image/",
    )


async def run(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url)
    async with open_client(args) as client:
        form = ops.presign_post(
            client,
            location.bucket,
            location.key,
            expires=args.expires,
            max_size=args.max_size,
            min_size=args.min_size,
            acl=args.acl,
            content_type_prefix=args.content_type_prefix,
        )
    emit_json({"url": form.url, "fields": form.fields, "expires": form.expires.isoformat()})
    return EXIT_OK
