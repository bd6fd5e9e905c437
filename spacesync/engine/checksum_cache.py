"""What sync knows about local files without reading them again.

Two tables in one SQLite file in the state directory (0600 in a 0700 directory):

- ``content``: a file's xxh3-128, MD5 and multipart ETag, valid while the file keeps its
  identity (path, size, mtime_ns, inode, ctime_ns). The ctime is part of the identity
  because it cannot be set by users: an in-place edit that restores size and mtime still
  moves it, so such an edit is re-read, never taken for the old content.
- ``synced``: what sync last uploaded or downloaded: the object (bucket, key) with this
  ETag holds the content of the local file with this identity. A later sync that lists
  the same ETag and finds the same identity knows both sides are unchanged from the
  listing alone: no read, no HEAD.

Every method blocks: call them through ``asyncio.to_thread``. One lock serialises them,
so worker threads may share one cache.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import xxhash

from spacesync.protocol.etag import is_plain_md5, multipart_etag, multipart_part_count
from spacesync.statedir import ensure_private_dir

FILE_NAME = "sync-cache.sqlite3"
_CHUNK = 1024 * 1024
#: Records are written in batches: one transaction per this many, and at close.
_FLUSH_EVERY = 500
#: Keys per look-up query (SQLite takes at least 999 parameters everywhere).
_QUERY_KEYS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS content (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER, ctime_ns INTEGER,
    xxh3 TEXT, md5 TEXT, part_size INTEGER, multipart_etag TEXT
);
CREATE TABLE IF NOT EXISTS synced (
    bucket TEXT, key TEXT, etag TEXT,
    path TEXT, size INTEGER, mtime_ns INTEGER, inode INTEGER, ctime_ns INTEGER,
    PRIMARY KEY (bucket, key)
);
"""


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """A local file as the walk saw it; any field changing means its content may have."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int

    @classmethod
    def of(cls, path: str | Path, st: os.stat_result) -> FileIdentity:
        return cls(
            path=os.path.abspath(path),
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            inode=st.st_ino,
            ctime_ns=st.st_ctime_ns,
        )

    def fields(self) -> tuple[str, int, int, int, int]:
        return self.path, self.size, self.mtime_ns, self.inode, self.ctime_ns


@dataclass(frozen=True, slots=True)
class SyncRecord:
    """The object with ``etag`` and the local file with ``identity`` held the same bytes."""

    etag: str
    identity: FileIdentity


@dataclass(frozen=True, slots=True)
class Digests:
    xxh3: str
    md5: str
    part_size: int | None = None
    multipart_etag: str | None = None


def hash_file(path: str, *, part_size: int | None) -> tuple[Digests, os.stat_result]:
    """Read ``path`` once: its xxh3-128, MD5 and, with ``part_size``, the multipart ETag
    S3 gives an upload in parts of that size. Returns the stat taken after reading."""
    whole_md5 = hashlib.md5()
    whole_xxh3 = xxhash.xxh3_128()
    part_md5s: list[bytes] = []
    part = hashlib.md5()
    in_part = 0
    with open(path, "rb") as source:
        while chunk := source.read(_CHUNK):
            whole_md5.update(chunk)
            whole_xxh3.update(chunk)
            view = memoryview(chunk)
            while part_size is not None and view:
                take = view[: part_size - in_part]
                part.update(take)
                in_part += len(take)
                view = view[len(take) :]
                if in_part == part_size:
                    part_md5s.append(part.digest())
                    part, in_part = hashlib.md5(), 0
        st = os.fstat(source.fileno())
    if in_part or (part_size is not None and not part_md5s):
        part_md5s.append(part.digest())
    multipart = multipart_etag(part_md5s) if part_size is not None else None
    digests = Digests(whole_xxh3.hexdigest(), whole_md5.hexdigest(), part_size, multipart)
    return digests, st


class ChecksumCache:
    """The local content cache and the record of what was synced (module docstring)."""

    def __init__(self, database: Path | None) -> None:
        """``database`` None keeps everything in memory (tests, ``--dry-run`` elsewhere)."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if database is None else str(database), check_same_thread=False
        )
        self._db.executescript(_SCHEMA)
        self._pending: dict[tuple[str, str], SyncRecord] = {}
        #: Bytes of file content read to compute digests (a no-op sync reads none).
        self.bytes_read = 0

    @classmethod
    def open(cls, state_dir: Path) -> ChecksumCache:
        """The cache file in ``state_dir``, created 0600 in a 0700 directory."""
        ensure_private_dir(state_dir)
        database = state_dir / FILE_NAME
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(database, 0o600)
        return cls(database)

    # -- what was synced ------------------------------------------------------------------

    def recorded_many(self, bucket: str, keys: Sequence[str]) -> dict[str, SyncRecord]:
        """The records of those of ``keys`` that have one, by key: a query per
        ``_QUERY_KEYS`` keys, not per key (sync asks about every listed object)."""
        found: dict[str, SyncRecord] = {}
        with self._lock:
            for start in range(0, len(keys), _QUERY_KEYS):
                chunk = keys[start : start + _QUERY_KEYS]
                rows = self._db.execute(
                    "SELECT key, etag, path, size, mtime_ns, inode, ctime_ns FROM synced"
                    f" WHERE bucket = ? AND key IN ({','.join('?' * len(chunk))})",
                    (bucket, *chunk),
                )
                for row in rows:
                    found[row[0]] = SyncRecord(row[1], FileIdentity(*row[2:]))
            if self._pending:
                for key in keys:
                    pending = self._pending.get((bucket, key))
                    if pending is not None:
                        found[key] = pending
        return found

    def record(self, bucket: str, key: str, *, etag: str, identity: FileIdentity) -> None:
        """Remember that the object and the file now hold the same bytes."""
        with self._lock:
            self._pending[(bucket, key)] = SyncRecord(etag, identity)
            if len(self._pending) >= _FLUSH_EVERY:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._pending:
            return
        rows = [
            (bucket, key, record.etag, *record.identity.fields())
            for (bucket, key), record in self._pending.items()
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO synced VALUES (?,?,?,?,?,?,?,?)", rows)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()

    # -- content --------------------------------------------------------------------------

    def digests(self, identity: FileIdentity, *, part_size: int | None) -> Digests:
        """The file's digests (with the multipart ETag for ``part_size``), from the cache
        while the identity holds, else read once and cached."""
        with self._lock:
            row = self._db.execute(
                "SELECT xxh3, md5, part_size, multipart_etag FROM content WHERE path = ?"
                " AND size = ? AND mtime_ns = ? AND inode = ? AND ctime_ns = ?",
                identity.fields(),
            ).fetchone()
        if row is not None and (part_size is None or row[2] == part_size):
            return Digests(*row)
        digests, st = hash_file(identity.path, part_size=part_size)
        with self._lock:
            self.bytes_read += st.st_size
            if FileIdentity.of(identity.path, st) == identity:  # not changed while read
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO content VALUES (?,?,?,?,?,?,?,?,?)",
                        (*identity.fields(), *_digest_fields(digests)),
                    )
        return digests

    def matches_etag(
        self, identity: FileIdentity, etag: str, *, part_sizes: Sequence[int]
    ) -> bool | None:
        """Whether the file holds the bytes of an object with ``etag``: its MD5 for a
        plain ETag, the multipart ETag for the first of ``part_sizes`` that gives as many
        parts. None when the ETag cannot be recomputed (unknown form or part size)."""
        parts = multipart_part_count(etag)
        if parts is None:
            if not is_plain_md5(etag):
                return None
            return self.digests(identity, part_size=None).md5 == etag.lower()
        size = max(identity.size, 1)
        fitting = [p for p in part_sizes if p > 0 and -(-size // p) == parts]
        if not fitting:
            return None
        return self.digests(identity, part_size=fitting[0]).multipart_etag == etag.lower()


def _digest_fields(digests: Digests) -> tuple[str, str, int | None, str | None]:
    return digests.xxh3, digests.md5, digests.part_size, digests.multipart_etag
