"""``spacesync website get|set|delete``: static website hosting of a bucket."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.settings_support import (
    ActionHelps,
    FileOption,
    Setting,
    read_config,
)
from spacesync.errors import ConfigError
from spacesync.protocol import bucket_config as cfg


def _flags(put: argparse.ArgumentParser) -> None:
    put.add_argument("--index", metavar="SUFFIX", help="index document, e.g. index.html")
    put.add_argument("--error", metavar="KEY", help="error document, e.g. 404.html")
    put.add_argument("--redirect-all", metavar="HOST", help="redirect every request to HOST")
    put.add_argument("--protocol", choices=["http", "https"], help="protocol of the redirect")


def _config(args: argparse.Namespace) -> cfg.WebsiteConfiguration:
    """The whole configuration from --file, or the simple one the flags describe."""
    if args.file:
        if args.index or args.error or args.redirect_all:
            raise ConfigError("give --file or flags, not both")
        return cfg.parse_website(
            read_config(args.file, root="WebsiteConfiguration", lists=cfg.WEBSITE_JSON_LISTS)
        )
    redirect = (
        cfg.Redirect(host_name=args.redirect_all, protocol=args.protocol)
        if args.redirect_all
        else None
    )
    return cfg.WebsiteConfiguration(
        index_document=args.index, error_document=args.error, redirect_all_requests_to=redirect
    )


WEBSITE = Setting(
    name="website",
    description="Static website hosting: an index and error document, or a redirect of "
    "every request; routing rules from a JSON or XML file.\n\nexamples:\n"
    "  spacesync website set s3://site --index index.html --error 404.html\n"
    "  spacesync website set s3://old-site --redirect-all www.example.com --protocol https",
    actions=ActionHelps(
        get="print the configuration as JSON",
        set="replace the configuration",
        delete="stop website hosting",
    ),
    get=lambda client, where, args: ops.get_website(client, where.bucket),
    file=FileOption(metavar="CONFIG", help="JSON or XML configuration ('-': stdin)"),
    set_arguments=_flags,
    read=_config,
    put=lambda client, where, config, args: ops.put_website(client, where.bucket, config),
    delete=lambda client, where: ops.delete_website(client, where.bucket),
)

register = WEBSITE.register
