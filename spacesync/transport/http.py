"""The HTTP boundary: the only module that imports aiohttp.

It owns the connection pool (one keep-alive ``ClientSession`` per client) and
translates every aiohttp exception into the :mod:`spacesync.errors` tree, so nothing
above it knows which HTTP library is underneath. ``CancelledError`` always passes.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import aiohttp
from yarl import URL

from spacesync.errors import (
    ConnectError,
    ConnectionClosed,
    NetworkTimeout,
    TLSVerificationError,
    TransportError,
)
from spacesync.transport.body import RequestBody

#: Reads of response bodies go in pieces at least this big: fewer wake-ups per byte.
READ_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; ``read`` bounds the silence between two reads, not the whole transfer."""

    connect: float = 10.0
    read: float = 60.0


@dataclass(frozen=True, slots=True)
class PoolOptions:
    size: int = 64
    keepalive: float = 30.0
    dns_cache: float = 300.0
    verify_tls: bool = True


@contextmanager
def map_exceptions() -> Iterator[None]:
    """Translate aiohttp's exceptions into ours; everything else passes untouched."""
    try:
        yield
    except asyncio.CancelledError:
        raise
    except aiohttp.ClientConnectorCertificateError as exc:
        raise TLSVerificationError(f"TLS certificate verification failed: {exc}") from exc
    except aiohttp.ClientSSLError as exc:
        if isinstance(exc.__cause__, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in str(
            exc
        ):
            raise TLSVerificationError(f"TLS certificate verification failed: {exc}") from exc
        raise ConnectError(f"TLS handshake failed: {exc}") from exc
    except aiohttp.ClientConnectorError as exc:
        raise ConnectError(f"cannot connect to {exc.host}:{exc.port}: {exc.strerror}") from exc
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise NetworkTimeout("the server did not answer in time") from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
        raise ConnectionClosed(f"connection closed mid-reply: {exc}") from exc
    except aiohttp.ClientOSError as exc:
        raise ConnectionClosed(f"connection broken: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise TransportError(f"HTTP failure: {exc}") from exc


class HttpResponse:
    """A reply whose headers have arrived; the body is read (or streamed) on demand."""

    def __init__(self, raw: aiohttp.ClientResponse) -> None:
        self._raw = raw
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers

    async def read(self) -> bytes:
        with map_exceptions():
            return await self._raw.read()

    async def iter_chunks(self, size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """Body pieces of up to ``size`` bytes, as they arrive: the buffers the connection
        received, handed on one by one without joining them into a copy (``read(n)`` and
        ``readany()`` would); callers that want bigger pieces batch them (see
        ``engine/download.py``)."""
        content = self._raw.content
        while True:
            with map_exceptions():
                chunk, end_of_http_chunk = await content.readchunk()
            if not chunk:
                if end_of_http_chunk:  # a chunked body's chunk boundary, not its end
                    continue
                return
            if len(chunk) <= size:
                yield chunk
                continue
            for start in range(0, len(chunk), size):
                yield chunk[start : start + size]

    def release(self) -> None:
        self._raw.release()


class HttpTransport:
    """One pooled keep-alive session; cheap to call concurrently from many tasks."""

    def __init__(self, *, pool: PoolOptions | None = None, timeouts: Timeouts | None = None):
        self._pool = pool or PoolOptions()
        self._timeouts = timeouts or Timeouts()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created lazily so that it binds to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._pool.size,
                limit_per_host=self._pool.size,
                keepalive_timeout=self._pool.keepalive,
                ttl_dns_cache=int(self._pool.dns_cache),
                ssl=self._pool.verify_tls,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=("Content-Type", "User-Agent"),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=self._timeouts.connect,
                    sock_read=self._timeouts.read,
                ),
            )
        return self._session

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: RequestBody | None = None,
    ) -> AsyncIterator[HttpResponse]:
        """Send one request; ``url`` is already encoded exactly as it was signed."""
        session = self._open()
        send_headers = {"Accept-Encoding": "identity", **headers}
        data: AsyncIterator[memoryview] | None = None
        if body is not None:
            send_headers["Content-Length"] = str(body.size)
            data = body.chunks() if body.size else None
        elif method in ("PUT", "POST"):
            send_headers["Content-Length"] = "0"
        with map_exceptions():
            raw = await session.request(
                method,
                URL(url, encoded=True),
                headers=send_headers,
                data=data,
                allow_redirects=False,
            )
        try:
            yield HttpResponse(raw)
        finally:
            raw.release()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
