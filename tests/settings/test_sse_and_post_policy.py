"""SSE-C headers and PostObject forms, checked against botocore's own implementations."""

from __future__ import annotations

import base64
import hashlib
import pickle
from datetime import UTC, datetime
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from spacesync.errors import ConfigError, MalformedResponse
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.post_policy import build_post_form
from spacesync.protocol.sse import SseCustomerKey

KEY = bytes(range(32))
KEY_B64 = base64.b64encode(KEY).decode()
KEY_MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()


def test_sse_c_headers_match_what_botocore_sends() -> None:
    from botocore.handlers import sse_md5

    params = {"SSECustomerKey": KEY, "SSECustomerAlgorithm": "AES256"}
    sse_md5(params)  # botocore's own MD5 step (it base64-encodes the key too)
    key = SseCustomerKey(KEY)
    assert key.headers() == {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": params["SSECustomerKey"],
        "x-amz-server-side-encryption-customer-key-MD5": params["SSECustomerKeyMD5"],
    }
    assert key.copy_source_headers() == {
        "x-amz-copy-source-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-copy-source-server-side-encryption-customer-key": KEY_B64,
        "x-amz-copy-source-server-side-encryption-customer-key-MD5": KEY_MD5,
    }


@pytest.mark.parametrize("material", [KEY, KEY_B64.encode(), KEY_B64.encode() + b"\n"])
def test_key_material_raw_or_base64(material: bytes) -> None:
    assert SseCustomerKey.from_material(material) == SseCustomerKey(KEY)


def test_key_never_shows() -> None:
    key = SseCustomerKey(KEY)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert KEY_B64 not in text and KEY_MD5 in text
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(ConfigError) as bad:
        SseCustomerKey.from_material(b"secret-but-wrong-length")
    assert "secret" not in str(bad.value)


def test_reply_must_confirm_our_key() -> None:
    key = SseCustomerKey(KEY)
    key.check_reply(
        {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key-MD5": KEY_MD5,
        }
    )
    with pytest.raises(MalformedResponse, match="did not confirm SSE-C"):
        key.check_reply({})


NOW = datetime(2026, 3, 1, 12, 30, 0, tzinfo=UTC)


def test_post_form_signature_matches_botocore() -> None:
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    form = build_post_form(
        creds,
        url="https://media.nyc3.digitaloceanspaces.com/",
        bucket="media",
        region="nyc3",
        key_prefix="uploads/",
        now=NOW,
        expires_in=600,
        max_size=1024,
        acl="public-read",
    )
    # botocore signs the same policy document (same conditions, same order).
    request = botocore.awsrequest.AWSRequest(method="POST", url=form.url)
    request.context["s3-presign-post-fields"] = {"key": "uploads/${filename}", "acl": "public-read"}
    request.context["s3-presign-post-policy"] = {
        "expiration": "2026-03-01T12:40:00Z",
        "conditions": [
            {"bucket": "media"},
            ["starts-with", "$key", "uploads/"],
            ["content-length-range", 0, 1024],
            {"acl": "public-read"},
        ],
    }
    auth = botocore.auth.S3SigV4PostAuth(
        botocore.credentials.Credentials(creds.access_key, creds.secret_key), "s3", "nyc3"
    )
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=NOW):
        auth.add_auth(request)
    assert form.fields == request.context["s3-presign-post-fields"]
    assert form.expires == datetime(2026, 3, 1, 12, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expires_in": 0, "max_size": 1}, "expires"),
        ({"expires_in": 8 * 86400, "max_size": 1}, "expires"),
        ({"expires_in": 60, "max_size": 6 * 1024**3}, "size limits"),
        ({"expires_in": 60, "max_size": 1, "min_size": 2}, "size limits"),
    ],
)
def test_post_form_limits(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_post_form(
            Credentials("a", "b"), url="u", bucket="b", region="r", key_prefix="", now=NOW, **kwargs
        )
