"""A transport that records each request instead of sending it, and answers from a script:
for request-shape tests of operations the local server does not implement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from multidict import CIMultiDict

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.protocol.sigv4 import canonical_headers, canonical_request
from spacesync.transport.body import RequestBody

# The Spaces reference signs its examples with this key id, in nyc3.
DOC_ACCESS_KEY = "II5JDQBAN3JYM4DNEB6C"


@dataclass
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def host(self) -> str:
        return self.headers["host"]

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def signed_headers(self) -> list[str]:
        auth = self.headers["authorization"]
        return auth.split("SignedHeaders=")[1].split(",")[0].split(";")

    def canonical_request(self) -> str:
        """Rebuilt from what was sent: the same text the signature covers."""
        names = self.signed_headers
        signed = canonical_headers(
            [(k.lower(), v) for k, v in self.headers.items() if k.lower() in names]
        )
        return canonical_request(
            method=self.method,
            path=self.path,
            query=self.query,
            headers=signed,
            payload_hash=self.headers["x-amz-content-sha256"],
        )


class _Reply:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = CIMultiDict(headers)
        self._body = body

    async def read(self) -> bytes:
        return self._body

    async def iter_chunks(self, size: int = 1 << 20) -> AsyncIterator[bytes]:
        yield self._body

    def release(self) -> None:
        pass


@dataclass
class RecordingTransport:
    replies: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: RequestBody | None = None,
    ) -> AsyncIterator[_Reply]:
        data = b"".join([bytes(chunk) async for chunk in body.chunks()]) if body else b""
        self.requests.append(Recorded(method, url, dict(headers), data))
        status, reply_headers, reply_body = self.replies.pop(0) if self.replies else (200, {}, b"")
        yield _Reply(status, reply_headers, reply_body)

    async def close(self) -> None:
        pass


def spaces_client(transport: RecordingTransport, *, at: datetime) -> SpacesClient:
    """A client for nyc3.digitaloceanspaces.com whose clock reads ``at``; payloads signed
    (as in the reference's examples), not UNSIGNED-PAYLOAD."""
    settings = resolve_settings(
        endpoint_url="https://nyc3.digitaloceanspaces.com",
        access_key=DOC_ACCESS_KEY,
        secret_key="doc-example-secret",
        env={},
        home=None,
    )
    return SpacesClient(
        settings,
        transport=transport,  # type: ignore[arg-type]
        payload_signing="signed",
        wall_clock=lambda: at.astimezone(UTC).timestamp(),
    )
