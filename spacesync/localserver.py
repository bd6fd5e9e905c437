"""An embedded S3 server (SeaweedFS ``weed mini``) for trying spacesync and for its tests.

The server runs detached in its own session so it outlives the command that started it;
everything it writes (data, logs, sockets, keys) lives under one private root directory,
and every port is bound on 127.0.0.1 only. Its state file remembers the pid and the ports,
so ``status``/``stop`` work from any later process and a restart keeps the same endpoint.

SeaweedFS itself still puts its gRPC sockets at ``/tmp/seaweedfs-<svc>-grpc-<port>.sock``
(hard-coded); they are named by our ports, so they never collide, and ``stop`` removes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spacesync.errors import ConfigError
from spacesync.statedir import ensure_private_dir, read_private_file, write_private_file

_HOST = "127.0.0.1"
_INSTALL_HINT = "SeaweedFS is not installed: pip install 'spacesync[local]'"

# Every weed flag that opens a port; the admin gRPC port is not in here because weed's
# maintenance worker ignores -admin.port.grpc and dials admin.port + 10000 (see _ports_for).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
)
_ADMIN_GRPC_OFFSET = 10000
# The services whose gRPC sockets weed puts in /tmp, by the flag holding their port.
_TMP_GRPC_SOCKETS = {
    "master": "master.port.grpc",
    "volume": "volume.port.grpc",
    "filer": "filer.port.grpc",
    "s3": "s3.port.grpc",
    "admin": "admin.port.grpc",
}
# Fixed settings, chosen to behave like a plain S3 store on a developer machine:
_FIXED_FLAGS = (
    f"-ip={_HOST}",
    f"-ip.bind={_HOST}",
    "-master.telemetry=false",  # on by default: would phone home
    "-webdav=false",
    "-admin.ui=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    # Every bucket is a collection with volumes of its own; mini sizes the volume count
    # from free disk (~free GiB), which a test suite creating hundreds of buckets exhausts.
    # Volumes are sparse files, so a high count costs nothing until written.
    "-master.volumeSizeLimitMB=256",
    "-volume.max=1000",
    "-volume.preStopSeconds=0",  # single node: no peers to drain to, so stop at once
    # Real S3 refuses both; tests must see NoSuchBucket / BucketNotEmpty like on Spaces.
    "-s3.autoCreateBucket=false",
    "-s3.allowDeleteBucketNotEmpty=false",
)
# weed mini turns these into an extra identity or bucket; the user's AWS keys must not leak in.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "S3_", "WEED_")
_ADMIN_ACTIONS = ("Admin", "Read", "Write", "List", "Tagging")
_READ_ONLY_ACTIONS = ("Read", "List")
_START_ATTEMPTS = 3
# What weed logs when it loses a port: its own pre-check, or the bind that follows it.
_PORT_TAKEN_MARKERS = ("is not available on", "address already in use")
_PROBE_INTERVAL = 0.05
_LOG_TAIL_LINES = 20

# A direct opener: an http_proxy from the environment must not intercept loopback probes.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Identity:
    """One access key pair of the local server; read-only ones may only Read and List."""

    name: str
    access_key: str
    secret_key: str = field(repr=False)
    read_only: bool = False

    @classmethod
    def generate(cls, name: str, *, read_only: bool = False) -> Identity:
        """Fresh random keys, shaped like AWS ones (20-char key id, 40-char secret)."""
        key_alphabet = string.ascii_uppercase + string.digits
        secret_alphabet = string.ascii_letters + string.digits
        return cls(
            name=name,
            access_key="SS" + "".join(secrets.choice(key_alphabet) for _ in range(18)),
            secret_key="".join(secrets.choice(secret_alphabet) for _ in range(40)),
            read_only=read_only,
        )


@dataclass(frozen=True)
class LocalServerInfo:
    endpoint_url: str
    pid: int
    root: Path
    identities: tuple[Identity, ...]

    @property
    def admin(self) -> Identity:
        """The first identity with write access: the one `env_vars` hands out."""
        return _admin_of(self.identities)


class LocalServer:
    """A ``weed mini`` rooted at ``root``: data, logs, keys and state file all inside it."""

    def __init__(self, root: Path) -> None:
        # Absolute: weed runs with the root as its cwd, and pids are matched by -dir later.
        self.root = root.absolute()
        self._data_dir = self.root / "data"
        self._log_dir = self.root / "logs"
        self._log_file = self._log_dir / "weed.log"
        self._state_file = self.root / "server.json"
        self._identities_file = self.root / "identities.json"
        self._s3_config_file = self.root / "s3.json"
        # The Popen of a server this object started, so stop() can reap it (no zombie).
        self._proc: subprocess.Popen[bytes] | None = None

    def start(
        self, *, identities: Sequence[Identity] | None = None, timeout: float = 60.0
    ) -> LocalServerInfo:
        """Start the server, or return the running one's info (``identities`` then unused).

        Without ``identities`` the keys are generated once and kept in the root, so they stay
        the same across restarts; given ones replace the kept ones.
        """
        running = self.status()
        if running is not None:
            return running
        for path in (self.root, self._data_dir, self._log_dir):
            ensure_private_dir(path)
        chosen = tuple(identities) if identities is not None else self._kept_identities()
        _admin_of(chosen)  # fail before starting anything if nobody could write
        _check_unique_keys(chosen)
        write_private_file(self._identities_file, _identities_json(chosen))
        write_private_file(self._s3_config_file, _weed_s3_config(chosen))

        # Reuse the last ports when free, so a restarted server keeps its endpoint.
        saved = self._read_state()
        ports = saved.ports if saved is not None and _all_free(saved.ports.values()) else None
        deadline = time.monotonic() + timeout
        for _ in range(_START_ATTEMPTS):
            ports = ports or _fresh_ports()
            try:
                pid = self._start_on(ports, deadline=deadline)
            except _PortTaken:
                # Another program took one of the ports between our probe and weed's bind.
                ports = None
                continue
            return self._info(pid, ports=ports, identities=chosen)
        raise self._startup_error("its ports kept being taken by other programs")

    def status(self) -> LocalServerInfo | None:
        """The running server's info, or None (forgetting a dead server's pid)."""
        state = self._read_state()
        if state is None or state.pid is None:
            return None
        if not self._alive(state.pid):
            self._write_state(pid=None, ports=state.ports)
            return None
        return self._info(state.pid, ports=state.ports, identities=self._kept_identities())

    def stop(self, *, timeout: float = 20.0) -> bool:
        """SIGTERM the process group, SIGKILL it after ``timeout``; False if it was not running."""
        state = self._read_state()
        if state is None or state.pid is None:
            return False
        stopped = self._alive(state.pid)
        if stopped:
            self._terminate(state.pid, ports=state.ports, timeout=timeout)
        self._write_state(pid=None, ports=state.ports)
        return stopped

    # -- internals -------------------------------------------------------------------------

    def _start_on(self, ports: Mapping[str, int], *, deadline: float) -> int:
        """Launch weed on ``ports`` and wait until it serves; its pid. Kills it on failure."""
        proc = self._launch(ports)
        self._write_state(pid=proc.pid, ports=ports)
        try:
            self._wait_ready(proc, ports=ports, deadline=deadline)
        except BaseException:
            self._terminate(proc.pid, ports=ports, timeout=5.0)
            self._write_state(pid=None, ports=ports)
            raise
        return proc.pid

    def _launch(self, ports: Mapping[str, int]) -> subprocess.Popen[bytes]:
        args = [
            str(find_weed()),
            f"-logdir={self._log_dir}",
            "mini",
            f"-dir={self._data_dir}",
            *(f"-{flag}={port}" for flag, port in ports.items()),
            *_FIXED_FLAGS,
            f"-s3.config={self._s3_config_file}",
            # Relative to cwd (the root): keeps them inside it and short enough for
            # sun_path (~104 bytes) however deep the root is.
            "-filer.localSocket=filer.sock",
            "-s3.localSocket=s3.sock",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
        with self._log_file.open("wb") as log:
            self._proc = subprocess.Popen(
                args,
                cwd=self.root,  # weed also reads ./security.toml etc.: ours, not the caller's
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own session and process group: outlives the CLI
            )
        return self._proc

    def _wait_ready(
        self, proc: subprocess.Popen[bytes], *, ports: Mapping[str, int], deadline: float
    ) -> None:
        """Wait until S3 answers with S3 XML and the master has a volume server with room.

        weed mini starts S3 once the volume server's HTTP port is up, not once it has
        registered its volume slots with the master (what a first PUT needs). A PUT right
        after S3 answered never failed in our trials, but nothing orders the two, so the
        second check makes it certain at no cost (it only reads, unlike /dir/assign).
        """
        s3_url = f"http://{_HOST}:{ports['s3.port']}/"
        master_url = f"http://{_HOST}:{ports['master.port']}/dir/status"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                if any(marker in self._log_tail() for marker in _PORT_TAKEN_MARKERS):
                    raise _PortTaken
                raise self._startup_error(f"weed exited with status {proc.returncode}")
            if _answers_s3_xml(s3_url) and _has_free_volume_slots(master_url):
                return
            time.sleep(_PROBE_INTERVAL)
        raise self._startup_error("it did not become ready in time")

    def _terminate(self, pid: int, *, ports: Mapping[str, int], timeout: float) -> None:
        """SIGTERM the group, SIGKILL it on timeout, then tidy weed's /tmp sockets."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            end = time.monotonic() + wait
            while self._alive(pid) and time.monotonic() < end:
                time.sleep(_PROBE_INTERVAL)
            if not self._alive(pid):
                break
        for service, flag in _TMP_GRPC_SOCKETS.items():
            with contextlib.suppress(OSError):
                Path(f"/tmp/seaweedfs-{service}-grpc-{ports[flag]}.sock").unlink()

    def _alive(self, pid: int) -> bool:
        """Whether ``pid`` is still our weed (not a dead one, a zombie, or a reused pid)."""
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        if not Path("/proc/self").exists():
            return True  # no procfs (macOS): the signal check is all we have
        try:
            return f"-dir={self._data_dir}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def _info(
        self, pid: int, *, ports: Mapping[str, int], identities: tuple[Identity, ...]
    ) -> LocalServerInfo:
        return LocalServerInfo(
            endpoint_url=f"http://{_HOST}:{ports['s3.port']}",
            pid=pid,
            root=self.root,
            identities=identities,
        )

    def _kept_identities(self) -> tuple[Identity, ...]:
        raw = read_private_file(self._identities_file)
        if raw is None:
            return (Identity.generate("admin"),)
        try:
            return tuple(Identity(**item) for item in json.loads(raw)["identities"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{self._identities_file} is corrupt: {exc}") from exc

    def _read_state(self) -> _State | None:
        raw = read_private_file(self._state_file)
        if raw is None:
            return None
        try:
            state = json.loads(raw)
            pid = state["pid"]
            ports = {flag: int(state["ports"][flag]) for flag in (*_PORT_FLAGS, "admin.port.grpc")}
            return _State(pid=None if pid is None else int(pid), ports=ports)
        except (ValueError, KeyError, TypeError):
            return None  # a state file we cannot read is as good as none: start afresh

    def _write_state(self, *, pid: int | None, ports: Mapping[str, int]) -> None:
        write_private_file(
            self._state_file, json.dumps({"pid": pid, "ports": dict(ports)}).encode()
        )

    def _log_tail(self) -> str:
        raw = read_private_file(self._log_file) or b""
        lines = raw.decode(errors="replace").splitlines()
        return "\n".join(lines[-_LOG_TAIL_LINES:])

    def _startup_error(self, why: str) -> ConfigError:
        return ConfigError(
            f"the local S3 server did not start ({why}); last lines of {self._log_file}:\n"
            f"{self._log_tail()}"
        )


@dataclass(frozen=True)
class _State:
    """What the state file remembers: the running pid (None once stopped) and the ports."""

    pid: int | None
    ports: dict[str, int]


class _PortTaken(Exception):
    """weed lost a race for one of the ports we picked."""


def find_weed() -> Path:
    """The ``weed`` binary: the one installed beside this Python (venv), else on PATH."""
    name = "weed.exe" if os.name == "nt" else "weed"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("weed")
    if on_path is None:
        raise ConfigError(_INSTALL_HINT)
    return Path(on_path)


def env_vars(info: LocalServerInfo) -> dict[str, str]:
    """The environment pointing spacesync at the server as its admin."""
    admin = info.admin
    return {
        "SPACES_ENDPOINT": info.endpoint_url,
        "SPACES_KEY": admin.access_key,
        "SPACES_SECRET": admin.secret_key,
    }


def _admin_of(identities: Sequence[Identity]) -> Identity:
    for identity in identities:
        if not identity.read_only:
            return identity
    raise ConfigError("the local S3 server needs at least one identity that is not read-only")


def _check_unique_keys(identities: Sequence[Identity]) -> None:
    keys = [identity.access_key for identity in identities]
    if len(set(keys)) != len(keys):
        raise ConfigError("the local S3 server's identities must have distinct access keys")


def _identities_json(identities: Sequence[Identity]) -> bytes:
    return json.dumps(
        {
            "identities": [
                {
                    "name": i.name,
                    "access_key": i.access_key,
                    "secret_key": i.secret_key,
                    "read_only": i.read_only,
                }
                for i in identities
            ]
        },
        indent=2,
    ).encode()


def _weed_s3_config(identities: Sequence[Identity]) -> bytes:
    """The identities in weed's ``-s3.config`` format."""
    return json.dumps(
        {
            "identities": [
                {
                    "name": i.name,
                    "credentials": [{"accessKey": i.access_key, "secretKey": i.secret_key}],
                    "actions": list(_READ_ONLY_ACTIONS if i.read_only else _ADMIN_ACTIONS),
                }
                for i in identities
            ]
        }
    ).encode()


def _fresh_ports() -> dict[str, int]:
    """Distinct free loopback ports for every flag, plus the admin gRPC port weed expects."""
    ports: dict[str, int] = {}
    sockets: list[socket.socket] = []
    try:
        # Hold every socket open until all are picked, so the OS hands out distinct ports.
        for flag in _PORT_FLAGS:
            if flag == "admin.port":
                continue
            sock = socket.socket()
            sockets.append(sock)
            sock.bind((_HOST, 0))
            ports[flag] = sock.getsockname()[1]
    finally:
        for sock in sockets:
            sock.close()
    taken = set(ports.values())
    ports["admin.port"] = _free_admin_port(taken)
    ports["admin.port.grpc"] = ports["admin.port"] + _ADMIN_GRPC_OFFSET
    return ports


def _free_admin_port(taken: set[int]) -> int:
    """A free port P with P + 10000 free too: weed's worker dials the admin at P + 10000."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 65535 - _ADMIN_GRPC_OFFSET)
        pair = (port, port + _ADMIN_GRPC_OFFSET)
        if not taken.intersection(pair) and _all_free(pair):
            return port
    raise ConfigError("no free pair of loopback ports for the local S3 server's admin service")


def _all_free(ports: Iterable[int]) -> bool:
    """Whether weed could bind all ``ports`` now (it sets SO_REUSEADDR, so TIME_WAIT is fine)."""
    for port in ports:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((_HOST, port))
            except OSError:
                return False
    return True


def _answers_s3_xml(url: str) -> bool:
    """Whether ``url`` answers at all with an S3 XML document (an error reply counts)."""
    try:
        with _OPENER.open(url, timeout=2.0) as reply:
            body: bytes = reply.read(512)
    except urllib.error.HTTPError as exc:
        body = exc.read(512)
    except OSError:
        return False
    return body.lstrip().startswith(b"<?xml")


def _has_free_volume_slots(url: str) -> bool:
    """Whether the master knows a volume server with room for new volumes."""
    try:
        with _OPENER.open(url, timeout=2.0) as reply:
            topology = json.loads(reply.read())["Topology"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(topology.get("Free", 0) > 0 and topology.get("DataCenters"))
