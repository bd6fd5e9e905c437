"""Typed values that S3 operations take and return.

ETags are kept *unquoted* everywhere in spacesync (``d41d8cd98f00b204e9800998ecf8427e``
or ``…-3`` for multipart); quotes are added only on the wire (If-Match).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def unquote_etag(raw: str) -> str:
    """Strip the quotes (and a weak ``W/`` prefix) S3 puts around ETags."""
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def quote_etag(etag: str) -> str:
    """The form of an ETag that If-Match / CompleteMultipartUpload expect."""
    return f'"{unquote_etag(etag)}"'


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: datetime | None


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One entry of a listing."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None
    storage_class: str | None = None


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of ListObjects (V1 or V2); ``next_token`` is the continuation token (V2)
    or the next marker (V1), None on the last page."""

    objects: list[ObjectInfo]
    prefixes: list[str]
    is_truncated: bool
    next_token: str | None


@dataclass(frozen=True, slots=True)
class ObjectHead:
    """What HEAD (or the headers of a GET) tells about an object."""

    size: int
    etag: str
    last_modified: datetime | None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    version_id: str | None = None
    storage_class: str | None = None
    cache_control: str | None = None
    content_disposition: str | None = None
    content_encoding: str | None = None


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    etag: str
    size: int
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class PartsPage:
    parts: list[PartInfo]
    is_truncated: bool
    next_part_number_marker: int | None


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """An unfinished multipart upload."""

    key: str
    upload_id: str
    initiated: datetime | None


@dataclass(frozen=True, slots=True)
class UploadsPage:
    uploads: list[UploadInfo]
    prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """A part as CompleteMultipartUpload wants it."""

    part_number: int
    etag: str


@dataclass(frozen=True, slots=True)
class CompletedUpload:
    location: str | None
    bucket: str | None
    key: str | None
    etag: str


@dataclass(frozen=True, slots=True)
class CopyOutcome:
    """Result of CopyObject or UploadPartCopy."""

    etag: str
    last_modified: datetime | None


@dataclass(frozen=True, slots=True)
class ObjectId:
    """A key (and optionally a version) to delete in a DeleteObjects batch."""

    key: str
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """The per-key result of DeleteObjects: ``error_code`` is None when it was deleted."""

    key: str
    version_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None
