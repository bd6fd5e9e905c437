"""What every verb shares: exit codes, the client built from global options, output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from spacesync.client import SpacesClient
from spacesync.config import Settings, resolve_settings
from spacesync.transport.http import HttpTransport, PoolOptions

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


class CommandModule(Protocol):
    def register(
        self,
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
        parents: Sequence[argparse.ArgumentParser],
    ) -> None: ...


def add_verb(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
    name: str,
    command: Command,
    *,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A verb's parser, with the global options and its coroutine attached."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        parents=list(parents),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(command=command)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return resolve_settings(
        endpoint_url=args.endpoint_url,
        region=args.region,
        profile=args.profile,
        access_key=args.access_key,
        secret_key=args.secret_key,
        session_token=args.session_token,
        addressing=args.addressing_style,
    )


@asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[SpacesClient]:
    settings = settings_from(args)
    transport = HttpTransport(pool=PoolOptions(verify_tls=not args.no_verify_ssl))
    async with SpacesClient(settings, transport=transport) as client:
        yield client


def emit_json(record: dict[str, Any]) -> None:
    """One JSON document per line, for scripts."""
    sys.stdout.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
