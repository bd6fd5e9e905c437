"""``doctor``: probe an endpoint once and say what it supports.

Each check is one small request; its outcome is ``ok``, ``unsupported`` (NotImplemented or an
equivalent refusal), ``failed`` (with the error) or ``skipped``. Bucket checks write and
remove one tiny object and one multipart upload under ``.spacesync-doctor/``. The report is
typed and serialisable, so a profile can keep it and the engine can act on it
(:meth:`DoctorReport.client_options`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spacesync.client import S3Call, SpacesClient
from spacesync.errors import ConfigError, NotImplementedByEndpoint, S3Error, SpacesError
from spacesync.protocol import xml
from spacesync.protocol.headers import parse_http_date
from spacesync.protocol.model import ObjectId
from spacesync.statedir import ensure_private_dir, read_private_file, write_private_file
from spacesync.transport.body import BytesBody

Outcome = Literal["ok", "unsupported", "failed", "skipped"]
PROBE_PREFIX = ".spacesync-doctor/"
#: Beyond this the server refuses SigV4 requests (RequestTimeTooSkewed).
MAX_CLOCK_SKEW = 15 * 60


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DoctorReport:
    endpoint: str
    bucket: str | None
    clock_offset_seconds: float | None
    checks: list[Check] = field(default_factory=list)

    def outcome(self, name: str) -> Outcome:
        return next((c.outcome for c in self.checks if c.name == name), "skipped")

    @property
    def healthy(self) -> bool:
        return all(check.outcome != "failed" for check in self.checks)

    def client_options(self) -> dict[str, str]:
        """What a client should do differently on this endpoint, from what was found."""
        options = {}
        if self.outcome("list_objects_v2") == "unsupported":
            options["list_api"] = "v1"
        if (
            self.outcome("virtual_host_addressing") != "ok"
            and self.outcome("path_addressing") == "ok"
        ):
            options["addressing"] = "path"
        if self.outcome("checksum_headers") != "ok":
            options["checksums"] = "md5-only"
        return options

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "client_options": self.client_options()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DoctorReport:
        return cls(
            endpoint=data["endpoint"],
            bucket=data.get("bucket"),
            clock_offset_seconds=data.get("clock_offset_seconds"),
            checks=[Check(**check) for check in data.get("checks", [])],
        )


async def _check(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    try:
        return Check(name, "ok", await probe())
    except NotImplementedByEndpoint as error:
        return Check(name, "unsupported", f"{error.code}: {error.message}".rstrip(": "))
    except ConfigError as error:
        return Check(name, "skipped", str(error))
    except SpacesError as error:
        return Check(name, "failed", str(error))


async def diagnose(
    client: SpacesClient,
    bucket: str | None = None,
    *,
    virtual_client: SpacesClient | None = None,
) -> DoctorReport:
    """Run every check; bucket checks only when ``bucket`` is given. ``virtual_client``
    (the same settings with virtual-host addressing) tests that style of addressing."""
    offset: list[float] = []

    async def credentials() -> str:
        before = client.now()
        reply = await client.call(S3Call("ListBuckets", "GET"))
        server = parse_http_date(reply.headers.get("Date"))
        if server is not None:
            local = before + (client.now() - before) / 2
            offset.append((server - local).total_seconds())
        return f"{len(xml.parse_list_buckets(reply.body))} buckets visible"

    checks = [await _check("credentials", credentials)]
    if offset:
        skew = offset[0]
        checks.append(
            Check(
                "clock",
                "ok" if abs(skew) < MAX_CLOCK_SKEW else "failed",
                f"local clock {-skew:+.0f} s from the server's (HTTP Date has 1 s resolution)",
            )
        )
    if bucket is None:
        checks.append(Check("bucket_checks", "skipped", "no bucket given"))
    else:
        checks += await _bucket_checks(client, bucket, virtual_client)
    return DoctorReport(
        endpoint=client.settings.endpoint.url,
        bucket=bucket,
        clock_offset_seconds=offset[0] if offset else None,
        checks=checks,
    )


async def _bucket_checks(
    client: SpacesClient, bucket: str, virtual_client: SpacesClient | None
) -> list[Check]:
    probe_key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"

    async def path_addressing() -> str:
        await client.head_bucket(bucket)
        return "HeadBucket answered"

    async def virtual_addressing() -> str:
        if virtual_client is None:
            raise ConfigError("not tried")
        await virtual_client.head_bucket(bucket)
        return f"https://{bucket}.HOST answered"

    async def list_v2() -> str:
        query = [("list-type", "2"), ("max-keys", "1")]
        await client.call(S3Call("ListObjectsV2", "GET", bucket, query=query))
        return "ListObjectsV2 answered"

    async def delete_objects() -> str:
        outcomes = await client.delete_objects(bucket, [ObjectId(probe_key + "-absent")])
        return f"{len(outcomes)} result(s) for 1 key"

    async def multipart() -> str:
        upload_id = await client.create_multipart_upload(bucket, probe_key)
        await client.abort_multipart_upload(bucket, probe_key, upload_id=upload_id)
        return "created and aborted an upload"

    async def checksums() -> str:
        data = b"spacesync doctor"
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        body = BytesBody(data)
        headers = {"x-amz-checksum-crc32": crc, "Content-MD5": await body.md5_base64()}
        try:
            reply = await client.call(
                S3Call("PutObject", "PUT", bucket, probe_key, headers=headers, body=body)
            )
        finally:
            with contextlib.suppress(S3Error):
                await client.delete_object(bucket, probe_key)
        echoed = reply.headers.get("x-amz-checksum-crc32")
        return "x-amz-checksum-crc32 accepted" + (" and echoed" if echoed == crc else "")

    return [
        await _check("path_addressing", path_addressing),
        await _check("virtual_host_addressing", virtual_addressing),
        await _check("list_objects_v2", list_v2),
        await _check("delete_objects", delete_objects),
        await _check("multipart", multipart),
        await _check("checksum_headers", checksums),
    ]


def _report_path(state_dir: Path, endpoint: str) -> Path:
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:32]
    return state_dir / "probes" / f"{digest}.json"


def save_report(report: DoctorReport, state_dir: Path) -> Path:
    """Keep a probe's findings for clients of the same endpoint whose profile asks for them."""
    path = _report_path(state_dir, report.endpoint)
    ensure_private_dir(path.parent)
    write_private_file(path, json.dumps(report.to_json(), default=str).encode())
    return path


def load_report(state_dir: Path, endpoint: str) -> DoctorReport | None:
    data = read_private_file(_report_path(state_dir, endpoint))
    if data is None:
        return None
    try:
        return DoctorReport.from_json(json.loads(data))
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable probe is as good as none: defaults apply
