"""A bounded atheris run over every reply parser (atheris_harness.py); the long run is soak."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HARNESS = Path(__file__).with_name("atheris_harness.py")


def fuzz(tmp_path: Path, runs: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HARNESS), f"-runs={runs}", "-max_len=2048", "-rss_limit_mb=2048",
         f"-artifact_prefix={tmp_path}/"],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_atheris_finds_no_crash(tmp_path: Path) -> None:
    done = fuzz(tmp_path, 3000)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 3000 runs" in done.stderr


@pytest.mark.soak
def test_atheris_long_run(tmp_path: Path) -> None:
    done = fuzz(tmp_path, 200_000)
    assert done.returncode == 0, done.stderr[-3000:]
