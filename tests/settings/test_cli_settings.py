"""The settings verbs end to end, as a user runs them (a subprocess per command)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Runner


def ok(done: object) -> str:
    assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
    return done.stdout  # type: ignore[attr-defined,no-any-return]


def test_acl_cors_lifecycle_policy_round_trip(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    # spacesync acl set s3://B --canned public-read ; spacesync acl get s3://B
    ok(cli("acl", "set", bucket_url, "--canned", "public-read"))
    assert json.loads(ok(cli("acl", "get", bucket_url)))["canned"] == "public-read"

    rules = tmp_path / "cors.json"
    rules.write_text(
        json.dumps(
            {"CORSRules": [{"AllowedOrigins": ["https://a.test"], "AllowedMethods": ["GET"]}]}
        )
    )
    ok(cli("cors", "set", bucket_url, "--file", str(rules)))
    assert json.loads(ok(cli("cors", "get", bucket_url)))[0]["allowed_origins"] == [
        "https://a.test"
    ]
    ok(cli("cp", __file__, f"{bucket_url}/k"))
    allowed = cli("cors", "test", "https://a.test", "GET", f"{bucket_url}/k")
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["allowed"]
    assert cli("cors", "test", "https://evil.test", "GET", f"{bucket_url}/k").returncode == 1
    ok(cli("cors", "delete", bucket_url))

    ok(
        cli(
            "lifecycle",
            "set",
            bucket_url,
            "--id",
            "old",
            "--prefix",
            "logs/",
            "--expire-days",
            "30",
            "--legacy",
        )
    )
    assert json.loads(ok(cli("lifecycle", "get", bucket_url)))[0]["expiration_days"] == 30

    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": [{"Effect": "Allow"}]}')
    refused = cli("policy", "set", bucket_url, "--file", str(bad))
    assert refused.returncode == 2 and "Action" in refused.stderr


def test_versions_and_restore(cli: Runner, bucket_url: str, tmp_path: Path) -> None:
    ok(cli("versioning", "enable", bucket_url))
    source = tmp_path / "f.txt"
    for text in ("one", "two"):
        source.write_text(text)
        ok(cli("cp", str(source), f"{bucket_url}/f.txt"))
    lines = [
        json.loads(line) for line in ok(cli("ls", "--versions", "--json", bucket_url)).splitlines()
    ]
    assert [v["is_latest"] for v in lines] == [True, False]
    restored = json.loads(
        ok(
            cli(
                "versioning",
                "restore",
                f"{bucket_url}/f.txt",
                "--version-id",
                lines[1]["version_id"],
            )
        )
    )
    assert restored["new_version"]
    assert ok(cli("cat", f"{bucket_url}/f.txt")) == "one"
    ok(cli("tagging", "set", f"{bucket_url}/f.txt", "a=1", "b=two"))
    assert json.loads(ok(cli("tagging", "get", f"{bucket_url}/f.txt"))) == {"a": "1", "b": "two"}


def test_presign_post_and_v2(cli: Runner, bucket_url: str) -> None:
    form = json.loads(ok(cli("presign-post", f"{bucket_url}/in/", "--max-size", "100")))
    assert form["fields"]["key"] == "in/${filename}" and "x-amz-signature" in form["fields"]
    url = ok(cli("presign", f"{bucket_url}/k", "--signature-version", "2")).strip()
    assert "AWSAccessKeyId=" in url and "Signature=" in url


def test_doctor_against_the_local_server(cli: Runner, bucket_url: str) -> None:
    report = json.loads(ok(cli("doctor", bucket_url, "--json")))
    outcomes = {check["name"]: check["outcome"] for check in report["checks"]}
    assert outcomes["credentials"] == "ok" and outcomes["clock"] == "ok"
    assert (
        outcomes["list_objects_v2"] == outcomes["multipart"] == outcomes["delete_objects"] == "ok"
    )
    assert outcomes["checksum_headers"] == "ok" and outcomes["path_addressing"] == "ok"
    assert outcomes["virtual_host_addressing"] == "skipped"  # 127.0.0.1 has no bucket subdomains
    assert report["client_options"] == {"addressing": "path"}
    assert ok(cli("ls", bucket_url, "--recursive")) == ""  # the probe object is gone


def test_unsupported_operation_is_one_line(cli: Runner, bucket_url: str) -> None:
    # SeaweedFS answers PutBucketLogging as a CreateBucket: a typed error, still one line.
    done = cli("logging", "set", bucket_url, "--target", f"{bucket_url}/logs/")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
