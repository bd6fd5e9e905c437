from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from spacesync.statedir import (
    default_state_dir,
    ensure_private_dir,
    read_private_file,
    write_private_file,
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The most permissive umask: modes must come from the code, not the environment."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_default_state_dir_honours_xdg_state_home() -> None:
    env = {"XDG_STATE_HOME": "/srv/state", "HOME": "/home/u"}
    assert default_state_dir(env) == Path("/srv/state/spacesync")


def test_default_state_dir_falls_back_to_home() -> None:
    assert default_state_dir({"HOME": "/home/u"}) == Path("/home/u/.local/state/spacesync")


def test_default_state_dir_ignores_relative_xdg_state_home() -> None:
    env = {"XDG_STATE_HOME": "relative/state", "HOME": "/home/u"}
    assert default_state_dir(env) == Path("/home/u/.local/state/spacesync")


def test_default_state_dir_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/var/tmp/xdg")
    assert default_state_dir() == Path("/var/tmp/xdg/spacesync")


@pytest.mark.usefixtures("umask_zero")
def test_ensure_private_dir_creates_0700_with_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert ensure_private_dir(target) == target
    assert target.is_dir()
    assert mode_of(target) == 0o700


def test_ensure_private_dir_tightens_looser_existing_dir(tmp_path: Path) -> None:
    target = tmp_path / "state"
    target.mkdir()
    target.chmod(0o755)
    (target / "keep").write_bytes(b"x")
    ensure_private_dir(target)
    assert mode_of(target) == 0o700
    assert (target / "keep").read_bytes() == b"x"


@pytest.mark.usefixtures("umask_zero")
def test_write_private_file_is_0600_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "journal"
    write_private_file(target, b"hello")
    assert mode_of(target) == 0o600
    assert read_private_file(target) == b"hello"


@pytest.mark.usefixtures("umask_zero")
def test_write_private_file_replaces_and_tightens(tmp_path: Path) -> None:
    target = tmp_path / "journal"
    target.write_bytes(b"old contents, longer than the new ones")
    target.chmod(0o644)
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    assert os.listdir(tmp_path) == ["journal"]  # no temp file left behind


def test_failed_write_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "journal"
    write_private_file(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_private_file(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["journal"]


def test_write_private_file_replaces_by_rename(tmp_path: Path) -> None:
    """A reader holding the old file keeps its bytes: the new file is a new inode."""
    target = tmp_path / "journal"
    write_private_file(target, b"first")
    with target.open("rb") as reader:
        write_private_file(target, b"second")
        assert reader.read() == b"first"
    assert target.read_bytes() == b"second"


def test_read_private_file_missing_is_none(tmp_path: Path) -> None:
    assert read_private_file(tmp_path / "absent") is None
