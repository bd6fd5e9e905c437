"""The ``spacesync`` command end to end, as a user runs it: a subprocess per invocation."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from spacesync.localserver import Identity, LocalServerInfo
from tests.support.cli import Runner


def test_no_endpoint_is_a_configuration_error(clean_env: dict[str, str], tmp_path: Path) -> None:
    done = Runner(clean_env, tmp_path)("ls")
    assert done.returncode == 2
    assert "SPACES_ENDPOINT" in done.stderr
    assert "spacesync local start" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_credentials_is_a_configuration_error(clean_env: dict[str, str], tmp_path: Path) -> None:
    done = Runner(clean_env, tmp_path)("ls", "--endpoint-url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "SPACES_KEY" in done.stderr
    assert "spacesync local start" in done.stderr


def test_help_answers_the_basics(cli: Runner) -> None:
    done = cli("--help")
    assert done.returncode == 0
    for word in ("ls", "cp", "cat", "mb", "rb", "presign", "local", "exit codes", "SPACES_KEY"):
        assert word in done.stdout
    assert cli("cp", "--help").stdout.count("example") >= 1


def test_round_trip_through_the_command_line(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    source = tmp_path / "report é.bin"
    data = os.urandom(300_000)
    source.write_bytes(data)

    up = cli("cp", str(source), f"{bucket_url}/dir/", "--json", "--metadata", "owner=qa")
    assert up.returncode == 0, up.stderr
    record = json.loads(up.stdout)
    assert record["size"] == len(data)

    listing = cli("ls", f"{bucket_url}/dir/", "--json")
    assert listing.returncode == 0, listing.stderr
    entries = [json.loads(line) for line in listing.stdout.splitlines()]
    assert [(e["key"], e["size"]) for e in entries] == [("dir/report é.bin", len(data))]

    top = cli("ls", bucket_url)
    assert "PRE" in top.stdout and "dir/" in top.stdout

    buckets = cli("ls")
    assert bucket_url in buckets.stdout

    down_dir = tmp_path / "down"
    down_dir.mkdir()
    down = cli("cp", f"{bucket_url}/dir/report é.bin", str(down_dir) + "/")
    assert down.returncode == 0, down.stderr
    assert (down_dir / "report é.bin").read_bytes() == data
    assert [p.name for p in down_dir.iterdir()] == ["report é.bin"]

    copied = cli("cp", f"{bucket_url}/dir/report é.bin", f"{bucket_url}/copy.bin")
    assert copied.returncode == 0, copied.stderr


def test_cat_writes_the_exact_bytes(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    source = tmp_path / "text.txt"
    source.write_text("line one\nline two\n")
    assert cli("cp", str(source), f"{bucket_url}/text.txt").returncode == 0
    done = cli("cat", f"{bucket_url}/text.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "line one\nline two\n"


def test_global_options_after_the_verb(
    clean_env: dict[str, str],
    tmp_path: Path,
    local_server: LocalServerInfo,
    admin_identity: Identity,
) -> None:
    run = Runner(
        {
            **clean_env,
            "SPACES_KEY": admin_identity.access_key,
            "SPACES_SECRET": admin_identity.secret_key,
        },
        tmp_path,
    )
    before = run("--endpoint-url", local_server.endpoint_url, "ls")
    after = run("ls", "--endpoint-url", local_server.endpoint_url)
    assert before.returncode == after.returncode == 0, (before.stderr, after.stderr)
    assert before.stdout == after.stdout


def test_wrong_secret_is_one_line_and_exit_1(cli: Runner) -> None:
    done = cli("ls", env={"SPACES_SECRET": "definitely-wrong-secret"})
    assert done.returncode == 1
    assert "SignatureDoesNotMatch" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "definitely-wrong-secret" not in done.stderr


def test_readonly_identity_writing_is_access_denied(
    cli: Runner, bucket_url: str, tmp_path: Path, readonly_identity: Identity
) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    done = cli(
        "cp",
        str(source),
        f"{bucket_url}/f",
        env={
            "SPACES_KEY": readonly_identity.access_key,
            "SPACES_SECRET": readonly_identity.secret_key,
        },
    )
    assert done.returncode == 1
    assert "AccessDenied" in done.stderr


def test_missing_bucket_and_key(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    missing_bucket = cli("ls", "s3://no-such-bucket-zz")
    assert missing_bucket.returncode == 1
    assert "NoSuchBucket" in missing_bucket.stderr
    missing_key = cli("cp", f"{bucket_url}/nothing", str(tmp_path / "out"))
    assert missing_key.returncode == 1
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_missing_local_file_is_exit_2(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    done = cli("cp", str(tmp_path / "absent.txt"), f"{bucket_url}/x")
    assert done.returncode == 2
    assert "no such file" in done.stderr


def test_rb_refuses_a_non_empty_bucket(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    assert cli("cp", str(source), f"{bucket_url}/f").returncode == 0
    refused = cli("rb", bucket_url)
    assert refused.returncode == 1
    assert "BucketNotEmpty" in refused.stderr
    empty = f"s3://cli-{uuid.uuid4().hex[:16]}"
    assert cli("mb", empty).returncode == 0
    assert cli("rb", empty).returncode == 0
    assert empty not in cli("ls").stdout


def test_invalid_bucket_name_is_exit_2(cli: Runner) -> None:
    done = cli("mb", "s3://Bad_Name")
    assert done.returncode == 2
    assert "invalid bucket name" in done.stderr


def test_presign_prints_a_working_url(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    import urllib.request

    source = tmp_path / "f"
    source.write_bytes(b"presigned content")
    assert cli("cp", str(source), f"{bucket_url}/f").returncode == 0
    done = cli("presign", f"{bucket_url}/f", "--expires", "120")
    assert done.returncode == 0, done.stderr
    with urllib.request.urlopen(done.stdout.strip(), timeout=30) as reply:
        assert reply.read() == b"presigned content"
    too_long = cli("presign", f"{bucket_url}/f", "--expires", str(8 * 24 * 3600))
    assert too_long.returncode == 2


def test_debug_log_redacts_credentials(cli: Runner, admin_identity: Identity) -> None:
    done = cli("--debug", "ls")
    assert done.returncode == 0, done.stderr
    assert "ListBuckets" in done.stderr
    assert "<redacted>" in done.stderr
    assert admin_identity.secret_key not in done.stderr
    assert "Signature=" not in done.stderr
