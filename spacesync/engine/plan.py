"""How an object is cut into parts: S3's limits, and the part size we choose inside them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB

MIN_PART_SIZE = 5 * MiB  # every multipart part but the last
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * TiB

#: Chosen by measurement against the local server (benchmarks/): 8 MiB parts keep enough
#: requests in flight for small-ish files while per-request overhead stays negligible.
DEFAULT_PART_SIZE = 8 * MiB


@dataclass(frozen=True, slots=True)
class PartRange:
    """Part ``number`` (1-based) covers ``size`` bytes from ``offset``."""

    number: int
    offset: int
    size: int

    @property
    def end(self) -> int:
        """Last byte, inclusive, as HTTP ranges count."""
        return self.offset + self.size - 1


@dataclass(frozen=True, slots=True)
class PartPlan:
    """A gap-free, overlap-free cover of ``[0, size)`` by equal parts (the last may be shorter)."""

    size: int
    part_size: int

    @classmethod
    def for_upload(cls, size: int, *, part_size: int = DEFAULT_PART_SIZE) -> PartPlan:
        """Parts S3 accepts: ≥ 5 MiB (but the last), ≤ 5 GiB, at most 10,000 of them; the
        requested size is grown (in whole MiB) only as far as the part count demands."""
        if size < 0:
            raise ValueError(f"negative size {size}")
        if size > MAX_OBJECT_SIZE:
            raise ValueError(f"{size} bytes is over S3's 5 TiB object limit")
        chosen = min(max(part_size, MIN_PART_SIZE), MAX_PART_SIZE)
        if -(-size // chosen) > MAX_PARTS:
            chosen = -(-size // MAX_PARTS)
            chosen = -(-chosen // MiB) * MiB
        return cls(size=size, part_size=chosen)

    @classmethod
    def for_download(cls, size: int, *, part_size: int = DEFAULT_PART_SIZE) -> PartPlan:
        """Ranged GETs have no S3 limits; only a sane minimum."""
        if size < 0 or part_size < 1:
            raise ValueError(f"bad download plan: size={size} part_size={part_size}")
        return cls(size=size, part_size=part_size)

    @property
    def count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def part(self, number: int) -> PartRange:
        if not 1 <= number <= self.count:
            raise ValueError(f"part {number} is outside 1..{self.count}")
        offset = (number - 1) * self.part_size
        return PartRange(number, offset, min(self.part_size, self.size - offset))

    def __iter__(self) -> Iterator[PartRange]:
        return (self.part(n) for n in range(1, self.count + 1))
