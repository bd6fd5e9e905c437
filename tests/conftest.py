"""Fixtures shared by the whole suite: one embedded S3 server (SeaweedFS) per test session,
clients of our own for its identities, and a fresh bucket per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.config import Settings
from spacesync.localserver import Identity, LocalServer, LocalServerInfo
from tests.support.cli import Runner
from tests.support.s3 import empty_bucket, settings_for


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


@pytest.fixture
def admin_settings(local_server: LocalServerInfo, admin_identity: Identity) -> Settings:
    return settings_for(local_server, admin_identity)


@pytest.fixture
async def client(admin_settings: Settings) -> AsyncIterator[SpacesClient]:
    """Our own client with the full-access identity."""
    async with SpacesClient(admin_settings) as c:
        yield c


@pytest.fixture
async def readonly_client(
    local_server: LocalServerInfo, readonly_identity: Identity
) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(settings_for(local_server, readonly_identity)) as c:
        yield c


@pytest.fixture
async def bucket(client: SpacesClient) -> AsyncIterator[str]:
    """A new bucket for this test only, emptied and removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    await client.create_bucket(name)
    yield name
    await empty_bucket(client, name)


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no S3 settings at all and an empty home."""
    home = tmp_path / "home"
    home.mkdir()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SPACES_"))}
    return {**keep, "HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "state")}


@pytest.fixture
def cli(
    clean_env: dict[str, str],
    tmp_path: Path,
    local_server: LocalServerInfo,
    admin_identity: Identity,
) -> Runner:
    env = {
        **clean_env,
        "SPACES_ENDPOINT": local_server.endpoint_url,
        "SPACES_KEY": admin_identity.access_key,
        "SPACES_SECRET": admin_identity.secret_key,
    }
    return Runner(env, tmp_path)


@pytest.fixture
def bucket_url(cli: Runner) -> str:
    name = f"cli-{uuid.uuid4().hex[:16]}"
    done = cli("mb", f"s3://{name}")
    assert done.returncode == 0, done.stderr
    return f"s3://{name}"
