"""``spacesync cors get|set|delete|test``: a bucket's CORS rules, and a preflight check."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_FAILED, EXIT_OK, open_client
from spacesync.cli.settings_support import (
    Parents,
    Subparsers,
    action,
    bucket_of,
    emit,
    object_of,
    read_file,
    verb_group,
)
from spacesync.protocol import bucket_config as cfg


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "cors",
        help="show, set, delete or test a bucket's CORS rules",
        description="Cross-origin rules of a bucket. Rules come from a JSON file in the aws "
        'cli\'s shape ({"CORSRules": [...]}) or a CORSConfiguration XML file.\n\nexamples:\n'
        "  spacesync cors set s3://media --file cors.json\n"
        "  spacesync cors test https://example.com PUT s3://media/upload.bin",
    )
    get = action(actions, parents, "get", get_cors, help="print the rules as JSON")
    get.add_argument("url", help="s3://BUCKET")
    put = action(actions, parents, "set", set_cors, help="replace the rules from a file")
    put.add_argument("url", help="s3://BUCKET")
    put.add_argument(
        "--file", required=True, metavar="RULES", help="JSON or XML rules ('-': stdin)"
    )
    delete = action(actions, parents, "delete", delete_cors, help="remove every rule")
    delete.add_argument("url", help="s3://BUCKET")
    test = action(actions, parents, "test", test_cors, help="send a preflight (OPTIONS)")
    test.add_argument("origin", help="the Origin a browser would send")
    test.add_argument("method", help="the method it asks to use")
    test.add_argument("url", help="s3://BUCKET/KEY")
    test.add_argument("--header", action="append", default=[], help="a request header it asks for")


async def get_cors(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        emit(await ops.get_cors(client, bucket_of(args.url)))
    return EXIT_OK


async def set_cors(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    document = cfg.parse_config_file(
        read_file(args.file), root="CORSConfiguration", lists=cfg.CORS_JSON_LISTS
    )
    rules = cfg.parse_cors(document)
    async with open_client(args) as client:
        await ops.put_cors(client, bucket, rules)
    print(f"cors set: s3://{bucket} ({len(rules)} rules)")
    return EXIT_OK


async def delete_cors(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        await ops.delete_cors(client, bucket)
    print(f"cors deleted: s3://{bucket}")
    return EXIT_OK


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
