"""The doctor's report: against the real server, and how it turns findings into advice."""

from __future__ import annotations

from datetime import UTC, datetime

from spacesync.client import SpacesClient
from spacesync.doctor import Check, DoctorReport, diagnose
from tests.settings.recording import RecordingTransport, spaces_client


async def test_without_a_bucket_only_account_checks(client: SpacesClient) -> None:
    report = await diagnose(client)
    assert [c.name for c in report.checks] == ["credentials", "clock", "bucket_checks"]
    assert report.healthy and abs(report.clock_offset_seconds or 99) < 5


async def test_not_implemented_list_v2_advises_v1() -> None:
    not_implemented = (501, {}, b"<Error><Code>NotImplemented</Code></Error>")
    transport = RecordingTransport(
        replies=[
            (200, {"Date": "Thu, 21 Aug 2025 00:00:00 GMT"}, b"<ListAllMyBucketsResult/>"),
            (200, {}, b""),
            not_implemented,
        ]
    )
    async with spaces_client(transport, at=datetime(2025, 8, 21, 0, 0, 30, tzinfo=UTC)) as c:
        report = await diagnose(c, "media")
    assert report.outcome("list_objects_v2") == "unsupported"
    assert report.clock_offset_seconds == -30
    assert report.client_options()["list_api"] == "v1"
    assert DoctorReport.from_json(report.to_json()) == report


def test_failed_check_makes_the_report_unhealthy() -> None:
    report = DoctorReport("http://x", None, None, [Check("credentials", "failed", "AccessDenied")])
    assert not report.healthy
