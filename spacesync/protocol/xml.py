"""S3's XML: a hardened parser, typed parsers for each reply, builders for each request body.

Replies are read namespace-agnostically (``{*}`` paths), since S3 sends
``xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`` and some compatible servers send none.
Every parser raises only :class:`MalformedResponse` or an :class:`S3Error` (when a 200 reply
carries an ``<Error>`` document), so callers need no lxml knowledge.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import unquote_plus

from lxml import etree

from spacesync.errors import MalformedResponse, S3Error, s3_error_from, status_code_name
from spacesync.protocol.model import (
    BucketInfo,
    CompletedPart,
    CompletedUpload,
    CopyOutcome,
    DeleteOutcome,
    ListPage,
    ObjectId,
    ObjectInfo,
    PartInfo,
    PartsPage,
    UploadInfo,
    UploadsPage,
    quote_etag,
    unquote_etag,
)

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

MAX_DELETE_BATCH = 1000
MAX_PART_NUMBER = 10000

_T = TypeVar("_T")

# No DTD is ever loaded and no entity expanded, so nothing can be fetched or amplified;
# documents that declare a DOCTYPE are refused outright after parsing. lxml gives each
# thread its own parser context, so one shared parser is safe.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)

# Characters XML 1.0 cannot carry, even escaped: a key holding one cannot be sent as XML.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Bounded so that a hostile body full of "<title" cannot make the search quadratic.
_HTML_TITLE = re.compile(rb"<title[^>]{0,200}>(.{0,300}?)</title", re.IGNORECASE | re.DOTALL)
_DESCRIBE_SCAN = 64 * 1024
_DESCRIBE_CHARS = 100

_ERROR_FIELDS = ("Code", "Message", "RequestId", "Resource")


def parse_document(body: bytes) -> etree._Element:
    """Parse a reply with the hardened parser; a DOCTYPE (XXE, billion laughs) is refused."""
    try:
        # XML allows nothing before its declaration, but S3 keeps slow CompleteMultipartUpload
        # and CopyObject replies alive with whitespace, and proxies may pass some on first.
        root = etree.fromstring(body.lstrip(b" \t\r\n"), _PARSER)
    except (etree.LxmlError, ValueError) as exc:
        raise MalformedResponse(f"reply is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise MalformedResponse("refusing an XML reply that declares a DOCTYPE")
    return root


def parse_error(body: bytes, *, status: int, request_id: str | None = None) -> S3Error:
    """The typed exception for an error reply; never raises, whatever the body holds,
    because it runs on replies from proxies and load balancers as well as from S3."""
    try:
        root = parse_document(body)
    except MalformedResponse:
        kind = "non-XML"
    else:
        if local_name(root) == "Error":
            return _error_from(root, status=status, request_id=request_id)
        kind = f"unexpected <{local_name(root)}>"
    return s3_error_from(
        status_code_name(status),
        _describe(body, kind=kind),
        status=status,
        request_id=request_id,
    )


def error_in_body(body: bytes) -> S3Error | None:
    """The error hidden in a 200 reply (CompleteMultipartUpload, CopyObject, UploadPartCopy),
    or None when the reply is not an ``<Error>`` document."""
    root = parse_document(body)
    return _error_from(root, status=200, request_id=None) if local_name(root) == "Error" else None


def parse_list_buckets(body: bytes) -> list[BucketInfo]:
    root = success_root(body, "ListAllMyBucketsResult")
    return [
        BucketInfo(
            name=required_value(bucket, "Name", as_token),
            created=child_value(bucket, "CreationDate", as_date),
        )
        for bucket in find_all(root, "Buckets", "Bucket")
    ]


def parse_list_objects_v2(body: bytes) -> ListPage:
    root = success_root(body, "ListBucketResult")
    objects, prefixes, truncated = _listing(root, decode=key_decoder(root))
    token = child_value(root, "NextContinuationToken", as_optional) if truncated else None
    if truncated and token is None:
        raise MalformedResponse("truncated ListBucketResult without <NextContinuationToken>")
    return ListPage(objects=objects, prefixes=prefixes, is_truncated=truncated, next_token=token)


def parse_list_objects_v1(body: bytes) -> ListPage:
    """S3 sends NextMarker only when a delimiter was given; otherwise the next marker is
    the greatest key or prefix on the page (both are listed in key order)."""
    root = success_root(body, "ListBucketResult")
    decode = key_decoder(root)
    objects, prefixes, truncated = _listing(root, decode=decode)
    marker = (child_value(root, "NextMarker", decode) or None) if truncated else None
    if truncated and marker is None:
        last = [page[-1] for page in ([o.key for o in objects], prefixes) if page]
        if not last:
            raise MalformedResponse("truncated ListBucketResult without <NextMarker> or entries")
        marker = max(last)
    return ListPage(objects=objects, prefixes=prefixes, is_truncated=truncated, next_token=marker)


def parse_bucket_location(body: bytes) -> str | None:
    """The region slug; None for an empty constraint (S3's answer for us-east-1).

    SeaweedFS wraps the constraint in a ``<CreateBucketConfiguration>``; both forms are read."""
    root = success_root(body, "LocationConstraint", "CreateBucketConfiguration")
    if local_name(root) == "LocationConstraint":
        return as_optional(root.text or "")
    return child_value(root, "LocationConstraint", as_optional)


def parse_initiate_multipart(body: bytes) -> str:
    root = success_root(body, "InitiateMultipartUploadResult")
    return required_value(root, "UploadId", as_token)


def parse_complete_multipart(body: bytes) -> CompletedUpload:
    root = success_root(body, "CompleteMultipartUploadResult")
    return CompletedUpload(
        location=child_value(root, "Location", as_optional),
        bucket=child_value(root, "Bucket", as_optional),
        key=child_value(root, "Key", as_optional),
        etag=required_value(root, "ETag", as_etag),
    )


def parse_copy_result(body: bytes) -> CopyOutcome:
    root = success_root(body, "CopyObjectResult", "CopyPartResult")
    return CopyOutcome(
        etag=required_value(root, "ETag", as_etag),
        last_modified=child_value(root, "LastModified", as_date),
    )


def parse_list_parts(body: bytes) -> PartsPage:
    root = success_root(body, "ListPartsResult")
    parts = [
        PartInfo(
            part_number=required_value(part, "PartNumber", as_count),
            etag=required_value(part, "ETag", as_etag),
            size=required_value(part, "Size", as_count),
            last_modified=child_value(part, "LastModified", as_date),
        )
        for part in find_all(root, "Part")
    ]
    truncated = required_value(root, "IsTruncated", as_bool)
    marker = required_value(root, "NextPartNumberMarker", as_count) if truncated else None
    return PartsPage(parts=parts, is_truncated=truncated, next_part_number_marker=marker)


def parse_list_uploads(body: bytes) -> UploadsPage:
    root = success_root(body, "ListMultipartUploadsResult")
    decode = key_decoder(root)
    uploads = [
        UploadInfo(
            key=required_value(upload, "Key", decode),
            upload_id=required_value(upload, "UploadId", as_token),
            initiated=child_value(upload, "Initiated", as_date),
        )
        for upload in find_all(root, "Upload")
    ]
    prefixes = [required_value(p, "Prefix", decode) for p in find_all(root, "CommonPrefixes")]
    truncated = required_value(root, "IsTruncated", as_bool)
    key_marker = (child_value(root, "NextKeyMarker", decode) or None) if truncated else None
    if truncated and key_marker is None:
        raise MalformedResponse("truncated ListMultipartUploadsResult without <NextKeyMarker>")
    return UploadsPage(
        uploads=uploads,
        prefixes=prefixes,
        is_truncated=truncated,
        next_key_marker=key_marker,
        next_upload_id_marker=(
            child_value(root, "NextUploadIdMarker", as_optional) if truncated else None
        ),
    )


def parse_delete_result(body: bytes) -> list[DeleteOutcome]:
    """One outcome per ``<Deleted>`` or ``<Error>`` entry, in document order."""
    root = success_root(body, "DeleteResult")
    outcomes = []
    for entry in root.iterchildren("{*}Deleted", "{*}Error"):
        failed = local_name(entry) == "Error"
        outcomes.append(
            DeleteOutcome(
                key=required_value(entry, "Key", as_text),
                version_id=child_value(entry, "VersionId", as_optional),
                error_code=required_value(entry, "Code", as_token) if failed else None,
                error_message=child_value(entry, "Message", as_text) if failed else None,
            )
        )
    return outcomes


def build_create_bucket(location: str | None) -> bytes:
    """The CreateBucket body; empty without a location, since the endpoint implies one."""
    if not location:
        return b""
    root = new_root("CreateBucketConfiguration")
    add_child(root, "LocationConstraint", location)
    return serialize(root)


def build_complete_multipart(parts: Sequence[CompletedPart]) -> bytes:
    """S3 refuses a part list that is empty or not strictly ascending, so refuse it here
    where the caller's bug is visible."""
    if not parts:
        raise ValueError("CompleteMultipartUpload needs at least one part")
    root = new_root("CompleteMultipartUpload")
    previous = 0
    for part in parts:
        if not previous < part.part_number <= MAX_PART_NUMBER:
            raise ValueError(
                f"part number {part.part_number} after {previous}: part numbers must be "
                f"strictly ascending and within 1..{MAX_PART_NUMBER}"
            )
        if not unquote_etag(part.etag):
            raise ValueError(f"part {part.part_number} has an empty ETag")
        previous = part.part_number
        element = add_child(root, "Part")
        add_child(element, "PartNumber", str(part.part_number))
        add_child(element, "ETag", quote_etag(part.etag))
    return serialize(root)


def build_delete_objects(objects: Sequence[ObjectId], *, quiet: bool) -> bytes:
    """The DeleteObjects body for 1..1000 keys; with ``quiet`` S3 reports only failures."""
    if not 1 <= len(objects) <= MAX_DELETE_BATCH:
        raise ValueError(
            f"DeleteObjects takes 1..{MAX_DELETE_BATCH} keys per request, got {len(objects)}"
        )
    root = new_root("Delete")
    for obj in objects:
        if not obj.key:
            raise ValueError("cannot delete an empty key")
        element = add_child(root, "Object")
        add_child(element, "Key", obj.key)
        if obj.version_id is not None:
            add_child(element, "VersionId", obj.version_id)
    add_child(root, "Quiet", "true" if quiet else "false")
    return serialize(root)


# --- reading -------------------------------------------------------------------------------


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def find_all(parent: etree._Element, *path: str) -> list[etree._Element]:
    return parent.findall("/".join(f"{{*}}{name}" for name in path))


def child_value(parent: etree._Element, name: str, convert: Callable[[str], _T]) -> _T | None:
    """The converted text of child ``name``, None when absent; a value ``convert`` refuses
    (ValueError) becomes a MalformedResponse naming the element."""
    child = parent.find(f"{{*}}{name}")
    if child is None:
        return None
    return _convert(child.text or "", name, local_name(parent), convert)


def _convert(text: str, name: str, parent: str, convert: Callable[[str], _T]) -> _T:
    try:
        return convert(text)
    except ValueError as exc:
        raise MalformedResponse(f"bad <{name}> in <{parent}>: {text[:80]!r} ({exc})") from None


def _child_texts(parent: etree._Element) -> dict[str, str]:
    """The text of each child element by local name, the first of a repeated name winning
    as with :func:`child_value`: one pass over the children, where a listing entry would
    take a namespace-wildcard search per field (most of a 1,000-key page's parse time)."""
    texts: dict[str, str] = {}
    for child in parent.iterchildren("{*}*"):
        tag = child.tag
        texts.setdefault(tag[tag.rfind("}") + 1 :], child.text or "")
    return texts


def _entry_value(
    texts: dict[str, str], parent: str, name: str, convert: Callable[[str], _T]
) -> _T | None:
    """:func:`child_value` over :func:`_child_texts`."""
    text = texts.get(name)
    return None if text is None else _convert(text, name, parent, convert)


def _required_entry_value(
    texts: dict[str, str], parent: str, name: str, convert: Callable[[str], _T]
) -> _T:
    value = _entry_value(texts, parent, name, convert)
    if value is None:
        raise MalformedResponse(f"<{parent}> without <{name}>")
    return value


def required_value(parent: etree._Element, name: str, convert: Callable[[str], _T]) -> _T:
    value = child_value(parent, name, convert)
    if value is None:
        raise MalformedResponse(f"<{local_name(parent)}> without <{name}>")
    return value


def success_root(body: bytes, *expected: str) -> etree._Element:
    """The root of a success reply; an ``<Error>`` root is raised as the S3Error it is."""
    root = parse_document(body)
    tag = local_name(root)
    if tag == "Error":
        raise _error_from(root, status=200, request_id=None)
    if tag not in expected:
        raise MalformedResponse(f"expected <{'> or <'.join(expected)}>, got <{tag}>")
    return root


def _listing(
    root: etree._Element, *, decode: Callable[[str], str]
) -> tuple[list[ObjectInfo], list[str], bool]:
    """The parts ListObjects V1 and V2 share: entries, common prefixes, IsTruncated."""
    objects = []
    for entry in root.iterchildren("{*}Contents"):
        texts = _child_texts(entry)
        objects.append(
            ObjectInfo(
                key=_required_entry_value(texts, "Contents", "Key", decode),
                size=_required_entry_value(texts, "Contents", "Size", as_count),
                etag=_required_entry_value(texts, "Contents", "ETag", as_etag),
                last_modified=_entry_value(texts, "Contents", "LastModified", as_date),
                storage_class=_entry_value(texts, "Contents", "StorageClass", as_optional),
            )
        )
    prefixes = [required_value(p, "Prefix", decode) for p in find_all(root, "CommonPrefixes")]
    return objects, prefixes, required_value(root, "IsTruncated", as_bool)


def key_decoder(root: etree._Element) -> Callable[[str], str]:
    """How to read keys: a reply to ``encoding-type=url`` says so in <EncodingType>, and its
    keys are form-encoded (space as '+'), which botocore decodes with unquote_plus too."""
    encoding = child_value(root, "EncodingType", as_optional)
    if encoding is None:
        return as_text
    if encoding == "url":
        return _url_decode
    raise MalformedResponse(f"unknown <EncodingType> {encoding[:40]!r}")


def _error_from(root: etree._Element, *, status: int, request_id: str | None) -> S3Error:
    fields = {local_name(child): (child.text or "").strip() for child in root.iterchildren("{*}*")}
    return s3_error_from(
        fields.get("Code") or status_code_name(status),
        fields.get("Message", ""),
        status=status,
        request_id=fields.get("RequestId") or request_id,
        resource=fields.get("Resource") or None,
        extra={k: v for k, v in fields.items() if v and k not in _ERROR_FIELDS},
    )


def _describe(body: bytes, *, kind: str) -> str:
    """A one-line account of a reply that is not S3's XML, for the error message: the title
    of an HTML page (proxies, load balancers) or the start of the text."""
    if not body.strip():
        return "empty body"
    head = body[:_DESCRIBE_SCAN]
    title = _HTML_TITLE.search(head)
    text = html.unescape((title.group(1) if title else head).decode("utf-8", "ignore"))
    shown = "".join(ch for ch in " ".join(text.split()) if ch.isprintable())[:_DESCRIBE_CHARS]
    return f"{kind} reply: {shown}" if shown else f"{kind} reply of {len(body)} bytes"


# Converters for child_value: each takes the raw element text and raises ValueError to refuse it.


def as_text(text: str) -> str:
    """Keys and messages, kept exactly: a key may begin or end with spaces."""
    return text


def as_optional(text: str) -> str | None:
    return text.strip() or None


def as_token(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("empty")
    return value


def as_etag(text: str) -> str:
    value = unquote_etag(text)
    if not value:
        raise ValueError("empty ETag")
    return value


def as_count(text: str) -> int:
    value = text.strip()
    # isascii() also keeps out the non-ASCII digits int() would accept; 19 digits fit int64.
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        raise ValueError("not a non-negative integer")
    return int(value)


def as_bool(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise ValueError("not true or false")
    return value == "true"


def as_date(text: str) -> datetime:
    """ISO 8601 (``2009-10-12T17:50:30.000Z``) as an aware UTC datetime; a server that
    leaves out the zone is taken to mean UTC, as S3 always does."""
    value = text.strip()
    if "T" not in value:
        raise ValueError("not an ISO 8601 date and time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past datetime.max in UTC
        raise ValueError("out of range") from None


def _url_decode(text: str) -> str:
    return unquote_plus(text, errors="strict")


# --- writing -------------------------------------------------------------------------------


def new_root(tag: str) -> etree._Element:
    # None is lxml's key for the default namespace; lxml-stubs types nsmap keys as str only.
    nsmap = {None: S3_NAMESPACE}
    return etree.Element(f"{{{S3_NAMESPACE}}}{tag}", nsmap=nsmap)  # type: ignore[arg-type]


def add_child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{S3_NAMESPACE}}}{tag}")
    if text is not None:
        bad = _NOT_XML_CHAR.search(text)
        if bad:
            raise ValueError(
                f"<{tag}> value {text[:80]!r} contains {bad.group()!r}, which XML 1.0 cannot "
                "carry even escaped; S3 cannot be sent this value in an XML body"
            )
        child.text = text
    return child


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
