"""spacesync.protocol.xml on the Spaces reference's own examples and on hand-written edge cases.

The fixtures are the example replies and requests of the Spaces API reference, copied as
they are printed (see fixtures/README.md), typos included.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import botocore.session
import pytest
from botocore.handlers import (
    decode_list_object,
    decode_list_object_v2,
)
from botocore.parsers import RestXMLParser
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from spacesync.errors import (
    AccessDenied,
    ClockSkew,
    MalformedResponse,
    NotFound,
    S3Error,
    ServerError,
    Throttled,
)
from spacesync.protocol import xml
from spacesync.protocol.model import CompletedPart, DeleteOutcome, ObjectId

FIXTURES = Path(__file__).parent / "fixtures"
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def utc(year: int, month: int, day: int, *hms_us: int) -> datetime:
    hour, minute, second, micro = (*hms_us, 0, 0, 0, 0)[:4]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def shape(body: bytes) -> list[tuple[str, str]]:
    """Element names and stripped texts in document order, namespaces ignored."""
    root = etree.fromstring(body)
    return [(etree.QName(el).localname, (el.text or "").strip()) for el in root.iter()]


def listing(*entries: str, extra: str = "", truncated: bool = False) -> bytes:
    return (
        f"<ListBucketResult {NS}><Name>b</Name>{extra}"
        f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{''.join(entries)}"
        "</ListBucketResult>"
    ).encode()


def contents(key: str, size: str = "1", etag: str = '"e"') -> str:
    return (
        f"<Contents><Key>{key}</Key><LastModified>2017-07-13T18:40:46.777Z</LastModified>"
        f"<ETag>{etag}</ETag><Size>{size}</Size></Contents>"
    )


def common_prefix(prefix: str) -> str:
    return f"<CommonPrefixes><Prefix>{prefix}</Prefix></CommonPrefixes>"


# --- the reference's example replies -----------------------------------------------------


def test_list_buckets_2017_example_is_refused_for_its_unclosed_buckets_tag() -> None:
    body = fixture("list_buckets_2017.xml")
    with pytest.raises(MalformedResponse, match="not well-formed"):
        xml.parse_list_buckets(body)
    # The reference opens a second <Buckets> by mistake; without it the reply is well-formed.
    fixed = body.replace(b"</Bucket>\n    <Buckets>", b"</Bucket>")
    buckets = xml.parse_list_buckets(fixed)
    assert [(b.name, b.created) for b in buckets] == [
        ("static-images", utc(2017, 6, 23, 18, 37, 48, 157000)),
        ("log-files", utc(2017, 6, 23, 18, 37, 48, 157000)),
    ]


def test_list_buckets_2025_example_without_namespace() -> None:
    buckets = xml.parse_list_buckets(fixture("list_buckets_2025.xml"))
    assert [(b.name, b.created) for b in buckets] == [("my-space", utc(2023, 5, 1, 12, 0, 0))]


def test_list_objects_v1_2017_example() -> None:
    page = xml.parse_list_objects_v1(fixture("list_objects_v1_2017.xml"))
    assert [(o.key, o.size, o.etag, o.last_modified, o.storage_class) for o in page.objects] == [
        ("example.txt", 14, "b3a92f49e7ae64acbf6b3e76f2040f5e",
         utc(2017, 7, 13, 18, 40, 46, 777000), "STANDARD"),
        ("sammy.png", 35369, "fb08934ef619f205f272b0adfd6c018c",
         utc(2017, 7, 14, 17, 44, 3, 597000), "STANDARD"),
    ]
    assert page.prefixes == []
    assert page.is_truncated is False
    assert page.next_token is None


def test_list_objects_v2_2025_example_is_abridged_and_refused() -> None:
    # The 2025 reference prints <Contents> with only Key and Size, and no IsTruncated.
    # Guessing either would be worse than refusing: a guessed IsTruncated=false ends a
    # listing early, and a sync would then treat the unlisted objects as absent.
    body = fixture("list_objects_v2_2025.xml")
    with pytest.raises(MalformedResponse, match="<Contents> without <ETag>"):
        xml.parse_list_objects_v2(body)
    completed = body.replace(b"<Size>13</Size>", b"<Size>13</Size><ETag>\"e\"</ETag>")
    with pytest.raises(MalformedResponse, match="<ListBucketResult> without <IsTruncated>"):
        xml.parse_list_objects_v2(completed)
    completed = completed.replace(b"</ListBucketResult>", b"<IsTruncated>false</IsTruncated>"
                                  b"</ListBucketResult>")
    page = xml.parse_list_objects_v2(completed)
    assert [(o.key, o.size, o.etag, o.last_modified) for o in page.objects] == [
        ("hello.txt", 13, "e", None)
    ]


def test_bucket_location_2017_example_is_stripped() -> None:
    assert xml.parse_bucket_location(fixture("bucket_location_2017.xml")) == "nyc3"


def test_copy_object_2017_example() -> None:
    outcome = xml.parse_copy_result(fixture("copy_object_2017.xml"))
    assert outcome.etag == "7967bfe102f83fb5fc7e5a02bf05e8fc"
    assert outcome.last_modified == utc(2017, 7, 10, 20, 22, 54, 167000)


@pytest.mark.parametrize(
    ("name", "upload_id"),
    [
        ("initiate_multipart_2017.xml", "2~iCw_lDY8VoBhoRrIJbPMrUqnE3Z-3Qh"),
        ("initiate_multipart_2025.xml", "abcd1234"),
    ],
)
def test_initiate_multipart_examples(name: str, upload_id: str) -> None:
    assert xml.parse_initiate_multipart(fixture(name)) == upload_id


def test_list_uploads_2017_example() -> None:
    page = xml.parse_list_uploads(fixture("list_uploads_2017.xml"))
    assert [(u.key, u.upload_id, u.initiated) for u in page.uploads] == [
        ("my-divisor", "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw",
         utc(2010, 11, 10, 20, 48, 33)),
        ("my-movie.m2ts", "VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA",
         utc(2010, 11, 10, 20, 48, 33)),
        ("my-movie.m2ts", "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ",
         utc(2010, 11, 10, 20, 49, 33)),
    ]
    assert page.prefixes == []
    assert page.is_truncated is True
    assert page.next_key_marker == "my-movie.m2ts"
    assert page.next_upload_id_marker == "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"


def test_list_parts_2017_example() -> None:
    page = xml.parse_list_parts(fixture("list_parts_2017.xml"))
    assert [(p.part_number, p.etag, p.size, p.last_modified) for p in page.parts] == [
        (1, "d8d3ed3a4de016917a814a2cf5acad3c", 5242880, utc(2017, 8, 14, 18, 45, 1, 601000)),
        (2, "adf5feafc0fe4632008d5cb30beb1c49", 5242880, utc(2017, 8, 14, 18, 45, 1, 601000)),
    ]
    # The example carries NextPartNumberMarker on its last page; there is no next page.
    assert page.is_truncated is False
    assert page.next_part_number_marker is None


def test_complete_multipart_2017_example() -> None:
    done = xml.parse_complete_multipart(fixture("complete_multipart_2017.xml"))
    assert done.location == "static-images.nyc3.digitaloceanspaces.com"
    assert done.bucket == "static-images"
    assert done.key == "multipart-file.tar.gz"
    assert done.etag == "f935869350d7cbfcdd219df3f377531b-3"


def test_complete_multipart_2025_example_without_etag_is_refused() -> None:
    # The ETag is what the upload is checked against; a reply without one proves nothing.
    with pytest.raises(MalformedResponse, match="<CompleteMultipartUploadResult> without <ETag>"):
        xml.parse_complete_multipart(fixture("complete_multipart_2025.xml"))


# --- the reference's example requests ------------------------------------------------------


def test_build_complete_multipart_matches_2017_example() -> None:
    body = xml.build_complete_multipart(
        [
            CompletedPart(1, "d8d3ed3a4de016917a814a2cf5acad3c"),
            CompletedPart(2, '"adf5feafc0fe4632008d5cb30beb1c49"'),
            CompletedPart(3, "363f6bb50866541d78e5f6f626592263"),
        ]
    )
    assert shape(body) == shape(fixture("complete_multipart_request_2017.xml"))
    assert etree.QName(etree.fromstring(body)).namespace == xml.S3_NAMESPACE
    assert b'<ETag>"adf5feafc0fe4632008d5cb30beb1c49"</ETag>' in body


def test_build_complete_multipart_matches_2025_example() -> None:
    body = xml.build_complete_multipart([CompletedPart(1, "d41d8cd98f00b204e9800998ecf8427e")])
    assert shape(body) == shape(fixture("complete_multipart_request_2025.xml"))


def test_build_create_bucket_matches_2017_example() -> None:
    body = xml.build_create_bucket("nyc3")
    assert shape(body) == shape(fixture("create_bucket_request_2017.xml"))
    root = etree.fromstring(body)
    assert all(etree.QName(el).namespace == xml.S3_NAMESPACE for el in root.iter())
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


@pytest.mark.parametrize("location", [None, ""])
def test_build_create_bucket_without_location_is_empty(location: str | None) -> None:
    assert xml.build_create_bucket(location) == b""


# --- listings --------------------------------------------------------------------------------


def test_v2_truncated_page_without_namespace() -> None:
    body = (
        b"<ListBucketResult><IsTruncated>true</IsTruncated>"
        b"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
        b"<Contents><Key>a</Key><Size>0</Size><ETag>&quot;d41d8&quot;</ETag></Contents>"
        b"<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes></ListBucketResult>"
    )
    page = xml.parse_list_objects_v2(body)
    assert page.is_truncated is True
    assert page.next_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    assert [(o.key, o.size, o.etag, o.last_modified) for o in page.objects] == [
        ("a", 0, "d41d8", None)
    ]
    assert page.prefixes == ["dir/"]


def test_v2_truncated_without_token_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="NextContinuationToken"):
        xml.parse_list_objects_v2(listing(contents("a"), truncated=True))


def test_v2_token_ignored_on_last_page() -> None:
    body = listing(contents("a"), extra="<NextContinuationToken>t</NextContinuationToken>")
    assert xml.parse_list_objects_v2(body).next_token is None


@pytest.mark.parametrize("parse", [xml.parse_list_objects_v1, xml.parse_list_objects_v2])
def test_empty_listing(parse: Any) -> None:
    page = parse(listing())
    assert (page.objects, page.prefixes, page.next_token) == ([], [], None)
    assert page.is_truncated is False


def test_v1_next_marker_is_used_when_present() -> None:
    body = listing(contents("a"), extra="<NextMarker>zzz</NextMarker>", truncated=True)
    assert xml.parse_list_objects_v1(body).next_token == "zzz"


def test_v1_truncated_without_next_marker_continues_after_last_key() -> None:
    body = listing(contents("a"), contents("b"), extra="<NextMarker/>", truncated=True)
    assert xml.parse_list_objects_v1(body).next_token == "b"


def test_v1_truncated_without_next_marker_continues_after_greater_prefix() -> None:
    body = listing(contents("a"), common_prefix("c/"), common_prefix("d/"), truncated=True)
    page = xml.parse_list_objects_v1(body)
    assert page.prefixes == ["c/", "d/"]
    assert page.next_token == "d/"


def test_v1_truncated_and_empty_without_next_marker_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="NextMarker"):
        xml.parse_list_objects_v1(listing(truncated=True))


def test_url_encoded_listing_decodes_keys_prefixes_and_marker() -> None:
    body = listing(
        contents("with+space"),
        contents("plus%2Bsign"),
        contents("caf%C3%A9%20%E2%9C%93"),
        contents("amp%26lt%3C%0Acontrol%01"),
        common_prefix("dir+one/"),
        extra="<EncodingType>url</EncodingType><NextMarker>next+key%2B</NextMarker>",
        truncated=True,
    )
    page = xml.parse_list_objects_v1(body)
    assert [o.key for o in page.objects] == [
        "with space", "plus+sign", "café ✓", "amp&lt<\ncontrol\x01"
    ]
    assert page.prefixes == ["dir one/"]
    assert page.next_token == "next key+"


def test_keys_are_taken_literally_without_encoding_type() -> None:
    page = xml.parse_list_objects_v2(listing(contents("a+b%2B c "), common_prefix(" p+/")))
    assert [o.key for o in page.objects] == ["a+b%2B c "]
    assert page.prefixes == [" p+/"]


def test_url_encoded_listing_with_invalid_utf8_is_refused() -> None:
    body = listing(contents("bad%FF"), extra="<EncodingType>url</EncodingType>")
    with pytest.raises(MalformedResponse, match="Key"):
        xml.parse_list_objects_v2(body)


def test_unknown_encoding_type_is_refused() -> None:
    body = listing(contents("a"), extra="<EncodingType>base64</EncodingType>")
    with pytest.raises(MalformedResponse, match="EncodingType"):
        xml.parse_list_objects_v2(body)


_S3_MODEL = botocore.session.get_session().get_service_model("s3")


def _botocore_listing(body: bytes, operation: str) -> dict[str, Any]:
    shape = _S3_MODEL.operation_model(operation).output_shape
    parsed: dict[str, Any] = RestXMLParser().parse(
        {"body": body, "headers": {}, "status_code": 200}, shape
    )
    decode = decode_list_object_v2 if operation == "ListObjectsV2" else decode_list_object
    decode(parsed, {"encoding_type_auto_set": True})
    return parsed


@given(
    keys=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5),
    prefix=st.text(min_size=1, max_size=10),
)
def test_url_decoding_agrees_with_botocore(keys: list[str], prefix: str) -> None:
    # S3 form-encodes keys for encoding-type=url (space as '+'), as quote_plus does.
    body = listing(
        *[contents(quote_plus(k, safe="/")) for k in keys],
        common_prefix(quote_plus(prefix, safe="/")),
        extra="<EncodingType>url</EncodingType>",
    )
    for operation, parse in [
        ("ListObjectsV2", xml.parse_list_objects_v2),
        ("ListObjects", xml.parse_list_objects_v1),
    ]:
        expected = _botocore_listing(body, operation)
        page = parse(body)
        assert [o.key for o in page.objects] == [c["Key"] for c in expected["Contents"]] == keys
        assert page.prefixes == [p["Prefix"] for p in expected["CommonPrefixes"]] == [prefix]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("<Contents><Size>1</Size><ETag>e</ETag></Contents>", "<Contents> without <Key>"),
        ("<Contents><Key>k</Key><ETag>e</ETag></Contents>", "<Contents> without <Size>"),
        (contents("k", size="12a"), r"bad <Size> in <Contents>: '12a'"),
        (contents("k", size="-1"), "bad <Size>"),
        (contents("k", size="\uff11\uff12"), "bad <Size>"),  # fullwidth digits
        (contents("k", size="9" * 40), "bad <Size>"),
        (contents("k", etag='""'), "bad <ETag>"),
        (contents("k").replace("2017-07-13T18:40:46.777Z", "yesterday"), "bad <LastModified>"),
        (contents("k").replace("2017-07-13T18:40:46.777Z", "2017-07-13"), "bad <LastModified>"),
        (contents("k").replace("2017-07-13T18:40:46.777Z", "9999-12-31T23:59:59-01:00"),
         "bad <LastModified>.*out of range"),
        ("<CommonPrefixes></CommonPrefixes>", "<CommonPrefixes> without <Prefix>"),
    ],
)
def test_bad_entries_are_refused_by_name(entry: str, message: str) -> None:
    with pytest.raises(MalformedResponse, match=message):
        xml.parse_list_objects_v2(listing(entry))


def test_bad_is_truncated_is_refused() -> None:
    body = listing().replace(b"false", b"maybe")
    with pytest.raises(MalformedResponse, match="bad <IsTruncated>"):
        xml.parse_list_objects_v2(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2009-10-12T17:50:30.000Z", utc(2009, 10, 12, 17, 50, 30)),
        (" 2009-10-12T17:50:30.123456789Z ", utc(2009, 10, 12, 17, 50, 30, 123456)),
        ("2009-10-12T19:50:30+02:00", utc(2009, 10, 12, 17, 50, 30)),
        ("2009-10-12T17:50:30", utc(2009, 10, 12, 17, 50, 30)),
    ],
)
def test_dates_become_aware_utc(text: str, expected: datetime) -> None:
    body = listing(contents("k").replace("2017-07-13T18:40:46.777Z", text))
    when = xml.parse_list_objects_v2(body).objects[0].last_modified
    assert when == expected
    assert when is not None and when.tzinfo is UTC


def test_wrong_root_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="expected <ListBucketResult>, got <Foo>"):
        xml.parse_list_objects_v2(b"<Foo/>")


def test_list_parts_truncated_needs_next_marker() -> None:
    body = (
        f"<ListPartsResult {NS}><IsTruncated>true</IsTruncated>"
        "<NextPartNumberMarker>7</NextPartNumberMarker>"
        "<Part><PartNumber>7</PartNumber><ETag>\"x\"</ETag><Size>5</Size></Part>"
        "</ListPartsResult>"
    )
    page = xml.parse_list_parts(body.encode())
    assert (page.is_truncated, page.next_part_number_marker) == (True, 7)
    assert [(p.part_number, p.etag, p.size, p.last_modified) for p in page.parts] == [
        (7, "x", 5, None)
    ]
    without = body.replace("<NextPartNumberMarker>7</NextPartNumberMarker>", "")
    with pytest.raises(MalformedResponse, match="without <NextPartNumberMarker>"):
        xml.parse_list_parts(without.encode())


def test_list_uploads_url_encoded_and_prefixes() -> None:
    body = (
        "<ListMultipartUploadsResult><EncodingType>url</EncodingType>"
        "<KeyMarker>a+b</KeyMarker><NextKeyMarker>c+d%2B</NextKeyMarker>"
        "<NextUploadIdMarker>id2</NextUploadIdMarker><IsTruncated>true</IsTruncated>"
        "<Upload><Key>c+d%2B</Key><UploadId>id2</UploadId></Upload>"
        "<CommonPrefixes><Prefix>e+f/</Prefix></CommonPrefixes>"
        "</ListMultipartUploadsResult>"
    )
    page = xml.parse_list_uploads(body.encode())
    assert [(u.key, u.upload_id, u.initiated) for u in page.uploads] == [("c d+", "id2", None)]
    assert page.prefixes == ["e f/"]
    assert (page.next_key_marker, page.next_upload_id_marker) == ("c d+", "id2")


def test_list_uploads_last_page_and_truncated_without_marker() -> None:
    last = (
        b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
        b"</ListMultipartUploadsResult>"
    )
    page = xml.parse_list_uploads(last)
    assert (page.uploads, page.prefixes, page.next_key_marker) == ([], [], None)
    with pytest.raises(MalformedResponse, match="NextKeyMarker"):
        xml.parse_list_uploads(last.replace(b"false", b"true"))


def test_copy_part_result() -> None:
    body = (
        f"<CopyPartResult {NS}><LastModified>2011-04-11T20:34:56.000Z</LastModified>"
        "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyPartResult>"
    ).encode()
    outcome = xml.parse_copy_result(body)
    assert (outcome.etag, outcome.last_modified) == (
        "9b2cf535f27731c974343645a3985328", utc(2011, 4, 11, 20, 34, 56)
    )


def test_bucket_location_empty_is_none() -> None:
    assert xml.parse_bucket_location(f"<LocationConstraint {NS}/>".encode()) is None
    assert xml.parse_bucket_location(b"<LocationConstraint>  </LocationConstraint>") is None


def test_initiate_without_upload_id_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="without <UploadId>"):
        xml.parse_initiate_multipart(b"<InitiateMultipartUploadResult/>")
    with pytest.raises(MalformedResponse, match="bad <UploadId>"):
        xml.parse_initiate_multipart(
            b"<InitiateMultipartUploadResult><UploadId> </UploadId></InitiateMultipartUploadResult>"
        )


# --- DeleteObjects -----------------------------------------------------------------------------


def test_delete_result_mixes_deleted_and_errors_in_document_order() -> None:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult {NS}>
  <Deleted><Key>sample1.txt</Key></Deleted>
  <Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
  <Deleted><Key> spaced &amp; &lt;odd&gt; </Key><VersionId>v1</VersionId>
    <DeleteMarker>true</DeleteMarker></Deleted>
  <Error><Key>locked</Key><VersionId>v9</VersionId><Code>InternalError</Code></Error>
</DeleteResult>""".encode()
    outcomes = xml.parse_delete_result(body)
    assert outcomes == [
        DeleteOutcome(key="sample1.txt"),
        DeleteOutcome(key="sample2.txt", error_code="AccessDenied", error_message="Access Denied"),
        DeleteOutcome(key=" spaced & <odd> ", version_id="v1"),
        DeleteOutcome(key="locked", version_id="v9", error_code="InternalError"),
    ]
    assert [o.ok for o in outcomes] == [True, False, True, False]


def test_delete_result_quiet_and_empty() -> None:
    assert xml.parse_delete_result(b"<DeleteResult/>") == []


def test_delete_result_error_without_code_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="<Error> without <Code>"):
        xml.parse_delete_result(b"<DeleteResult><Error><Key>k</Key></Error></DeleteResult>")


ODD_KEYS = [
    "plain",
    "a & b < c > d \" e ' f",
    "]]> cdata end",
    "  leading and trailing  ",
    "tab\tnew\nline\rreturn",
    "unicode café ✓ 𝄞",
    "dir//x/../y",
]


def test_build_delete_objects_round_trips_odd_keys() -> None:
    objects = [ObjectId(k) for k in ODD_KEYS] + [ObjectId("versioned", version_id="3/L4k")]
    body = xml.build_delete_objects(objects, quiet=True)
    root = etree.fromstring(body)
    assert etree.QName(root) == etree.QName(xml.S3_NAMESPACE, "Delete")
    found = root.findall(f"{{{xml.S3_NAMESPACE}}}Object")
    keys = [o.findtext(f"{{{xml.S3_NAMESPACE}}}Key") for o in found]
    assert keys == [*ODD_KEYS, "versioned"]
    assert [o.findtext(f"{{{xml.S3_NAMESPACE}}}VersionId") for o in found] == [
        *[None] * len(ODD_KEYS), "3/L4k"
    ]
    assert root.findtext(f"{{{xml.S3_NAMESPACE}}}Quiet") == "true"
    # Quiet comes after the objects, where botocore puts it.
    assert etree.QName(root[-1]).localname == "Quiet"


def test_build_delete_objects_not_quiet() -> None:
    body = xml.build_delete_objects([ObjectId("k")], quiet=False)
    assert shape(body) == [("Delete", ""), ("Object", ""), ("Key", "k"), ("Quiet", "false")]


def test_build_delete_objects_batch_limits() -> None:
    assert len(etree.fromstring(
        xml.build_delete_objects([ObjectId(f"k{i}") for i in range(1000)], quiet=True)
    )) == 1001
    with pytest.raises(ValueError, match=r"1\.\.1000 keys per request, got 0"):
        xml.build_delete_objects([], quiet=True)
    with pytest.raises(ValueError, match="got 1001"):
        xml.build_delete_objects([ObjectId(f"k{i}") for i in range(1001)], quiet=True)


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1f", "\udc80", "\ufffe"])
def test_build_delete_objects_refuses_keys_xml_cannot_carry(char: str) -> None:
    key = f"bad{char}key"
    with pytest.raises(ValueError, match=re.escape(f"contains {char!r}, which XML 1.0 cannot")):
        xml.build_delete_objects([ObjectId("fine"), ObjectId(key)], quiet=True)


def test_build_delete_objects_refuses_empty_key() -> None:
    with pytest.raises(ValueError, match="empty key"):
        xml.build_delete_objects([ObjectId("")], quiet=True)


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ([2, 1], "part number 1 after 2"),
        ([1, 1], "part number 1 after 1"),
        ([0], "part number 0 after 0"),
        ([10001], "within 1..10000"),
    ],
)
def test_build_complete_multipart_refuses_bad_order(numbers: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        xml.build_complete_multipart([CompletedPart(n, "e") for n in numbers])


def test_build_complete_multipart_refuses_empty_lists_and_etags() -> None:
    with pytest.raises(ValueError, match="at least one part"):
        xml.build_complete_multipart([])
    with pytest.raises(ValueError, match="part 1 has an empty ETag"):
        xml.build_complete_multipart([CompletedPart(1, '""')])


def test_build_complete_multipart_quotes_each_etag_once() -> None:
    body = xml.build_complete_multipart(
        [CompletedPart(1, "abc"), CompletedPart(2, '"def"'), CompletedPart(10000, "xyz-1")]
    )
    assert shape(body) == [
        ("CompleteMultipartUpload", ""),
        ("Part", ""), ("PartNumber", "1"), ("ETag", '"abc"'),
        ("Part", ""), ("PartNumber", "2"), ("ETag", '"def"'),
        ("Part", ""), ("PartNumber", "10000"), ("ETag", '"xyz-1"'),
    ]


# --- errors -----------------------------------------------------------------------------------

NO_SUCH_KEY = b"""<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
  <HostId>abc/def=</HostId>
</Error>"""


def test_parse_error_no_such_key() -> None:
    error = xml.parse_error(NO_SUCH_KEY, status=404, request_id="from-header")
    assert type(error) is NotFound
    assert (error.code, error.message, error.status) == (
        "NoSuchKey", "The resource you requested does not exist", 404
    )
    assert error.request_id == "4442587FB7D0A2F9"
    assert error.resource == "/mybucket/myfoto.jpg"
    assert error.extra == {"HostId": "abc/def="}


def test_parse_error_spaces_style_takes_request_id_from_header() -> None:
    body = (
        b"<Error><Code>NoSuchBucket</Code><BucketName>gone</BucketName>"
        b"<HostId>6a91-nyc3a-nyc</HostId></Error>"
    )
    error = xml.parse_error(body, status=404, request_id="tx0000-nyc3a")
    assert type(error) is NotFound
    assert (error.code, error.message, error.request_id, error.resource) == (
        "NoSuchBucket", "", "tx0000-nyc3a", None
    )
    assert error.extra == {"BucketName": "gone", "HostId": "6a91-nyc3a-nyc"}


def test_parse_error_request_time_too_skewed_keeps_server_time() -> None:
    body = f"""<Error {NS}><Code>RequestTimeTooSkewed</Code>
<Message>The difference between the request time and the current time is too large.</Message>
<RequestTime>20170710T173143Z</RequestTime><ServerTime>2017-07-10T18:31:43Z</ServerTime>
<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>
<RequestId>r1</RequestId></Error>""".encode()
    error = xml.parse_error(body, status=403)
    assert type(error) is ClockSkew
    assert error.extra == {
        "RequestTime": "20170710T173143Z",
        "ServerTime": "2017-07-10T18:31:43Z",
        "MaxAllowedSkewMilliseconds": "900000",
    }


def test_parse_error_html_page_from_a_proxy() -> None:
    body = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        b"</body>\r\n</html>\r\n"
    )
    error = xml.parse_error(body, status=502, request_id="rid")
    assert type(error) is ServerError
    assert (error.code, error.status, error.request_id) == ("HTTP502", 502, "rid")
    assert error.message == "non-XML reply: 502 Bad Gateway"


def test_parse_error_xhtml_page_is_named_by_its_root() -> None:
    body = b"<html><head><title>Gateway Timeout</title></head><body/></html>"
    error = xml.parse_error(body, status=504)
    assert type(error) is ServerError
    assert error.message == "unexpected <html> reply: Gateway Timeout"


def test_parse_error_non_xml_html_with_entities() -> None:
    body = b"<!DOCTYPE html><html><head><TITLE>Service &amp; Co\n down</TITLE><body><br></html>"
    error = xml.parse_error(body, status=504)
    assert type(error) is ServerError
    assert error.message == "non-XML reply: Service & Co down"


def test_parse_error_plain_text_shows_first_printable_characters() -> None:
    body = b"\x00\x01upstream   connect error\nor disconnect/reset " + b"x" * 500
    error = xml.parse_error(body, status=503)
    assert type(error) is Throttled
    shown = error.message.removeprefix("non-XML reply: ")
    assert shown.startswith("upstream connect error or disconnect/reset xxx")
    assert len(shown) == 100


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [(503, Throttled, "SlowDown"), (404, NotFound, "NotFound"), (403, AccessDenied, "Forbidden"),
     (500, ServerError, "InternalError")],
)
def test_parse_error_empty_body(status: int, cls: type[S3Error], code: str) -> None:
    error = xml.parse_error(b"", status=status, request_id="r")
    assert type(error) is cls
    assert (error.code, error.message, error.status, error.request_id) == (
        code, "empty body", status, "r"
    )


def test_parse_error_error_without_code_uses_status() -> None:
    error = xml.parse_error(b"<Error><Message>odd</Message></Error>", status=409)
    assert (error.code, error.message) == ("Conflict", "odd")


def test_parse_error_binary_garbage_and_doctype_do_not_raise() -> None:
    assert xml.parse_error(b"\xff\xfe\x00", status=500).message == "non-XML reply of 3 bytes"
    xxe = b'<!DOCTYPE Error [<!ENTITY e SYSTEM "file:///etc/passwd">]><Error><Code>&e;</Code></Error>'
    error = xml.parse_error(xxe, status=400)
    assert error.code == "BadRequest"
    assert "root:" not in error.message


COMPLETE_WITH_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>InternalError</Code>
  <Message>We encountered an internal error. Please try again.</Message>
  <RequestId>656c76696e6727732072657175657374</RequestId>
</Error>"""


def test_complete_multipart_200_with_error_raises_it() -> None:
    with pytest.raises(ServerError) as caught:
        xml.parse_complete_multipart(COMPLETE_WITH_ERROR)
    assert caught.value.code == "InternalError"
    assert caught.value.status == 200
    assert caught.value.request_id == "656c76696e6727732072657175657374"


@pytest.mark.parametrize(
    "parse", [xml.parse_copy_result, xml.parse_list_objects_v2, xml.parse_delete_result]
)
def test_other_parsers_raise_an_error_document_too(parse: Any) -> None:
    with pytest.raises(ServerError, match="InternalError"):
        parse(COMPLETE_WITH_ERROR)


def test_error_in_body() -> None:
    error = xml.error_in_body(COMPLETE_WITH_ERROR)
    assert type(error) is ServerError
    assert error.message == "We encountered an internal error. Please try again."
    assert xml.error_in_body(fixture("complete_multipart_2017.xml")) is None
    assert xml.error_in_body(fixture("copy_object_2017.xml")) is None
    with pytest.raises(MalformedResponse):
        xml.error_in_body(b"")


# --- the parser itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"not xml", b"<a>", b"<a></b>", b"\x00\xff", b"<a>&undefined;</a>"]
)
def test_parse_document_refuses_garbage(body: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not well-formed"):
        xml.parse_document(body)


def test_parse_document_refuses_doctype() -> None:
    with pytest.raises(MalformedResponse, match="DOCTYPE"):
        xml.parse_document(b"<!DOCTYPE a><a/>")


def test_parse_document_skips_keepalive_whitespace_before_the_declaration() -> None:
    body = b"  \r\n\n" + fixture("complete_multipart_2017.xml")
    assert xml.parse_complete_multipart(body).etag == "f935869350d7cbfcdd219df3f377531b-3"


def test_parse_document_merges_text_around_comments_and_cdata() -> None:
    root = xml.parse_document(b"<Key>a<!-- c -->b<?pi x?>c<![CDATA[<&>]]></Key>")
    assert root.text == "abc<&>"
