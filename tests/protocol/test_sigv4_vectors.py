"""SigV4 against published test vectors (tests/vectors/sigv4, see its README for origin and skips).

Every canonical request, string to sign and signature is compared byte for byte with the files.
Request lines are read as "decoded key, encoded once": the harness percent-decodes the target
and re-encodes it with S3's single encoding, which reproduces every S3-applicable case.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from spacesync.errors import ConfigError
from spacesync.protocol import sigv4
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.encoding import uri_encode
from spacesync.protocol.sigv4 import (
    EMPTY_SHA256,
    MAX_PRESIGN_EXPIRES,
    UNSIGNED_PAYLOAD,
    SigV4Signer,
)

VECTORS = Path(__file__).parent.parent / "vectors" / "sigv4"
AWS_C_AUTH = VECTORS / "aws-c-auth-v4"
BOTOCORE = VECTORS / "botocore-aws4_testsuite"
S3_DOCS = VECTORS / "s3-docs"

# botocore's suite has no context files; SOURCE.md of the vectors gives these values.
BOTOCORE_CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
BOTOCORE_TIMESTAMP = "20150830T123600Z"
# The .req of this case lacks the token the signer must add (a known upstream quirk).
BOTOCORE_ADDED_TOKENS = {
    "get-vanilla-with-session-token": (
        "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
    )
}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next(value for key, value in self.headers if key.lower() == name)

    def without(self, *names: str) -> list[tuple[str, str]]:
        return [(key, value) for key, value in self.headers if key.lower() not in names]


def decode_query(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, raw.split("&")):
        name, _, value = item.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def parse_request(text: str) -> HttpRequest:
    """A tiny HTTP/1.1 parser for the vector files: obs-fold lines unfold into one space."""
    head, _, body = text.partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, _, rest = request_line.partition(" ")
    target, _, _version = rest.rpartition(" ")  # the target may hold spaces
    raw_path, _, raw_query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        if line[:1] in (" ", "\t"):
            name, value = headers.pop()
            headers.append((name, f"{value} {line.strip()}"))
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return HttpRequest(
        method=method,
        path=uri_encode(unquote(raw_path), keep_slash=True),
        query=decode_query(raw_query),
        headers=headers,
        body=body.encode(),
    )


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def utc(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class ContextCase:
    """A case of aws-c-auth or s3-docs: a folder with context.json and request.txt."""

    folder: Path
    request: HttpRequest
    credentials: Credentials
    region: str
    service: str
    timestamp: str
    context: dict[str, object]

    @classmethod
    def load(cls, folder: Path) -> ContextCase:
        context = json.loads(read(folder / "context.json"))
        creds = context["credentials"]
        when = datetime.strptime(context["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        return cls(
            folder=folder,
            request=parse_request(read(folder / "request.txt")),
            credentials=Credentials(
                creds["access_key_id"], creds["secret_access_key"], creds.get("token")
            ),
            region=context["region"],
            service=context["service"],
            timestamp=when.strftime("%Y%m%dT%H%M%SZ"),
            context=context,
        )

    def expected(self, name: str) -> str:
        return read(self.folder / name)

    @property
    def scope(self) -> str:
        return sigv4.credential_scope(
            date=self.timestamp[:8], region=self.region, service=self.service
        )

    def sign_low_level(
        self, *, headers: list[tuple[str, str]], query: list[tuple[str, str]], payload_hash: str
    ) -> tuple[str, str, str]:
        creq = sigv4.canonical_request(
            method=self.request.method,
            path=self.request.path,
            query=query,
            headers=sigv4.canonical_headers(headers),
            payload_hash=payload_hash,
        )
        sts = sigv4.string_to_sign(
            timestamp=self.timestamp, scope=self.scope, canonical_request=creq
        )
        key = sigv4.signing_key(
            self.credentials.secret_key,
            date=self.timestamp[:8],
            region=self.region,
            service=self.service,
        )
        return creq, sts, sigv4.signature(key, sts)


def signed_request_header(text: str, name: str) -> str:
    """A header of a *-signed-request.txt; s3-docs put a blank line before Authorization."""
    prefix = f"{name}:"
    return next(line[len(prefix) :] for line in text.split("\n") if line.lower().startswith(prefix))


def case_folders(root: Path) -> list[Path]:
    return sorted(path.parent for path in root.rglob("context.json"))


AWS_C_AUTH_CASES = case_folders(AWS_C_AUTH)
SIGN_BODY_CASES = [
    folder for folder in AWS_C_AUTH_CASES if ContextCase.load(folder).context["sign_body"]
]


def test_vendored_case_counts() -> None:
    # 38 upstream cases minus the 6 normalizing ones and post-sts-header-after.
    assert len(AWS_C_AUTH_CASES) == 31
    assert len(list(BOTOCORE.rglob("*.req"))) == 27
    assert len(case_folders(S3_DOCS)) == 6


@pytest.mark.parametrize("folder", AWS_C_AUTH_CASES, ids=lambda p: p.name)
def test_aws_c_auth_header_variant(folder: Path) -> None:
    case = ContextCase.load(folder)
    assert not case.context.get("omit_session_token")
    payload_hash = hashlib.sha256(case.request.body).hexdigest()
    added = sigv4.amz_headers(
        timestamp=case.timestamp,
        payload_hash=payload_hash if case.context["sign_body"] else None,
        session_token=case.credentials.session_token,
    )
    headers = [*case.request.headers, *added.items()]
    creq, sts, sig = case.sign_low_level(
        headers=headers, query=case.request.query, payload_hash=payload_hash
    )
    assert creq == case.expected("header-canonical-request.txt")
    assert sts == case.expected("header-string-to-sign.txt")
    assert sig == case.expected("header-signature.txt")
    header = sigv4.authorization(
        access_key=case.credentials.access_key,
        scope=case.scope,
        signed_headers=sigv4.canonical_headers(headers).signed,
        signature=sig,
    )
    assert header == signed_request_header(
        case.expected("header-signed-request.txt"), "authorization"
    )


@pytest.mark.parametrize("folder", AWS_C_AUTH_CASES, ids=lambda p: p.name)
def test_aws_c_auth_query_variant(folder: Path) -> None:
    """Generic presigning: the payload line is the body hash, not UNSIGNED-PAYLOAD."""
    case = ContextCase.load(folder)
    params = [
        *case.request.query,
        *sigv4.presign_params(
            access_key=case.credentials.access_key,
            scope=case.scope,
            timestamp=case.timestamp,
            expires=int(str(case.context["expiration_in_seconds"])),
            signed_headers=sigv4.canonical_headers(case.request.headers).signed,
            session_token=case.credentials.session_token,
        ),
    ]
    creq, sts, sig = case.sign_low_level(
        headers=case.request.headers,
        query=params,
        payload_hash=hashlib.sha256(case.request.body).hexdigest(),
    )
    assert creq == case.expected("query-canonical-request.txt")
    assert sts == case.expected("query-string-to-sign.txt")
    assert sig == case.expected("query-signature.txt")
    signed = parse_request(case.expected("query-signed-request.txt"))
    assert sorted(signed.query) == sorted([*params, ("X-Amz-Signature", sig)])


@pytest.mark.parametrize("folder", SIGN_BODY_CASES, ids=lambda p: p.name)
def test_signer_on_aws_c_auth_sign_body_cases(folder: Path) -> None:
    """The cases that send x-amz-content-sha256 are S3-shaped: sign() must reproduce them."""
    case = ContextCase.load(folder)
    signer = SigV4Signer(case.credentials, region=case.region, service=case.service)
    added = signer.sign(
        method=case.request.method,
        path=case.request.path,
        query=case.request.query,
        headers=dict(case.request.headers),
        payload_hash=hashlib.sha256(case.request.body).hexdigest(),
        now=utc(case.timestamp),
    )
    signed = parse_request(case.expected("header-signed-request.txt"))
    assert added == {
        name: signed.header(name)
        for name in ("x-amz-date", "x-amz-content-sha256", "authorization")
    }


BOTOCORE_CASES = sorted(path.with_suffix("") for path in BOTOCORE.rglob("*.req"))


@pytest.mark.parametrize(
    "stem", BOTOCORE_CASES, ids=lambda p: str(p.parent.relative_to(BOTOCORE))
)
def test_botocore_suite(stem: Path) -> None:
    """The classic suite: its .req files already carry X-Amz-Date (and some the token)."""
    request = parse_request(read(stem.with_suffix(".req")))
    token = BOTOCORE_ADDED_TOKENS.get(stem.name)
    headers = request.headers + ([("X-Amz-Security-Token", token)] if token else [])
    scope = sigv4.credential_scope(
        date=BOTOCORE_TIMESTAMP[:8], region="us-east-1", service="service"
    )
    signed = sigv4.canonical_headers(headers)
    creq = sigv4.canonical_request(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=signed,
        payload_hash=hashlib.sha256(request.body).hexdigest(),
    )
    sts = sigv4.string_to_sign(timestamp=BOTOCORE_TIMESTAMP, scope=scope, canonical_request=creq)
    key = sigv4.signing_key(
        BOTOCORE_CREDENTIALS.secret_key,
        date=BOTOCORE_TIMESTAMP[:8],
        region="us-east-1",
        service="service",
    )
    assert creq == read(stem.with_suffix(".creq"))
    assert sts == read(stem.with_suffix(".sts"))
    assert sigv4.authorization(
        access_key=BOTOCORE_CREDENTIALS.access_key,
        scope=scope,
        signed_headers=signed.signed,
        signature=sigv4.signature(key, sts),
    ) == read(stem.with_suffix(".authz"))


def authorization_fields(header: str) -> dict[str, str]:
    algorithm, _, rest = header.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    return {"algorithm": algorithm, **fields}


S3_HEADER_CASES = [
    folder for folder in case_folders(S3_DOCS) if (folder / "header-signature.txt").exists()
]


@pytest.mark.parametrize("folder", S3_HEADER_CASES, ids=lambda p: p.name)
def test_s3_docs_header_cases(folder: Path) -> None:
    """The S3 reference's examples carry x-amz-date and x-amz-content-sha256 as sent."""
    case = ContextCase.load(folder)
    payload_hash = str(case.context["payload_hash"])
    creq, sts, sig = case.sign_low_level(
        headers=case.request.headers, query=case.request.query, payload_hash=payload_hash
    )
    assert creq == case.expected("header-canonical-request.txt")
    assert sts == case.expected("header-string-to-sign.txt")
    assert sig == case.expected("header-signature.txt")

    signer = SigV4Signer(case.credentials, region=case.region, service=case.service)
    added = signer.sign(
        method=case.request.method,
        path=case.request.path,
        query=case.request.query,
        headers=dict(case.request.without("x-amz-date", "x-amz-content-sha256")),
        payload_hash=payload_hash,
        now=utc(case.timestamp),
    )
    assert added["x-amz-date"] == case.request.header("x-amz-date")
    assert added["x-amz-content-sha256"] == case.request.header("x-amz-content-sha256")
    ours = authorization_fields(added["authorization"])
    assert ours["Signature"] == sig
    signed_request = folder / "header-signed-request.txt"
    if signed_request.exists():
        assert ours == authorization_fields(
            signed_request_header(read(signed_request), "authorization")
        )


def test_s3_docs_put_object_encoded_key_signs_the_key_encoded_once() -> None:
    case = ContextCase.load(S3_DOCS / "put-object-encoded-key")
    assert case.request.path == "/" + uri_encode(str(case.context["object_key"]))
    assert case.expected("header-canonical-request.txt").split("\n")[1] == "/test%24file.text"


def test_s3_docs_presigned_get_object() -> None:
    case = ContextCase.load(S3_DOCS / "presigned-get-object")
    host = case.request.header("host")
    expires = int(str(case.context["expiration_in_seconds"]))
    signer = SigV4Signer(case.credentials, region=case.region, service=case.service)
    pairs = signer.presign(
        method=case.request.method,
        path=case.request.path,
        query=case.request.query,
        host=host,
        expires=expires,
        now=utc(case.timestamp),
    )
    # The documented URL lists the parameters in the order presign() returns them.
    query = "&".join(f"{uri_encode(name)}={uri_encode(value)}" for name, value in pairs)
    url = case.expected("presigned-url.txt").rstrip("\n")  # the only file with a final newline
    assert f"https://{host}{case.request.path}?{query}" == url

    auth_params = [pair for pair in pairs if pair[0] != "X-Amz-Signature"]
    creq, sts, sig = case.sign_low_level(
        headers=[("host", host)], query=auth_params, payload_hash=UNSIGNED_PAYLOAD
    )
    assert creq == case.expected("query-canonical-request.txt")
    assert sts == case.expected("query-string-to-sign.txt")
    assert sig == case.expected("query-signature.txt") == dict(pairs)["X-Amz-Signature"]
    assert decode_query(urlsplit(url).query) == pairs


# --- SigV4Signer behaviour the vectors cannot show ---------------------------------------

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok3n-SECRET")
NOW = datetime(2026, 3, 1, 23, 59, 58, tzinfo=UTC)


def sign_get(signer: SigV4Signer, now: datetime) -> dict[str, str]:
    return signer.sign(
        method="GET",
        path="/bucket/key",
        query=[],
        headers={"host": "nyc3.digitaloceanspaces.com"},
        payload_hash=EMPTY_SHA256,
        now=now,
    )


def test_signing_key_is_derived_once_per_day(monkeypatch: pytest.MonkeyPatch) -> None:
    derived: list[str] = []
    real = sigv4.signing_key

    def counting(secret_key: str, *, date: str, region: str, service: str) -> bytes:
        derived.append(date)
        return real(secret_key, date=date, region=region, service=service)

    monkeypatch.setattr(sigv4, "signing_key", counting)
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    first = [sign_get(signer, NOW) for _ in range(50)]
    signer.presign(
        method="GET", path="/bucket/key", query=[], host="h", expires=60, now=NOW
    )
    assert derived == ["20260301"]
    assert all(headers == first[0] for headers in first)

    next_day = sign_get(signer, datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC))
    sign_get(signer, datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC))
    assert derived == ["20260301", "20260302"]
    assert "20260302/nyc3/s3/aws4_request" in next_day["authorization"]


def test_cached_key_gives_the_same_signature_as_a_fresh_signer() -> None:
    warm = SigV4Signer(CREDENTIALS, region="nyc3")
    sign_get(warm, NOW)
    later = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert sign_get(warm, later) == sign_get(SigV4Signer(CREDENTIALS, region="nyc3"), later)


def test_repr_never_shows_secrets() -> None:
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    sign_get(signer, NOW)
    text = repr(signer) + str(signer)
    assert "AKIDEXAMPLE" in text and "nyc3" in text
    for secret in (CREDENTIALS.secret_key, "tok3n-SECRET", "bPxRfiCY"):
        assert secret not in text
    assert not hasattr(signer, "__dict__")  # nothing to leak through vars() either


def test_session_token_is_added_and_signed() -> None:
    added = sign_get(SigV4Signer(CREDENTIALS, region="nyc3"), NOW)
    assert added["x-amz-security-token"] == "tok3n-SECRET"
    assert "x-amz-security-token" in authorization_fields(added["authorization"])["SignedHeaders"]


def test_sign_rejects_naive_time_and_converts_other_zones() -> None:
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_get(signer, NOW.replace(tzinfo=None))
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert sign_get(signer, paris) == sign_get(signer, NOW)


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"host": "h", "X-Amz-Date": "20260301T000000Z"},
        {"host": "h", "Authorization": "AWS x:y"},
        {"host": "h", "x-amz-content-sha256": EMPTY_SHA256},
    ],
)
def test_sign_rejects_missing_host_and_headers_it_sets_itself(headers: dict[str, str]) -> None:
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    with pytest.raises(ValueError):
        signer.sign(
            method="GET", path="/", query=[], headers=headers, payload_hash=EMPTY_SHA256, now=NOW
        )


@pytest.mark.parametrize("expires", [0, -1, MAX_PRESIGN_EXPIRES + 1])
def test_presign_expiry_bounds(expires: int) -> None:
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    with pytest.raises(ConfigError) as raised:
        signer.presign(method="GET", path="/b/k", query=[], host="h", expires=expires, now=NOW)
    assert "\n" not in str(raised.value) and str(expires) in str(raised.value)


def test_presign_accepts_the_bounds_and_signs_extra_headers() -> None:
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    for expires in (1, MAX_PRESIGN_EXPIRES):
        pairs = dict(
            signer.presign(
                method="PUT",
                path="/b/k",
                query=[("partNumber", "1")],
                host="h",
                expires=expires,
                now=NOW,
                headers={"Content-Type": "text/plain"},
            )
        )
        assert pairs["X-Amz-Expires"] == str(expires)
        assert pairs["X-Amz-SignedHeaders"] == "content-type;host"
        assert pairs["X-Amz-Security-Token"] == "tok3n-SECRET"
        assert pairs["partNumber"] == "1"


def test_presign_rejects_auth_params_in_query() -> None:
    signer = SigV4Signer(CREDENTIALS, region="nyc3")
    with pytest.raises(ValueError, match="X-Amz-Signature"):
        signer.presign(
            method="GET",
            path="/b/k",
            query=[("X-Amz-Signature", "x")],
            host="h",
            expires=60,
            now=NOW,
        )
