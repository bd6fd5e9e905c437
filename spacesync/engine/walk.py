"""The local side of a transfer: files and directories below a root, in merge order.

One walker serves ``cp -r`` and ``sync``: it streams (one directory's entries in memory at
a time), yields keys in NFC with '/' separators, skips what cannot be transferred with a
reason instead of failing, and never loops on symbolic links.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spacesync.engine.checksum_cache import FileIdentity


def nfc(text: str) -> str:
    """The NFC form. ASCII is its own, and nearly every name is ASCII: checked first."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


@dataclass(frozen=True, slots=True)
class LocalFile:
    key: str  # relative, NFC, '/'-separated
    identity: FileIdentity  # its path is the file's absolute path

    @property
    def path(self) -> Path:
        """Built on demand: most files of a sync are compared, never transferred."""
        return Path(self.identity.path)

    @property
    def size(self) -> int:
        return self.identity.size


@dataclass(frozen=True, slots=True)
class LocalDirectory:
    """A directory's own entry ("d/"), met just before what is in it."""

    key: str
    path: Path
    empty: bool
    size: int = 0


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something not synced, and why: reported, not a failure."""

    subject: str
    reason: str


def walk_keys(
    root: Path, *, follow_symlinks: bool
) -> Iterator[LocalFile | LocalDirectory | Skipped]:
    """Files and directories below ``root`` in merge order (:func:`merge_order`): each
    directory's entries sorted by the UTF-8 bytes of their NFC names, a directory's own
    entry and then its contents where its name sorts."""
    root = Path(os.path.abspath(root))
    st = os.stat(root)
    yield from _walk_directory(
        root, "", follow=follow_symlinks, ancestors=frozenset({(st.st_dev, st.st_ino)})
    )


def _walk_directory(
    directory: Path, prefix: str, *, follow: bool, ancestors: frozenset[tuple[int, int]]
) -> Iterator[LocalFile | LocalDirectory | Skipped]:
    try:
        with os.scandir(directory) as scan:
            entries = list(scan)
    except OSError as error:
        yield Skipped(str(directory), f"cannot be read: {error.strerror or error}")
        return
    if prefix:
        yield LocalDirectory(prefix, directory, empty=not entries)
    ranked: list[tuple[bytes, str, os.stat_result, os.DirEntry[str]]] = []
    for entry in entries:
        found = _classify(entry, follow=follow)
        if isinstance(found, Skipped):
            yield found
            continue
        ranked.append((*found, entry))
    ranked.sort(key=lambda item: item[0])
    previous: tuple[bytes, str] | None = None
    for order, name, st, entry in ranked:
        if previous is not None and previous[0] == order:
            yield Skipped(entry.path, f"same name as {previous[1]} once Unicode-normalised (NFC)")
            continue
        previous = (order, entry.path)
        if not stat.S_ISDIR(st.st_mode):
            # entry.path is absolute and normal (below an absolute root): no abspath per file.
            identity = FileIdentity(
                entry.path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns
            )
            yield LocalFile(prefix + name, identity)
        elif (st.st_dev, st.st_ino) in ancestors:
            yield Skipped(entry.path, "symbolic link loop: not followed")
        else:
            yield from _walk_directory(
                Path(entry.path),
                f"{prefix}{name}/",
                follow=follow,
                ancestors=ancestors | {(st.st_dev, st.st_ino)},
            )


def _classify(
    entry: os.DirEntry[str], *, follow: bool
) -> tuple[bytes, str, os.stat_result] | Skipped:
    """The NFC name's UTF-8 bytes (its merge order), the NFC name and the stat of a regular
    file or directory, or why it is skipped."""
    try:
        raw = entry.name.encode()
    except UnicodeEncodeError:
        return Skipped(entry.path, "name is not valid UTF-8")
    try:
        if entry.is_symlink() and not follow:
            return Skipped(entry.path, "symbolic link (use --follow-symlinks)")
        st = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        return Skipped(entry.path, "broken symbolic link")
    except OSError as error:
        return Skipped(entry.path, f"cannot be read: {error.strerror or error}")
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        return Skipped(entry.path, "not a regular file")
    if entry.name.isascii():
        return raw, entry.name, st
    name = nfc(entry.name)
    return name.encode(), name, st
