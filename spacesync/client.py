"""The async S3 client: one method per Spaces operation, typed results, one retry policy.

Every request goes through :meth:`SpacesClient._exchange`: address it, sign it, send it,
and turn an error reply into the typed exception from :mod:`spacesync.errors`. Every
call is wrapped once in the client's :class:`RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from spacesync.config import Settings
from spacesync.errors import (
    ClockSkew,
    ConnectError,
    MalformedResponse,
    NotImplementedByEndpoint,
    S3Error,
    Throttled,
    TransportError,
)
from spacesync.protocol import xml
from spacesync.protocol.encoding import encode_query, uri_encode
from spacesync.protocol.headers import (
    Conditions,
    ObjectAttributes,
    byte_range,
    parse_content_range,
    parse_http_date,
    parse_object_head,
)
from spacesync.protocol.model import (
    BucketInfo,
    CompletedPart,
    CompletedUpload,
    CopyOutcome,
    DeleteOutcome,
    ListPage,
    ObjectHead,
    ObjectId,
    ObjectInfo,
    PartInfo,
    UploadInfo,
    unquote_etag,
)
from spacesync.protocol.provider import profile_for
from spacesync.protocol.sigv4 import EMPTY_SHA256, UNSIGNED_PAYLOAD, SigV4Signer
from spacesync.protocol.sse import SseCustomerKey
from spacesync.transport.body import BytesBody, RequestBody
from spacesync.transport.http import HttpResponse, HttpTransport
from spacesync.transport.pacer import Pacer
from spacesync.transport.retry import RetryPolicy

log = logging.getLogger("spacesync.http")

#: Server timestamps of new uploads may be a little behind our clock (second granularity).
_INITIATED_SLACK = timedelta(seconds=2)

PayloadSigning = Literal["auto", "signed", "unsigned"]

#: Headers whose values are secret or a credential in disguise: never logged.
_REDACTED_HEADERS = frozenset(
    {
        "authorization",
        "x-amz-security-token",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-copy-source-server-side-encryption-customer-key",
    }
)


@dataclass(frozen=True, slots=True)
class S3Call:
    """One S3 operation, before addressing and signing."""

    operation: str
    method: str
    bucket: str | None = None
    key: str | None = None
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] | None = None
    body: RequestBody | None = None
    idempotent: bool = True


@dataclass(frozen=True, slots=True)
class S3Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class ObjectStream:
    """An open GET: the object's head (and the range served), with the body streamed."""

    def __init__(self, response: HttpResponse) -> None:
        self._response = response
        self.head: ObjectHead = parse_object_head(response.headers)
        content_range = response.headers.get("Content-Range")
        self.content_range = parse_content_range(content_range) if content_range else None
        self.length = int(response.headers.get("Content-Length", self.head.size))

    def iter_chunks(self, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        return self._response.iter_chunks(size)

    async def read(self) -> bytes:
        data = await self._response.read()
        if len(data) != self.length:
            raise MalformedResponse(
                f"body has {len(data)} bytes where Content-Length promised {self.length}"
            )
        return data


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers fit for a debug log: credentials and signatures replaced."""
    return {
        name: "<redacted>" if name.lower() in _REDACTED_HEADERS else value
        for name, value in headers.items()
    }


class SpacesClient:
    """Async client for Spaces and any S3-compatible endpoint.

    Use as ``async with SpacesClient(settings) as client:``; one client shares one
    connection pool and one retry budget among all its concurrent calls.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: HttpTransport | None = None,
        retry: RetryPolicy | None = None,
        payload_signing: PayloadSigning = "auto",
        wall_clock: Callable[[], float] = time.time,
        list_api: Literal["v2", "v1"] = "v2",
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self.profile = profile_for(settings.endpoint)
        #: Shared by every request of this client: throttling slows all of them together.
        self.pacer = pacer or Pacer(max_rate=self.profile.max_request_rate)
        self.retry = retry or RetryPolicy()
        self._transport = transport or HttpTransport()
        self._signer = SigV4Signer(settings.credentials, region=settings.region)
        self._wall_clock = wall_clock
        #: Seconds to add to our clock to agree with the server's (set on RequestTimeTooSkewed).
        self.clock_offset = 0.0
        self._unsigned_payload = payload_signing == "unsigned" or (
            payload_signing == "auto" and settings.endpoint.scheme == "https"
        )
        #: ListObjects V1 (markers) instead of V2, asked for or learnt from a NotImplemented.
        self._list_v1 = list_api == "v1"

    async def __aenter__(self) -> SpacesClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    def now(self) -> datetime:
        """The time used to sign: our clock corrected by what the server told us."""
        return datetime.fromtimestamp(self._wall_clock() + self.clock_offset, UTC)

    # -- the one path every request takes -------------------------------------------

    @asynccontextmanager
    async def _exchange(self, call: S3Call) -> AsyncIterator[HttpResponse]:
        target = self.settings.endpoint.target(call.bucket, call.key)
        headers = {"host": target.host, **(call.headers or {})}
        if call.body is None:
            payload_hash = EMPTY_SHA256
        elif self._unsigned_payload:
            payload_hash = UNSIGNED_PAYLOAD
        else:
            payload_hash = await call.body.sha256_hex()
        headers.update(
            self._signer.sign(
                method=call.method,
                path=target.path,
                query=call.query,
                headers=headers,
                payload_hash=payload_hash,
                now=self.now(),
            )
        )
        query = encode_query(call.query)
        url = f"{target.base_url}{target.path}{'?' + query if query else ''}"
        await self.pacer.wait()
        started = time.monotonic()
        async with self._transport.request(
            call.method, url, headers=headers, body=call.body
        ) as response:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s %s -> %d in %.3fs headers=%s",
                    call.operation,
                    call.method,
                    url,
                    response.status,
                    time.monotonic() - started,
                    redact_headers(headers),
                )
            if response.status >= 300:
                body = b"" if call.method == "HEAD" else await response.read()
                error = xml.parse_error(
                    body,
                    status=response.status,
                    request_id=response.headers.get("x-amz-request-id"),
                )
                error.operation = call.operation
                if error.resource is None and call.bucket:
                    # A HEAD (or a bare proxy reply) names nothing: say what was asked for.
                    error.resource = "/" + "/".join(filter(None, (call.bucket, call.key)))
                if isinstance(error, Throttled):
                    self.pacer.throttled()
                elif isinstance(error, ClockSkew):
                    self._correct_clock(response.headers.get("Date"), error)
                raise error
            self.pacer.succeeded()
            yield response

    def _correct_clock(self, date_header: str | None, error: S3Error) -> None:
        server_time = parse_http_date(date_header)
        if server_time is None and "ServerTime" in error.extra:
            try:
                server_time = datetime.fromisoformat(error.extra["ServerTime"])
            except ValueError:
                server_time = None
        if server_time is not None:
            self.clock_offset = server_time.timestamp() - self._wall_clock()

    async def call(self, call: S3Call, *, error_in_200: bool = False) -> S3Reply:
        """Send with retries and read the whole (small) reply body: the building block of
        every operation whose reply fits in memory (settings modules use it too).
        ``error_in_200``: the operation may answer 200 with an ``<Error>`` document."""

        async def attempt(_: int) -> S3Reply:
            async with self._exchange(call) as response:
                body = await response.read()
                if error_in_200 and (error := xml.error_in_body(body)) is not None:
                    raise error
                return S3Reply(response.status, response.headers, body)

        return await self.retry.run(attempt, idempotent=call.idempotent)

    # -- buckets ------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        reply = await self.call(S3Call("ListBuckets", "GET"))
        return xml.parse_list_buckets(reply.body)

    async def create_bucket(
        self, bucket: str, *, acl: str | None = None, location: str | None = None
    ) -> None:
        headers = {"x-amz-acl": acl} if acl else {}
        payload = xml.build_create_bucket(location)
        await self.call(
            S3Call(
                "CreateBucket",
                "PUT",
                bucket,
                headers=headers,
                body=BytesBody(payload) if payload else None,
            )
        )

    async def delete_bucket(self, bucket: str) -> None:
        await self.call(S3Call("DeleteBucket", "DELETE", bucket))

    async def head_bucket(self, bucket: str) -> None:
        """Raises NotFound / AccessDenied; returns when the bucket exists and is reachable."""
        await self.call(S3Call("HeadBucket", "HEAD", bucket))

    async def get_bucket_location(self, bucket: str) -> str | None:
        reply = await self.call(
            S3Call("GetBucketLocation", "GET", bucket, query=[("location", "")])
        )
        return xml.parse_bucket_location(reply.body)

    # -- listing ------------------------------------------------------------------------

    async def list_pages(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int = 1000,
        read_ahead: bool = False,
    ) -> AsyncIterator[ListPage]:
        """Every page of a listing, in key order: ListObjectsV2, or V1 where the endpoint
        does not implement V2 (remembered for the rest of the client's life).

        ``read_ahead``: each next page is requested as soon as a page arrives, so the server
        works on it while the caller handles this one (a caller that reads every page, as
        sync does; one that stops early has asked for one page it never reads)."""

        def fetch(token: str | None) -> Coroutine[Any, Any, ListPage]:
            return self._list_page(
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                token=token,
                page_size=page_size,
            )

        page = await fetch(None)
        ahead: asyncio.Future[ListPage] | None = None
        try:
            while True:
                token = page.next_token if page.is_truncated else None
                if token and read_ahead:
                    ahead = asyncio.ensure_future(fetch(token))
                yield page
                if not token:
                    return
                page = await ahead if ahead is not None else await fetch(token)
                ahead = None
        finally:
            if ahead is not None and not ahead.cancel() and not ahead.cancelled():
                ahead.exception()  # retrieved: a failure of a page nobody reads is no error

    async def _list_page(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        token: str | None,
        page_size: int,
    ) -> ListPage:
        """One page; ``token`` None for the first. V1 is learnt from the first page's
        NotImplemented (a later page's is an error)."""
        if not self._list_v1:
            try:
                return await self._list_v2_page(
                    bucket,
                    prefix=prefix,
                    delimiter=delimiter,
                    start_after=start_after if token is None else None,
                    token=token,
                    page_size=page_size,
                )
            except NotImplementedByEndpoint:
                if token is not None:
                    raise
                self._list_v1 = True
        return await self._list_v1_page(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            marker=start_after if token is None else token,
            page_size=page_size,
        )

    async def _list_v2_page(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        token: str | None,
        page_size: int,
    ) -> ListPage:
        query = [("list-type", "2"), ("max-keys", str(page_size)), ("encoding-type", "url")]
        query += _optional(
            prefix=prefix or None,
            delimiter=delimiter,
            **{"start-after": start_after, "continuation-token": token},
        )
        reply = await self.call(S3Call("ListObjectsV2", "GET", bucket, query=query))
        return xml.parse_list_objects_v2(reply.body)

    async def _list_v1_page(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str | None,
        marker: str | None,
        page_size: int,
    ) -> ListPage:
        query = [("max-keys", str(page_size)), ("encoding-type", "url")]
        query += _optional(prefix=prefix or None, delimiter=delimiter, marker=marker)
        reply = await self.call(S3Call("ListObjects", "GET", bucket, query=query))
        return xml.parse_list_objects_v1(reply.body)

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str | None = None
    ) -> AsyncIterator[ObjectInfo]:
        """Every object under ``prefix``, recursively, in key order."""
        async for page in self.list_pages(bucket, prefix=prefix, start_after=start_after):
            for entry in page.objects:
                yield entry

    # -- objects ------------------------------------------------------------------------

    async def head_object(
        self,
        bucket: str,
        key: str,
        *,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        sse: SseCustomerKey | None = None,
    ) -> ObjectHead:
        reply = await self.call(
            S3Call(
                "HeadObject",
                "HEAD",
                bucket,
                key,
                query=_version_query(version_id),
                headers=_object_headers(conditions, sse),
            )
        )
        return parse_object_head(reply.headers)

    @asynccontextmanager
    async def open_object(
        self,
        bucket: str,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        sse: SseCustomerKey | None = None,
        retry: bool = True,
    ) -> AsyncIterator[ObjectStream]:
        """GetObject with the body streamed. ``start``/``end`` (inclusive) ask for a range;
        the reply's Content-Range is checked against it. Only the request is retried here:
        a body that breaks mid-stream raises, and the caller retries just its range. A
        caller that retries the whole exchange itself passes ``retry=False``: a policy
        inside its policy would multiply the attempts and charge the budget twice."""
        headers = _object_headers(conditions, sse)
        if start is not None:
            headers["Range"] = byte_range(start, end) if end is not None else f"bytes={start}-"
        query = _version_query(version_id)
        call = S3Call("GetObject", "GET", bucket, key, query=query, headers=headers)

        async def attempt(_: int) -> tuple[AsyncExitStack, ObjectStream]:
            stack = AsyncExitStack()
            try:
                response = await stack.enter_async_context(self._exchange(call))
                stream = ObjectStream(response)
                _check_range(stream, start=start, end=end)
            except BaseException:
                await stack.aclose()
                raise
            return stack, stream

        stack, stream = (
            await self.retry.run(attempt, idempotent=True) if retry else await attempt(1)
        )
        async with stack:
            yield stream

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        sse: SseCustomerKey | None = None,
    ) -> tuple[ObjectHead, bytes]:
        """A small object (or range) read whole, the full exchange retried."""

        async def attempt(_: int) -> tuple[ObjectHead, bytes]:
            async with self.open_object(
                bucket,
                key,
                start=start,
                end=end,
                conditions=conditions,
                version_id=version_id,
                sse=sse,
                retry=False,
            ) as stream:
                return stream.head, await stream.read()

        return await self.retry.run(attempt, idempotent=True)

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: RequestBody,
        *,
        attributes: ObjectAttributes | None = None,
        content_md5: bool = True,
        conditions: Conditions | None = None,
        sse: SseCustomerKey | None = None,
    ) -> str:
        """Returns the new object's ETag (not the content's MD5 when ``sse`` encrypts it)."""
        headers = attributes.headers() if attributes else {}
        headers.update(_object_headers(conditions, sse))
        if content_md5:
            headers["Content-MD5"] = await body.md5_base64()
        reply = await self.call(S3Call("PutObject", "PUT", bucket, key, headers=headers, body=body))
        _confirm_sse(reply, sse)
        return unquote_etag(reply.headers.get("ETag", ""))

    async def copy_object(
        self,
        *,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        attributes: ObjectAttributes | None = None,
        source_version: str | None = None,
        conditions: Conditions | None = None,
        source_sse: SseCustomerKey | None = None,
        sse: SseCustomerKey | None = None,
    ) -> CopyOutcome:
        """Server-side copy; ``attributes`` given means REPLACE the metadata, else COPY it.
        ``source_sse`` decrypts an SSE-C source, ``sse`` encrypts the copy."""
        headers = {
            "x-amz-copy-source": copy_source_header(source_bucket, source_key, source_version)
        }
        if attributes is not None:
            headers.update(attributes.headers())
            headers["x-amz-metadata-directive"] = "REPLACE"
        else:
            headers["x-amz-metadata-directive"] = "COPY"
        if conditions:
            headers.update(_copy_conditions(conditions))
        headers.update(_copy_sse_headers(source_sse, sse))
        reply = await self.call(
            S3Call("CopyObject", "PUT", bucket, key, headers=headers), error_in_200=True
        )
        # Not confirmed here: SeaweedFS sends no SSE-C headers on CopyObject replies.
        return xml.parse_copy_result(reply.body)

    async def delete_object(self, bucket: str, key: str, *, version_id: str | None = None) -> None:
        query = _version_query(version_id)
        await self.call(S3Call("DeleteObject", "DELETE", bucket, key, query=query))

    async def delete_objects(
        self, bucket: str, objects: Sequence[ObjectId], *, quiet: bool = False
    ) -> list[DeleteOutcome]:
        """One DeleteObjects request (≤ 1,000 keys); the result of every key, in order.

        In quiet mode S3 lists only failures, so the successes are filled in here."""
        body = BytesBody(xml.build_delete_objects(objects, quiet=quiet))
        headers = {"Content-MD5": await body.md5_base64(), "Content-Type": "application/xml"}
        reply = await self.call(
            S3Call(
                "DeleteObjects", "POST", bucket, query=[("delete", "")], headers=headers, body=body
            )
        )
        reported = {(o.key, o.version_id): o for o in xml.parse_delete_result(reply.body)}
        by_key = {o.key: o for o in reported.values()}
        return [
            reported.get((o.key, o.version_id))
            or by_key.get(o.key)
            or DeleteOutcome(key=o.key, version_id=o.version_id)
            for o in objects
        ]

    # -- multipart ----------------------------------------------------------------------

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        attributes: ObjectAttributes | None = None,
        sse: SseCustomerKey | None = None,
    ) -> str:
        """Returns the upload id.

        Not idempotent: a reply lost after the request went out may hide an upload the
        server made. Before trying again, the uploads of this key that began since the
        lost attempt are aborted, so a retry orphans nothing (an upload of the very same
        key started by someone else in that second would be aborted too)."""
        headers = attributes.headers() if attributes else {}
        headers.update(_object_headers(None, sse))
        call = S3Call(
            "CreateMultipartUpload", "POST", bucket, key, query=[("uploads", "")], headers=headers
        )

        async def attempt(_: int) -> str:
            began = self.now() - _INITIATED_SLACK
            try:
                async with self._exchange(call) as response:
                    body = await response.read()
            except TransportError as error:
                if not isinstance(error, ConnectError):  # the request may have gone out
                    await self.abort_uploads_since(bucket, key, since=began)
                raise
            return xml.parse_initiate_multipart(body)

        return await self.retry.run(attempt, idempotent=True)

    async def abort_uploads_since(self, bucket: str, key: str, *, since: datetime) -> None:
        """Abort the uploads of exactly ``key`` initiated at ``since`` or later: those a lost
        reply or a killed process may have left. A refusal is logged, not raised: the caller
        goes on either way, and the provider's cleanup remains."""
        try:
            async for upload in self.list_multipart_uploads(bucket, prefix=key):
                if upload.key == key and upload.initiated is not None and upload.initiated >= since:
                    await self.abort_multipart_upload(bucket, key, upload_id=upload.upload_id)
        except S3Error as error:  # a transport failure propagates: the attempt is retried
            log.warning("could not abort the uploads of s3://%s/%s: %s", bucket, key, error)

    async def upload_part(
        self,
        bucket: str,
        key: str,
        *,
        upload_id: str,
        part_number: int,
        body: RequestBody,
        content_md5: bool = True,
        sse: SseCustomerKey | None = None,
    ) -> str:
        """Returns the part's ETag."""
        headers = _object_headers(None, sse)  # S3 wants the SSE-C key on every part
        if content_md5:
            headers["Content-MD5"] = await body.md5_base64()
        reply = await self.call(
            S3Call(
                "UploadPart",
                "PUT",
                bucket,
                key,
                query=[("partNumber", str(part_number)), ("uploadId", upload_id)],
                headers=headers,
                body=body,
            )
        )
        _confirm_sse(reply, sse)
        return unquote_etag(reply.headers.get("ETag", ""))

    async def upload_part_copy(
        self,
        *,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        start: int,
        end: int,
        source_version: str | None = None,
        conditions: Conditions | None = None,
        source_sse: SseCustomerKey | None = None,
        sse: SseCustomerKey | None = None,
    ) -> CopyOutcome:
        headers = {
            "x-amz-copy-source": copy_source_header(source_bucket, source_key, source_version),
            "x-amz-copy-source-range": byte_range(start, end),
        }
        if conditions:
            headers.update(_copy_conditions(conditions))
        headers.update(_copy_sse_headers(source_sse, sse))
        reply = await self.call(
            S3Call(
                "UploadPartCopy",
                "PUT",
                bucket,
                key,
                query=[("partNumber", str(part_number)), ("uploadId", upload_id)],
                headers=headers,
            ),
            error_in_200=True,
        )
        return xml.parse_copy_result(reply.body)

    async def complete_multipart_upload(
        self, bucket: str, key: str, *, upload_id: str, parts: Sequence[CompletedPart]
    ) -> CompletedUpload:
        body = BytesBody(xml.build_complete_multipart(parts))
        reply = await self.call(
            S3Call(
                "CompleteMultipartUpload",
                "POST",
                bucket,
                key,
                query=[("uploadId", upload_id)],
                headers={"Content-Type": "application/xml"},
                body=body,
            ),
            error_in_200=True,
        )
        return xml.parse_complete_multipart(reply.body)

    async def abort_multipart_upload(self, bucket: str, key: str, *, upload_id: str) -> None:
        await self.call(
            S3Call("AbortMultipartUpload", "DELETE", bucket, key, query=[("uploadId", upload_id)])
        )

    async def list_parts(self, bucket: str, key: str, *, upload_id: str) -> list[PartInfo]:
        """Every part uploaded so far, across all pages."""
        parts: list[PartInfo] = []
        marker: int | None = None
        while True:
            query = [("uploadId", upload_id), ("max-parts", "1000")]
            if marker is not None:
                query.append(("part-number-marker", str(marker)))
            reply = await self.call(S3Call("ListParts", "GET", bucket, key, query=query))
            page = xml.parse_list_parts(reply.body)
            parts.extend(page.parts)
            if not page.is_truncated or page.next_part_number_marker is None:
                return parts
            marker = page.next_part_number_marker

    async def list_multipart_uploads(
        self, bucket: str, *, prefix: str = ""
    ) -> AsyncIterator[UploadInfo]:
        """Every unfinished multipart upload under ``prefix``, across all pages."""
        key_marker: str | None = None
        upload_marker: str | None = None
        while True:
            query = [("uploads", ""), ("max-uploads", "1000"), ("encoding-type", "url")]
            query += _optional(
                prefix=prefix or None,
                **{"key-marker": key_marker, "upload-id-marker": upload_marker},
            )
            reply = await self.call(S3Call("ListMultipartUploads", "GET", bucket, query=query))
            page = xml.parse_list_uploads(reply.body)
            for upload in page.uploads:
                yield upload
            if not page.is_truncated or (
                page.next_key_marker is None and page.next_upload_id_marker is None
            ):
                return
            key_marker, upload_marker = page.next_key_marker, page.next_upload_id_marker

    # -- presigning ---------------------------------------------------------------------

    def presign(
        self,
        bucket: str,
        key: str,
        *,
        method: str = "GET",
        expires: int = 3600,
        query: Sequence[tuple[str, str]] = (),
    ) -> str:
        """A Signature V4 presigned URL; ``query`` may carry response-* overrides."""
        target = self.settings.endpoint.target(bucket, key)
        pairs = self._signer.presign(
            method=method,
            path=target.path,
            query=query,
            host=target.host,
            expires=expires,
            now=self.now(),
        )
        return f"{target.base_url}{target.path}?{encode_query(pairs)}"


def _optional(**params: str | None) -> list[tuple[str, str]]:
    return [(name, value) for name, value in params.items() if value is not None]


def copy_source_header(bucket: str, key: str, version: str | None) -> str:
    source = f"/{bucket}/{uri_encode(key, keep_slash=True)}"
    return f"{source}?versionId={uri_encode(version)}" if version else source


def _confirm_sse(reply: S3Reply, sse: SseCustomerKey | None) -> None:
    """A write under SSE-C must say it used our key (else the bytes may sit in clear)."""
    if sse is not None:
        sse.check_reply(reply.headers)


def _version_query(version_id: str | None) -> list[tuple[str, str]]:
    return [("versionId", version_id)] if version_id else []


def _object_headers(conditions: Conditions | None, sse: SseCustomerKey | None) -> dict[str, str]:
    """Headers of a read or write of one object: its preconditions and SSE-C key."""
    headers = conditions.headers() if conditions else {}
    if sse is not None:
        headers.update(sse.headers())
    return headers


def _copy_sse_headers(
    source: SseCustomerKey | None, target: SseCustomerKey | None
) -> dict[str, str]:
    headers = source.copy_source_headers() if source else {}
    if target is not None:
        headers.update(target.headers())
    return headers


def _copy_conditions(conditions: Conditions) -> dict[str, str]:
    return {
        f"x-amz-copy-source-{name.lower()}": value for name, value in conditions.headers().items()
    }


def _check_range(stream: ObjectStream, *, start: int | None, end: int | None) -> None:
    """The server must serve the range we asked for, not the whole object or another one."""
    if start is None:
        return
    if stream.content_range is None:
        raise MalformedResponse(f"asked for bytes {start}- but the reply has no Content-Range")
    got_start, got_end, total = stream.content_range
    want_end = end if end is not None and (total is None or end < total) else (total or 0) - 1
    if (got_start, got_end) != (start, want_end) or stream.length != got_end - got_start + 1:
        raise MalformedResponse(
            f"asked for bytes {start}-{want_end}, the reply holds {got_start}-{got_end}"
        )
