"""AWS Signature Version 2 presigned URLs (query-string authentication).

Spaces accepts V2 as well as V4 for presigned URLs. V2 URLs carry an absolute expiry time and
no region, so some legacy clients still need them; everything else spacesync signs with V4.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from spacesync.protocol.credentials import Credentials

# The query parameters S3 treats as sub-resources: only these enter the canonical resource,
# every other parameter is ignored by the server when it checks a V2 signature.
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "cors",
        "defaultObjectAcl",
        "delete",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def canonical_resource(path: str, subresources: Sequence[tuple[str, str]]) -> str:
    """The encoded path plus the sub-resources sorted by name, values left decoded."""
    signed = sorted(
        ((name, value) for name, value in subresources if name in SUBRESOURCES),
        key=lambda pair: pair[0],
    )
    if not signed:
        return path
    return path + "?" + "&".join(f"{name}={value}" if value else name for name, value in signed)


def string_to_sign(
    *,
    method: str,
    path: str,
    expires_at: int,
    subresources: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> str:
    """V2's string to sign, with ``Expires`` in the place of ``Date``."""
    standard = {"content-md5": "", "content-type": ""}
    amz: dict[str, list[str]] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in standard:
            standard[lower] = value.strip(" \t")
        elif lower.startswith("x-amz-"):
            amz.setdefault(lower, []).append(value.strip(" \t"))
    amz_lines = "".join(f"{name}:{','.join(amz[name])}\n" for name in sorted(amz))
    return (
        f"{method.upper()}\n{standard['content-md5']}\n{standard['content-type']}\n"
        f"{expires_at}\n{amz_lines}{canonical_resource(path, subresources)}"
    )


def presign_v2(
    credentials: Credentials,
    *,
    method: str,
    path: str,
    expires_at: int,
    subresources: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Decoded query pairs of a V2 presigned URL: ``subresources`` followed by the x-amz-*
    headers, AWSAccessKeyId, Expires and Signature.

    ``path`` is the encoded resource path including the bucket (``/bucket/key``) even for
    virtual-hosted URLs; ``expires_at`` is epoch seconds. x-amz-* headers (and the session
    token) travel in the query, where S3 reads them as headers; Content-MD5 and Content-Type
    are signed but must be sent as headers by whoever uses the URL.
    """
    signed_headers = dict(headers or {})
    if any(name.lower() == "x-amz-security-token" for name in signed_headers):
        raise ValueError("the session token comes from the credentials, not from headers")
    if credentials.session_token is not None:
        signed_headers["x-amz-security-token"] = credentials.session_token
    sts = string_to_sign(
        method=method,
        path=path,
        expires_at=expires_at,
        subresources=subresources,
        headers=signed_headers,
    )
    digest = hmac.new(credentials.secret_key.encode(), sts.encode("utf-8"), hashlib.sha1).digest()
    amz_params = [
        (name.lower(), value)
        for name, value in signed_headers.items()
        if name.lower().startswith("x-amz-")
    ]
    return [
        *subresources,
        *amz_params,
        ("AWSAccessKeyId", credentials.access_key),
        ("Expires", str(expires_at)),
        ("Signature", base64.b64encode(digest).decode("ascii")),
    ]
