"""Part plans: S3's limits hold for every size, and parts cover the object exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spacesync.engine.plan import (
    DEFAULT_PART_SIZE,
    MAX_OBJECT_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    GiB,
    MiB,
    PartPlan,
    TiB,
)

SIZES = st.one_of(
    st.integers(0, 64 * MiB),
    st.integers(0, MAX_OBJECT_SIZE),
    st.sampled_from(
        [MIN_PART_SIZE - 1, MIN_PART_SIZE, MIN_PART_SIZE + 1, 80 * GiB, MAX_OBJECT_SIZE]
    ),
)
PART_SIZES = st.one_of(st.integers(1, 6 * GiB), st.sampled_from([DEFAULT_PART_SIZE, 5 * MiB]))


@given(size=SIZES, part_size=PART_SIZES)
def test_upload_plans_respect_s3_limits(size: int, part_size: int) -> None:
    plan = PartPlan.for_upload(size, part_size=part_size)
    assert plan.count <= MAX_PARTS
    assert MIN_PART_SIZE <= plan.part_size <= MAX_PART_SIZE
    parts = [plan.part(plan.count)] if plan.count > 1 else list(plan)
    last = parts[-1]
    assert last.offset + last.size == size
    if plan.count > 1:
        assert plan.part(1).size == plan.part_size >= MIN_PART_SIZE
    # Grown only as far as the part count demands, in whole MiB.
    wanted = min(max(part_size, MIN_PART_SIZE), MAX_PART_SIZE)
    if plan.part_size != wanted:
        assert plan.part_size % MiB == 0
        assert -(-size // (plan.part_size - MiB)) > MAX_PARTS


@given(size=st.integers(0, 200 * MiB), part_size=st.integers(64 * 1024, 64 * MiB))
def test_parts_cover_without_gap_or_overlap(size: int, part_size: int) -> None:
    plan = PartPlan.for_download(size, part_size=part_size)
    position = 0
    for number, part in enumerate(plan, start=1):
        assert part.number == number
        assert part.offset == position
        assert 0 <= part.size <= part_size
        assert part.end == part.offset + part.size - 1
        position += part.size
    assert position == size


def test_edges() -> None:
    assert PartPlan.for_upload(0).count == 1
    assert PartPlan.for_upload(5 * MiB, part_size=5 * MiB).count == 1
    assert PartPlan.for_upload(5 * MiB + 1, part_size=5 * MiB).count == 2
    assert PartPlan.for_upload(MAX_OBJECT_SIZE).count <= MAX_PARTS
    assert PartPlan.for_upload(1 * TiB).part_size == 105 * MiB
    with pytest.raises(ValueError):
        PartPlan.for_upload(MAX_OBJECT_SIZE + 1)
    with pytest.raises(ValueError):
        PartPlan.for_upload(-1)
    with pytest.raises(ValueError):
        PartPlan.for_upload(10 * MiB).part(3)
