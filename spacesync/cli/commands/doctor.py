"""``spacesync doctor``: check an endpoint once and print what it supports."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from spacesync.cli.context import EXIT_FAILED, EXIT_OK, add_verb, emit_json, open_client
from spacesync.client import SpacesClient
from spacesync.doctor import diagnose, save_report
from spacesync.errors import ConfigError
from spacesync.protocol.endpoint import Endpoint
from spacesync.statedir import default_state_dir
from spacesync.urls import parse_s3_url


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "doctor",
        run,
        help="check an endpoint: credentials, clock, addressing, what it supports",
        description="Probe the endpoint once: valid credentials, clock offset, and with a "
        "bucket: path and virtual-host addressing, ListObjectsV2, DeleteObjects, multipart, "
        "checksum headers (writes and removes one object under .spacesync-doctor/).\n"
        "Exit code 1 when a check failed.\n\n"
        "examples:\n  spacesync doctor\n  spacesync doctor s3://backups --json",
    )
    parser.add_argument("url", nargs="?", help="s3://BUCKET for the bucket checks")
    parser.add_argument("--json", action="store_true", help="the report as one JSON document")
    parser.add_argument(
        "--save",
        action="store_true",
        help="keep the findings in the state dir; clients whose profile sets "
        "spacesync_use_probe = true (or SPACES_USE_PROBE=1) then apply them",
    )
    parser.add_argument("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)


async def run(args: argparse.Namespace) -> int:
    bucket = parse_s3_url(args.url).bucket if args.url else None
    async with open_client(args) as client:
        virtual = _virtual_variant(client)
        try:
            report = await diagnose(client, bucket, virtual_client=virtual)
        finally:
            if virtual is not None:
                await virtual.close()
    if args.save:
        saved = save_report(report, args.state_dir or default_state_dir())
        print(f"saved the findings to {saved}", file=sys.stderr)
    if args.json:
        emit_json(report.to_json())
    else:
        print(f"endpoint {report.endpoint}" + (f", bucket {bucket}" if bucket else ""))
        for check in report.checks:
            print(f"  {check.outcome:<11} {check.name:<24} {check.detail}")
        for name, value in report.client_options().items():
            print(f"  advice      {name} = {value}")
    return EXIT_OK if report.healthy else EXIT_FAILED


def _virtual_variant(client: SpacesClient) -> SpacesClient | None:
    """The same settings with virtual-host addressing, or None where it cannot work (IP)."""
    endpoint = client.settings.endpoint
    try:
        Endpoint.parse(endpoint.url, region=endpoint.region, addressing="virtual").target("probe")
    except ConfigError:
        return None
    virtual = dataclasses.replace(endpoint, addressing="virtual")
    return SpacesClient(dataclasses.replace(client.settings, endpoint=virtual))
