"""The workloads: deterministic data, untimed setup, the timed operation, verification.

Every run gets fresh state: uploads go to a bucket of their own (created and warmed with
one tiny object before the run, emptied and dropped after it, which frees SeaweedFS's
volumes), downloads to an empty directory. Verification is never timed and fails the run
if a tool did less than asked (a byte differs, a key is missing, a key survived a delete,
a "no change" sync rewrote objects, a changed file was not sent).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import xxhash

from benchmarks.s3admin import S3Admin
from benchmarks.tools import Op, Tool

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: Bumped whenever the generated data would change, so old scratch data is not reused.
DATA_VERSION = 1
SEED = 20260521
#: Generated trees get an mtime this far in the past, so no tool sees them as newer than
#: the objects it uploaded (S3 LastModified has one-second resolution).
OLD_MTIME_AGE = 3600
WARM_KEY = "zz-warm/object"


@dataclass(frozen=True)
class Sizes:
    big: int
    small_count: int
    small_size: int
    mixed_count: int
    mixed_min: int
    mixed_max: int
    delete_count: int
    sync_count: int
    sync_changed: float

    @classmethod
    def full(cls) -> Sizes:
        return cls(GiB, 2000, 16 * KiB, 200, KiB, 64 * MiB, 10_000, 10_000, 0.01)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(64 * MiB, 200, 16 * KiB, 20, KiB, 16 * MiB, 1000, 1000, 0.01)


class Context:
    """Shared state of one benchmark invocation."""

    def __init__(self, *, scratch: Path, sizes: Sizes, admin: S3Admin, log) -> None:  # type: ignore[no-untyped-def]
        self.scratch = scratch
        self.sizes = sizes
        self.admin = admin
        self.data = scratch / "data"
        self.out = scratch / "out"
        self.log = log
        self.mutations = 0
        self.seeder: Tool  # a spacesync Tool, set by the runner, seeds download sources


# -- deterministic data ----------------------------------------------------------------


def _bytes_for(name: str, size: int, generation: int = 0) -> bytes:
    return random.Random(f"{SEED}:{name}:{generation}").randbytes(size)


def _write_big(path: Path, size: int) -> None:
    rng = random.Random(f"{SEED}:big:{size}")
    with open(path, "wb") as out:
        left = size
        while left:
            piece = min(left, 8 * MiB)
            out.write(rng.randbytes(piece))
            left -= piece


def _tree_sizes(kind: str, sizes: Sizes) -> dict[str, int]:
    """Relative path → size of each file of a generated tree."""
    if kind == "small":
        return {f"d{i % 10}/s{i:05d}.bin": sizes.small_size for i in range(sizes.small_count)}
    if kind == "mixed":
        rng = random.Random(f"{SEED}:mixed-sizes")
        lo, hi = math.log(sizes.mixed_min), math.log(sizes.mixed_max)
        out = {}
        for i in range(sizes.mixed_count):
            # Log-uniform between the bounds, with both bounds present.
            if i == 0:
                size = sizes.mixed_min
            elif i == 1:
                size = sizes.mixed_max
            else:
                size = int(math.exp(rng.uniform(lo, hi)))
            out[f"m{i % 4}/m{i:04d}.bin"] = size
        return out
    if kind in ("sync-same", "sync-changed"):
        rng = random.Random(f"{SEED}:sync-sizes")
        return {
            f"d{i % 100:02d}/f{i:05d}.bin": rng.randint(KiB, 16 * KiB)
            for i in range(sizes.sync_count)
        }
    raise ValueError(kind)


def ensure_data(ctx: Context, kinds: set[str]) -> None:
    """Generate (or reuse) the local data the selected workloads need."""
    sizes = ctx.sizes
    ctx.data.mkdir(parents=True, exist_ok=True)
    old = time.time() - OLD_MTIME_AGE
    if "big" in kinds:
        path = ctx.data / f"big-{sizes.big}.bin"
        stamp = path.with_suffix(".ok")
        if not stamp.exists() or path.stat().st_size != sizes.big:
            ctx.log(f"generating {path.name} ({sizes.big // MiB} MiB)")
            _write_big(path, sizes.big)
            stamp.write_text(file_hash(path))
    for kind in ("small", "mixed", "sync-same", "sync-changed"):
        if kind not in kinds:
            continue
        root = tree_root(ctx, kind)
        manifest = root.with_suffix(".json")
        files = _tree_sizes(kind, sizes)
        want = {"version": DATA_VERSION, "files": len(files), "bytes": sum(files.values())}
        if manifest.exists() and json.loads(manifest.read_text()) == want:
            if kind == "sync-changed":
                _restore_changed(ctx, root, files, old)
            continue
        ctx.log(f"generating {kind} tree ({len(files)} files, {want['bytes'] / MiB:.1f} MiB)")
        shutil.rmtree(root, ignore_errors=True)
        for rel, size in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_bytes_for(f"{kind}/{rel}", size))
            os.utime(path, (old, old))
        manifest.write_text(json.dumps(want))


def _changed_names(files: dict[str, int], fraction: float) -> list[str]:
    names = sorted(files)
    step = max(1, round(1 / fraction))
    return names[::step]


def _restore_changed(ctx: Context, root: Path, files: dict[str, int], old: float) -> None:
    """Put back the original content of the files an earlier run mutated."""
    for rel in _changed_names(files, ctx.sizes.sync_changed):
        path = root / rel
        if path.stat().st_size != files[rel]:
            path.write_bytes(_bytes_for(f"sync-changed/{rel}", files[rel]))
            os.utime(path, (old, old))


def tree_root(ctx: Context, kind: str) -> Path:
    files = _tree_sizes(kind, ctx.sizes)
    return ctx.data / f"{kind}-{len(files)}-{max(files.values())}"


def file_hash(path: Path) -> str:
    hasher = xxhash.xxh3_128()
    with open(path, "rb") as source:
        while chunk := source.read(8 * MiB):
            hasher.update(chunk)
    return hasher.hexdigest()


def walk(root: Path) -> Iterator[tuple[str, Path]]:
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            yield path.relative_to(root).as_posix(), path


class VerifyError(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise VerifyError(message)


# -- workloads -------------------------------------------------------------------------


class Workload:
    name: ClassVar[str]
    title: ClassVar[str]
    kind: ClassVar[str]  # the Op kind
    data: ClassVar[str]  # which generated data it uses

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def bucket(self, tool: Tool, rnd: int) -> str:
        return f"b-{self.name}-{tool.name}-r{rnd}"

    def volume(self) -> dict[str, int]:
        raise NotImplementedError

    def prepare(self, tools: list[Tool]) -> None:
        """Once, before the first round (untimed)."""

    def prime(self, tool: Tool, run_untimed) -> None:  # type: ignore[no-untyped-def]
        """Once per tool, before the first round (untimed)."""

    def before(self, tool: Tool, rnd: int) -> Op:
        raise NotImplementedError

    def verify(self, tool: Tool, op: Op) -> None:
        raise NotImplementedError

    def after(self, tool: Tool, op: Op) -> None:
        if op.kind.startswith("get"):
            shutil.rmtree(self.ctx.out / tool.name, ignore_errors=True)
        else:
            self.ctx.admin.drop_bucket(op.bucket)

    def finish(self, tools: list[Tool]) -> None:
        """Once, after the last round."""

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "op": self.kind, **self.volume()}

    # helpers
    def fresh_bucket(self, bucket: str) -> None:
        self.ctx.admin.drop_bucket(bucket)
        self.ctx.admin.make_bucket(bucket)
        # The first write to a new bucket makes SeaweedFS grow volumes: not in the timing.
        self.ctx.admin.put_many(bucket, [(WARM_KEY, b"warm")])

    def fresh_dir(self, tool: Tool) -> Path:
        path = self.ctx.out / tool.name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


class UploadBig(Workload):
    name = "upload-1file"
    title = "1 big file up"
    kind = "put-file"
    data = "big"

    def path(self) -> Path:
        return self.ctx.data / f"big-{self.ctx.sizes.big}.bin"

    def volume(self) -> dict[str, int]:
        return {"files": 1, "bytes": self.ctx.sizes.big}

    def before(self, tool: Tool, rnd: int) -> Op:
        bucket = self.bucket(tool, rnd)
        self.fresh_bucket(bucket)
        return Op(self.kind, bucket, "up/big.bin", self.path())

    def verify(self, tool: Tool, op: Op) -> None:
        listed = self.ctx.admin.listing(op.bucket, "up/")
        check(len(listed) == 1, f"expected 1 object under up/, found {len(listed)}")
        check(listed[0].key == op.key, f"uploaded as {listed[0].key!r}, not {op.key!r}")
        check(listed[0].size == self.ctx.sizes.big, f"object has {listed[0].size} bytes")


class DownloadBig(UploadBig):
    name = "download-1file"
    title = "1 big file down"
    kind = "get-file"
    source_bucket = "src-download-1file"

    def prepare(self, tools: list[Tool]) -> None:
        admin = self.ctx.admin
        admin.make_bucket(self.source_bucket)
        listed = admin.listing(self.source_bucket, "src/")
        if not listed or listed[0].size != self.ctx.sizes.big:
            admin.delete_prefix(self.source_bucket)
            upload_with_spacesync(self.ctx, self.path(), self.source_bucket, "src/big.bin")
        self.expected = (self.path().with_suffix(".ok")).read_text()

    def before(self, tool: Tool, rnd: int) -> Op:
        return Op(self.kind, self.source_bucket, "src/big.bin", self.fresh_dir(tool) / "big.bin")

    def verify(self, tool: Tool, op: Op) -> None:
        assert op.local is not None
        names = sorted(p.name for p in op.local.parent.iterdir())
        check(names == ["big.bin"], f"download dir holds {names}")
        check(file_hash(op.local) == self.expected, "downloaded bytes differ from the source")

    def finish(self, tools: list[Tool]) -> None:
        pass  # the source object is kept for the next invocation


class UploadTree(Workload):
    name = "upload-small"
    title = "small files up"
    kind = "put-tree"
    data = "small"

    def root(self) -> Path:
        return tree_root(self.ctx, self.data)

    def files(self) -> dict[str, int]:
        return _tree_sizes(self.data, self.ctx.sizes)

    def volume(self) -> dict[str, int]:
        files = self.files()
        return {"files": len(files), "bytes": sum(files.values())}

    def before(self, tool: Tool, rnd: int) -> Op:
        bucket = self.bucket(tool, rnd)
        self.fresh_bucket(bucket)
        return Op(self.kind, bucket, "up/", self.root())

    def verify(self, tool: Tool, op: Op) -> None:
        listed = {o.key: o.size for o in self.ctx.admin.listing(op.bucket, "up/")}
        want = {f"up/{rel}": size for rel, size in self.files().items()}
        check(len(listed) == len(want), f"{len(listed)} objects listed, {len(want)} expected")
        check(listed == want, "listed keys/sizes differ from the local tree")


class UploadMixed(UploadTree):
    name = "upload-mixed"
    title = "mixed files up"
    data = "mixed"


class DownloadTree(UploadTree):
    name = "download-small"
    title = "small files down"
    kind = "get-tree"
    source_bucket = "src-download-small"

    def prepare(self, tools: list[Tool]) -> None:
        admin = self.ctx.admin
        admin.make_bucket(self.source_bucket)
        files = self.files()
        listed = {o.key: o.size for o in admin.listing(self.source_bucket, "src/")}
        if listed != {f"src/{rel}": size for rel, size in files.items()}:
            admin.delete_prefix(self.source_bucket)
            admin.put_many(
                self.source_bucket,
                ((f"src/{rel}", (self.root() / rel).read_bytes()) for rel in files),
            )
        self.expected = {rel: hashlib.md5(p.read_bytes()).hexdigest() for rel, p in
                         walk(self.root())}

    def before(self, tool: Tool, rnd: int) -> Op:
        return Op(self.kind, self.source_bucket, "src/", self.fresh_dir(tool))

    def verify(self, tool: Tool, op: Op) -> None:
        assert op.local is not None
        got = {rel: hashlib.md5(p.read_bytes()).hexdigest() for rel, p in walk(op.local)}
        check(len(got) == len(self.expected), f"{len(got)} files, {len(self.expected)} expected")
        check(got == self.expected, "downloaded tree differs from the source")


class DeletePrefix(Workload):
    name = "delete-prefix"
    title = "delete keys by prefix"
    kind = "rm-prefix"
    data = ""

    def volume(self) -> dict[str, int]:
        return {"files": self.ctx.sizes.delete_count, "bytes": 0}

    def before(self, tool: Tool, rnd: int) -> Op:
        bucket = self.bucket(tool, rnd)
        self.fresh_bucket(bucket)
        n = self.ctx.sizes.delete_count
        self.ctx.admin.put_many(bucket, ((f"del/k{i % 50:02d}/{i:06d}", b"x") for i in range(n)))
        # A neighbour that shares the first letters of the prefix must survive.
        self.ctx.admin.put_many(bucket, [("delete-keep/a", b"k"), ("del-keep", b"k")])
        check(len(self.ctx.admin.listing(bucket, "del/")) == n, "seeding the keys failed")
        return Op(self.kind, bucket, "del/")

    def verify(self, tool: Tool, op: Op) -> None:
        left = self.ctx.admin.listing(op.bucket, "del/")
        check(not left, f"{len(left)} keys left under del/")
        rest = sorted(o.key for o in self.ctx.admin.listing(op.bucket))
        check(rest == ["del-keep", "delete-keep/a", WARM_KEY], f"unexpected survivors {rest}")


class SyncSame(UploadTree):
    name = "sync-unchanged"
    title = "sync, nothing changed"
    kind = "sync-up"
    data = "sync-same"

    def bucket(self, tool: Tool, rnd: int) -> str:
        return f"b-{self.name}-{tool.name}"

    def prime(self, tool: Tool, run_untimed) -> None:  # type: ignore[no-untyped-def]
        """Seed the prefix (fast, by the harness), then the tool's own first sync, so the
        destination is in sync by the tool's own rules (it re-sends what it disagrees on)."""
        bucket = self.bucket(tool, 0)
        self.fresh_bucket(bucket)
        root = self.root()
        self.ctx.admin.put_many(
            bucket, ((f"up/{rel}", (root / rel).read_bytes()) for rel in self.files())
        )
        run_untimed(tool, Op(self.kind, bucket, "up/", root))
        UploadTree.verify(self, tool, Op(self.kind, bucket, "up/", self.root()))

    def before(self, tool: Tool, rnd: int) -> Op:
        bucket = self.bucket(tool, rnd)
        self.snapshot = {o.key: o.last_modified for o in self.ctx.admin.listing(bucket, "up/")}
        return Op(self.kind, bucket, "up/", self.root())

    def verify(self, tool: Tool, op: Op) -> None:
        UploadTree.verify(self, tool, op)
        now = {o.key: o.last_modified for o in self.ctx.admin.listing(op.bucket, "up/")}
        rewritten = [k for k, t in now.items() if t != self.snapshot.get(k)]
        check(not rewritten, f"{len(rewritten)} unchanged objects were rewritten")

    def after(self, tool: Tool, op: Op) -> None:
        pass  # the synced prefix stays for the next round

    def finish(self, tools: list[Tool]) -> None:
        for tool in tools:
            self.ctx.admin.drop_bucket(self.bucket(tool, 0))


class SyncChanged(SyncSame):
    name = "sync-changed"
    title = "sync, 1% changed"
    data = "sync-changed"

    def changed(self) -> list[str]:
        return _changed_names(self.files(), self.ctx.sizes.sync_changed)

    def volume(self) -> dict[str, int]:
        return {**super().volume(), "changed": len(self.changed())}

    def files(self) -> dict[str, int]:
        """Sizes as they are on disk now (the changed files grow and shrink)."""
        base = _tree_sizes(self.data, self.ctx.sizes)
        root = self.root()
        return {rel: (root / rel).stat().st_size if root.exists() else size
                for rel, size in base.items()}

    def before(self, tool: Tool, rnd: int) -> Op:
        op = super().before(tool, rnd)
        # New content and size, newer mtime: every tool's rule (size or mtime) sees a change.
        self.ctx.mutations += 1
        generation = self.ctx.mutations
        base = _tree_sizes(self.data, self.ctx.sizes)
        self.expected_md5 = {}
        for rel in self.changed():
            data = _bytes_for(f"sync-changed/{rel}", base[rel] + 1 + generation % 11, generation)
            (self.root() / rel).write_bytes(data)
            self.expected_md5[f"up/{rel}"] = hashlib.md5(data).hexdigest()
        return op

    def verify(self, tool: Tool, op: Op) -> None:
        UploadTree.verify(self, tool, op)
        listed = {o.key: o for o in self.ctx.admin.listing(op.bucket, "up/")}
        stale = [k for k, md5 in self.expected_md5.items() if listed[k].etag.strip('"') != md5]
        check(not stale, f"{len(stale)} changed files were not sent")
        rewritten = [
            k for k, o in listed.items()
            if k not in self.expected_md5 and o.last_modified != self.snapshot.get(k)
        ]
        check(not rewritten, f"{len(rewritten)} unchanged objects were rewritten")


WORKLOADS: dict[str, type[Workload]] = {
    w.name: w
    for w in (
        UploadBig, DownloadBig, UploadTree, DownloadTree, UploadMixed, DeletePrefix,
        SyncSame, SyncChanged,
    )
}


def upload_with_spacesync(ctx: Context, path: Path, bucket: str, key: str) -> None:
    """Seed a big object for the download workload with spacesync's CLI (default 8 MiB
    multipart parts): the same object for every tool."""
    tool = ctx.seeder
    argv = tool.command(Op("put-file", bucket, key, path))
    subprocess.run(argv, env=tool.env(), check=True, stdout=subprocess.DEVNULL)


def sizes_dict(sizes: Sizes) -> dict[str, object]:
    return asdict(sizes)
