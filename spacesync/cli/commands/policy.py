"""``spacesync policy get|set|delete``: a bucket policy (JSON, checked before sending)."""

from __future__ import annotations

import argparse
import sys

from spacesync import settings as ops
from spacesync.cli.settings_support import (
    ActionHelps,
    FileOption,
    Setting,
    read_file,
)
from spacesync.errors import ConfigError


def _text(args: argparse.Namespace) -> str:
    """The policy as text: ``ops.put_policy`` validates it as JSON before sending."""
    try:
        return read_file(args.file).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{args.file} is not UTF-8 text") from None


def _show(policy: str) -> None:
    """As stored, not re-encoded: the endpoint's own text, one newline at the end."""
    sys.stdout.write(policy.rstrip("\n") + "\n")


POLICY = Setting(
    name="policy",
    description="A bucket policy in IAM JSON. It is validated locally (JSON, Effect, "
    "Action, Resource, 20 KB) before it is sent.\n\nexample:\n"
    "  spacesync policy set s3://media --file policy.json",
    actions=ActionHelps("print the policy", "replace the policy from a file", "remove the policy"),
    get=lambda client, where, args: ops.get_policy(client, where.bucket),
    show=_show,
    file=FileOption(metavar="POLICY.json", help="('-': stdin)", required=True),
    read=_text,
    put=lambda client, where, text, args: ops.put_policy(client, where.bucket, text),
    delete=lambda client, where: ops.delete_policy(client, where.bucket),
)

register = POLICY.register
