"""V2 presigned URLs against botocore's ``HmacV1QueryAuth`` and the Spaces reference's recipe."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from unittest import mock
from urllib.parse import unquote, urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from spacesync.protocol import sigv2
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.encoding import uri_encode
from spacesync.protocol.sigv2 import SUBRESOURCES, presign_v2

from .test_sigv4_botocore import AWKWARD_KEYS, ENDPOINT, buckets, credentials, keys

EXPIRES_AT = 1_900_000_000


@dataclass(frozen=True)
class V2Request:
    method: str
    bucket: str
    key: str
    virtual_host: bool
    subresources: list[tuple[str, str]]
    headers: dict[str, str]
    credentials: Credentials
    expires_at: int

    @property
    def path(self) -> str:
        """The resource path V2 signs: always /bucket/key, whatever the host."""
        return "/" + uri_encode(f"{self.bucket}/{self.key}", keep_slash=True)

    @property
    def url(self) -> str:
        if self.virtual_host:
            wire_path = "/" + uri_encode(self.key, keep_slash=True)
            base = f"https://{self.bucket}.{ENDPOINT}{wire_path}"
        else:
            base = f"https://{ENDPOINT}{self.path}"
        # botocore signs "name" for a bare sub-resource and "name=value" otherwise.
        query = "&".join(
            f"{uri_encode(name)}={uri_encode(value)}" if value else uri_encode(name)
            for name, value in self.subresources
        )
        return f"{base}?{query}" if query else base


def botocore_presign(request: V2Request) -> tuple[str, list[tuple[str, str]]]:
    """botocore's signature and its query pairs (decoded) for the same request."""
    theirs = AWSRequest(
        method=request.method,
        url=request.url,
        headers=request.headers,
        auth_path=request.path if request.virtual_host else None,
    )
    creds = request.credentials
    signer = HmacV1QueryAuth(
        BotoCredentials(creds.access_key, creds.secret_key, creds.session_token)
    )
    # HmacV1QueryAuth puts its Expires (now + expires) where V1 puts the Date: pin it.
    with mock.patch.object(HmacV1QueryAuth, "_get_date", return_value=str(request.expires_at)):
        signer.add_auth(theirs)
    query = urlsplit(theirs.url).query
    pairs = [
        (unquote(name), unquote(value))
        for name, _, value in (item.partition("=") for item in query.split("&"))
    ]
    return dict(pairs)["Signature"], pairs


def assert_matches_botocore(request: V2Request) -> None:
    ours = presign_v2(
        request.credentials,
        method=request.method,
        path=request.path,
        expires_at=request.expires_at,
        subresources=request.subresources,
        headers=request.headers,
    )
    signature, their_pairs = botocore_presign(request)
    assert dict(ours)["Signature"] == signature
    # botocore also copies Content-Type/Content-MD5 into the query, where S3 ignores them.
    their_pairs = [(n, v) for n, v in their_pairs if n not in ("content-type", "content-md5")]
    assert sorted(ours) == sorted(their_pairs)


subresource_names = st.sampled_from(sorted(SUBRESOURCES)) | st.sampled_from(["prefix", "x-id"])
subresources = st.lists(
    st.tuples(subresource_names, st.text(max_size=20)),
    max_size=4,
    unique_by=lambda pair: pair[0],
)
v2_header_names = st.sampled_from(
    ["Content-Type", "content-md5", "x-amz-acl", "X-Amz-Meta-Name", "x-amz-storage-class"]
)
v2_headers = st.dictionaries(
    v2_header_names,
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    max_size=4,
)
v2_requests = st.builds(
    V2Request,
    method=st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]),
    bucket=buckets,
    key=keys,
    virtual_host=st.booleans(),
    subresources=subresources,
    headers=v2_headers,
    credentials=credentials,
    expires_at=st.integers(min_value=1, max_value=2**33),
)


@settings(max_examples=200, deadline=None)
@given(v2_requests)
def test_presign_v2_matches_botocore(request: V2Request) -> None:
    assert_matches_botocore(request)


@pytest.mark.parametrize(
    ("method", "subs", "headers"),
    [
        ("GET", [], {}),
        (
            "GET",
            [
                ("response-content-disposition", 'attachment; filename="a b.txt"'),
                ("response-content-type", "text/plain; charset=utf-8"),
                ("versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo"),
            ],
            {},
        ),
        ("PUT", [], {"Content-Type": "image/png", "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}),
        ("PUT", [("partNumber", "7"), ("uploadId", "abc+/=")], {"x-amz-acl": "public-read"}),
        ("DELETE", [("uploadId", "abc")], {}),
        ("POST", [("uploads", "")], {"X-Amz-Meta-Owner": " someone "}),
    ],
)
@pytest.mark.parametrize("key", AWKWARD_KEYS[:6], ids=range(6))
def test_presign_v2_examples_match_botocore(
    method: str, subs: list[tuple[str, str]], headers: dict[str, str], key: str
) -> None:
    for token in (None, "session/token+="):
        assert_matches_botocore(
            V2Request(
                method=method,
                bucket="my-space",
                key=key,
                virtual_host=True,
                subresources=subs,
                headers=headers,
                credentials=Credentials("5SGMECSBJ6UPVC2AJ6B4", "secret/key+value", token),
                expires_at=EXPIRES_AT,
            )
        )


def test_non_subresources_are_passed_through_but_not_signed() -> None:
    creds = Credentials("AK", "SK")
    plain = presign_v2(creds, method="GET", path="/b/k", expires_at=EXPIRES_AT)
    with_prefix = presign_v2(
        creds, method="GET", path="/b/k", expires_at=EXPIRES_AT, subresources=[("prefix", "p")]
    )
    assert with_prefix[0] == ("prefix", "p")
    assert dict(with_prefix)["Signature"] == dict(plain)["Signature"]


def test_session_token_travels_in_the_query_and_is_signed() -> None:
    with_token = dict(
        presign_v2(Credentials("AK", "SK", "tok"), method="GET", path="/b/k", expires_at=1)
    )
    without = dict(presign_v2(Credentials("AK", "SK"), method="GET", path="/b/k", expires_at=1))
    assert with_token["x-amz-security-token"] == "tok"
    assert with_token["Signature"] != without["Signature"]
    with pytest.raises(ValueError, match="session token"):
        presign_v2(
            Credentials("AK", "SK"),
            method="GET",
            path="/b/k",
            expires_at=1,
            headers={"X-Amz-Security-Token": "t"},
        )


# The Spaces reference (spaces-docs/001_*.txt, "putS3") signs V2 with this shell recipe; a
# presigned URL puts the Expires time where the recipe puts the Date.
SPACES_RECIPE = 'echo -en "$STRING" | openssl sha1 -hmac "$SECRET" -binary | base64'


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_spaces_reference_put_example() -> None:
    key, secret = "5SGMECSBJ6UPVC2AJ6B4", "example/secret+key"
    content_type, expires = "text/plain", str(EXPIRES_AT)
    acl, storage_type = "x-amz-acl:private", "x-amz-storage-class:STANDARD"
    space, space_path, file = "nyc-tutorial-space", "/", "hello-world.txt"
    string = (
        f"PUT\\n\\n{content_type}\\n{expires}\\n{acl}\\n{storage_type}\\n"
        f"/{space}{space_path}{file}"
    )
    documented = subprocess.run(
        ["bash", "-c", SPACES_RECIPE],
        env={"STRING": string, "SECRET": secret, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    headers = {
        "Content-Type": content_type,
        "x-amz-acl": "private",
        "x-amz-storage-class": "STANDARD",
    }
    path = f"/{space}{space_path}{file}"
    assert sigv2.string_to_sign(
        method="PUT", path=path, expires_at=EXPIRES_AT, subresources=[], headers=headers
    ) == string.replace("\\n", "\n")
    assert presign_v2(
        Credentials(key, secret), method="PUT", path=path, expires_at=EXPIRES_AT, headers=headers
    ) == [
        ("x-amz-acl", "private"),
        ("x-amz-storage-class", "STANDARD"),
        ("AWSAccessKeyId", key),
        ("Expires", expires),
        ("Signature", documented),
    ]
