"""A misbehaving HTTP proxy between spacesync and the real S3 server, scriptable per test.

Every request is forwarded to the upstream server unchanged — method, path and query byte
for byte, every header including ``Host`` (SigV4 signs it: the client signs the proxy's
address and the upstream checks the signature against the same value) — with bodies
streamed both ways. On the way a fault may be injected:

=================  ===========================================================================
RESET_BEFORE       close the connection without forwarding: the server never sees the request
RESET_AFTER        forward (the server applies it), then close without answering
SLOW_DOWN          answer 503 ``SlowDown`` without forwarding
INTERNAL_ERROR     answer 500 ``InternalError`` without forwarding
NO_SUCH_UPLOAD     answer 404 ``NoSuchUpload`` without forwarding: what S3 says to a Complete
                   retried after the first one was applied (SeaweedFS and moto complete the
                   upload again instead, so this path needs scripting)
ERROR_IN_200       answer 200 with an ``<Error>`` body without forwarding (as S3 may on
                   CompleteMultipartUpload / CopyObject)
TRUNCATE           forward, send the reply's headers with the full Content-Length and only
                   the first half of its body, then close (an empty body: RESET_AFTER)
STALL              hold the request ``stall`` seconds (past the client's read timeout), then
                   close without forwarding
LATENCY            wait ``latency`` seconds, then forward normally
=================  ===========================================================================

Which request gets which fault: pattern rules first (:class:`Rule`: method, query or
path substring, skip the first N matches, fire at most M times), in order, the first that
fires wins; otherwise one draw of a ``random.Random(seed)`` against the per-kind
probabilities in ``rates``. The decisions are a fixed sequence for a seed; which request
meets which decision still depends on arrival order when requests run concurrently.
"""

from __future__ import annotations

import asyncio
import enum
import random
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from yarl import URL

#: Request and reply bodies are passed on in pieces of this size.
_CHUNK = 256 * 1024

#: Headers that describe one hop, not the message: never passed on.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
)


class Fault(enum.Enum):
    RESET_BEFORE = "reset-before"
    RESET_AFTER = "reset-after"
    SLOW_DOWN = "slow-down"
    INTERNAL_ERROR = "internal-error"
    NO_SUCH_UPLOAD = "no-such-upload"
    ERROR_IN_200 = "error-in-200"
    TRUNCATE = "truncate"
    STALL = "stall"
    LATENCY = "latency"


#: Faults answered by the proxy itself (the upstream never sees the request).
_ANSWERED = {
    Fault.SLOW_DOWN: (503, "SlowDown", "Please reduce your request rate."),
    Fault.INTERNAL_ERROR: (500, "InternalError", "We encountered an internal error."),
    Fault.ERROR_IN_200: (200, "InternalError", "We encountered an internal error."),
    Fault.NO_SUCH_UPLOAD: (404, "NoSuchUpload", "The specified upload does not exist."),
}


@dataclass
class Rule:
    """A fault for the requests matching a pattern (every given criterion must hold).

    ``query`` and ``path`` are substrings of the raw query string and path; ``skip``
    lets the first matches through; ``times`` bounds how often the rule fires (None:
    always); ``probability`` < 1 fires on a draw of the proxy's seeded generator."""

    fault: Fault
    method: str | None = None
    query: str | None = None
    path: str | None = None
    skip: int = 0
    times: int | None = None
    probability: float = 1.0
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def matches(self, request: web.BaseRequest) -> bool:
        return (
            (self.method is None or request.method == self.method)
            and (self.query is None or self.query in request.raw_path.partition("?")[2])
            and (self.path is None or self.path in request.raw_path.partition("?")[0])
        )


@dataclass(slots=True)
class Seen:
    """One request as the proxy saw it, what it did to it (None: forwarded untouched) and
    the status the upstream answered, when it was asked."""

    method: str
    path_qs: str
    fault: Fault | None
    upstream_status: int | None = None


class FaultProxy:
    """Forwards to ``upstream``; ``url`` is where to point the client once started."""

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 0,
        rates: Mapping[Fault, float] | None = None,
        rules: list[Rule] | None = None,
        latency: float = 0.05,
        stall: float = 2.0,
    ) -> None:
        self.upstream = URL(upstream)
        self.rng = random.Random(seed)
        self.rates = dict(rates or {})
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self.rules = rules if rules is not None else []
        self.latency = latency
        self.stall = stall
        self.seen: list[Seen] = []
        self.url = ""
        self._session: aiohttp.ClientSession | None = None

    # -- what happened --------------------------------------------------------------------

    def faults(self) -> Counter[Fault]:
        """How many times each fault was injected."""
        return Counter(seen.fault for seen in self.seen if seen.fault is not None)

    def matching(self, *, method: str | None = None, query: str | None = None) -> list[Seen]:
        """Requests seen with this method and query substring, in arrival order."""
        return [
            seen
            for seen in self.seen
            if (method is None or seen.method == method)
            and (query is None or query in seen.path_qs.partition("?")[2])
        ]

    def count(self, *, method: str | None = None, query: str | None = None) -> int:
        return len(self.matching(method=method, query=query))

    # -- deciding -------------------------------------------------------------------------

    def _choose(self, request: web.BaseRequest) -> Fault | None:
        for rule in self.rules:
            if not rule.matches(request):
                continue
            rule.matched += 1
            if rule.matched <= rule.skip or (rule.times is not None and rule.fired >= rule.times):
                continue
            if rule.probability < 1 and self.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule.fault
        if not self.rates:
            return None
        draw = self.rng.random()
        for fault, rate in self.rates.items():
            if draw < rate:
                return fault
            draw -= rate
        return None

    # -- answering ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._choose(request)
        seen = Seen(request.method, request.raw_path, fault)
        self.seen.append(seen)
        if fault is Fault.RESET_BEFORE:
            return _reset(request)
        if fault is Fault.STALL:
            await asyncio.sleep(self.stall)
            return _reset(request)
        if fault in _ANSWERED:
            await _discard_body(request)
            status, code, message = _ANSWERED[fault]
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>fault-proxy</RequestId></Error>"
            )
            return web.Response(status=status, body=body, content_type="application/xml")
        if fault is Fault.LATENCY:
            await asyncio.sleep(self.latency)
        try:
            return await self._forward(request, seen)
        except aiohttp.ClientError:
            # The upstream failed (e.g. it dropped a request whose body the client cut
            # short): the client sees what it would have seen without the proxy.
            return _reset(request)

    async def _forward(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        fault = seen.fault
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        has_body = request.body_exists or "Content-Length" in request.headers
        data = request.content.iter_chunked(_CHUNK) if has_body else None
        target = self.upstream.with_path(request.raw_path.partition("?")[0], encoded=True)
        query = request.raw_path.partition("?")[2]
        url = URL(f"{target}{'?' + query if query else ''}", encoded=True)
        async with self._session.request(
            request.method, url, headers=headers, data=data, allow_redirects=False
        ) as upstream:
            seen.upstream_status = upstream.status
            if fault is Fault.RESET_AFTER:
                await upstream.read()  # the server applied it; the client never hears
                return _reset(request)
            reply_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
            }
            response = web.StreamResponse(status=upstream.status, headers=reply_headers)
            if fault is Fault.TRUNCATE:
                return await self._truncated(request, response, upstream)
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(_CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _truncated(
        self, request: web.Request, response: web.StreamResponse, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        """Headers promise the whole body; half of it comes, then the connection closes."""
        length = int(upstream.headers.get("Content-Length", "0"))
        keep = length // 2
        if request.method == "HEAD" or keep == 0:
            await upstream.read()
            return _reset(request)
        await response.prepare(request)
        sent = 0
        async for chunk in upstream.content.iter_chunked(_CHUNK):
            piece = chunk[: keep - sent]
            await response.write(piece)
            sent += len(piece)
            if sent >= keep:
                break
        return _reset(request)

    # -- lifecycle ------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FaultProxy]:
        """Serve on a free loopback port for the duration of the block."""
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Content-Type", "Accept-Encoding"),
            timeout=aiohttp.ClientTimeout(total=None),
            # A fresh upstream connection per request: no stale keep-alive to trip over.
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
        )
        try:
            yield self
        finally:
            await self._session.close()
            await runner.cleanup()

    @contextmanager
    def threaded(self) -> Iterator[FaultProxy]:
        """Serve from an event loop of its own in a thread, for tests that block (a CLI run
        with ``subprocess.run``); the proxy's state is read once the block's work ended."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        stop: asyncio.Event | None = None

        async def serve() -> None:
            nonlocal stop
            stop = asyncio.Event()
            async with self.running():
                started.set()
                await stop.wait()

        thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
        thread.start()
        try:
            if not started.wait(timeout=30):
                raise RuntimeError("the fault proxy did not start")
            yield self
        finally:
            assert stop is not None
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=30)
            loop.close()


def _reset(request: web.BaseRequest) -> web.StreamResponse:
    """Drop the connection with no reply (an RST, not a clean close); the response
    returned is never sent."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)


async def _discard_body(request: web.BaseRequest) -> None:
    async for _ in request.content.iter_chunked(_CHUNK):
        pass
