"""Signed requests as sent, compared with the Spaces reference's documented examples; and
operations the local server lacks (website, PutBucketLogging) checked by shape alone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spacesync import settings as ops
from spacesync.cli.context import describe_error
from spacesync.errors import NotImplementedByEndpoint
from spacesync.protocol import bucket_config as cfg
from tests.settings.recording import RecordingTransport, spaces_client

FIXTURES = Path(__file__).parent / "fixtures"
HOST = "static-images.nyc3.digitaloceanspaces.com"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# The reference's "Example Canonical Request" for GET /?acl at 20170804T221549Z.
DOCUMENTED_CANONICAL_ACL = f"""GET
/
acl=
host:{HOST}
x-amz-content-sha256:{EMPTY}
x-amz-date:20170804T221549Z

host;x-amz-content-sha256;x-amz-date
{EMPTY}"""


async def test_get_bucket_acl_signs_the_documented_canonical_request() -> None:
    transport = RecordingTransport(
        replies=[(200, {}, (FIXTURES / "get_bucket_acl_reply.xml").read_bytes())]
    )
    async with spaces_client(transport, at=datetime(2017, 8, 4, 22, 15, 49, tzinfo=UTC)) as c:
        policy = await ops.get_acl(c, "static-images")
    sent = transport.requests[0]
    assert (sent.method, sent.host) == ("GET", HOST)
    assert sent.canonical_request() == DOCUMENTED_CANONICAL_ACL
    assert sent.headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=II5JDQBAN3JYM4DNEB6C/20170804/nyc3/s3/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
    )
    assert policy.canned_name == "public-read"


@pytest.mark.parametrize(
    ("key", "path", "fixture"),
    [
        (None, "/", "put_bucket_acl_request.xml"),
        ("sammy.png", "/sammy.png", "put_object_acl_request.xml"),
    ],
)
async def test_put_acl_document_matches_the_reference(
    key: str | None, path: str, fixture: str
) -> None:
    documented = cfg.parse_acl((FIXTURES / fixture).read_bytes())
    transport = RecordingTransport()
    async with spaces_client(transport, at=datetime(2017, 7, 10, 18, 37, 9, tzinfo=UTC)) as c:
        await ops.put_acl(c, "static-images", key, policy=documented)
    sent = transport.requests[0]
    assert (sent.method, sent.host, sent.path, sent.query) == ("PUT", HOST, path, [("acl", "")])
    # The reference signs content-type; Spaces' 2025 edition also requires Content-MD5.
    assert {"content-type", "host", "x-amz-content-sha256", "x-amz-date"} <= set(
        sent.signed_headers
    )
    assert sent.headers["Content-Type"] == "application/xml"
    assert "Content-MD5" in sent.headers
    assert sent.headers["x-amz-content-sha256"] == hashlib.sha256(sent.body).hexdigest()
    assert cfg.parse_acl(sent.body) == documented


async def test_canned_acl_and_grants_travel_as_headers_without_body() -> None:
    transport = RecordingTransport(replies=[(200, {}, b""), (200, {}, b"")])
    async with spaces_client(transport, at=datetime(2017, 7, 10, tzinfo=UTC)) as c:
        await ops.put_acl(c, "static-images", "sammy.png", canned="public-read")
        await ops.put_acl(
            c,
            "static-images",
            grants=[cfg.Grant(cfg.Grantee(uri=cfg.ALL_USERS), "READ")],
        )
    canned, grants = transport.requests
    assert canned.headers["x-amz-acl"] == "public-read" and canned.body == b""
    assert "x-amz-acl" in canned.signed_headers
    assert grants.headers["x-amz-grant-read"] == f'uri="{cfg.ALL_USERS}"'
    assert "x-amz-grant-read" in grants.signed_headers


async def test_put_cors_and_lifecycle_match_the_reference() -> None:
    transport = RecordingTransport(replies=[(200, {}, b""), (200, {}, b"")])
    cors = cfg.parse_cors((FIXTURES / "put_bucket_cors_request.xml").read_bytes())
    lifecycle = cfg.parse_lifecycle((FIXTURES / "put_bucket_lifecycle_request.xml").read_bytes())
    async with spaces_client(transport, at=datetime(2018, 1, 19, tzinfo=UTC)) as c:
        await ops.put_cors(c, "static-images", cors)
        await ops.put_lifecycle(c, "static-images", lifecycle, legacy=True)
    for sent, subresource in zip(transport.requests, ("cors", "lifecycle"), strict=True):
        assert (sent.method, sent.host, sent.path) == ("PUT", HOST, "/")
        assert sent.query == [(subresource, "")]
        # The documented SignedHeaders of both examples, exactly.
        assert sent.signed_headers == [
            "content-md5",
            "content-type",
            "host",
            "x-amz-content-sha256",
            "x-amz-date",
        ]
    assert cfg.parse_cors(transport.requests[0].body) == cors
    # Legacy form, as in the reference: <Prefix> directly in <Rule>, no <Filter>.
    assert b"<Filter>" not in transport.requests[1].body
    assert cfg.parse_lifecycle(transport.requests[1].body) == lifecycle


async def test_delete_cors_is_a_bare_delete() -> None:
    transport = RecordingTransport(replies=[(204, {}, b"")])
    async with spaces_client(transport, at=datetime(2017, 7, 14, tzinfo=UTC)) as c:
        await ops.delete_cors(c, "static-images")
    sent = transport.requests[0]
    assert (sent.method, sent.path, sent.query, sent.body) == ("DELETE", "/", [("cors", "")], b"")


async def test_put_logging_matches_the_2025_reference() -> None:
    transport = RecordingTransport()
    async with spaces_client(transport, at=datetime(2025, 8, 21, tzinfo=UTC)) as c:
        await ops.put_logging(c, "source-bucket", cfg.LoggingConfig("log-target-bucket", "logs/"))
    sent = transport.requests[0]
    assert (sent.method, sent.host, sent.path, sent.query) == (
        "PUT",
        "source-bucket.nyc3.digitaloceanspaces.com",
        "/",
        [("logging", "")],
    )
    assert sent.headers["Content-Type"] == "application/xml" and "Content-MD5" in sent.headers
    documented = (FIXTURES / "put_bucket_logging_request.xml").read_bytes()
    assert cfg.parse_logging(sent.body) == cfg.parse_logging(documented)


async def test_website_put_get_delete_shapes() -> None:
    reply = (FIXTURES / "aws_get_bucket_website_reply.xml").read_bytes()
    transport = RecordingTransport(replies=[(200, {}, b""), (200, {}, reply), (204, {}, b"")])
    config = cfg.WebsiteConfiguration(index_document="index.html", error_document="404.html")
    async with spaces_client(transport, at=datetime(2025, 8, 21, tzinfo=UTC)) as c:
        await ops.put_website(c, "site", config)
        got = await ops.get_website(c, "site")
        await ops.delete_website(c, "site")
    put, get, delete = transport.requests
    assert [(r.method, r.query) for r in transport.requests] == [
        ("PUT", [("website", "")]),
        ("GET", [("website", "")]),
        ("DELETE", [("website", "")]),
    ]
    assert cfg.parse_website(put.body) == config
    assert "Content-MD5" in put.headers
    assert got.index_document == "index.html" and len(got.routing_rules) == 2
    assert get.body == delete.body == b""


NOT_IMPLEMENTED = (
    501,
    {"Content-Type": "application/xml"},
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
    b"<Message>A header you provided implies functionality that is not implemented"
    b"</Message><RequestId>tx1</RequestId></Error>",
)


async def test_not_implemented_names_the_operation_in_one_line() -> None:
    transport = RecordingTransport(replies=[NOT_IMPLEMENTED])
    async with spaces_client(transport, at=datetime(2025, 8, 21, tzinfo=UTC)) as c:
        with pytest.raises(NotImplementedByEndpoint) as raised:
            await ops.put_logging(c, "b-1", cfg.LoggingConfig("b-2"))
    assert describe_error(raised.value) == (
        "the endpoint does not support PutBucketLogging (NotImplemented)"
    )


@pytest.mark.parametrize(
    ("call", "operation"),
    [
        (lambda c: ops.get_acl(c, "b-1", "k"), "GetObjectAcl"),
        (
            lambda c: ops.put_lifecycle(c, "b-1", [cfg.LifecycleRule("r", expiration_days=1)]),
            "PutBucketLifecycleConfiguration",
        ),
        (
            lambda c: ops.put_lifecycle(
                c, "b-1", [cfg.LifecycleRule("r", expiration_days=1)], legacy=True
            ),
            "PutBucketLifecycle",
        ),
        (lambda c: ops.delete_website(c, "b-1"), "DeleteBucketWebsite"),
        (lambda c: ops.put_acl(c, "b-1", canned="private"), "PutBucketAcl"),
    ],
)
async def test_operation_names(call: object, operation: str) -> None:
    transport = RecordingTransport(replies=[NOT_IMPLEMENTED])
    async with spaces_client(transport, at=datetime(2025, 8, 21, tzinfo=UTC)) as c:
        with pytest.raises(NotImplementedByEndpoint) as raised:
            await call(c)  # type: ignore[operator]
    assert raised.value.operation == operation


async def test_presign_v2_and_v4_with_response_overrides() -> None:
    async with spaces_client(RecordingTransport(), at=datetime(2025, 8, 21, tzinfo=UTC)) as c:
        v4 = ops.presign_url(
            c,
            "media",
            "a b.mp4",
            expires=60,
            response_headers={"content-disposition": 'attachment; filename="x.mp4"'},
        )
        v2 = ops.presign_url(c, "media", "a b.mp4", expires=60, signature_version=2)
    assert v4.startswith("https://media.nyc3.digitaloceanspaces.com/a%20b.mp4?")
    assert "response-content-disposition=attachment%3B%20filename%3D%22x.mp4%22" in v4
    assert "X-Amz-Expires=60" in v4 and "X-Amz-Signature=" in v4
    assert f"Expires={int(datetime(2025, 8, 21, tzinfo=UTC).timestamp()) + 60}" in v2
    assert "AWSAccessKeyId=II5JDQBAN3JYM4DNEB6C" in v2 and "Signature=" in v2
    with pytest.raises(Exception, match="cannot override"):
        ops.presign_url(c, "media", "k", response_headers={"x-evil": "1"})
