"""Resumable transfer journals: what a multi-part transfer has done, durable across crashes.

A journal is a JSON-lines file in the state directory. Line 1 is the header (what is being
transferred, from what, with which part size); then one line per completed part, appended,
so recording costs O(1) per part and never rewrites the file. fsyncs are batched (at most
every :data:`SYNC_EVERY_PARTS` parts or :data:`SYNC_EVERY_SECONDS`), since losing the tail
of a journal only costs re-sending or re-fetching those parts:

- an upload part is on the server when it is recorded: its line is appended at once (a
  killed process loses nothing) and the journal fsync'd in batches;
- a download part is in a local temp file: its line is held in memory until :meth:`sync`
  has made the data durable first (``fdatasync`` of the temp file, then append and fsync
  of the journal), so no power loss can leave a journal vouching for bytes not on disk.
  A killed process loses the held lines (at most a batch): those parts are fetched again.

An upload journal is written *before* CreateMultipartUpload, as an intent with no upload id,
and given the id once the server replied: a process killed in between leaves the intent,
which tells the next run to look for (and abort) an upload the server may have made.

A crash mid-append leaves at most a torn last line: loading ignores it and the next
append cuts it off. Any other damage (bad JSON, missing fields, unknown version) makes the
journal unreadable: it is treated as absent, since resuming from a guess could corrupt the
destination, and left on disk for :meth:`JournalStore.clean`.

Journals hold paths, bucket and key names, ETags and hashes, never credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, TypedDict, TypeVar

from spacesync.statedir import ensure_private_dir, write_private_file

#: Seconds. Spaces deletes unfinished multipart uploads after 30 days; keep a day of margin.
JOURNAL_MAX_AGE: float = 29 * 24 * 3600

#: A journal is fsync'd once this many parts were recorded since its last sync …
SYNC_EVERY_PARTS = 16
#: … or when a part is recorded this many seconds after it (callers may sync on a timer).
#: Short enough that a killed download loses well under a second of parts.
SYNC_EVERY_SECONDS = 0.2

_VERSION = 1
_SUFFIX = ".journal"

Kind = Literal["upload", "download"]
_T = TypeVar("_T")


def _absolute(path: Path | str) -> str:
    """One spelling per local path, so a relative and an absolute path find the same journal."""
    return os.path.abspath(path)


@dataclass(frozen=True, slots=True)
class LocalIdentity:
    """The local file an upload reads; if any field changes, recorded parts are worthless."""

    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> LocalIdentity:
        absolute = _absolute(path)
        st = os.stat(absolute)
        return cls(path=absolute, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


@dataclass(frozen=True, slots=True)
class RemoteIdentity:
    """The object a download reads; the ETag pins the version the parts came from."""

    bucket: str
    key: str
    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class JournalPart:
    """One completed part; ``xxh3`` (xxh3_128 hex) lets a resume check the bytes still match."""

    number: int
    offset: int
    size: int
    etag: str | None
    xxh3: str


@dataclass(frozen=True, slots=True)
class JournalSummary:
    """One journal as ``spacesync journals`` lists it."""

    path: Path
    kind: Kind
    local_path: str
    bucket: str
    key: str
    parts_done: int
    created: float
    upload_id: str | None


class _Unreadable(Exception):
    """The journal is damaged beyond a torn last line."""


class _Identity(TypedDict):
    """What names a journal: one transfer per (kind, local path, bucket, key)."""

    kind: Kind
    local_path: str
    bucket: str
    key: str


def _upload_identity(*, local_path: Path | str, bucket: str, key: str) -> _Identity:
    return _Identity(kind="upload", local_path=_absolute(local_path), bucket=bucket, key=key)


def _download_identity(*, destination: Path | str, bucket: str, key: str) -> _Identity:
    return _Identity(kind="download", local_path=_absolute(destination), bucket=bucket, key=key)


def _file_name(identity: _Identity) -> str:
    canonical = json.dumps(
        [identity["kind"], identity["local_path"], identity["bucket"], identity["key"]]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32] + _SUFFIX


def _json_line(value: dict[str, Any]) -> bytes:
    # ensure_ascii (the default) keeps undecodable paths (lone surrogates) round-trippable.
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def _get(obj: object, name: str, kind: type[_T]) -> _T:
    """``obj[name]`` if ``obj`` is an object and the value has exactly the expected type."""
    if not isinstance(obj, dict):
        raise _Unreadable(f"expected an object holding {name!r}")
    value = obj.get(name)
    # bool is an int to isinstance, but never a valid size or number here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Unreadable(f"bad or missing {name!r}")
    return value


def _get_number(obj: object, name: str) -> float:
    """A timestamp; JSON may give a whole one back as an int."""
    value = obj.get(name) if isinstance(obj, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unreadable(f"bad or missing {name!r}")
    return float(value)


def _get_natural(obj: object, name: str, *, minimum: int = 0) -> int:
    value = _get(obj, name, int)
    if value < minimum:
        raise _Unreadable(f"{name!r} below {minimum}")
    return value


def _optional_str(obj: dict[str, Any], name: str) -> str | None:
    """A string or an explicit null; a missing field is damage, not a null."""
    if name not in obj:
        raise _Unreadable(f"missing {name!r}")
    value = obj[name]
    if value is not None and not isinstance(value, str):
        raise _Unreadable(f"bad {name!r}")
    return value


def _part_to_json(part: JournalPart) -> dict[str, Any]:
    return {
        "n": part.number,
        "offset": part.offset,
        "size": part.size,
        "etag": part.etag,
        "xxh3": part.xxh3,
    }


def _part_from_json(obj: object) -> JournalPart:
    if not isinstance(obj, dict):
        raise _Unreadable("expected a part object")
    etag = _optional_str(obj, "etag")
    return JournalPart(
        number=_get_natural(obj, "n", minimum=1),
        offset=_get_natural(obj, "offset"),
        size=_get_natural(obj, "size"),
        etag=etag,
        xxh3=_get(obj, "xxh3", str),
    )


@dataclass(frozen=True, slots=True)
class _Contents:
    """A journal file parsed, but not yet interpreted as an upload or a download."""

    header: dict[str, Any]
    parts: dict[int, JournalPart]
    torn_at: int | None  # where the whole lines end, if a torn last line follows


def _read(path: Path) -> _Contents:
    """Parse a journal file; raises FileNotFoundError or :class:`_Unreadable`."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    lines = data[:end].split(b"\n")[:-1]
    if not lines:
        raise _Unreadable("no complete header line")
    try:
        # Decode explicitly: json.loads would guess UTF-16/32 from the first bytes.
        header = json.loads(lines[0].decode())
        records = [json.loads(line.decode()) for line in lines[1:]]
    except ValueError as exc:  # also covers UnicodeDecodeError
        raise _Unreadable(str(exc)) from exc
    if _get(header, "version", int) != _VERSION:
        raise _Unreadable("unknown version")
    parts: dict[int, JournalPart] = {}
    for record in records:
        part = _part_from_json(record)
        parts[part.number] = part  # a part recorded twice (re-sent): the last one counts
    return _Contents(header=header, parts=parts, torn_at=end if end < len(data) else None)


class _Common(TypedDict):
    """The constructor arguments every journal kind reads the same way from its file."""

    path: Path
    part_size: int
    created: float
    parts: dict[int, JournalPart]
    _torn_at: int | None


def _common(path: Path, contents: _Contents) -> _Common:
    return _Common(
        path=path,
        part_size=_get_natural(contents.header, "part_size", minimum=1),
        created=_get_number(contents.header, "created"),
        parts=contents.parts,
        _torn_at=contents.torn_at,
    )


@dataclass(eq=False, kw_only=True)
class _Journal(ABC):
    """The file format and the appending that upload and download journals share."""

    kind: ClassVar[Kind]

    path: Path
    part_size: int
    created: float
    parts: dict[int, JournalPart] = field(default_factory=dict)
    _torn_at: int | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    #: Held by the one :meth:`sync` running; taken before ``_lock``, never after.
    _sync_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    #: Lines of download parts whose data is not known to be durable yet.
    _held: list[bytes] = field(default_factory=list, init=False, repr=False)
    #: Lines appended since the last fsync.
    _unsynced: int = field(default=0, init=False, repr=False)
    _last_sync: float = field(default_factory=time.monotonic, init=False, repr=False)
    _discarded: bool = field(default=False, init=False, repr=False)

    def record(self, part: JournalPart, *, data_sync: Callable[[], None] | None = None) -> None:
        """Journal a completed part; blocking, and safe to call from several threads at once.

        Without ``data_sync`` (the part's bytes are safe elsewhere, e.g. on the server) the
        line is appended now and fsync'd with its batch. With it (the bytes are in a local
        file) the line waits for a :meth:`sync` that calls ``data_sync`` first; a full or
        old batch syncs here, unless another thread is already syncing."""
        line = _json_line(_part_to_json(part))
        with self._lock:
            self.parts[part.number] = part
            if data_sync is None:
                self._append([line])
            else:
                self._held.append(line)
            due = self._sync_due()
        if due and self._sync_lock.acquire(blocking=False):
            try:
                self._sync_locked(data_sync)
            finally:
                self._sync_lock.release()

    def sync(self, data_sync: Callable[[], None] | None = None) -> None:
        """Make every part recorded so far durable: ``data_sync()`` (the bytes of the parts
        held), then append their lines, then fsync the journal. Blocking."""
        with self._sync_lock:
            self._sync_locked(data_sync)

    def _sync_due(self) -> bool:
        pending = len(self._held) + self._unsynced
        return pending >= SYNC_EVERY_PARTS or (
            pending > 0 and time.monotonic() - self._last_sync >= SYNC_EVERY_SECONDS
        )

    def _sync_locked(self, data_sync: Callable[[], None] | None) -> None:
        with self._lock:
            held, self._held = self._held, []
        if held and data_sync is not None:
            data_sync()  # the data first: a line on disk must never vouch for bytes that are not
        with self._lock:
            if self._discarded:
                return
            if held:
                self._append(held)
            if self._unsynced:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._unsynced = 0
            self._last_sync = time.monotonic()

    def _append(self, lines: list[bytes]) -> None:
        """Write ``lines`` at the end (cutting a torn last line off first), no fsync; the
        caller holds ``_lock``."""
        # No O_CREAT: if `clean` removed the journal meanwhile, fail rather than
        # recreate a headerless file.
        with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND), "ab") as file:
            if self._torn_at is not None:
                file.truncate(self._torn_at)
                self._torn_at = None
            file.write(b"".join(lines))
        self._unsynced += len(lines)

    def discard(self) -> None:
        """Forget the transfer (it finished, or its parts became useless)."""
        with self._lock:
            self._discarded = True
            self._held.clear()
            self._unsynced = 0
        self.path.unlink(missing_ok=True)

    @abstractmethod
    def _identity(self) -> _Identity:
        """The transfer this journal is about; it names the journal's file."""

    @abstractmethod
    def _specific_header(self) -> dict[str, Any]:
        """The header fields only this kind of journal has."""

    def _header_line(self) -> bytes:
        return _json_line(
            {
                "version": _VERSION,
                "kind": self.kind,
                "created": self.created,
                "part_size": self.part_size,
                **self._specific_header(),
            }
        )

    def summary(self) -> JournalSummary:
        identity = self._identity()
        return JournalSummary(
            path=self.path,
            kind=self.kind,
            local_path=identity["local_path"],
            bucket=identity["bucket"],
            key=identity["key"],
            parts_done=len(self.parts),
            created=self.created,
            upload_id=None,
        )


@dataclass(eq=False, kw_only=True)
class UploadJournal(_Journal):
    """A multipart upload of ``local`` to ``bucket``/``key`` under ``upload_id``; without
    one, an intent: an upload may exist on the server that no reply told us of."""

    kind: ClassVar[Kind] = "upload"

    local: LocalIdentity
    bucket: str
    key: str
    upload_id: str | None

    def begin(self, upload_id: str) -> None:
        """Record the id CreateMultipartUpload returned; the header is replaced atomically,
        so a crash leaves the intent or the journal, whole. Blocking."""
        if self.parts:
            raise ValueError("an upload id is recorded before any part")
        self.upload_id = upload_id
        write_private_file(self.path, self._header_line())

    def is_stale(self, now: float) -> bool:
        """Spaces may already have deleted the upload's parts: start over."""
        return now - self.created > JOURNAL_MAX_AGE

    def _identity(self) -> _Identity:
        return _upload_identity(local_path=self.local.path, bucket=self.bucket, key=self.key)

    def summary(self) -> JournalSummary:
        return replace(super().summary(), upload_id=self.upload_id)

    def _specific_header(self) -> dict[str, Any]:
        return {
            "local": {
                "path": self.local.path,
                "size": self.local.size,
                "mtime_ns": self.local.mtime_ns,
                "inode": self.local.inode,
            },
            "bucket": self.bucket,
            "key": self.key,
            "upload_id": self.upload_id,
        }

    @classmethod
    def _from_contents(cls, path: Path, contents: _Contents) -> UploadJournal:
        header = contents.header
        local = _get(header, "local", dict)
        return cls(
            **_common(path, contents),
            local=LocalIdentity(
                path=_get(local, "path", str),
                size=_get_natural(local, "size"),
                mtime_ns=_get(local, "mtime_ns", int),
                inode=_get_natural(local, "inode"),
            ),
            bucket=_get(header, "bucket", str),
            key=_get(header, "key", str),
            upload_id=_optional_str(header, "upload_id"),
        )


@dataclass(eq=False, kw_only=True)
class DownloadJournal(_Journal):
    """A ranged download of ``remote`` into ``temp_path``, renamed to ``destination`` at the end."""

    kind: ClassVar[Kind] = "download"

    remote: RemoteIdentity
    destination: str
    temp_path: str

    def _identity(self) -> _Identity:
        return _download_identity(
            destination=self.destination, bucket=self.remote.bucket, key=self.remote.key
        )

    def _specific_header(self) -> dict[str, Any]:
        return {
            "remote": {
                "bucket": self.remote.bucket,
                "key": self.remote.key,
                "etag": self.remote.etag,
                "size": self.remote.size,
            },
            "destination": self.destination,
            "temp_path": self.temp_path,
        }

    @classmethod
    def _from_contents(cls, path: Path, contents: _Contents) -> DownloadJournal:
        header = contents.header
        remote = _get(header, "remote", dict)
        return cls(
            **_common(path, contents),
            remote=RemoteIdentity(
                bucket=_get(remote, "bucket", str),
                key=_get(remote, "key", str),
                etag=_get(remote, "etag", str),
                size=_get_natural(remote, "size"),
            ),
            destination=_get(header, "destination", str),
            temp_path=_get(header, "temp_path", str),
        )


_KINDS: dict[str, type[UploadJournal] | type[DownloadJournal]] = {
    "upload": UploadJournal,
    "download": DownloadJournal,
}


class JournalStore:
    """The journals of one state directory, one file per transfer identity.

    ``find_*`` only check that a journal exists and names the same transfer; comparing its
    recorded identity (local file, ETag) and staleness with the present is the engine's job.
    Two processes resuming the same transfer at once is not guarded against.
    """

    def __init__(self, root: Path) -> None:
        self.root = root  # created 0700 on first write, so read-only commands leave no trace

    def start_upload(
        self,
        *,
        local: LocalIdentity,
        bucket: str,
        key: str,
        part_size: int,
        upload_id: str | None,
        now: float,
    ) -> UploadJournal:
        """Begin journaling a new upload, replacing any journal of the same transfer; with no
        ``upload_id`` yet, an intent (see :meth:`UploadJournal.begin`)."""
        journal = UploadJournal(
            path=self._path(_upload_identity(local_path=local.path, bucket=bucket, key=key)),
            part_size=part_size,
            created=now,
            local=local,
            bucket=bucket,
            key=key,
            upload_id=upload_id,
        )
        self._create(journal)
        return journal

    def find_upload(self, *, local_path: Path, bucket: str, key: str) -> UploadJournal | None:
        """The readable journal of this upload, or None."""
        journal = self._find(_upload_identity(local_path=local_path, bucket=bucket, key=key))
        return journal if isinstance(journal, UploadJournal) else None

    def start_download(
        self,
        *,
        remote: RemoteIdentity,
        destination: Path,
        temp_path: Path,
        part_size: int,
        now: float,
    ) -> DownloadJournal:
        """Begin journaling a new download, replacing any journal of the same transfer."""
        identity = _download_identity(destination=destination, bucket=remote.bucket, key=remote.key)
        journal = DownloadJournal(
            path=self._path(identity),
            part_size=part_size,
            created=now,
            remote=remote,
            destination=identity["local_path"],
            temp_path=_absolute(temp_path),
        )
        self._create(journal)
        return journal

    def find_download(self, *, destination: Path, bucket: str, key: str) -> DownloadJournal | None:
        """The readable journal of this download, or None."""
        journal = self._find(_download_identity(destination=destination, bucket=bucket, key=key))
        return journal if isinstance(journal, DownloadJournal) else None

    def summaries(self) -> list[JournalSummary]:
        """Every readable journal, oldest first; unreadable ones are skipped (see :meth:`clean`)."""
        summaries = [journal.summary() for _, journal in self._scan() if journal is not None]
        return sorted(summaries, key=lambda summary: (summary.created, summary.path))

    def clean(self, *, older_than: float | None = None, now: float) -> list[JournalSummary]:
        """Remove every journal (or those older than ``older_than`` seconds); return them.

        A download journal's temp file goes too. Unreadable journals are removed by the same
        rule, aged by their file's mtime, but cannot be summarized, so are not returned.
        """
        removed: list[JournalSummary] = []
        for path, journal in self._scan():
            if journal is None:
                with contextlib.suppress(FileNotFoundError):
                    if older_than is None or now - path.stat().st_mtime > older_than:
                        path.unlink()
                continue
            if older_than is not None and now - journal.created <= older_than:
                continue
            if isinstance(journal, DownloadJournal):
                Path(journal.temp_path).unlink(missing_ok=True)
            journal.discard()
            removed.append(journal.summary())
        return removed

    def _path(self, identity: _Identity) -> Path:
        return self.root / _file_name(identity)

    def _create(self, journal: _Journal) -> None:
        """Write the header-only file, atomically replacing an older journal of the transfer."""
        ensure_private_dir(self.root)
        write_private_file(journal.path, journal._header_line())

    def _find(self, identity: _Identity) -> UploadJournal | DownloadJournal | None:
        journal = self._load(self._path(identity))
        # Also guards against a (128-bit) hash collision naming another transfer.
        return journal if journal is not None and journal._identity() == identity else None

    def _scan(self) -> list[tuple[Path, UploadJournal | DownloadJournal | None]]:
        """Every journal file with what it holds (None: unreadable)."""
        return [(path, self._load(path)) for path in sorted(self.root.glob(f"*{_SUFFIX}"))]

    @staticmethod
    def _load(path: Path) -> UploadJournal | DownloadJournal | None:
        try:
            contents = _read(path)
            cls = _KINDS.get(_get(contents.header, "kind", str))
            return None if cls is None else cls._from_contents(path, contents)
        except (FileNotFoundError, _Unreadable):
            return None
