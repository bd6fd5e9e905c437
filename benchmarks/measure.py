"""Runs one tool invocation as a child process and measures it.

The tool is started by :mod:`benchmarks.launch`, a stdlib-only launcher that runs without
``site`` (about 10 MiB resident), because on Linux ``ru_maxrss`` of an exec'd process
starts from the peak of the image it was forked from: spawned straight from the harness,
every tool would report at least the harness's own ~90 MiB. The launcher measures:

- wall time: ``time.perf_counter()`` from just before ``posix_spawn`` to the return of
  ``wait4`` (the launcher's own start-up is not included);
- CPU seconds: ``ru_utime + ru_stime`` of the rusage ``wait4`` reports for the tool. On
  Linux that includes every descendant the tool waited for, so it covers the whole
  process tree (the aws CLI and spacesync are Python processes with threads; s5cmd and
  rclone are single Go processes);
- peak RSS: ``ru_maxrss`` of the same rusage: the largest resident set of the tool or of
  any descendant it reaped, i.e. of the biggest process of the tree. Its floor is the
  launcher's ~10 MiB, the same for every tool.

Nothing else runs in the harness while a tool runs; the harness does its own S3 work
(setup, verification, cleanup) only between measured runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launch.py")


@dataclass(frozen=True)
class Measurement:
    wall: float
    cpu: float
    user: float
    sys: float
    rss_mib: float
    returncode: int
    output_tail: str


def run_measured(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path, timeout: float = 1800
) -> Measurement:
    """Run ``argv``; stdout and stderr go to ``log`` (kept for a failed run's message)."""
    result = log.with_suffix(".rusage.json")
    result.unlink(missing_ok=True)
    with open(log, "wb") as out:
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(LAUNCHER), str(result), str(timeout), "--",
             *argv],
            env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, check=False,
        )
    tail = log.read_bytes()[-2000:].decode(errors="replace")
    if done.returncode != 0 or not result.exists():
        return Measurement(0.0, 0.0, 0.0, 0.0, 0.0, done.returncode or -1, tail)
    usage = json.loads(result.read_text())
    return Measurement(
        wall=usage["wall"],
        cpu=usage["user"] + usage["sys"],
        user=usage["user"],
        sys=usage["sys"],
        rss_mib=usage["maxrss_kib"] / 1024,
        returncode=usage["returncode"],
        output_tail=tail,
    )
