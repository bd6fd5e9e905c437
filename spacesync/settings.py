"""The rest of the Spaces API: bucket and object settings, versions, SSE-C, presigning.

Async functions over :meth:`SpacesClient.call`, one per S3 operation (``get_acl``,
``put_cors``, ``list_object_versions``…), built from the typed values and XML of
:mod:`spacesync.protocol.bucket_config`. Object functions here take what the transfer
methods of the client do not: an SSE-C key, a version id, replacement tags, grants.

An operation the endpoint rejects with ``NotImplemented`` raises
:class:`NotImplementedByEndpoint` whose ``operation`` names it (the client sets it), so the
CLI says in one line what the endpoint lacks.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from spacesync.client import S3Call, S3Reply, SpacesClient, copy_source_header
from spacesync.errors import (
    AccessDenied,
    ConfigError,
)
from spacesync.protocol import bucket_config as cfg
from spacesync.protocol import xml
from spacesync.protocol.encoding import encode_query, uri_encode
from spacesync.protocol.headers import (
    Conditions,
    ObjectAttributes,
)
from spacesync.protocol.model import unquote_etag
from spacesync.protocol.post_policy import PostForm, build_post_form
from spacesync.protocol.sigv2 import presign_v2
from spacesync.protocol.sigv4 import check_presign_expires
from spacesync.protocol.sse import SseCustomerKey
from spacesync.transport.body import BytesBody, RequestBody

#: ``response-*`` query parameters a presigned GET may carry to override reply headers.
RESPONSE_OVERRIDES = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-type",
    "expires",
)

SignatureVersion = Literal[2, 4]


def _operation(verb: str, setting: str, key: str | None) -> str:
    """``GetBucketAcl`` or ``GetObjectAcl``: S3's name for the call, for error messages."""
    return f"{verb}{'Object' if key is not None else 'Bucket'}{setting}"


async def _get_setting(
    client: SpacesClient,
    bucket: str,
    key: str | None = None,
    *,
    setting: str,
    subresource: str,
    version_id: str | None = None,
) -> bytes:
    query = [(subresource, ""), *_version(version_id)]
    reply = await client.call(
        S3Call(_operation("Get", setting, key), "GET", bucket, key, query=query)
    )
    return reply.body


async def _put_setting(
    client: SpacesClient,
    bucket: str,
    key: str | None = None,
    *,
    setting: str,
    subresource: str,
    body: bytes | None,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/xml",
    operation: str | None = None,
) -> S3Reply:
    """PUT ``?subresource`` with Content-MD5, which several of these operations require."""
    sent = dict(headers or {})
    payload = BytesBody(body) if body is not None else None
    if payload is not None:
        sent["Content-Type"] = content_type
        sent["Content-MD5"] = await payload.md5_base64()
    call = S3Call(
        operation or _operation("Put", setting, key),
        "PUT",
        bucket,
        key,
        query=[(subresource, "")],
        headers=sent,
        body=payload,
    )
    return await client.call(call)


async def _delete_setting(
    client: SpacesClient, bucket: str, key: str | None = None, *, setting: str, subresource: str
) -> None:
    call = S3Call(
        _operation("Delete", setting, key), "DELETE", bucket, key, query=[(subresource, "")]
    )
    await client.call(call)


def _version(version_id: str | None) -> list[tuple[str, str]]:
    return [("versionId", version_id)] if version_id else []


# --- ACLs ----------------------------------------------------------------------------------


async def get_acl(
    client: SpacesClient, bucket: str, key: str | None = None, *, version_id: str | None = None
) -> cfg.AccessControlPolicy:
    """The ACL of the bucket, or of the object when ``key`` is given."""
    body = await _get_setting(
        client, bucket, key, setting="Acl", subresource="acl", version_id=version_id
    )
    return cfg.parse_acl(body)


async def put_acl(
    client: SpacesClient,
    bucket: str,
    key: str | None = None,
    *,
    canned: str | None = None,
    policy: cfg.AccessControlPolicy | None = None,
    grants: Sequence[cfg.Grant] = (),
) -> None:
    """Set an ACL in exactly one of S3's three forms: a canned ACL (``x-amz-acl``), a full
    AccessControlPolicy document, or ``x-amz-grant-*`` headers."""
    if sum((canned is not None, policy is not None, bool(grants))) != 1:
        raise ConfigError("give exactly one of a canned ACL, a policy document or grants")
    if canned is not None:
        if canned not in cfg.CANNED_ACLS:
            raise ConfigError(f"unknown canned ACL {canned!r}: use private or public-read")
        headers = {"x-amz-acl": canned}
    else:
        headers = cfg.grant_headers(grants)
    body = cfg.build_acl(policy) if policy is not None else None
    await _put_setting(
        client, bucket, key, setting="Acl", subresource="acl", body=body, headers=headers
    )


# --- CORS ----------------------------------------------------------------------------------


async def get_cors(client: SpacesClient, bucket: str) -> list[cfg.CorsRule]:
    return cfg.parse_cors(await _get_setting(client, bucket, setting="Cors", subresource="cors"))


async def put_cors(client: SpacesClient, bucket: str, rules: Sequence[cfg.CorsRule]) -> None:
    await _put_setting(
        client, bucket, setting="Cors", subresource="cors", body=cfg.build_cors(rules)
    )


async def delete_cors(client: SpacesClient, bucket: str) -> None:
    await _delete_setting(client, bucket, setting="Cors", subresource="cors")


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What a browser would learn from the CORS preflight of one origin and method."""

    allowed: bool
    status: int
    allow_origin: str | None = None
    allow_methods: str | None = None
    allow_headers: str | None = None
    expose_headers: str | None = None
    max_age: str | None = None


async def preflight(
    client: SpacesClient,
    bucket: str,
    key: str,
    *,
    origin: str,
    method: str,
    request_headers: Sequence[str] = (),
) -> PreflightResult:
    """Send the OPTIONS request a browser sends before a cross-origin ``method``.

    It goes signed, as every request of the client does; S3 evaluates the preflight on the
    Origin and Access-Control-Request-* headers alone. A refusal (403) is an answer here,
    not an error."""
    headers = {"Origin": origin, "Access-Control-Request-Method": method.upper()}
    if request_headers:
        headers["Access-Control-Request-Headers"] = ", ".join(request_headers)
    try:
        reply = await client.call(
            S3Call("PreflightObject", "OPTIONS", bucket, key, headers=headers)
        )
    except AccessDenied as refused:
        return PreflightResult(allowed=False, status=refused.status)
    found = {name: reply.headers.get(f"Access-Control-{name}") for name in _PREFLIGHT_HEADERS}
    return PreflightResult(
        allowed=found["Allow-Origin"] is not None,
        status=reply.status,
        allow_origin=found["Allow-Origin"],
        allow_methods=found["Allow-Methods"],
        allow_headers=found["Allow-Headers"],
        expose_headers=found["Expose-Headers"],
        max_age=found["Max-Age"],
    )


_PREFLIGHT_HEADERS = ("Allow-Origin", "Allow-Methods", "Allow-Headers", "Expose-Headers", "Max-Age")


# --- lifecycle -----------------------------------------------------------------------------


async def get_lifecycle(client: SpacesClient, bucket: str) -> list[cfg.LifecycleRule]:
    body = await _get_setting(
        client, bucket, setting="LifecycleConfiguration", subresource="lifecycle"
    )
    return cfg.parse_lifecycle(body)


async def put_lifecycle(
    client: SpacesClient,
    bucket: str,
    rules: Sequence[cfg.LifecycleRule],
    *,
    legacy: bool = False,
) -> None:
    """PutBucketLifecycleConfiguration (``<Filter>`` form), or with ``legacy`` the older
    PutBucketLifecycle (``<Prefix>`` in the rule) that the Spaces reference shows."""
    await _put_setting(
        client,
        bucket,
        setting="LifecycleConfiguration",
        subresource="lifecycle",
        body=cfg.build_lifecycle(rules, legacy=legacy),
        operation="PutBucketLifecycle" if legacy else None,
    )


async def delete_lifecycle(client: SpacesClient, bucket: str) -> None:
    await _delete_setting(client, bucket, setting="Lifecycle", subresource="lifecycle")


# --- versioning ----------------------------------------------------------------------------


async def get_versioning(client: SpacesClient, bucket: str) -> str | None:
    """``Enabled``, ``Suspended``, or None when versioning was never turned on."""
    body = await _get_setting(client, bucket, setting="Versioning", subresource="versioning")
    return cfg.parse_versioning(body)


async def put_versioning(client: SpacesClient, bucket: str, status: str) -> None:
    await _put_setting(
        client,
        bucket,
        setting="Versioning",
        subresource="versioning",
        body=cfg.build_versioning(status),
    )


async def version_pages(
    client: SpacesClient, bucket: str, *, prefix: str = "", delimiter: str | None = None
) -> AsyncIterator[cfg.VersionsPage]:
    """Every page of ListObjectVersions, following both markers."""
    key_marker: str | None = None
    version_marker: str | None = None
    while True:
        query = [("versions", ""), ("max-keys", "1000"), ("encoding-type", "url")]
        for name, value in (
            ("prefix", prefix or None),
            ("delimiter", delimiter),
            ("key-marker", key_marker),
            ("version-id-marker", version_marker),
        ):
            if value is not None:
                query.append((name, value))
        reply = await client.call(S3Call("ListObjectVersions", "GET", bucket, query=query))
        page = cfg.parse_list_versions(reply.body)
        yield page
        if not page.is_truncated:
            return
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker


async def list_object_versions(
    client: SpacesClient, bucket: str, *, prefix: str = ""
) -> AsyncIterator[cfg.ObjectVersion]:
    """Every version and delete marker under ``prefix``: by key, newest first."""
    async for page in version_pages(client, bucket, prefix=prefix):
        for version in page.versions:
            yield version


# --- objects: versions, SSE-C, conditions, tags --------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What PUT / CopyObject / CompleteMultipartUpload tell about the new object."""

    etag: str
    version_id: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeleteResult:
    version_id: str | None
    delete_marker: bool


def _object_headers(*, sse: SseCustomerKey | None, conditions: Conditions | None) -> dict[str, str]:
    headers = sse.headers() if sse else {}
    if conditions:
        headers.update(conditions.headers())
    return headers


def _write_result(reply: S3Reply, sse: SseCustomerKey | None) -> WriteResult:
    if sse is not None:
        sse.check_reply(reply.headers)
    return WriteResult(
        etag=unquote_etag(reply.headers.get("ETag", "")),
        version_id=reply.headers.get("x-amz-version-id"),
    )


async def put_object(
    client: SpacesClient,
    bucket: str,
    key: str,
    body: RequestBody,
    *,
    attributes: ObjectAttributes | None = None,
    sse: SseCustomerKey | None = None,
    conditions: Conditions | None = None,
    grants: Sequence[cfg.Grant] = (),
) -> WriteResult:
    """PutObject with what the client's transfer method lacks: an SSE-C key, grants,
    checked tags. Metadata is checked against the 2 KB limit before anything is sent."""
    if attributes is not None:
        cfg.validate_tags(attributes.tagging)
    headers = attributes.headers() if attributes else {}
    headers.update(_object_headers(sse=sse, conditions=conditions))
    headers.update(cfg.grant_headers(grants))
    headers["Content-MD5"] = await body.md5_base64()
    reply = await client.call(S3Call("PutObject", "PUT", bucket, key, headers=headers, body=body))
    return _write_result(reply, sse)


async def delete_object(
    client: SpacesClient, bucket: str, key: str, *, version_id: str | None = None
) -> DeleteResult:
    """Without a version on a versioned bucket this adds a delete marker; with one it
    removes that version for good."""
    call = S3Call("DeleteObject", "DELETE", bucket, key, query=_version(version_id))
    reply = await client.call(call)
    return DeleteResult(
        version_id=reply.headers.get("x-amz-version-id"),
        delete_marker=reply.headers.get("x-amz-delete-marker", "").lower() == "true",
    )


async def copy_object(
    client: SpacesClient,
    *,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    source_version: str | None = None,
    source_sse: SseCustomerKey | None = None,
    sse: SseCustomerKey | None = None,
    attributes: ObjectAttributes | None = None,
    tags: Mapping[str, str] | None = None,
) -> WriteResult:
    """Server-side copy. ``attributes`` replace the metadata (else it is copied); ``tags``
    replace the tags (``x-amz-tagging-directive: REPLACE``, else they are copied);
    ``source_sse`` decrypts the source, ``sse`` encrypts the copy."""
    headers = {"x-amz-copy-source": copy_source_header(source_bucket, source_key, source_version)}
    headers["x-amz-metadata-directive"] = "COPY" if attributes is None else "REPLACE"
    if attributes is not None:
        headers.update(attributes.headers())
    if tags is not None:
        cfg.validate_tags(tags)
        headers.pop("x-amz-tagging", None)
        headers["x-amz-tagging-directive"] = "REPLACE"
        if tags:
            headers["x-amz-tagging"] = ObjectAttributes(tagging=tags).headers()["x-amz-tagging"]
    if source_sse is not None:
        headers.update(source_sse.copy_source_headers())
    if sse is not None:
        headers.update(sse.headers())
    call = S3Call("CopyObject", "PUT", bucket, key, headers=headers)
    reply = await client.call(call, error_in_200=True)
    outcome = xml.parse_copy_result(reply.body)
    return WriteResult(
        etag=outcome.etag,
        version_id=reply.headers.get("x-amz-version-id"),
        last_modified=outcome.last_modified,
    )


async def restore_version(
    client: SpacesClient,
    bucket: str,
    key: str,
    version_id: str,
    *,
    sse: SseCustomerKey | None = None,
) -> WriteResult:
    """Make an earlier version the current one again, by copying it onto its own key; the
    versions in between are kept."""
    return await copy_object(
        client,
        source_bucket=bucket,
        source_key=key,
        bucket=bucket,
        key=key,
        source_version=version_id,
        source_sse=sse,
        sse=sse,
    )


# --- tagging -------------------------------------------------------------------------------


async def get_tagging(
    client: SpacesClient, bucket: str, key: str, *, version_id: str | None = None
) -> dict[str, str]:
    body = await _get_setting(
        client, bucket, key, setting="Tagging", subresource="tagging", version_id=version_id
    )
    return cfg.parse_tagging(body)


async def put_tagging(client: SpacesClient, bucket: str, key: str, tags: Mapping[str, str]) -> None:
    await _put_setting(
        client, bucket, key, setting="Tagging", subresource="tagging", body=cfg.build_tagging(tags)
    )


async def delete_tagging(client: SpacesClient, bucket: str, key: str) -> None:
    await _delete_setting(client, bucket, key, setting="Tagging", subresource="tagging")


# --- bucket policy -------------------------------------------------------------------------


async def get_policy(client: SpacesClient, bucket: str) -> str:
    """The policy JSON as the endpoint stores it."""
    body = await _get_setting(client, bucket, setting="Policy", subresource="policy")
    return body.decode("utf-8", "replace")


async def put_policy(client: SpacesClient, bucket: str, policy: str) -> None:
    """Validated locally first: a typo is reported here, not as the endpoint's 400."""
    cfg.validate_policy(policy)
    await _put_setting(
        client,
        bucket,
        setting="Policy",
        subresource="policy",
        body=policy.encode("utf-8"),
        content_type="application/json",
    )


async def delete_policy(client: SpacesClient, bucket: str) -> None:
    await _delete_setting(client, bucket, setting="Policy", subresource="policy")


# --- website and logging -------------------------------------------------------------------


async def get_website(client: SpacesClient, bucket: str) -> cfg.WebsiteConfiguration:
    body = await _get_setting(client, bucket, setting="Website", subresource="website")
    return cfg.parse_website(body)


async def put_website(client: SpacesClient, bucket: str, config: cfg.WebsiteConfiguration) -> None:
    await _put_setting(
        client, bucket, setting="Website", subresource="website", body=cfg.build_website(config)
    )


async def delete_website(client: SpacesClient, bucket: str) -> None:
    await _delete_setting(client, bucket, setting="Website", subresource="website")


async def get_logging(client: SpacesClient, bucket: str) -> cfg.LoggingConfig | None:
    body = await _get_setting(client, bucket, setting="Logging", subresource="logging")
    return cfg.parse_logging(body)


async def put_logging(client: SpacesClient, bucket: str, config: cfg.LoggingConfig | None) -> None:
    """None turns logging off."""
    await _put_setting(
        client, bucket, setting="Logging", subresource="logging", body=cfg.build_logging(config)
    )


# --- presigning ----------------------------------------------------------------------------


def presign_url(
    client: SpacesClient,
    bucket: str,
    key: str,
    *,
    method: str = "GET",
    expires: int = 3600,
    signature_version: SignatureVersion = 4,
    response_headers: Mapping[str, str] | None = None,
) -> str:
    """A presigned URL, V4 or V2 (for legacy clients), valid for at most 7 days either way.
    ``response_headers`` (``content-disposition`` …) become ``response-*`` overrides of the
    reply's headers."""
    query = []
    for name, value in (response_headers or {}).items():
        if name.lower() not in RESPONSE_OVERRIDES:
            raise ConfigError(
                f"cannot override {name!r}: use one of {', '.join(RESPONSE_OVERRIDES)}"
            )
        query.append((f"response-{name.lower()}", value))
    if signature_version == 4:
        return client.presign(bucket, key, method=method, expires=expires, query=query)
    check_presign_expires(expires)
    target = client.settings.endpoint.target(bucket, key)
    pairs = presign_v2(
        client.settings.credentials,
        method=method,
        # V2 signs the bucket in the resource even when it travels in the host name.
        path=f"/{uri_encode(bucket)}/{uri_encode(key, keep_slash=True)}",
        expires_at=int(client.now().timestamp()) + expires,
        subresources=query,
    )
    return f"{target.base_url}{target.path}?{encode_query(pairs)}"


def presign_post(
    client: SpacesClient,
    bucket: str,
    key_prefix: str,
    *,
    expires: int = 3600,
    max_size: int,
    min_size: int = 0,
    acl: str | None = None,
    content_type_prefix: str | None = None,
) -> PostForm:
    """A browser upload form (PostObject) for keys under ``key_prefix``."""
    target = client.settings.endpoint.target(bucket)
    return build_post_form(
        client.settings.credentials,
        url=f"{target.base_url}{target.path}",
        bucket=bucket,
        region=client.settings.region,
        key_prefix=key_prefix,
        now=client.now(),
        expires_in=expires,
        max_size=max_size,
        min_size=min_size,
        acl=acl,
        content_type_prefix=content_type_prefix,
    )


# --- SSE-C keys from the user --------------------------------------------------------------


def read_sse_c_key(source: str, *, environ: Mapping[str, str] | None = None) -> SseCustomerKey:
    """The key named by ``env:VARIABLE`` or ``file:PATH`` (a bare path means a file); never
    the key itself on the command line, where ``ps`` would show it."""
    kind, sep, name = source.partition(":")
    if sep and kind == "env":
        value = (os.environ if environ is None else environ).get(name)
        if not value:
            raise ConfigError(f"SSE-C key variable ${name} is not set")
        return SseCustomerKey.from_material(value.encode("latin-1", "replace"))
    path = Path(name if sep and kind == "file" else source).expanduser()
    try:
        return SseCustomerKey.from_material(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read the SSE-C key file {path}: {exc.strerror}") from None
