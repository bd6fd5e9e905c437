"""Request headers built from typed options, and typed values read from reply headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from spacesync.errors import ConfigError, MalformedResponse
from spacesync.protocol.model import ObjectHead, quote_etag, unquote_etag

#: S3 limits user metadata (names and values of x-amz-meta-*) to 2 KB in total.
MAX_METADATA_BYTES = 2048
META_PREFIX = "x-amz-meta-"


@dataclass(frozen=True, slots=True)
class ObjectAttributes:
    """What a writer may set on an object: sent by PutObject, CreateMultipartUpload and
    CopyObject (with the REPLACE directive)."""

    content_type: str | None = None
    cache_control: str | None = None
    content_disposition: str | None = None
    content_encoding: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    acl: str | None = None
    storage_class: str | None = None
    tagging: Mapping[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        validate_metadata(self.metadata)
        out: dict[str, str] = {}
        for name, value in (
            ("Content-Type", self.content_type),
            ("Cache-Control", self.cache_control),
            ("Content-Disposition", self.content_disposition),
            ("Content-Encoding", self.content_encoding),
            ("x-amz-acl", self.acl),
            ("x-amz-storage-class", self.storage_class),
        ):
            if value is not None:
                out[name] = value
        for name, value in self.metadata.items():
            out[META_PREFIX + name.lower()] = value
        if self.tagging:
            out["x-amz-tagging"] = "&".join(
                f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.tagging.items()
            )
        return out


def validate_metadata(metadata: Mapping[str, str]) -> None:
    """Refuse metadata S3 would refuse, before any byte is sent."""
    total = 0
    for name, value in metadata.items():
        if not name or not all(33 <= ord(c) < 127 and c not in '()<>@,;:\\"/[]?={}' for c in name):
            raise ConfigError(f"invalid metadata name {name!r}: use ASCII letters, digits, '-'")
        if not value.isascii() or any(ord(c) < 32 and c != "\t" for c in value):
            raise ConfigError(f"metadata value for {name!r} must be printable ASCII")
        total += len(name.encode()) + len(value.encode())
    if total > MAX_METADATA_BYTES:
        raise ConfigError(
            f"metadata is {total} bytes; S3 allows at most {MAX_METADATA_BYTES} bytes in total"
        )


@dataclass(frozen=True, slots=True)
class Conditions:
    """Preconditions for GET/HEAD (and PUT where the endpoint allows them)."""

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.if_match is not None:
            out["If-Match"] = quote_etag(self.if_match) if self.if_match != "*" else "*"
        if self.if_none_match is not None:
            out["If-None-Match"] = (
                quote_etag(self.if_none_match) if self.if_none_match != "*" else "*"
            )
        if self.if_modified_since is not None:
            out["If-Modified-Since"] = http_date(self.if_modified_since)
        if self.if_unmodified_since is not None:
            out["If-Unmodified-Since"] = http_date(self.if_unmodified_since)
        return out


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def byte_range(start: int, end_inclusive: int) -> str:
    if start < 0 or end_inclusive < start:
        raise ValueError(f"bad byte range {start}-{end_inclusive}")
    return f"bytes={start}-{end_inclusive}"


def parse_content_range(value: str | None) -> tuple[int, int, int | None]:
    """``bytes START-END/TOTAL`` -> (start, end inclusive, total or None for ``*``)."""
    try:
        if value is None or not value.startswith("bytes "):
            raise ValueError
        span, _, total = value[6:].partition("/")
        start, _, end = span.partition("-")
        parsed = int(start), int(end), None if total == "*" else int(total)
    except ValueError:
        raise MalformedResponse(f"bad Content-Range reply header: {value!r}") from None
    if parsed[1] < parsed[0]:
        raise MalformedResponse(f"bad Content-Range reply header: {value!r}")
    return parsed


def parse_object_head(headers: Mapping[str, str]) -> ObjectHead:
    """ObjectHead from HEAD or GET reply headers (size is the whole object's size even for
    a ranged GET, taken from Content-Range)."""
    content_range = headers.get("Content-Range")
    try:
        if content_range:
            total = parse_content_range(content_range)[2]
            if total is None:
                raise MalformedResponse(f"Content-Range without a total: {content_range!r}")
            size = total
        else:
            size = int(headers.get("Content-Length", ""))
    except ValueError:
        raise MalformedResponse("reply has no valid Content-Length") from None
    etag = headers.get("ETag")
    return ObjectHead(
        size=size,
        etag=unquote_etag(etag) if etag else "",
        last_modified=parse_http_date(headers.get("Last-Modified")),
        content_type=headers.get("Content-Type"),
        metadata={
            name[len(META_PREFIX) :].lower(): value
            for name, value in headers.items()
            if name.lower().startswith(META_PREFIX)
        },
        version_id=headers.get("x-amz-version-id"),
        storage_class=headers.get("x-amz-storage-class"),
        cache_control=headers.get("Cache-Control"),
        content_disposition=headers.get("Content-Disposition"),
        content_encoding=headers.get("Content-Encoding"),
    )
