"""The state directory: journals, caches and local-server state, private by construction.

Everything here may hold credentials or paths the user considers private, so directories
are created 0700 and files 0600 whatever the umask, and files are replaced atomically so a
crash never leaves a half-written journal or key file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

_DIR_MODE = 0o700
_FILE_MODE = 0o600


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/spacesync``, else ``~/.local/state/spacesync`` (XDG base-dir spec)."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_STATE_HOME", "")
    # The spec says relative values are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "spacesync"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "state" / "spacesync"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700, tightening an existing looser one."""
    path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask and ignored for an existing directory.
    if stat.S_IMODE(path.stat().st_mode) != _DIR_MODE:
        path.chmod(_DIR_MODE)
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old or the new file, whole."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp already creates 0600, but be explicit: this is the file's final mode.
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def read_private_file(path: Path) -> bytes | None:
    """The file's bytes, or None if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory for this."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
