"""The ``spacesync`` command run as a user runs it: a subprocess with its own environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class Runner:
    """The ``spacesync`` command in a subprocess, with a fixed environment."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spacesync", *args],
            env={**self.env, **(env or {})},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )

    def binary(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """For commands whose stdin or stdout carries an object's bytes."""
        return subprocess.run(
            [sys.executable, "-m", "spacesync", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            input=input,
            timeout=120,
        )
