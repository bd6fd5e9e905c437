"""Engine bugs the crash and fault tests found, pinned down without a server."""

from __future__ import annotations

import hashlib

from spacesync.engine.download import EtagCheck
from spacesync.engine.plan import PartPlan, PartRange


def test_a_range_hasher_started_late_keeps_the_digest_before_it() -> None:
    """With fewer download slots than ranges, range 3's hasher is made after range 2 is
    done; it must not overwrite segment 2's digest (it did, with the MD5 of nothing, so a
    good download of a multipart object failed its ETag check, found by the SIGKILL test
    at --concurrency 2)."""
    segment = 16
    data = bytes(range(256)) * 2  # 512 bytes: 32 segments
    digests = b"".join(
        hashlib.md5(data[i : i + segment]).digest() for i in range(0, len(data), segment)
    )
    plan = PartPlan.for_download(len(data), part_size=segment)
    check = EtagCheck(
        expected=f"{hashlib.md5(digests).hexdigest()}-{plan.count}", segments=plan, multipart=True
    )
    for part in plan:  # one range after the other, each hasher made when its range starts
        hasher = check.hasher_for(PartRange(part.number, part.offset, part.size))
        assert hasher is not None
        hasher.update(data[part.offset : part.offset + part.size])
    check.verify()
