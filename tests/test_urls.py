"""s3:// URLs: parsing and the folder rules every command shares."""

from __future__ import annotations

import pytest

from spacesync.errors import ConfigError
from spacesync.urls import S3Location, parse_s3_url


@pytest.mark.parametrize(
    ("key", "prefix", "is_prefix"),
    [("", "", True), ("a", "a/", False), ("a/b/", "a/b/", True), ("a//b", "a//b/", False)],
)
def test_a_key_as_a_folder(key: str, prefix: str, is_prefix: bool) -> None:
    location = S3Location("bkt", key)
    assert (location.prefix, location.is_prefix) == (prefix, is_prefix)
    assert location.child("x") == S3Location("bkt", prefix + "x")


def test_keys_are_kept_byte_for_byte() -> None:
    assert parse_s3_url("s3://bkt/a//b/../c ") == S3Location("bkt", "a//b/../c ")
    assert str(parse_s3_url("s3://bkt")) == "s3://bkt"
    with pytest.raises(ConfigError):
        parse_s3_url("https://bkt/k")
