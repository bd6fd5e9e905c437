"""Our SigV4 against botocore's S3 signers on generated requests.

botocore's ``S3SigV4Auth`` and ``S3SigV4QueryAuth`` sign ``urlsplit(url).path`` without
re-encoding or normalising it, so handing them the very path we send makes the two signers
comparable byte for byte. Their clock is ``botocore.auth.get_current_datetime`` (naive UTC),
which is frozen here the way botocore users' tests do.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock
from urllib.parse import unquote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from spacesync.protocol.credentials import Credentials
from spacesync.protocol.encoding import uri_encode
from spacesync.protocol.sigv4 import EMPTY_SHA256, UNSIGNED_PAYLOAD, SigV4Signer

ENDPOINT = "nyc3.digitaloceanspaces.com"
MAX_KEY_BYTES = 1024

# Keys every S3 client gets wrong at least once.
AWKWARD_KEYS = [
    unicodedata.normalize("NFC", "café/naïve résumé.txt"),
    unicodedata.normalize("NFD", "café/naïve résumé.txt"),
    "with space/and+plus/100%/~tilde",
    "double//slash///and/trailing/",
    "/leading-slash",
    "question?mark#hash&amp=eq;semi",
    "percent-looking %41%2F%25 stays literal",
    "./dot/../dotdot/.",
    "日本語/한국어/emoji-🚀",
    "tab\tand\nnewline",
    "x" * MAX_KEY_BYTES,
    "é" * (MAX_KEY_BYTES // 2),
]


@dataclass(frozen=True)
class S3Request:
    method: str
    bucket: str
    key: str
    virtual_host: bool
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes | None  # None: UNSIGNED-PAYLOAD
    credentials: Credentials
    region: str
    now: datetime

    @property
    def host(self) -> str:
        return f"{self.bucket}.{ENDPOINT}" if self.virtual_host else ENDPOINT

    @property
    def path(self) -> str:
        """The encoded path as sent on the wire."""
        resource = self.key if self.virtual_host else f"{self.bucket}/{self.key}"
        return "/" + uri_encode(resource, keep_slash=True)

    @property
    def url(self) -> str:
        url = f"https://{self.host}{self.path}"
        assert urlsplit(url).path == self.path  # botocore signs exactly what we send
        return url

    @property
    def payload_hash(self) -> str:
        return UNSIGNED_PAYLOAD if self.body is None else hashlib.sha256(self.body).hexdigest()


def padded_to_limit(prefix: str) -> str:
    """A key of exactly 1,024 UTF-8 bytes, S3's maximum."""
    return prefix + "k" * (MAX_KEY_BYTES - len(prefix.encode()))


text = st.text(st.characters(codec="utf-8"), max_size=40)
fragments = st.sampled_from(
    [" ", "+", "%", "%20", "~", "/", "//", "?", "#", "&", "=", ".", "..", "é", "e\u0301", "ß", "😀"]
)
normalized_text = st.builds(
    unicodedata.normalize,
    st.sampled_from(["NFC", "NFD"]),
    st.lists(st.one_of(fragments, text), max_size=8).map("".join),
)
keys = st.one_of(
    normalized_text,
    normalized_text.filter(lambda k: len(k.encode()) <= 400).map(padded_to_limit),
    st.sampled_from(AWKWARD_KEYS),
)
buckets = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True)
query_names = st.one_of(
    st.sampled_from(
        ["uploadId", "partNumber", "versionId", "list-type", "prefix", "delimiter", "uploads"]
    ),
    text,
)
queries = st.lists(st.tuples(query_names, text), max_size=5)
header_names = st.one_of(
    st.sampled_from(["content-type", "content-md5", "range", "if-match", "x-amz-acl"]),
    st.from_regex(r"x-amz-meta-[a-z0-9-]{1,12}", fullmatch=True),
).map(lambda name: name.title() if len(name) % 2 else name)  # mixed case must not matter
# Printable ASCII plus blanks: headers are sent as bytes, and runs of blanks must fold.
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"))
headers = st.dictionaries(header_names, header_values, max_size=5).filter(
    lambda h: len({name.lower() for name in h}) == len(h)
)
credentials = st.builds(
    Credentials,
    st.from_regex(r"[A-Z0-9]{20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9/+]{40}", fullmatch=True),
    st.none() | st.from_regex(r"[A-Za-z0-9/+=]{16,64}", fullmatch=True),
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
requests = st.builds(
    S3Request,
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]),
    bucket=buckets,
    key=keys,
    virtual_host=st.booleans(),
    query=queries,
    headers=headers,
    body=st.none() | st.binary(max_size=64),
    credentials=credentials,
    region=st.sampled_from(["nyc3", "ams3", "sfo3", "fra1", "us-east-1"]),
    now=times,
)


def botocore_credentials(credentials: Credentials) -> BotoCredentials:
    return BotoCredentials(
        credentials.access_key, credentials.secret_key, credentials.session_token
    )


def frozen_botocore_clock(now: datetime) -> mock._patch[mock.MagicMock]:
    return mock.patch(
        "botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)
    )


def assert_sign_matches_botocore(request: S3Request) -> None:
    ours = SigV4Signer(request.credentials, region=request.region).sign(
        method=request.method,
        path=request.path,
        query=request.query,
        headers={"host": request.host, **request.headers},
        payload_hash=request.payload_hash,
        now=request.now,
    )

    theirs = AWSRequest(
        method=request.method,
        url=request.url,
        headers=request.headers,
        data=request.body or b"",
        params=request.query,
    )
    theirs.context["client_config"] = SimpleNamespace(
        s3={"payload_signing_enabled": request.body is not None}
    )
    with frozen_botocore_clock(request.now):
        S3SigV4Auth(botocore_credentials(request.credentials), "s3", request.region).add_auth(
            theirs
        )

    expected = {
        "x-amz-date": theirs.headers["X-Amz-Date"],
        "x-amz-content-sha256": theirs.headers["X-Amz-Content-SHA256"],
        "authorization": theirs.headers["Authorization"],
    }
    if request.credentials.session_token is not None:
        expected["x-amz-security-token"] = theirs.headers["X-Amz-Security-Token"]
    assert ours == expected


def assert_presign_matches_botocore(request: S3Request, expires: int) -> None:
    ours = SigV4Signer(request.credentials, region=request.region).presign(
        method=request.method,
        path=request.path,
        query=request.query,
        host=request.host,
        expires=expires,
        now=request.now,
        headers=request.headers,
    )

    theirs = AWSRequest(
        method=request.method, url=request.url, headers=request.headers, params=request.query
    )
    with frozen_botocore_clock(request.now):
        S3SigV4QueryAuth(
            botocore_credentials(request.credentials), "s3", request.region, expires=expires
        ).add_auth(theirs)

    signed_url = urlsplit(theirs.url)
    assert signed_url.path == request.path
    their_pairs = [
        (unquote(name), unquote(value))
        for name, _, value in (item.partition("=") for item in signed_url.query.split("&"))
    ]
    assert ours == their_pairs


@settings(max_examples=300, deadline=None)
@given(requests)
def test_sign_matches_botocore(request: S3Request) -> None:
    assert_sign_matches_botocore(request)


# botocore's presigner folds the query into a dict, so names must be unique there.
presign_requests = requests.filter(lambda r: len({name for name, _ in r.query}) == len(r.query))


@settings(max_examples=200, deadline=None)
@given(presign_requests, st.integers(min_value=1, max_value=7 * 24 * 3600))
def test_presign_matches_botocore(request: S3Request, expires: int) -> None:
    assert_presign_matches_botocore(request, expires)


def fixed_request(key: str, *, virtual_host: bool) -> S3Request:
    return S3Request(
        method="PUT",
        bucket="my-space",
        key=key,
        virtual_host=virtual_host,
        query=[("partNumber", "3"), ("uploadId", "a+b/c=="), ("x", "ü ö")],
        headers={"Content-Type": "text/plain;  charset=utf-8 ", "x-amz-meta-Tag": "\tv \t 1\t"},
        body=b"hello",
        credentials=Credentials("AKIAEXAMPLE123456789", "s3cr3t/with+chars", "session/tok+en"),
        region="nyc3",
        now=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
    )


@pytest.mark.parametrize("virtual_host", [False, True], ids=["path-style", "virtual-host"])
@pytest.mark.parametrize("key", AWKWARD_KEYS, ids=range(len(AWKWARD_KEYS)))
def test_awkward_keys_match_botocore(key: str, virtual_host: bool) -> None:
    request = fixed_request(key, virtual_host=virtual_host)
    assert_sign_matches_botocore(request)
    assert_presign_matches_botocore(request, 3600)


def test_awkward_keys_cover_what_they_claim() -> None:
    nfc, nfd = AWKWARD_KEYS[:2]
    assert nfc != nfd and unicodedata.normalize("NFC", nfd) == nfc
    assert uri_encode(nfc) != uri_encode(nfd)  # different keys, different signatures
    assert sum(len(key.encode()) == MAX_KEY_BYTES for key in AWKWARD_KEYS) == 2
    joined = "".join(AWKWARD_KEYS)
    for needle in (" ", "+", "%", "~", "//", "?", "#"):
        assert needle in joined


def test_unsigned_and_empty_payloads_differ() -> None:
    signer = SigV4Signer(Credentials("AK", "SK"), region="nyc3")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    signed = {
        payload: signer.sign(
            method="GET",
            path="/b/k",
            query=[],
            headers={"host": ENDPOINT},
            payload_hash=payload,
            now=now,
        )
        for payload in (UNSIGNED_PAYLOAD, EMPTY_SHA256)
    }
    assert signed[UNSIGNED_PAYLOAD]["x-amz-content-sha256"] == UNSIGNED_PAYLOAD
    assert signed[UNSIGNED_PAYLOAD]["authorization"] != signed[EMPTY_SHA256]["authorization"]
