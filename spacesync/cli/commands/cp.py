"""``spacesync cp``: copy one file or object (local→Space, Space→local, Space→Space)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import mimetypes
import os
import time
from collections.abc import Sequence
from pathlib import Path

from spacesync.cli.context import EXIT_OK, add_verb, emit_json, open_client
from spacesync.client import SpacesClient
from spacesync.errors import ConfigError, IntegrityError
from spacesync.protocol.headers import Conditions, ObjectAttributes
from spacesync.transport.body import FileRangeBody
from spacesync.urls import S3Location, parse_location


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "cp",
        run,
        help="copy a file or object",
        description="Copy a local file to an object, an object to a local file, or an object "
        "to another object (server-side).\nA destination ending in '/' (or an existing "
        "directory) keeps the source's name.\nDownloads are written to a temporary file, "
        "verified against the ETag, then renamed: an interrupted copy never leaves a partial "
        "file under the final name.\n\n"
        "examples:\n  spacesync cp backup.tar s3://backups/2026/\n"
        "  spacesync cp s3://backups/2026/backup.tar ./restore/\n"
        "  spacesync cp s3://a/key s3://b/key",
    )
    parser.add_argument("source", help="FILE or s3://BUCKET/KEY")
    parser.add_argument("destination", help="FILE, DIR/ or s3://BUCKET/KEY (or PREFIX/)")
    parser.add_argument("--content-type", help="Content-Type (default: guessed from the name)")
    parser.add_argument("--cache-control", help="Cache-Control header to store")
    parser.add_argument("--acl", choices=["private", "public-read"], help="canned ACL")
    parser.add_argument("--storage-class", help="x-amz-storage-class")
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="x-amz-meta-NAME (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _attributes(args: argparse.Namespace, name: str) -> ObjectAttributes:
    metadata: dict[str, str] = {}
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--metadata takes NAME=VALUE, got {item!r}")
        metadata[key] = value
    return ObjectAttributes(
        content_type=args.content_type or mimetypes.guess_type(name)[0] or "binary/octet-stream",
        cache_control=args.cache_control,
        metadata=metadata,
        acl=args.acl,
        storage_class=args.storage_class,
    )


async def run(args: argparse.Namespace) -> int:
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    started = time.monotonic()
    async with open_client(args) as client:
        if isinstance(source, Path) and isinstance(destination, S3Location):
            size, etag = await _upload(client, source, destination, args)
        elif isinstance(source, S3Location) and isinstance(destination, Path):
            size, etag = await _download(client, source, destination)
        elif isinstance(source, S3Location) and isinstance(destination, S3Location):
            size, etag = await _copy(client, source, destination)
        else:
            raise ConfigError("cp needs at least one s3:// location; use your shell's cp for local")
    report = {
        "source": args.source,
        "destination": args.destination,
        "size": size,
        "etag": etag,
        "seconds": round(time.monotonic() - started, 3),
    }
    if args.json:
        emit_json(report)
    else:
        print(f"copied {args.source} -> {args.destination} ({size} bytes)")
    return EXIT_OK


def _target_key(destination: S3Location, name: str) -> S3Location:
    return destination.child(name) if destination.is_prefix else destination


def _readable_file(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(f"no such file: {path}")
    if path.is_dir():
        raise ConfigError(f"{path} is a directory (recursive copies come with the engine)")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"cannot read {path}: permission denied")
    return path


def _download_path(source: S3Location, destination: Path) -> Path:
    if source.is_prefix:
        raise ConfigError(f"{source} names a folder, not an object")
    if destination.is_dir() or str(destination).endswith(os.sep):
        destination = destination / source.key.rsplit("/", 1)[-1]
    if not destination.parent.is_dir():
        raise ConfigError(f"no such directory: {destination.parent}")
    return destination


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def _upload(
    client: SpacesClient, source: Path, destination: S3Location, args: argparse.Namespace
) -> tuple[int, str]:
    _readable_file(source)
    target = _target_key(destination, source.name)
    body = FileRangeBody(source)
    etag = await client.put_object(
        target.bucket, target.key, body, attributes=_attributes(args, source.name)
    )
    return body.size, etag


async def _download(
    client: SpacesClient, source: S3Location, destination: Path
) -> tuple[int, str]:
    """Stream into a temporary file beside the destination; rename only once verified."""
    final = _download_path(source, destination)
    temporary = final.with_name(f".{final.name}.spacesync-{os.getpid()}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        async with client.open_object(source.bucket, source.key) as stream:
            digest = hashlib.md5()
            written = 0
            async for chunk in stream.iter_chunks():
                await asyncio.to_thread(_write_all, fd, chunk)
                digest.update(chunk)
                written += len(chunk)
            await asyncio.to_thread(os.fsync, fd)
            etag = stream.head.etag
        if written != stream.length:
            raise IntegrityError(f"{source}: got {written} bytes, expected {stream.length}")
        if "-" not in etag and len(etag) == 32 and digest.hexdigest() != etag:
            raise IntegrityError(f"{source}: content MD5 does not match ETag {etag}")
        os.replace(temporary, final)
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return written, etag


async def _copy(
    client: SpacesClient, source: S3Location, destination: S3Location
) -> tuple[int, str]:
    head = await client.head_object(source.bucket, source.key)
    target = _target_key(destination, source.key.rsplit("/", 1)[-1])
    outcome = await client.copy_object(
        source_bucket=source.bucket,
        source_key=source.key,
        bucket=target.bucket,
        key=target.key,
        conditions=Conditions(if_match=head.etag),
    )
    return head.size, outcome.etag
