"""``spacesync cors get|set|delete|test``: a bucket's CORS rules, and a preflight check."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_FAILED, EXIT_OK, open_client
from spacesync.cli.settings_support import (
    ActionHelps,
    FileOption,
    Parents,
    Setting,
    Subparsers,
    action,
    emit,
    object_of,
    read_config,
)
from spacesync.protocol import bucket_config as cfg


def _read(args: argparse.Namespace) -> list[cfg.CorsRule]:
    return cfg.parse_cors(
        read_config(args.file, root="CORSConfiguration", lists=cfg.CORS_JSON_LISTS)
    )


CORS = Setting(
    name="cors",
    description="Cross-origin rules of a bucket. Rules come from a JSON file in the aws "
    'cli\'s shape ({"CORSRules": [...]}) or a CORSConfiguration XML file.\n\nexamples:\n'
    "  spacesync cors set s3://media --file cors.json\n"
    "  spacesync cors test https://example.com PUT s3://media/upload.bin",
    actions=ActionHelps(
        "print the rules as JSON", "replace the rules from a file", "remove every rule"
    ),
    get=lambda client, where, args: ops.get_cors(client, where.bucket),
    file=FileOption(metavar="RULES", help="JSON or XML rules ('-': stdin)", required=True),
    read=_read,
    put=lambda client, where, rules, args: ops.put_cors(client, where.bucket, rules),
    note=lambda rules: f" ({len(rules)} rules)",
    delete=lambda client, where: ops.delete_cors(client, where.bucket),
)


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = CORS.register(subparsers, parents)
    test = action(actions, parents, "test", test_cors, help="send a preflight (OPTIONS)")
    test.add_argument("origin", help="the Origin a browser would send")
    test.add_argument("method", help="the method it asks to use")
    test.add_argument("url", help="s3://BUCKET/KEY")
    test.add_argument("--header", action="append", default=[], help="a request header it asks for")


async def test_cors(args: argparse.Namespace) -> int:
    """Exit 0 when the origin and method are allowed, 1 when refused."""
    location = object_of(args.url)
    async with open_client(args) as client:
        result = await ops.preflight(
            client,
            location.bucket,
            location.key,
            origin=args.origin,
            method=args.method,
            request_headers=args.header,
        )
    emit(result)
    return EXIT_OK if result.allowed else EXIT_FAILED
