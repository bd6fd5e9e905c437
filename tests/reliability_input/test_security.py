"""Security guarantees: secrets never written anywhere, private state files, capped presign
lifetimes, expired URLs refused, hostile XML refused without fetching anything."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from spacesync import settings as ops
from spacesync.client import SpacesClient
from spacesync.config import Settings
from spacesync.errors import AccessDenied, ConfigError, MalformedResponse, SpacesError
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol import bucket_config as cfg
from spacesync.protocol.sigv4 import MAX_PRESIGN_EXPIRES
from spacesync.transport.body import BytesBody
from tests.reliability_input.support import run_cli
from tests.support.s3 import settings_for

WRONG_SECRET = "Wr0ng-S3cret-DistinctiveMarker-9f2c41"


@pytest.fixture
def env(
    clean_env: dict[str, str], local_server: LocalServerInfo, admin_identity: Identity
) -> dict[str, str]:
    return {
        **clean_env,
        "SPACES_ENDPOINT": local_server.endpoint_url,
        "SPACES_KEY": admin_identity.access_key,
        "SPACES_SECRET": admin_identity.secret_key,
    }


def _everything_written(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


async def test_secrets_appear_in_no_output_log_journal_or_error(
    tmp_path: Path,
    env: dict[str, str],
    bucket: str,
    admin_identity: Identity,
    admin_settings: Settings,
    local_server: LocalServerInfo,
) -> None:
    secret = admin_identity.secret_key
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * 1024 * 1024))
    url = f"s3://{bucket}"
    runs = [
        (["--debug", "cp", "--json", "--part-size", "5MiB", str(big), f"{url}/big.bin"], env),
        (["--debug", "cp", "--json", "--part-size", "5MiB", f"{url}/big.bin", str(tmp_path)],
         env),
        (["--debug", "ls", "--json", url], env),
        (["--debug", "presign", f"{url}/big.bin", "--expires", "60"], env),
        (["--debug", "presign", f"{url}/big.bin", "--signature-version", "2"], env),
        (["--debug", "ls", url], {**env, "SPACES_SECRET": WRONG_SECRET}),
        (["--debug", "cp", str(big), f"{url}/no.bin"], {**env, "SPACES_SECRET": WRONG_SECRET}),
        (["--debug", "ls", url, "--secret-key", WRONG_SECRET, "--access-key", "AK"], env),
    ]
    outputs = []
    for argv, run_env in runs:
        done = await asyncio.to_thread(run_cli, argv, env=run_env, cwd=tmp_path)
        outputs.append((argv, done))
    assert [d.returncode for _, d in outputs] == [0, 0, 0, 0, 0, 1, 1, 1]
    assert "Authorization" in outputs[0][1].stderr or "authorization" in outputs[0][1].stderr
    for argv, done in outputs:
        for marker in (secret, WRONG_SECRET):
            assert marker not in done.stdout, argv
            assert marker not in done.stderr, argv
    # HOME, XDG_STATE_HOME (journals, caches) and the files written.
    for path, data in _everything_written(tmp_path):
        for marker in (secret, WRONG_SECRET):
            assert marker.encode() not in data, path
    # The objects themselves, errors raised in-process and every repr.
    wrong = settings_for(local_server, admin_identity, secret=WRONG_SECRET)
    async with SpacesClient(wrong) as client:
        with pytest.raises(AccessDenied) as raised:
            await client.list_buckets()
        texts = [str(raised.value), repr(raised.value), repr(client.settings), str(client)]
        texts += [repr(client.settings.credentials), repr(admin_settings), str(admin_settings)]
    for text in texts:
        assert WRONG_SECRET not in text and secret not in text, text


def test_state_files_are_0600_in_0700_directories_whatever_the_umask(
    tmp_path: Path, env: dict[str, str], bucket: str
) -> None:
    """A multipart upload killed mid-way leaves its journal: created 0600 in 0700 dirs even
    with umask 000. The checksum cache of sync is held to the same rule."""
    state = tmp_path / "state"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 * 1024 * 1024))
    argv = ["cp", "--concurrency", "1", "--part-size", "5MiB", "--state-dir", str(state),
            str(big), f"s3://{bucket}/big.bin"]
    process = subprocess.Popen(
        [sys.executable, "-m", "spacesync", *argv],
        env=env, cwd=tmp_path, umask=0, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(p.is_file() for p in state.rglob("*")) and time.monotonic() < deadline:
            assert process.poll() is None, "the upload ended before its journal was seen"
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"a")
    synced = subprocess.run(
        [sys.executable, "-m", "spacesync", "sync", "--state-dir", str(state), str(tree),
         f"s3://{bucket}/tree/"],
        env=env, cwd=tmp_path, umask=0, capture_output=True, text=True, check=False,
    )
    assert synced.returncode == 0, synced.stderr
    entries = [state, *state.rglob("*")]
    files = [p for p in entries if p.is_file()]
    assert files, "no journal was written"
    for path in entries:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o600 if path.is_file() else 0o700), f"{path}: {oct(mode)}"


@pytest.mark.parametrize("version", [4, 2])
async def test_presigned_urls_live_at_most_7_days(client: SpacesClient, version: int) -> None:
    ok = ops.presign_url(client, "b", "k", expires=MAX_PRESIGN_EXPIRES, signature_version=version)  # type: ignore[arg-type]
    assert ok.startswith("http")
    for expires in (MAX_PRESIGN_EXPIRES + 1, 0, -5, 30 * 24 * 3600):
        with pytest.raises(ConfigError):
            ops.presign_url(client, "b", "k", expires=expires, signature_version=version)  # type: ignore[arg-type]


async def test_an_expired_presigned_url_is_refused(
    client: SpacesClient, bucket: str, env: dict[str, str], tmp_path: Path
) -> None:
    await client.put_object(bucket, "shared.txt", BytesBody(b"for a moment"))
    done = await asyncio.to_thread(
        run_cli, ["presign", f"s3://{bucket}/shared.txt", "--expires", "1"], env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    await asyncio.sleep(2.5)  # not a timed assertion: the URL must be past its expiry
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(urllib.request.urlopen, url, timeout=30)
    assert refused.value.code == 403
    assert b"AccessDenied" in refused.value.read()


CONFIG_PARSERS = [
    cfg.parse_acl, cfg.parse_cors, cfg.parse_lifecycle, cfg.parse_versioning,
    cfg.parse_list_versions, cfg.parse_tagging, cfg.parse_website, cfg.parse_logging,
]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket nobody should connect to; a connection would wait in its queue."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("parse", CONFIG_PARSERS, ids=lambda p: p.__name__)
def test_settings_parsers_refuse_xxe_and_fetch_nothing(
    parse: object, listener: socket.socket, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    port = listener.getsockname()[1]
    for target in (secret.as_uri(), f"http://127.0.0.1:{port}/evil.dtd"):
        body = (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{target}">'
            f'<!ENTITY % p SYSTEM "{target}"> %p;]><Root>&x;</Root>'
        ).encode()
        with pytest.raises(SpacesError) as refused:
            parse(body)  # type: ignore[operator]
        assert isinstance(refused.value, MalformedResponse)
        assert "TOP-SECRET" not in str(refused.value)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected


@pytest.mark.parametrize("parse", CONFIG_PARSERS, ids=lambda p: p.__name__)
def test_settings_parsers_refuse_billion_laughs_quickly(parse: object) -> None:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 12))
    body = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{entities}]><R>&l11;</R>'
    with pytest.raises(MalformedResponse):  # expanded, 10^11 "lol"s would never finish
        parse(body.encode())  # type: ignore[operator]
