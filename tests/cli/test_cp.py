"""``spacesync cp`` (with the transfer engine), ``journals`` and ``abort-uploads``, run as
a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from spacesync.client import SpacesClient
from tests.support.cli import Runner

MiB = 1024 * 1024


def tree(root: Path) -> dict[str, bytes]:
    files = {
        "top.txt": b"top",
        "nested/deep/file.bin": os.urandom(7 * MiB + 11),
        "nested/ñame with space.txt": "ñ".encode(),
        "empty": b"",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_recursive_round_trip_with_json_lines(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    files = tree(tmp_path / "src")
    up = cli("cp", "-r", str(tmp_path / "src"), f"{bucket_url}/t/", "--json", "--part-size", "5MiB")
    assert up.returncode == 0, up.stderr
    records = [json.loads(line) for line in up.stdout.splitlines()]
    assert sorted(r["destination"] for r in records) == sorted(f"{bucket_url}/t/{n}" for n in files)
    assert all(r["ok"] and r["retries"] == 0 and "seconds" in r for r in records)
    big = next(r for r in records if r["destination"].endswith("file.bin"))
    assert big["etag"].endswith("-2")  # 7 MiB in 5 MiB parts

    down = cli("cp", "--recursive", f"{bucket_url}/t/", str(tmp_path / "back"), "-q")
    assert down.returncode == 0, down.stderr
    assert down.stdout == ""
    for name, data in files.items():
        assert (tmp_path / "back" / name).read_bytes() == data


def test_stdin_to_object_and_object_to_stdout(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 5)
    up = cli.binary("cp", "-", f"{bucket_url}/stream.bin", "--part-size", "5MiB", input=data)
    assert up.returncode == 0, up.stderr
    down = cli.binary("cp", f"{bucket_url}/stream.bin", "-", "--part-size", "5MiB")
    assert down.returncode == 0, down.stderr
    assert hashlib.sha256(down.stdout).digest() == hashlib.sha256(data).digest()


def test_failed_file_gives_exit_1_and_the_rest_still_copies(
    cli: Runner, bucket_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "one.txt"
    source.write_bytes(b"1")
    assert cli("cp", str(source), f"{bucket_url}/p/ok").returncode == 0
    assert cli("cp", str(source), f"{bucket_url}/p/blocked").returncode == 0
    (tmp_path / "out" / "blocked").mkdir(parents=True)  # a directory where a file must go
    done = cli("cp", "-r", f"{bucket_url}/p/", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "1 of 2 files failed" in done.stderr
    assert (tmp_path / "out" / "ok").read_bytes() == b"1"


def test_journals_listing_is_empty_after_success(cli: Runner) -> None:
    done = cli("journals", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


async def test_abort_uploads_dry_run_then_for_real(
    cli: Runner, bucket_url: str, client: SpacesClient
) -> None:
    bucket = bucket_url.removeprefix("s3://")
    upload_id = await client.create_multipart_upload(bucket, "stale/part")
    dry = cli("abort-uploads", bucket_url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would abort: {bucket_url}/stale/part ({upload_id})" in dry.stdout
    assert [u.upload_id async for u in client.list_multipart_uploads(bucket)] == [upload_id]
    young = cli("abort-uploads", bucket_url, "--older-than", "1d")
    assert young.stdout == ""
    real = cli("abort-uploads", bucket_url, "--json")
    assert json.loads(real.stdout)["action"] == "aborted"
    assert [u async for u in client.list_multipart_uploads(bucket)] == []


def test_bad_sizes_and_durations_are_usage_errors(cli: Runner, bucket_url: str) -> None:
    assert cli("cp", "a", f"{bucket_url}/a", "--part-size", "lots").returncode == 2
    assert cli("abort-uploads", bucket_url, "--older-than", "soon").returncode == 2


def test_trailing_slash_destination_is_a_directory(
    cli: Runner, bucket_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "note.txt"
    source.write_bytes(b"note")
    assert cli("cp", str(source), f"{bucket_url}/note.txt").returncode == 0
    done = cli("cp", f"{bucket_url}/note.txt", str(tmp_path / "restore") + "/")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "restore" / "note.txt").read_bytes() == b"note"


async def test_content_type_is_guessed_and_copies_keep_metadata(
    cli: Runner, bucket_url: str, tmp_path: Path, client: SpacesClient
) -> None:
    page = tmp_path / "index.html"
    page.write_text("<h1>hi</h1>")
    up = cli("cp", str(page), f"{bucket_url}/site/index.html", "--metadata", "owner=web")
    assert up.returncode == 0, up.stderr
    assert cli("cp", f"{bucket_url}/site/index.html", f"{bucket_url}/copy.html").returncode == 0
    bucket = bucket_url.removeprefix("s3://")
    for key in ("site/index.html", "copy.html"):
        head = await client.head_object(bucket, key)
        assert head.content_type == "text/html"
        assert head.metadata["owner"] == "web"
