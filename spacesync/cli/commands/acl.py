"""``spacesync acl get|set``: canned ACLs or a full AccessControlPolicy, bucket or object."""

from __future__ import annotations

import argparse

from spacesync import settings as ops
from spacesync.cli.context import EXIT_OK, open_client
from spacesync.cli.settings_support import Parents, Subparsers, action, emit, read_file, verb_group
from spacesync.protocol import bucket_config as cfg
from spacesync.urls import parse_s3_url


def register(subparsers: Subparsers, parents: Parents) -> None:
    actions = verb_group(
        subparsers,
        parents,
        "acl",
        help="show or set the ACL of a bucket or object",
        description="Show or set an ACL. Spaces knows two: private (owner FULL_CONTROL) and "
        "public-read (plus AllUsers READ).\n\nexamples:\n"
        "  spacesync acl get s3://media/logo.png\n"
        "  spacesync acl set s3://media/logo.png --canned public-read\n"
        "  spacesync acl set s3://media --file policy.xml",
    )
    get = action(actions, parents, "get", get_acl, help="print the ACL as JSON")
    get.add_argument("url", help="s3://BUCKET[/KEY]")
    put = action(actions, parents, "set", set_acl, help="set a canned ACL or a policy document")
    put.add_argument("url", help="s3://BUCKET[/KEY]")
    form = put.add_mutually_exclusive_group(required=True)
    form.add_argument("--canned", choices=cfg.CANNED_ACLS, help="a canned ACL (x-amz-acl)")
    form.add_argument("--file", metavar="POLICY.xml", help="an AccessControlPolicy document")


async def get_acl(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url)
    async with open_client(args) as client:
        policy = await ops.get_acl(client, location.bucket, location.key or None)
    emit({"canned": policy.canned_name, **_plain_policy(policy)})
    return EXIT_OK


async def set_acl(args: argparse.Namespace) -> int:
    location = parse_s3_url(args.url)
    policy = cfg.parse_acl(read_file(args.file)) if args.file else None
    async with open_client(args) as client:
        await ops.put_acl(
            client, location.bucket, location.key or None, canned=args.canned, policy=policy
        )
    print(f"acl set: {location}")
    return EXIT_OK


def _plain_policy(policy: cfg.AccessControlPolicy) -> dict[str, object]:
    return {
        "owner": policy.owner.id,
        "grants": [
            {
                "grantee": g.grantee.id or g.grantee.uri,
                "type": g.grantee.kind,
                "permission": g.permission,
            }
            for g in policy.grants
        ],
    }
