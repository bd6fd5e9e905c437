"""Fixtures of the fault, crash and interrupt tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from spacesync.client import SpacesClient
from spacesync.localserver import Identity, LocalServerInfo
from tests.reliability.helpers import fast_client
from tests.support.fault_proxy import FaultProxy

Proxied = Callable[[FaultProxy], AbstractAsyncContextManager[SpacesClient]]


@pytest.fixture
def new_proxy(local_server: LocalServerInfo) -> Callable[..., FaultProxy]:
    """A proxy to the session's server (not yet serving), with the given faults."""

    def make(**kwargs: object) -> FaultProxy:
        return FaultProxy(local_server.endpoint_url, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def through(admin_identity: Identity) -> Proxied:
    """``async with through(proxy) as client``: the proxy serving and a fast admin client
    pointed at it."""

    @asynccontextmanager
    async def start(proxy: FaultProxy) -> AsyncIterator[SpacesClient]:
        async with proxy.running(), fast_client(proxy.url, admin_identity) as client:
            yield client

    return start
