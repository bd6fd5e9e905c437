"""AWS Signature Version 4, with S3's rules: the path is signed exactly as sent.

S3 departs from generic SigV4 in three ways: the canonical URI is the wire path (encoded once,
never normalised), header-signed requests carry ``x-amz-content-sha256``, and presigned URLs
sign the literal ``UNSIGNED-PAYLOAD``. The module-level functions are the algorithm's steps;
:class:`SigV4Signer` strings them together for S3 and caches the derived signing key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from spacesync.errors import ConfigError
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.encoding import encode_query

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600


def check_presign_expires(expires: int, *, what: str = "presigned URL") -> None:
    """The one lifetime rule for anything presigned (V4 caps it at a week; V2 and POST
    forms have no cap of their own, but a signature that outlives a week is a leaked key)."""
    if isinstance(expires, bool) or not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ConfigError(f"a {what} expires in 1..{MAX_PRESIGN_EXPIRES} seconds, not {expires}")

# Headers sign() adds itself: a caller passing them too would sign two competing values.
_SIGNER_HEADERS = frozenset(
    {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}
)
_PRESIGN_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)
_INNER_SPACES = re.compile(r"[ \t]+")


def amz_date(now: datetime) -> str:
    """``now`` as SigV4's ISO 8601 basic timestamp; a naive time would sign a guessed zone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC), not a naive one")
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def credential_scope(*, date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/aws4_request"


def signing_key(secret_key: str, *, date: str, region: str, service: str) -> bytes:
    """The HMAC chain over date, region and service; the same for a whole UTC day."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class CanonicalHeaders(NamedTuple):
    block: str  # "name:value\n" lines
    signed: str  # the SignedHeaders list: "host;x-amz-date"


def canonical_headers(headers: Iterable[tuple[str, str]]) -> CanonicalHeaders:
    """The canonical header block and the signed-header list.

    Names are lower-cased and sorted; repeated names keep their values in order, joined with
    ``,``; values lose surrounding blanks and inner runs of blanks become one space.
    """
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        folded = _INNER_SPACES.sub(" ", value.strip(" \t"))
        merged.setdefault(name.lower(), []).append(folded)
    names = sorted(merged)
    block = "".join(f"{name}:{','.join(merged[name])}\n" for name in names)
    return CanonicalHeaders(block, ";".join(names))


def canonical_request(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: CanonicalHeaders,
    payload_hash: str,
) -> str:
    """The canonical request; ``path`` is the encoded wire path and is used verbatim."""
    if not path.startswith("/"):
        raise ValueError(f"path must be the encoded absolute path, got {path!r}")
    return "\n".join(
        (method.upper(), path, encode_query(query), headers.block, headers.signed, payload_hash)
    )


def string_to_sign(*, timestamp: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def signature(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(*, access_key: str, scope: str, signed_headers: str, signature: str) -> str:
    return (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def amz_headers(
    *, timestamp: str, payload_hash: str | None, session_token: str | None
) -> dict[str, str]:
    """The headers SigV4 adds before signing.

    ``payload_hash=None`` leaves out ``x-amz-content-sha256``: generic SigV4 services do not
    require it (aws-c-auth's ``sign_body: false``); S3 does, so :meth:`SigV4Signer.sign`
    always passes one.
    """
    added = {"x-amz-date": timestamp}
    if payload_hash is not None:
        added["x-amz-content-sha256"] = payload_hash
    if session_token is not None:
        added["x-amz-security-token"] = session_token
    return added


def presign_params(
    *,
    access_key: str,
    scope: str,
    timestamp: str,
    expires: int,
    signed_headers: str,
    session_token: str | None,
) -> list[tuple[str, str]]:
    """The X-Amz-* query parameters a presigned URL signs (all but X-Amz-Signature)."""
    params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", timestamp),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", signed_headers),
    ]
    if session_token is not None:
        params.append(("X-Amz-Security-Token", session_token))
    return params


class SigV4Signer:
    """Signs S3 requests for one set of credentials, region and service.

    The signing key depends only on the UTC date, so it is derived once a day and reused.
    """

    __slots__ = ("_cached_key", "_credentials", "_region", "_service")

    def __init__(self, credentials: Credentials, *, region: str, service: str = "s3") -> None:
        self._credentials = credentials
        self._region = region
        self._service = service
        self._cached_key: tuple[str, bytes] | None = None

    def __repr__(self) -> str:
        return (
            f"SigV4Signer(access_key={self._credentials.access_key!r}, "
            f"region={self._region!r}, service={self._service!r})"
        )

    def _key_for(self, date: str) -> bytes:
        if self._cached_key is None or self._cached_key[0] != date:
            key = signing_key(
                self._credentials.secret_key, date=date, region=self._region, service=self._service
            )
            self._cached_key = (date, key)
        return self._cached_key[1]

    def _scope(self, timestamp: str) -> str:
        return credential_scope(date=timestamp[:8], region=self._region, service=self._service)

    def sign(
        self,
        *,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        payload_hash: str,
        now: datetime,
    ) -> dict[str, str]:
        """Headers to add to the request: x-amz-date, x-amz-content-sha256,
        (x-amz-security-token) and authorization.

        ``path`` is the encoded wire path, signed verbatim; ``query`` holds decoded pairs,
        encoded with :func:`encode_query` (send the same string); ``headers`` must include
        ``host`` and are all signed.
        """
        names = {name.lower() for name in headers}
        if "host" not in names:
            raise ValueError("headers must include host")
        if clash := sorted(names & _SIGNER_HEADERS):
            raise ValueError(f"sign() sets these headers itself: {', '.join(clash)}")
        timestamp = amz_date(now)
        added = amz_headers(
            timestamp=timestamp,
            payload_hash=payload_hash,
            session_token=self._credentials.session_token,
        )
        signed = canonical_headers([*headers.items(), *added.items()])
        creq = canonical_request(
            method=method, path=path, query=query, headers=signed, payload_hash=payload_hash
        )
        scope = self._scope(timestamp)
        sts = string_to_sign(timestamp=timestamp, scope=scope, canonical_request=creq)
        added["authorization"] = authorization(
            access_key=self._credentials.access_key,
            scope=scope,
            signed_headers=signed.signed,
            signature=signature(self._key_for(timestamp[:8]), sts),
        )
        return added

    def presign(
        self,
        *,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        host: str,
        expires: int,
        now: datetime,
        headers: Mapping[str, str] | None = None,
    ) -> list[tuple[str, str]]:
        """Decoded query pairs of a presigned URL: ``query`` followed by the X-Amz-* ones.

        The payload is ``UNSIGNED-PAYLOAD``; ``headers`` (besides ``host``) are signed too,
        so whoever uses the URL must send them unchanged.
        """
        check_presign_expires(expires)
        extra = dict(headers or {})
        if any(name.lower() == "host" for name in extra):
            raise ValueError("pass host through the host argument, not in headers")
        if clash := sorted({name for name, _ in query} & _PRESIGN_PARAMS):
            raise ValueError(f"presign() sets these query parameters itself: {', '.join(clash)}")
        timestamp = amz_date(now)
        scope = self._scope(timestamp)
        signed = canonical_headers([("host", host), *extra.items()])
        params = [
            *query,
            *presign_params(
                access_key=self._credentials.access_key,
                scope=scope,
                timestamp=timestamp,
                expires=expires,
                signed_headers=signed.signed,
                session_token=self._credentials.session_token,
            ),
        ]
        creq = canonical_request(
            method=method, path=path, query=params, headers=signed, payload_hash=UNSIGNED_PAYLOAD
        )
        sts = string_to_sign(timestamp=timestamp, scope=scope, canonical_request=creq)
        params.append(("X-Amz-Signature", signature(self._key_for(timestamp[:8]), sts)))
        return params
