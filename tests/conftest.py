"""Fixtures shared by the whole suite: one embedded S3 server (SeaweedFS) per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spacesync.localserver import Identity, LocalServer, LocalServerInfo


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServerInfo]:
    """A running local S3 server with an ``admin`` and a ``readonly`` identity.

    A server that cannot start is an error, never a skip: the suite would silently test
    nothing against S3.
    """
    server = LocalServer(tmp_path_factory.mktemp("local-server"))
    identities = (Identity.generate("admin"), Identity.generate("readonly", read_only=True))
    info = server.start(identities=identities)
    try:
        yield info
    finally:
        server.stop()


@pytest.fixture(scope="session")
def admin_identity(local_server: LocalServerInfo) -> Identity:
    """Full access: Admin, Read, Write, List, Tagging."""
    return local_server.admin


@pytest.fixture(scope="session")
def readonly_identity(local_server: LocalServerInfo) -> Identity:
    """Read and List only: writes are refused with AccessDenied."""
    return next(identity for identity in local_server.identities if identity.read_only)
