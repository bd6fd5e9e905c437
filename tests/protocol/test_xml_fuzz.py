"""Hostile and random input to every parser of spacesync.protocol.xml.

Whatever a server, proxy or attacker sends, a parser may only raise a SpacesError (and
parse_error nothing at all), must answer quickly, and must never fetch anything.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from spacesync.errors import MalformedResponse, S3Error, SpacesError
from spacesync.protocol import xml

PARSERS: list[Callable[[bytes], Any]] = [
    xml.parse_document,
    xml.error_in_body,
    xml.parse_list_buckets,
    xml.parse_list_objects_v2,
    xml.parse_list_objects_v1,
    xml.parse_bucket_location,
    xml.parse_initiate_multipart,
    xml.parse_complete_multipart,
    xml.parse_copy_result,
    xml.parse_list_parts,
    xml.parse_list_uploads,
    xml.parse_delete_result,
]

ROOTS = [
    "Error", "ListAllMyBucketsResult", "ListBucketResult", "LocationConstraint",
    "InitiateMultipartUploadResult", "CompleteMultipartUploadResult", "CopyObjectResult",
    "CopyPartResult", "ListPartsResult", "ListMultipartUploadsResult", "DeleteResult",
]
TAGS = [
    "Buckets", "Bucket", "Name", "CreationDate", "Owner", "ID", "DisplayName", "Contents",
    "Key", "Size", "ETag", "LastModified", "StorageClass", "CommonPrefixes", "Prefix",
    "Delimiter", "Marker", "NextMarker", "IsTruncated", "NextContinuationToken",
    "ContinuationToken", "StartAfter", "KeyCount", "MaxKeys", "EncodingType", "UploadId",
    "Location", "Part", "PartNumber", "NextPartNumberMarker", "PartNumberMarker", "MaxParts",
    "Upload", "Initiated", "Initiator", "KeyMarker", "NextKeyMarker", "UploadIdMarker",
    "NextUploadIdMarker", "MaxUploads", "Deleted", "VersionId", "DeleteMarker", "Code",
    "Message", "RequestId", "Resource", "HostId", "ServerTime", *ROOTS,
]
NAMESPACES = [None, xml.S3_NAMESPACE, "urn:other"]

# Texts S3 fields really hold, so that random trees get past the first check now and then.
PLAUSIBLE_TEXT = st.sampled_from([
    "", " ", "0", "1", "-1", "12a", "99999999999999999999", "true", "false", "TRUE", "url",
    "base64", '"d41d8cd98f00b204e9800998ecf8427e"', '""', "2017-07-13T18:40:46.777Z",
    "2017-07-13", "2017-13-45T99:99:99Z", "a+b%2Bc", "%FF%FE", "%", "NoSuchKey", "SlowDown",
    "InternalError", "RequestTimeTooSkewed", "key/with space",
])
# lxml refuses to store text XML 1.0 cannot carry, so the random tree sticks to what it can.
XML_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff")
    .filter(lambda c: c in "\t\n\r" or c >= " "),
    max_size=40,
)
TEXT = st.one_of(PLAUSIBLE_TEXT, XML_TEXT)

FAST = settings(
    deadline=timedelta(milliseconds=300),
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)


def call_all(body: bytes) -> None:
    """Run every parser on ``body``: only SpacesErrors may come out, parse_error never raises."""
    for parse in PARSERS:
        with contextlib.suppress(SpacesError):
            parse(body)
    assert isinstance(xml.parse_error(body, status=500), S3Error)
    assert isinstance(xml.parse_error(body, status=200, request_id="r"), S3Error)


@st.composite
def trees(draw: st.DrawFn) -> bytes:
    namespace = draw(st.sampled_from(NAMESPACES))

    def qualified(tag: str) -> str:
        return tag if namespace is None else f"{{{namespace}}}{tag}"

    def grow(parent: etree._Element, depth: int) -> None:
        for _ in range(draw(st.integers(0, 4 if depth < 3 else 0))):
            child = etree.SubElement(parent, qualified(draw(st.sampled_from(TAGS))))
            child.text = draw(st.none() | TEXT)
            grow(child, depth + 1)

    root = etree.Element(qualified(draw(st.sampled_from(ROOTS))))
    root.text = draw(st.none() | TEXT)
    grow(root, 0)
    body = etree.tostring(root, xml_declaration=draw(st.booleans()), encoding="UTF-8")
    # Sometimes cut the document short, as a broken connection would.
    cut = draw(st.none() | st.integers(0, len(body)))
    return body if cut is None else body[:cut]


# Each reply's shape: its top-level fields and its repeated entries with their fields, so that
# generated documents often get all the way through a parser rather than failing at once.
SHAPES: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    "ListAllMyBucketsResult": ([], {"Buckets/Bucket": ["Name", "CreationDate"]}),
    "ListBucketResult": (
        ["IsTruncated", "EncodingType", "NextMarker", "NextContinuationToken"],
        {"Contents": ["Key", "Size", "ETag", "LastModified", "StorageClass"],
         "CommonPrefixes": ["Prefix"]},
    ),
    "InitiateMultipartUploadResult": (["UploadId"], {}),
    "CompleteMultipartUploadResult": (["Location", "Bucket", "Key", "ETag"], {}),
    "CopyPartResult": (["ETag", "LastModified"], {}),
    "ListPartsResult": (
        ["IsTruncated", "NextPartNumberMarker"],
        {"Part": ["PartNumber", "ETag", "Size", "LastModified"]},
    ),
    "ListMultipartUploadsResult": (
        ["IsTruncated", "EncodingType", "NextKeyMarker", "NextUploadIdMarker"],
        {"Upload": ["Key", "UploadId", "Initiated"], "CommonPrefixes": ["Prefix"]},
    ),
    "DeleteResult": ([], {"Deleted": ["Key", "VersionId"], "Error": ["Key", "Code", "Message"]}),
    "Error": (["Code", "Message", "RequestId", "Resource", "ServerTime"], {}),
}
COUNT = ["0", "1", "7", "10000", "-1", "1.5", "", "\uff17"]
DATE = [
    "2017-07-13T18:40:46.777Z", "2017-07-13T18:40:46+05:00", "2017-07-13", "now", "",
    "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
]
KEYISH = ["a", "dir/", " spaced ", "a+b%2Bc%20", "%E2%9C%93", "%FF", "%", ""]
FIELD_TEXT: dict[str, list[str]] = {
    "IsTruncated": ["true", "false", "False", "yes", ""],
    "EncodingType": ["url", "url", "", "base64"],
    "Size": COUNT, "PartNumber": COUNT, "NextPartNumberMarker": COUNT,
    "ETag": ['"d41d8cd98f00b204e9800998ecf8427e"', "abc-3", '""', "W/\"x\"", ""],
    "LastModified": DATE, "CreationDate": DATE, "Initiated": DATE,
    "Key": KEYISH, "Prefix": KEYISH, "NextMarker": KEYISH, "NextKeyMarker": KEYISH,
    "Code": ["NoSuchKey", "SlowDown", "InternalError", "Weird", ""],
}


@st.composite
def s3_replies(draw: st.DrawFn) -> bytes:
    """Documents shaped like one of S3's replies, with fields now and then missing or odd."""
    namespace = draw(st.sampled_from(NAMESPACES))
    ns = "" if namespace is None else f"{{{namespace}}}"

    def fill(parent: etree._Element, names: list[str]) -> None:
        for name in names:
            if draw(st.integers(0, 9)) == 0:
                continue  # a missing field
            # Mostly a value the field really takes, now and then anything at all.
            usual = name in FIELD_TEXT and draw(st.integers(0, 9)) > 0
            text = st.sampled_from(FIELD_TEXT[name]) if usual else TEXT
            etree.SubElement(parent, ns + name).text = draw(text)

    root_tag = draw(st.sampled_from(sorted(SHAPES)))
    fields, entries = SHAPES[root_tag]
    root = etree.Element(ns + root_tag)
    fill(root, fields)
    for path, names in entries.items():
        *containers, tag = path.split("/")
        parent = root
        for container in containers:
            parent = etree.SubElement(parent, ns + container)
        for _ in range(draw(st.integers(0, 3))):
            fill(etree.SubElement(parent, ns + tag), names)
    return etree.tostring(root)


@FAST
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(body: bytes) -> None:
    call_all(body)


@FAST
@given(st.binary(max_size=256).map(lambda b: b"<?xml version='1.0'?><ListBucketResult>" + b))
def test_arbitrary_bytes_after_a_plausible_start(body: bytes) -> None:
    call_all(body)


@FAST
@given(trees())
def test_arbitrary_trees_of_s3_tags(body: bytes) -> None:
    call_all(body)


@FAST
@given(s3_replies())
def test_s3_shaped_replies(body: bytes) -> None:
    call_all(body)


@FAST
@given(trees())
def test_well_formed_error_documents_become_typed_errors(body: bytes) -> None:
    try:
        root = xml.parse_document(body)
    except MalformedResponse:
        return
    error = xml.parse_error(body, status=503)
    if etree.QName(root).localname == "Error":
        assert xml.error_in_body(body) is not None
        with pytest.raises(S3Error):
            xml.parse_complete_multipart(body)
    else:
        assert error.code == "SlowDown"
        assert xml.error_in_body(body) is None


# --- attacks ------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ListBucketResult><IsTruncated>false</IsTruncated>
<Contents><Key>&lol9;</Key><Size>1</Size><ETag>e</ETag></Contents></ListBucketResult>"""

QUADRATIC_BLOWUP = (
    b'<!DOCTYPE Error [<!ENTITY a "' + b"x" * 100_000 + b'">]><Error><Code>'
    + b"&a;" * 50_000 + b"</Code></Error>"
)


def external_entity(url: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE ListBucketResult [<!ENTITY xxe SYSTEM "{url}">]>'
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<Contents><Key>&xxe;</Key><Size>1</Size><ETag>e</ETag></Contents></ListBucketResult>"
    ).encode()


def fetching_documents(base: str) -> list[bytes]:
    """Every way a document can ask its parser to fetch ``base``."""
    return [
        external_entity(f"{base}/entity"),
        f'<!DOCTYPE Error SYSTEM "{base}/external.dtd"><Error><Code>x</Code></Error>'.encode(),
        f'<!DOCTYPE Error PUBLIC "-//X//EN" "{base}/public.dtd"><Error/>'.encode(),
        f'<!DOCTYPE Error [<!ENTITY % p SYSTEM "{base}/param.dtd"> %p;]><Error/>'.encode(),
        (
            f'<Error xmlns:xi="http://www.w3.org/2001/XInclude"><Code>x</Code>'
            f'<xi:include href="{base}/xinclude" parse="text"/></Error>'
        ).encode(),
        (
            f'<Error xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="urn:x {base}/schema.xsd"><Code>x</Code></Error>'
        ).encode(),
    ]


@pytest.mark.parametrize("body", [BILLION_LAUGHS, QUADRATIC_BLOWUP], ids=["laughs", "quadratic"])
def test_entity_expansion_is_refused_quickly(body: bytes) -> None:
    # libxml2 counts entity references even when it does not expand them, so these are
    # refused while parsing, before the DOCTYPE check gets to them.
    started = time.monotonic()
    for parse in PARSERS:
        with pytest.raises(MalformedResponse):
            parse(body)
    error = xml.parse_error(body, status=400)
    assert error.code == "BadRequest"
    assert "lollollol" not in error.message
    assert "xxxxx" * 30 not in error.message
    assert time.monotonic() - started < 2


def test_deep_nesting_is_refused() -> None:
    body = b"<Error>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Error>"
    with pytest.raises(MalformedResponse):
        xml.parse_document(body)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


def test_file_entity_is_refused_and_not_read(secret_file: Path) -> None:
    body = external_entity(secret_file.as_uri())
    # With lxml's defaults the very same document would put the file into the key.
    leaky = etree.fromstring(body, etree.XMLParser(resolve_entities=True, no_network=True))
    assert "TOP-SECRET-CONTENT" in etree.tostring(leaky, encoding="unicode")
    for parse in PARSERS:
        with pytest.raises(MalformedResponse, match="DOCTYPE") as caught:
            parse(body)
        assert "TOP-SECRET" not in str(caught.value)
    assert "TOP-SECRET" not in str(xml.parse_error(body, status=400))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:1/"])
def test_documented_xxe_targets_are_refused(url: str) -> None:
    body = external_entity(url)
    for parse in PARSERS:
        with pytest.raises(MalformedResponse, match="DOCTYPE") as caught:
            parse(body)
        assert "root:" not in str(caught.value)
    error = xml.parse_error(body, status=400)
    assert "root:" not in error.message


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket nobody should connect to: the kernel queues any connection
    attempt, so a non-blocking accept afterwards tells whether a parser tried."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def test_nothing_is_fetched_over_the_network(listener: socket.socket) -> None:
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for body in fetching_documents(base):
        call_all(body)
    with pytest.raises(BlockingIOError):
        listener.accept()


class RecordingResolver(etree.Resolver):
    """Sees every external load a parser attempts (file:, http:, DTDs, entities) and
    answers with nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[str] = []

    def resolve(  # type: ignore[override]  # lxml-stubs leave out the context argument
        self, system_url: str, public_id: str, context: object
    ) -> Any:
        self.requested.append(system_url)
        return self.resolve_string("", context, base_url=None)


def test_hardened_parser_never_asks_for_an_external_resource(secret_file: Path) -> None:
    documents = [
        *fetching_documents("http://127.0.0.1:1"),
        external_entity(secret_file.as_uri()),
        external_entity("file:///etc/passwd"),
    ]
    # A parser with lxml's defaults plus DTD loading asks for them: the documents are real
    # attacks, and the resolver sees such requests.
    naive = etree.XMLParser(load_dtd=True, resolve_entities=True)
    naive_requests = RecordingResolver()
    naive.resolvers.add(naive_requests)
    for body in documents:
        with contextlib.suppress(etree.XMLSyntaxError):
            etree.fromstring(body, naive)
    assert set(naive_requests.requested) >= {
        "http://127.0.0.1:1/entity",
        "http://127.0.0.1:1/external.dtd",
        "http://127.0.0.1:1/param.dtd",
        secret_file.as_uri(),
        "file:///etc/passwd",
    }
    # The parser spacesync uses asks for none of them.
    recorder = RecordingResolver()
    xml._PARSER.resolvers.add(recorder)
    try:
        for body in documents:
            call_all(body)
    finally:
        xml._PARSER.resolvers.remove(recorder)
    assert recorder.requested == []
