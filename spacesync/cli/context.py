"""What every verb shares: exit codes, the client built from global options, output."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from spacesync.cli.progress import progress_for
from spacesync.client import SpacesClient
from spacesync.config import Settings, resolve_settings
from spacesync.doctor import load_report
from spacesync.engine.journal import JournalStore
from spacesync.engine.plan import DEFAULT_PART_SIZE
from spacesync.engine.scheduler import DEFAULT_CONCURRENCY, DEFAULT_MAX_MEMORY, Scheduler
from spacesync.engine.transfer import (
    TransferContext,
    TransferOptions,
    TransferResult,
    count_retry,
)
from spacesync.errors import ConfigError, NotImplementedByEndpoint, S3Error, SpacesError
from spacesync.protocol.headers import ObjectAttributes
from spacesync.protocol.sse import SseCustomerKey
from spacesync.statedir import default_state_dir
from spacesync.transport.http import HttpTransport, PoolOptions
from spacesync.transport.retry import RetryPolicy

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
    probe = (
        load_report(getattr(args, "state_dir", None) or default_state_dir(), settings.endpoint.url)
        if settings.use_probe
        else None
    )
    if probe is not None and probe.client_options().get("addressing") == "path":
        settings = dataclasses.replace(
            settings, endpoint=dataclasses.replace(settings.endpoint, addressing="path")
        )
    pool = max(PoolOptions().size, getattr(args, "concurrency", 0) or 0)
    transport = HttpTransport(pool=PoolOptions(size=pool, verify_tls=not args.no_verify_ssl))
    retry = RetryPolicy(on_retry=count_retry)
    list_api: Literal["v1", "v2"] = (
        "v1" if probe is not None and probe.client_options().get("list_api") == "v1" else "v2"
    )
    async with SpacesClient(
        settings, transport=transport, retry=retry, list_api=list_api
    ) as client:
        if probe is not None and probe.clock_offset_seconds:
            client.clock_offset = probe.clock_offset_seconds
        yield client


def describe_error(error: SpacesError) -> str:
    """One line: the S3 code and message, where, and the request id to quote to support."""
    if isinstance(error, NotImplementedByEndpoint):
        text = f"the endpoint does not support {error.operation or 'this operation'} ({error.code})"
    elif isinstance(error, S3Error):
        where = f" ({error.resource})" if error.resource else ""
        request = f" [request id {error.request_id}]" if error.request_id else ""
        text = f"{error.code}: {error.message or 'no message'}{where}{request}"
    else:
        text = str(error)
    # Messages may quote a server's reply or aiohttp's parser, newlines and all.
    return " ".join(text.split())


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``8MiB``, ``16M``, ``1g``, ``5242880`` -> bytes (K/M/G/T are powers of 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 8MiB, 512K, 1G)")
    return int(float(match[1]) * 1024 ** "_kmgt".index(match[2].lower() or "_"))


def add_transfer_options(parser: argparse.ArgumentParser) -> None:
    """The knobs of the transfer engine, shared by cp and sync."""
    group = parser.add_argument_group("transfer options")
    group.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight (default {DEFAULT_CONCURRENCY})",
    )
    group.add_argument(
        "--part-size",
        type=parse_size,
        default=DEFAULT_PART_SIZE,
        metavar="SIZE",
        help="multipart part size, grown to fit 10,000 parts (default 8MiB)",
    )
    group.add_argument(
        "--max-memory",
        type=parse_size,
        default=DEFAULT_MAX_MEMORY,
        metavar="SIZE",
        help=f"bytes of part buffers in flight (default {DEFAULT_MAX_MEMORY // 2**20}MiB)",
    )
    group.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="journals and caches (default $XDG_STATE_HOME/spacesync)",
    )
    add_sse_c_key_option(group)
    group.add_argument(
        "--no-resume",
        action="store_true",
        help="keep no journal: a failed transfer is abandoned and cleaned up",
    )
    # Contradictory together: --quiet prints no per-file lines, --json one per file.
    output = group.add_mutually_exclusive_group()
    output.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar, no per-file lines"
    )
    output.add_argument("--json", action="store_true", help="one JSON line per finished file")


def add_expires_option(parser: argparse.ArgumentParser, *, help: str) -> None:
    """How long a presigned URL or form lasts: the same flag and default for both."""
    parser.add_argument("--expires", type=int, default=3600, metavar="SECONDS", help=help)


def add_sse_c_key_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--sse-c-key",
        metavar="env:VAR|file:PATH",
        help="SSE-C: encrypt uploads and read encrypted objects with this customer key "
        "(32 bytes, raw or base64), read from a variable or a file, never from the command line",
    )


def sse_c_key(args: argparse.Namespace) -> SseCustomerKey | None:
    """The key ``--sse-c-key`` names, read now (a missing variable or file is a ConfigError)."""
    if not args.sse_c_key:
        return None
    # Here, not at the top: spacesync.settings is ~10 ms of start-up few runs need.
    from spacesync.settings import read_sse_c_key

    return read_sse_c_key(args.sse_c_key)


def transfer_context(
    args: argparse.Namespace, client: SpacesClient, *, attributes: ObjectAttributes | None
) -> TransferContext:
    """The one place a verb's transfer options become the engine's context."""
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    state_dir = args.state_dir or default_state_dir()
    return TransferContext(
        client=client,
        scheduler=Scheduler(
            concurrency=args.concurrency,
            max_memory=args.max_memory,
            puts_per_object=client.profile.max_puts_per_object,
        ),
        journals=None if args.no_resume else JournalStore(state_dir / "journals"),
        progress=progress_for(quiet=args.quiet or args.json),
        options=TransferOptions(
            part_size=args.part_size,
            multipart_threshold=args.part_size,
            resumable=not args.no_resume,
            attributes=attributes,
            sse=sse_c_key(args),
        ),
    )


def emit_json(record: dict[str, Any], *, stream: TextIO | None = None) -> None:
    """One JSON document per line, for scripts."""
    (stream or sys.stdout).write(json.dumps(record, default=str, ensure_ascii=False) + "\n")


def parse_pairs(pairs: Iterable[str], error: str) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a dict (the value may hold '='); ``error`` formats the
    message for one without '=' from that argument (``{!r}``)."""
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(error.format(pair))
        parsed[name] = value
    return parsed


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def report_transfer(result: TransferResult, *, as_json: bool, quiet: bool) -> None:
    """One line per finished file; on stderr when stdout carries the object itself."""
    to_stdout = result.destination != "-"
    if as_json:
        emit_json(
            {
                "source": result.source,
                "destination": result.destination,
                "size": result.size,
                "etag": result.etag,
                "seconds": round(result.seconds, 3),
                "retries": result.retries,
                "resumed": result.resumed,
                "ok": result.ok,
                "error": describe_error(result.error) if result.error else None,
            },
            stream=sys.stdout if to_stdout else sys.stderr,
        )
    elif result.error is not None:
        print(f"failed: {result.source}: {describe_error(result.error)}", file=sys.stderr)
    elif not quiet:
        print(
            f"copied: {result.source} -> {result.destination}",
            file=sys.stdout if to_stdout else sys.stderr,
        )


def names_directory(text: str) -> bool:
    """A local destination written with a trailing slash is a directory, existing or not:
    copies into it keep their source's name (it is made only when something lands in it)."""
    return text.endswith(("/", os.sep)) and not text.startswith("s3://")
