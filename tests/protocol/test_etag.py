"""ETag forms, against what the real server computes (see tests/engine for that side)."""

from __future__ import annotations

import hashlib

import pytest

from spacesync.protocol.etag import is_plain_md5, multipart_etag, multipart_part_count

MD5 = hashlib.md5(b"x").hexdigest()


@pytest.mark.parametrize(
    ("etag", "plain", "count"),
    [
        (MD5, True, None),
        (MD5.upper(), True, None),
        (f"{MD5}-3", False, 3),
        (f"{MD5}-0", False, None),  # no upload has zero parts
        (f"{MD5}-", False, None),
        ("z" * 32, False, None),  # not hex
        (f"{'z' * 32}-2", False, None),
        ("", False, None),
    ],
)
def test_forms(etag: str, plain: bool, count: int | None) -> None:
    assert (is_plain_md5(etag), multipart_part_count(etag)) == (plain, count)


def test_multipart_etag_is_the_md5_of_the_part_md5s() -> None:
    parts = [hashlib.md5(b"a").digest(), hashlib.md5(b"b").digest()]
    assert multipart_etag(parts) == hashlib.md5(parts[0] + parts[1]).hexdigest() + "-2"
