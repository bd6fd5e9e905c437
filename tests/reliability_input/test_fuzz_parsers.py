"""Hostile and random input to the parsers the XML fuzz tests do not reach: the bucket and
object settings replies (protocol/bucket_config.py) and the reply headers
(protocol/headers.py). Any input gives a result or a typed error: never a crash, never a
hang (hypothesis' deadline catches a slow one)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from spacesync.errors import ConfigError, MalformedResponse, SpacesError
from spacesync.protocol import bucket_config as cfg
from spacesync.protocol.headers import parse_content_range, parse_http_date, parse_object_head
from spacesync.protocol.model import ObjectHead
from tests.protocol.test_xml_fuzz import FAST, NAMESPACES, TEXT

CONFIG_PARSERS: list[Callable[[bytes], Any]] = [
    cfg.parse_acl,
    cfg.parse_cors,
    cfg.parse_lifecycle,
    cfg.parse_versioning,
    cfg.parse_list_versions,
    cfg.parse_tagging,
    cfg.parse_website,
    cfg.parse_logging,
]
CONFIG_ROOTS = [
    "AccessControlPolicy", "CORSConfiguration", "LifecycleConfiguration",
    "VersioningConfiguration", "ListVersionsResult", "Tagging", "WebsiteConfiguration",
    "BucketLoggingStatus", "Error",
]
CONFIG_TAGS = [
    "Owner", "ID", "DisplayName", "AccessControlList", "Grant", "Grantee", "URI",
    "EmailAddress", "Permission", "CORSRule", "AllowedOrigin", "AllowedMethod",
    "AllowedHeader", "ExposeHeader", "MaxAgeSeconds", "Rule", "Prefix", "Filter", "Status",
    "Expiration", "Days", "Date", "AbortIncompleteMultipartUpload", "DaysAfterInitiation",
    "NoncurrentVersionExpiration", "NoncurrentDays", "MfaDelete", "Version", "DeleteMarker",
    "Key", "VersionId", "IsLatest", "LastModified", "ETag", "Size", "StorageClass",
    "IsTruncated", "NextKeyMarker", "NextVersionIdMarker", "KeyMarker", "VersionIdMarker",
    "TagSet", "Tag", "Value", "IndexDocument", "Suffix", "ErrorDocument",
    "RedirectAllRequestsTo", "HostName", "Protocol", "RoutingRules", "RoutingRule",
    "Condition", "Redirect", "LoggingEnabled", "TargetBucket", "TargetPrefix", "Code",
    "Message", *CONFIG_ROOTS,
]
HEADER_NAMES = [
    "Content-Length", "Content-Range", "ETag", "Last-Modified", "Content-Type",
    "x-amz-meta-mtime", "X-Amz-Meta-Owner", "x-amz-version-id", "x-amz-storage-class",
    "Cache-Control", "Content-Disposition", "Content-Encoding",
]
PLAUSIBLE_HEADER = st.sampled_from([
    "", "0", "-1", "12", "1e3", "99999999999999999999999", "bytes 0-0/1", "bytes 5-2/9",
    "bytes 0-9/*", "bytes */10", "bytes -5/10", "bytes 0-9/", '"abc"', '"', "W/\"x\"",
    "Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 99999 07:28:00 GMT",
    "Mon, 99 Foo 2015 99:99:99 GMT", "Thu, 01 Jan 1970 00:00:00 +9999",
])
HEADER_TEXT = st.one_of(PLAUSIBLE_HEADER, st.text(max_size=60))


@st.composite
def config_trees(draw: st.DrawFn) -> bytes:
    """Random trees of the settings replies' own tags, sometimes cut short."""
    namespace = draw(st.sampled_from(NAMESPACES))

    def qualified(tag: str) -> str:
        return tag if namespace is None else f"{{{namespace}}}{tag}"

    def grow(parent: etree._Element, depth: int) -> None:
        for _ in range(draw(st.integers(0, 4 if depth < 4 else 0))):
            child = etree.SubElement(parent, qualified(draw(st.sampled_from(CONFIG_TAGS))))
            child.text = draw(st.none() | TEXT)
            grow(child, depth + 1)

    root = etree.Element(qualified(draw(st.sampled_from(CONFIG_ROOTS))))
    grow(root, 0)
    body = etree.tostring(root, xml_declaration=draw(st.booleans()), encoding="UTF-8")
    cut = draw(st.none() | st.integers(0, len(body)))
    return body if cut is None else body[:cut]


def parse_all(body: bytes) -> None:
    for parse in CONFIG_PARSERS:
        with contextlib.suppress(SpacesError):
            parse(body)


@FAST
@given(st.binary(max_size=512))
def test_settings_parsers_on_arbitrary_bytes(body: bytes) -> None:
    parse_all(body)


@FAST
@given(config_trees())
def test_settings_parsers_on_trees_of_their_own_tags(body: bytes) -> None:
    parse_all(body)


@FAST
@given(st.binary(max_size=512) | config_trees())
def test_config_files_are_xml_json_or_a_config_error(data: bytes) -> None:
    """A user's --file: accepted as XML/JSON, else a ConfigError (never a crash)."""
    with contextlib.suppress(ConfigError):
        assert isinstance(cfg.parse_config_file(data, root="CORSConfiguration", lists={}), bytes)


@FAST
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_policies_are_valid_or_a_config_error(text: str | bytes) -> None:
    with contextlib.suppress(ConfigError):
        assert isinstance(cfg.validate_policy(text), dict)


@FAST
@given(st.none() | HEADER_TEXT)
def test_content_range(value: str | None) -> None:
    try:
        start, end, total = parse_content_range(value)
    except MalformedResponse:
        return
    assert start <= end
    assert total is None or isinstance(total, int)


@FAST
@given(st.none() | HEADER_TEXT)
def test_http_date_never_raises(value: str | None) -> None:
    parsed = parse_http_date(value)
    assert parsed is None or isinstance(parsed, datetime)


@FAST
@given(st.dictionaries(st.sampled_from(HEADER_NAMES) | st.text(max_size=20), HEADER_TEXT))
def test_object_head_is_parsed_or_malformed(headers: dict[str, str]) -> None:
    with contextlib.suppress(MalformedResponse):
        assert isinstance(parse_object_head(headers), ObjectHead)
