"""The engine uses saved probe results when the profile asks for them."""

from __future__ import annotations

from pathlib import Path

from spacesync.doctor import Check, DoctorReport, load_report, save_report
from spacesync.localserver import LocalServerInfo
from tests.support.cli import Runner


def test_doctor_save_then_a_profile_applies_the_findings(
    cli: Runner, bucket_url: str, tmp_path: Path, local_server: LocalServerInfo
) -> None:
    state = Path(cli.env["XDG_STATE_HOME"]) / "spacesync"
    saved = cli("doctor", bucket_url, "--save")
    assert saved.returncode == 0, saved.stderr
    report = load_report(state, local_server.endpoint_url)
    assert report is not None and report.outcome("list_objects_v2") == "ok"

    # Pretend the probe had found an endpoint without ListObjectsV2.
    v2 = next(c for c in report.checks if c.name == "list_objects_v2")
    checks = [c for c in report.checks if c is not v2]
    checks.append(Check("list_objects_v2", "unsupported", "NotImplemented"))
    save_report(
        DoctorReport(report.endpoint, report.bucket, report.clock_offset_seconds, checks), state
    )

    plain = cli("--debug", "ls", bucket_url)
    assert plain.returncode == 0, plain.stderr
    assert "ListObjectsV2" in plain.stderr

    probed = cli("--debug", "ls", bucket_url, env={"SPACES_USE_PROBE": "1"})
    assert probed.returncode == 0, probed.stderr
    assert "ListObjectsV2" not in probed.stderr
    assert "ListObjects GET" in probed.stderr
