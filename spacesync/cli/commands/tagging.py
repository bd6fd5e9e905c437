"""``spacesync tagging get|set|delete``: an object's tags."""

from __future__ import annotations

from spacesync import settings as ops
from spacesync.cli.context import parse_pairs
from spacesync.cli.settings_support import ActionHelps, Setting

TAGGING = Setting(
    name="tagging",
    noun="tags",
    description="Object tags (at most 10; key ≤ 128, value ≤ 256 characters).\n\n"
    "examples:\n  spacesync tagging set s3://media/a.png project=web owner=design\n"
    "  spacesync tagging get s3://media/a.png",
    actions=ActionHelps("print the tags as JSON", "replace the tags", "remove every tag"),
    target="object",
    get=lambda client, where, args: ops.get_tagging(
        client, where.bucket, where.key, version_id=args.version_id
    ),
    get_arguments=lambda get: get.add_argument("--version-id", help="tags of this version"),
    set_arguments=lambda put: put.add_argument("tags", nargs="+", metavar="KEY=VALUE"),
    read=lambda args: parse_pairs(args.tags, "tag {!r} is not KEY=VALUE"),
    put=lambda client, where, tags, args: ops.put_tagging(client, where.bucket, where.key, tags),
    note=lambda tags: f" ({len(tags)})",
    delete=lambda client, where: ops.delete_tagging(client, where.bucket, where.key),
)

register = TAGGING.register
