"""What the bucket-settings verbs share: sub-actions, target parsing, files."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

from spacesync.cli.context import Command, add_verb, emit_json
from spacesync.errors import ConfigError
from spacesync.protocol.endpoint import validate_bucket_name
from spacesync.urls import S3Location, parse_s3_url

Parents = Sequence[argparse.ArgumentParser]
# A string: argparse._SubParsersAction is not subscriptable at runtime.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def verb_group(
    subparsers: Subparsers, parents: Parents, name: str, *, help: str, description: str
) -> Subparsers:
    """A verb whose actions (get, set, delete…) are sub-commands."""
    parser = add_verb(subparsers, parents, name, _no_action, help=help, description=description)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def action(
    actions: Subparsers, parents: Parents, name: str, command: Command, *, help: str
) -> argparse.ArgumentParser:
    return add_verb(actions, parents, name, command, help=help)


async def _no_action(args: argparse.Namespace) -> int:  # pragma: no cover - argparse requires one
    raise ConfigError("choose an action")


def bucket_of(url: str) -> str:
    location = parse_s3_url(url)
    if location.key:
        raise ConfigError(f"{url} names an object; this setting belongs to a bucket (s3://BUCKET)")
    validate_bucket_name(location.bucket)
    return location.bucket


def object_of(url: str) -> S3Location:
    return parse_s3_url(url, require_key=True)


def read_file(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def emit(value: Any) -> None:
    """A typed setting as one JSON document on stdout."""
    emit_json(_plain(value))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
