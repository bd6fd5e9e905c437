"""``spacesync cp``: files and objects, one or many, in parallel, resumable."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from spacesync.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    TransferSetup,
    add_transfer_options,
    add_verb,
    names_directory,
    open_client,
    report_transfer,
    transfer_setup,
)
from spacesync.cli.progress import ProgressBar
from spacesync.client import SpacesClient
from spacesync.engine.download import Downloader
from spacesync.engine.job import CopyJob
from spacesync.engine.transfer import TransferResult
from spacesync.engine.upload import Uploader
from spacesync.errors import ConfigError
from spacesync.protocol.headers import ObjectAttributes
from spacesync.urls import S3Location, parse_location

EXAMPLES = """\
Copies a local file to an object, an object to a local file, or an object to another
object (server-side, no bytes through this machine). Big files go in parallel parts;
an interrupted copy resumes where it stopped when run again (journals in the state dir).
A destination ending in '/' (or an existing directory) keeps the source's name.
Downloads are written to a temporary file, verified against the ETag, then renamed:
a failed copy never leaves a partial file under the final name.

examples:
  spacesync cp backup.tar s3://backups/2026/
  spacesync cp s3://backups/2026/backup.tar ./restore/
  spacesync cp --recursive ./photos s3://media/photos/
  spacesync cp --recursive s3://media/photos/ ./photos
  spacesync cp 'logs/*.gz' s3://archive/logs/
  spacesync cp 's3://archive/logs/*.gz' ./logs/
  spacesync cp s3://a/key s3://b/key
  tar c dir | spacesync cp - s3://backups/dir.tar
  spacesync cp s3://backups/dir.tar - | tar x
"""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers, parents, "cp", run, help="copy files and objects", description=EXAMPLES
    )
    parser.add_argument("source", help="FILE, DIR, GLOB, s3://BUCKET/KEY[*] or - (stdin)")
    parser.add_argument("destination", help="FILE, DIR/, s3://BUCKET/KEY or PREFIX/, - (stdout)")
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="copy whole directories/prefixes"
    )
    parser.add_argument("--content-type", help="Content-Type (default: guessed from the name)")
    parser.add_argument("--cache-control", help="Cache-Control header to store")
    parser.add_argument("--content-disposition", help="Content-Disposition header to store")
    parser.add_argument("--content-encoding", help="Content-Encoding header to store")
    parser.add_argument("--acl", choices=["private", "public-read"], help="canned ACL")
    parser.add_argument("--storage-class", help="x-amz-storage-class")
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="x-amz-meta-NAME (repeatable)",
    )
    add_transfer_options(parser)


def copy_job(client: SpacesClient, setup: TransferSetup) -> CopyJob:
    """The job that copies what cp plans, with the run's shared setup (mv copies alike)."""
    return CopyJob(
        client=client,
        scheduler=setup.scheduler,
        journals=setup.journals,
        progress=setup.progress,
        options=setup.options,
    )


def _attributes(args: argparse.Namespace) -> ObjectAttributes | None:
    """What the user asked to set; None when nothing was, so that a server-side copy keeps
    the source's metadata (COPY directive) and uploads get a guessed content type."""
    metadata: dict[str, str] = {}
    for item in args.metadata:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--metadata takes NAME=VALUE, got {item!r}")
        metadata[name] = value
    attributes = ObjectAttributes(
        content_type=args.content_type,
        cache_control=args.cache_control,
        content_disposition=args.content_disposition,
        content_encoding=args.content_encoding,
        metadata=metadata,
        acl=args.acl,
        storage_class=args.storage_class,
    )
    return None if attributes == ObjectAttributes() else attributes


async def run(args: argparse.Namespace) -> int:
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    attributes = _attributes(args)
    async with open_client(args) as client:
        setup = transfer_setup(args, client, attributes=attributes)
        try:
            if source == Path("-") or destination == Path("-"):
                result = await _stream(client, setup, source, destination)
                report_transfer(result, as_json=args.json, quiet=args.quiet)
                return EXIT_OK
            job = copy_job(client, setup)
            summary = await job.run(
                job.plan(
                    source,
                    destination,
                    recursive=args.recursive,
                    into_directory=names_directory(args.destination),
                ),
                on_result=lambda r: report_transfer(r, as_json=args.json, quiet=args.quiet),
            )
        finally:
            if isinstance(setup.progress, ProgressBar):
                setup.progress.close()
    if summary.failed:
        # One file's failure already has its own line; a tally only helps among many.
        if summary.files > 1:
            print(f"spacesync: {summary.failed} of {summary.files} files failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


async def _stream(
    client: SpacesClient,
    setup: TransferSetup,
    source: Path | S3Location,
    destination: Path | S3Location,
) -> TransferResult:
    """``-``: stdin to an object (multipart through a bounded buffer) or an object to
    stdout in order. A stream cannot be resumed, so no journal is kept."""
    if source == Path("-") and isinstance(destination, S3Location):
        if destination.is_prefix:
            raise ConfigError("streaming from stdin needs a full key: s3://BUCKET/KEY")
        uploader = Uploader(
            client=client,
            scheduler=setup.scheduler,
            journals=None,
            progress=setup.progress,
            options=setup.options,
        )
        return await uploader.upload_stream(
            sys.stdin.buffer.read, bucket=destination.bucket, key=destination.key
        )
    if destination == Path("-") and isinstance(source, S3Location):
        if source.is_prefix:
            raise ConfigError("streaming to stdout needs a full key: s3://BUCKET/KEY")
        out = sys.stdout.buffer

        def write(data: bytes) -> None:
            out.write(data)
            out.flush()

        downloader = Downloader(
            client=client,
            scheduler=setup.scheduler,
            journals=None,
            progress=setup.progress,
            options=setup.options,
        )
        return await downloader.download_stream(write, bucket=source.bucket, key=source.key)
    raise ConfigError("'-' streams between stdin/stdout and an s3:// object")
