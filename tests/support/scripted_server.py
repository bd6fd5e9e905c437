"""A loopback HTTP server that answers from a script: replies the real S3 server cannot be
made to give (NotImplemented, SlowDown storms, 200-with-Error, a proxy's HTML page).

aioresponses would shape these inside aiohttp, but its 0.7.9 release cannot build
responses for aiohttp 3.14 (``ClientResponse`` gained a required ``stream_writer``), so
the replies come from a real socket instead, which also exercises the transport.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]


class ScriptedServer:
    """Replies are taken in order per method; the last one repeats once the script ends."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.url = ""

    def add(self, method: str, *replies: Reply) -> None:
        self.script.setdefault(method, []).extend(replies)

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.method, request.path_qs, dict(request.headers)))
        await request.read()
        queue = self.script.get(request.method) or [Reply(500, "unscripted")]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return web.Response(status=reply.status, body=body, headers=reply.headers)


@asynccontextmanager
async def scripted_server(
    *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[ScriptedServer]:
    """``ssl_context`` serves HTTPS (e.g. with a self-signed certificate)."""
    server = ScriptedServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
