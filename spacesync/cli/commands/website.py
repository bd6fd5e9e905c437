"""``spacesync website get|set|delete``: static website hosting of a bucket."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, open_client
from spacesync.cli.settings_support import (
    Parents,
    Subparsers,
    action,
    bucket_of,
    emit,
    read_file,
    verb_group,
)
from spacesync.errors import ConfigError
from spacesync.protocol import bucket_config as cfg


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "website",
        help="show, set or delete a bucket's website configuration",
        description="Static website hosting: an index and error document, or a redirect of "
        "every request; routing rules from a JSON or XML file.\n\nexamples:\n"
        "  spacesync website set s3://site --index index.html --error 404.html\n"
        "  spacesync website set s3://old-site --redirect-all www.example.com --protocol https",
    )
    get = action(actions, parents, "get", get_website, help="print the configuration as JSON")
    get.add_argument("url", help="s3://BUCKET")
    put = action(actions, parents, "set", set_website, help="replace the configuration")
    put.add_argument("url", help="s3://BUCKET")
    put.add_argument("--file", metavar="CONFIG", help="JSON or XML configuration ('-': stdin)")
    put.add_argument("--index", metavar="SUFFIX", help="index document, e.g. index.html")
    put.add_argument("--error", metavar="KEY", help="error document, e.g. 404.html")
    put.add_argument("--redirect-all", metavar="HOST", help="redirect every request to HOST")
    put.add_argument("--protocol", choices=["http", "https"], help="protocol of the redirect")
    delete = action(actions, parents, "delete", delete_website, help="stop website hosting")
    delete.add_argument("url", help="s3://BUCKET")


async def get_website(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        emit(await ops.get_website(client, bucket_of(args.url)))
    return EXIT_OK


def _config(args: argparse.Namespace) -> cfg.WebsiteConfiguration:
    if args.file:
        if args.index or args.error or args.redirect_all:
            raise ConfigError("give --file or flags, not both")
        document = cfg.parse_config_file(
            read_file(args.file), root="WebsiteConfiguration", lists=cfg.WEBSITE_JSON_LISTS
        )
        return cfg.parse_website(document)
    redirect = (
        cfg.Redirect(host_name=args.redirect_all, protocol=args.protocol)
        if args.redirect_all
        else None
    )
    return cfg.WebsiteConfiguration(
        index_document=args.index, error_document=args.error, redirect_all_requests_to=redirect
    )


async def set_website(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    config = _config(args)
    async with open_client(args) as client:
        await ops.put_website(client, bucket, config)
    print(f"website set: s3://{bucket}")
    return EXIT_OK


async def delete_website(args: argparse.Namespace) -> int:
    bucket = bucket_of(args.url)
    async with open_client(args) as client:
        await ops.delete_website(client, bucket)
    print(f"website deleted: s3://{bucket}")
    return EXIT_OK
