"""``spacesync tagging get|set|delete``: an object's tags."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, emit_json, open_client
from spacesync.cli.settings_support import Parents, Subparsers, action, object_of, verb_group
from spacesync.errors import ConfigError


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "tagging",
        help="show, set or delete an object's tags",
        description="Object tags (at most 10; key ≤ 128, value ≤ 256 characters).\n\n"
        "examples:\n  spacesync tagging set s3://media/a.png project=web owner=design\n"
        "  spacesync tagging get s3://media/a.png",
    )
    get = action(actions, parents, "get", get_tags, help="print the tags as JSON")
    get.add_argument("url", help="s3://BUCKET/KEY")
    get.add_argument("--version-id", help="tags of this version")
    put = action(actions, parents, "set", set_tags, help="replace the tags")
    put.add_argument("url", help="s3://BUCKET/KEY")
    put.add_argument("tags", nargs="+", metavar="KEY=VALUE")
    delete = action(actions, parents, "delete", delete_tags, help="remove every tag")
    delete.add_argument("url", help="s3://BUCKET/KEY")


def parse_tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"tag {pair!r} is not KEY=VALUE")
        tags[key] = value
    return tags


async def get_tags(args: argparse.Namespace) -> int:
    location = object_of(args.url)
    async with open_client(args) as client:
        tags = await ops.get_tagging(
            client, location.bucket, location.key, version_id=args.version_id
        )
    emit_json(tags)
    return EXIT_OK


async def set_tags(args: argparse.Namespace) -> int:
    location = object_of(args.url)
    tags = parse_tags(args.tags)
    async with open_client(args) as client:
        await ops.put_tagging(client, location.bucket, location.key, tags)
    print(f"tags set: {location} ({len(tags)})")
    return EXIT_OK


async def delete_tags(args: argparse.Namespace) -> int:
    location = object_of(args.url)
    async with open_client(args) as client:
        await ops.delete_tagging(client, location.bucket, location.key)
    print(f"tags deleted: {location}")
    return EXIT_OK
