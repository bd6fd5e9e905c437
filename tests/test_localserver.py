from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import spacesync.localserver as localserver
from spacesync.errors import ConfigError
from spacesync.localserver import (
    Identity,
    LocalServer,
    LocalServerInfo,
    env_vars,
    find_weed,
)


def s3_client(info: LocalServerInfo, identity: Identity) -> Any:
    """botocore as the reference client: what our server does must satisfy a real SDK."""
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=info.endpoint_url,
        aws_access_key_id=identity.access_key,
        aws_secret_access_key=identity.secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture
def bucket(local_server: LocalServerInfo, admin_identity: Identity) -> str:
    name = f"ls-{uuid.uuid4().hex[:12]}"
    s3_client(local_server, admin_identity).create_bucket(Bucket=name)
    return name


def test_admin_put_then_get(
    local_server: LocalServerInfo, admin_identity: Identity, bucket: str
) -> None:
    client = s3_client(local_server, admin_identity)
    client.put_object(Bucket=bucket, Key="dir/hello.txt", Body=b"hello world")
    got = client.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentLength"] == 11


def test_wrong_secret_is_signature_mismatch(
    local_server: LocalServerInfo, admin_identity: Identity, bucket: str
) -> None:
    forged = Identity("forged", admin_identity.access_key, admin_identity.secret_key + "x")
    with pytest.raises(ClientError) as exc:
        s3_client(local_server, forged).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_code(exc) == "SignatureDoesNotMatch"


def test_readonly_identity_reads_but_cannot_write(
    local_server: LocalServerInfo,
    admin_identity: Identity,
    readonly_identity: Identity,
    bucket: str,
) -> None:
    s3_client(local_server, admin_identity).put_object(Bucket=bucket, Key="k", Body=b"data")
    reader = s3_client(local_server, readonly_identity)
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    with pytest.raises(ClientError) as exc:
        reader.put_object(Bucket=bucket, Key="k2", Body=b"x")
    assert error_code(exc) == "AccessDenied"


def test_behaves_like_real_s3_on_missing_and_non_empty_buckets(
    local_server: LocalServerInfo, admin_identity: Identity, bucket: str
) -> None:
    """weed's conveniences (auto-created buckets, recursive delete) are switched off."""
    client = s3_client(local_server, admin_identity)
    with pytest.raises(ClientError) as missing:
        client.put_object(Bucket=f"absent-{uuid.uuid4().hex[:8]}", Key="k", Body=b"x")
    assert error_code(missing) == "NoSuchBucket"
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as not_empty:
        client.delete_bucket(Bucket=bucket)
    assert error_code(not_empty) == "BucketNotEmpty"


def test_lifecycle_is_idempotent_private_and_stable(tmp_path: Path) -> None:
    root = tmp_path / "local-server"
    server = LocalServer(root)
    try:
        info = server.start()
        assert info.root == root
        assert info.endpoint_url.startswith("http://127.0.0.1:")
        assert [i.name for i in info.identities] == ["admin"]
        assert server.status() == info
        assert server.start().pid == info.pid
        # Another process (here: another object) finds it through the state file.
        assert LocalServer(root).status() == info
        for private_file in ("server.json", "identities.json", "s3.json"):
            assert stat.S_IMODE((root / private_file).stat().st_mode) == 0o600
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert json.loads((root / "server.json").read_bytes())["pid"] == info.pid
        assert info.admin.secret_key not in repr(info)

        assert server.stop() is True
        assert server.status() is None
        assert server.stop() is False

        # Restarted: same keys (kept in the root) and, the ports being free, same endpoint.
        again = server.start()
        assert again.pid != info.pid
        assert again.admin == info.admin
        assert again.endpoint_url == info.endpoint_url
    finally:
        server.stop()
    assert server.status() is None


def test_start_retries_when_a_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fresh_ports = localserver._fresh_ports
    picks: list[dict[str, int]] = []
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()

        def first_pick_collides() -> dict[str, int]:
            ports = real_fresh_ports()
            if not picks:
                ports["filer.port"] = squatter.getsockname()[1]
            picks.append(ports)
            return ports

        monkeypatch.setattr(localserver, "_fresh_ports", first_pick_collides)
        server = LocalServer(tmp_path)
        try:
            info = server.start()
            assert len(picks) == 2
            assert info.endpoint_url == f"http://127.0.0.1:{picks[1]['s3.port']}"
        finally:
            server.stop()


def test_start_failure_reports_the_weed_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'fatal: volume dir is on fire' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(localserver, "find_weed", lambda: fake)
    server = LocalServer(tmp_path / "root")
    with pytest.raises(ConfigError, match="volume dir is on fire") as exc:
        server.start(timeout=10)
    assert "status 3" in str(exc.value)
    assert server.status() is None


def test_start_refuses_read_only_identities_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not read-only"):
        LocalServer(tmp_path).start(identities=[Identity.generate("ro", read_only=True)])


def test_env_vars_name_the_admin_identity(tmp_path: Path) -> None:
    info = LocalServerInfo(
        endpoint_url="http://127.0.0.1:4567",
        pid=1,
        root=tmp_path,
        identities=(
            Identity("ro", "ROKEY", "rosecret", read_only=True),
            Identity("admin", "ADMINKEY", "adminsecret"),
        ),
    )
    assert env_vars(info) == {
        "SPACES_ENDPOINT": "http://127.0.0.1:4567",
        "SPACES_KEY": "ADMINKEY",
        "SPACES_SECRET": "adminsecret",
    }


def test_local_start_then_eval_env_points_later_commands_at_it(tmp_path: Path) -> None:
    """The README's lines, run by a shell: `local start`, `eval "$(local env)"`, then
    commands that find the server through the exported variables alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACES_", "AWS_"))}
    env["HOME"] = str(tmp_path)  # no ~/.aws profile either
    spacesync = f"{shlex.quote(sys.executable)} -m spacesync"
    state = shlex.quote(str(tmp_path / "state"))
    script = (
        f"{spacesync} local start --state-dir {state} >/dev/null && "
        f'eval "$({spacesync} local env --state-dir {state})" && '
        f"{spacesync} mb s3://from-eval && {spacesync} ls"
    )
    try:
        done = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "from-eval" in done.stdout
    finally:
        LocalServer(tmp_path / "state" / "local-server").stop()


def test_generated_identities_are_distinct_and_hide_their_secret() -> None:
    a, b = Identity.generate("a"), Identity.generate("b")
    assert a.access_key != b.access_key and a.secret_key != b.secret_key
    assert len(a.access_key) == 20 and len(a.secret_key) == 40
    assert a.secret_key not in repr(a)


def test_find_weed_prefers_the_one_beside_python() -> None:
    assert find_weed() == Path(sys.executable).parent / "weed"


def test_find_weed_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as exc:
        find_weed()
    assert str(exc.value) == "SeaweedFS is not installed: pip install 'spacesync[local]'"
