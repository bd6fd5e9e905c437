"""The progress bar: one tqdm bar per job, on a terminal only (tqdm is imported only then)."""

from __future__ import annotations

import sys

from spacesync.engine.transfer import NoProgress, ProgressSink, TransferResult


class ProgressBar:
    """Bytes, rate and ETA, with files done/total in the description."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=0, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=False
        )
        self._files_total = 0
        self._files_done = 0

    def add_work(self, *, files: int, nbytes: int) -> None:
        self._files_total += files
        self._bar.total = (self._bar.total or 0) + nbytes
        self._describe()

    def advance(self, nbytes: int) -> None:
        self._bar.update(nbytes)

    def file_done(self, result: TransferResult) -> None:
        self._files_done += 1
        self._describe()

    def _describe(self) -> None:
        self._bar.set_description_str(f"{self._files_done}/{self._files_total} files", False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def progress_for(*, quiet: bool) -> ProgressSink:
    if quiet or not sys.stderr.isatty():
        return NoProgress()
    return ProgressBar()
