"""``spacesync local``: a real S3 server (SeaweedFS) on this machine, for trying things out."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path

from spacesync.cli.context import EXIT_FAILED, EXIT_OK, add_verb, emit_json
from spacesync.localserver import LocalServer, LocalServerInfo, env_vars
from spacesync.statedir import default_state_dir


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    parser = add_verb(
        subparsers,
        parents,
        "local",
        run,
        help="run a local S3 server (SeaweedFS) to try spacesync without a Space",
        description="Start, stop or inspect a local SeaweedFS S3 server bound to 127.0.0.1, "
        "with its data under the state directory and signatures checked.\n\n"
        'examples:\n  spacesync local start\n  eval "$(spacesync local env)"\n'
        "  spacesync mb s3://demo && spacesync ls\n  spacesync local stop",
    )
    parser.add_argument("action", choices=["start", "stop", "status", "env"])
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where spacesync keeps its state (default $XDG_STATE_HOME/spacesync)",
    )
    parser.add_argument("--json", action="store_true", help="print the server's details as JSON")


def _show(info: LocalServerInfo, *, as_json: bool) -> None:
    if as_json:
        emit_json({"endpoint": info.endpoint_url, "pid": info.pid, "root": str(info.root)})
    else:
        print(
            f"local S3 server running at {info.endpoint_url} (pid {info.pid}, data in {info.root})"
        )


async def run(args: argparse.Namespace) -> int:
    server = LocalServer((args.state_dir or default_state_dir()) / "local-server")
    if args.action == "start":
        _show(server.start(), as_json=args.json)
        if not args.json:
            print('use it with: eval "$(spacesync local env)"')
        return EXIT_OK
    if args.action == "stop":
        print("stopped" if server.stop() else "not running")
        return EXIT_OK
    info = server.status()
    if info is None:
        print("local S3 server is not running: start it with `spacesync local start`")
        return EXIT_FAILED
    if args.action == "status":
        _show(info, as_json=args.json)
    else:
        # `export`ed and quoted: the lines are meant for `eval`, and the variables for the
        # commands run after it.
        for name, value in env_vars(info).items():
            print(f"export {name}={shlex.quote(value)}")
    return EXIT_OK
