"""Bad input, one row each, through the real CLI in a subprocess: the documented exit code,
exactly one clear line on stderr (never a traceback), and nothing lost.

Rows run against the session's SeaweedFS unless they need a reply it will not give:
malformed or hostile XML, a proxy's HTML page and empty bodies come from the scripted
server, a lying Content-Length from a raw socket, a certificate failure from a scripted
HTTPS server with a self-signed certificate. CI runs as root, which can read a 0000 file,
so the "unreadable" rows drop CAP_DAC_OVERRIDE with setpriv.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
import warnings
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from spacesync.client import SpacesClient
from spacesync.errors import NotFound
from spacesync.localserver import Identity, LocalServerInfo
from spacesync.protocol.model import ObjectHead
from spacesync.transport.body import BytesBody
from tests.reliability_input.support import (
    faketime_env,
    no_root_read_prefix,
    raw_server,
    run_cli,
    self_signed_context,
)
from tests.support.s3 import empty_bucket
from tests.support.scripted_server import Reply, scripted_server

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
LISTING = (
    f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult {NS}><Name>b</Name>'
    "<Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
    "<IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
)
ENTRY = (
    "<Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
    '<ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size></Contents>'
)
GOOD_LISTING = LISTING.format(contents=ENTRY.format(key="scripted.txt"))
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f"<ListBucketResult {NS}><Name>&x;</Name></ListBucketResult>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + f"]><ListBucketResult {NS}><Name>&lol9;</Name></ListBucketResult>"
)
PROXY_PAGE = (
    "<html><head><title>403 Forbidden</title></head>"
    "<body><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>"
)
TRUNCATED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 1000\r\n"
    b"Connection: close\r\n\r\n" + GOOD_LISTING.encode()[:60]
)
OVERLONG = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 40\r\n"
    b"Connection: close\r\n\r\n" + GOOD_LISTING.encode()
)

Serve = Literal["s3", "scripted", "raw", "tls"]


@dataclass
class Ctx:
    """One row's world: its directory, bucket, clients and the endpoint the CLI talks to."""

    tmp: Path
    bucket: str
    client: SpacesClient
    readonly: Identity
    env: dict[str, str]
    prefix: tuple[str, ...] = ()
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    requests: int = 0

    async def head(self, key: str) -> ObjectHead | None:
        try:
            return await self.client.head_object(self.bucket, key)
        except NotFound:
            return None

    async def put(self, key: str, data: bytes) -> None:
        await self.client.put_object(self.bucket, key, BytesBody(data))

    async def uploads(self) -> list[str]:
        return [u.key async for u in self.client.list_multipart_uploads(self.bucket)]

    def background(self, work: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=work, args=(self.stop,), daemon=True)
        thread.start()
        self.threads.append(thread)


Step = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    exit: int | tuple[int, ...]
    #: A piece of the one stderr line; "" for rows that must succeed silently on stderr.
    stderr: str
    env: dict[str, str | None] = field(default_factory=dict)
    setup: Step | None = None
    #: The "nothing lost" check, run after the CLI exits.
    check: Step | None = None
    serve: Serve = "s3"
    script: tuple[Reply, ...] = ()
    raw: bytes = b""
    #: Expected requests seen by the scripted or raw server (None: not counted).
    requests: int | None = None
    needs: Callable[[], str | None] | None = None
    #: Lines on stderr: by default one on failure, none on success; a many-file job has
    #: one per failed (or skipped) file plus a tally.
    lines: int | None = None


# --- setups and checks ---------------------------------------------------------------------


def files(**contents: bytes) -> Step:
    async def setup(ctx: Ctx) -> None:
        for name, data in contents.items():
            path = ctx.tmp / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    return setup


def objects(**contents: bytes) -> Step:
    async def setup(ctx: Ctx) -> None:
        for key, data in contents.items():
            await ctx.put(key.replace("__", "/"), data)

    return setup


def both(*steps: Step) -> Step:
    async def run(ctx: Ctx) -> None:
        for step in steps:
            await step(ctx)

    return run


def absent(*keys: str) -> Step:
    """Nothing was created under these keys, and no multipart upload was left behind."""

    async def check(ctx: Ctx) -> None:
        for key in keys:
            assert await ctx.head(key) is None, f"{key} should not exist"
        assert await ctx.uploads() == []

    return check


def object_is(key: str, data: bytes) -> Step:
    async def check(ctx: Ctx) -> None:
        _, body = await ctx.client.get_object(ctx.bucket, key)
        assert body == data
        assert await ctx.uploads() == []

    return check


def file_is(name: str, data: bytes) -> Step:
    async def check(ctx: Ctx) -> None:
        assert (ctx.tmp / name).read_bytes() == data

    return check


def no_file(*names: str) -> Step:
    """Neither the file nor a temporary sibling of it exists (downloads are atomic)."""

    async def check(ctx: Ctx) -> None:
        for name in names:
            path = ctx.tmp / name
            assert not path.exists(), f"{name} should not exist"
            if path.parent.is_dir():
                assert not [p for p in path.parent.iterdir() if p.name.startswith(path.name)]

    return check


def only_files(*names: str) -> Step:
    """The directory tree holds exactly these files (nothing written outside them)."""

    async def check(ctx: Ctx) -> None:
        found = sorted(str(p.relative_to(ctx.tmp)) for p in ctx.tmp.rglob("*") if p.is_file())
        assert found == sorted(names)

    return check


async def unreadable(ctx: Ctx) -> None:
    path = ctx.tmp / "secret.txt"
    path.write_bytes(b"private")
    path.chmod(0)
    ctx.prefix = no_root_read_prefix()


async def read_only_dir(ctx: Ctx) -> None:
    await ctx.put("a.txt", b"remote")
    (ctx.tmp / "locked").mkdir()
    (ctx.tmp / "locked").chmod(0o555)
    ctx.prefix = no_root_read_prefix()


async def symlink_loop(ctx: Ctx) -> None:
    tree = ctx.tmp / "tree"
    tree.mkdir()
    (tree / "plain.txt").write_bytes(b"plain")
    (tree / "self").symlink_to("../tree")  # a directory loop: not followed
    (tree / "a").symlink_to("b")  # a link loop: cannot be resolved at all
    (tree / "b").symlink_to("a")


async def readonly_key(ctx: Ctx) -> None:
    ctx.env["SPACES_KEY"] = ctx.readonly.access_key
    ctx.env["SPACES_SECRET"] = ctx.readonly.secret_key


async def closed_port(ctx: Ctx) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx.env["SPACES_ENDPOINT"] = f"http://127.0.0.1:{port}"


async def growing_file(ctx: Ctx) -> None:
    """A 12 MiB file that a writer keeps appending to while the CLI uploads it."""
    path = ctx.tmp / "growing.bin"
    path.write_bytes(os.urandom(12 * 1024 * 1024))
    await ctx.put("growing.bin", b"the previous version")

    def append(stop: threading.Event) -> None:
        with path.open("ab") as out:
            while not stop.wait(0.002):
                out.write(b"x")
                out.flush()

    ctx.background(append)


async def deleted_mid_sync(ctx: Ctx) -> None:
    """Many small files uploaded one at a time; the last is deleted once the first landed."""
    tree = ctx.tmp / "tree"
    tree.mkdir()
    for n in range(200):
        (tree / f"f{n:03}.txt").write_bytes(b"x" * 1024)
    (tree / "zz-vanishing.txt").write_bytes(b"gone")
    client, bucket = ctx.client, ctx.bucket
    loop = asyncio.get_running_loop()

    def delete_when_started(stop: threading.Event) -> None:
        while not stop.is_set():
            started = asyncio.run_coroutine_threadsafe(_has_objects(client, bucket), loop)
            if started.result(timeout=30):
                (tree / "zz-vanishing.txt").unlink()
                return
            stop.wait(0.01)

    ctx.background(delete_when_started)


async def _has_objects(client: SpacesClient, bucket: str) -> bool:
    async for _ in client.list_objects(bucket):
        return True
    return False


async def synced_but_vanished(ctx: Ctx) -> None:
    assert await ctx.head("tree/f000.txt") is not None
    assert await ctx.head("tree/f199.txt") is not None
    assert not (ctx.tmp / "tree" / "zz-vanishing.txt").exists()
    assert await ctx.uploads() == []


async def non_empty_bucket(ctx: Ctx) -> None:
    await ctx.put("keep.txt", b"keep me")


def faketime_missing() -> str | None:
    return None if faketime_env("-1h") else "the libfaketime package is not installed"


async def skewed_clock(ctx: Ctx) -> None:
    await ctx.put("on-time.txt", b"t")
    ctx.env.update(faketime_env("-1h") or {})


# --- the table -----------------------------------------------------------------------------

B = "s3://{bucket}"
LONG_KEY = "k" * 1025
BIG_META = "v" * 2100

CASES: list[Case] = [
    # local paths
    Case("missing-local-path", ("cp", "{tmp}/nope.txt", f"{B}/x"), 2,
         "no such file or directory", check=absent("x")),
    Case("unreadable-file", ("cp", "{tmp}/secret.txt", f"{B}/x"), 1, "Permission denied",
         setup=unreadable, check=absent("x")),
    Case("directory-where-file-expected", ("cp", "{tmp}/dir", f"{B}/x"), 2,
         "is a directory: add --recursive", setup=files(dir__inner=b"1"), check=absent("x")),
    Case("file-where-directory-expected", ("cp", f"{B}/a.txt", "{tmp}/plain/sub/a.txt"), 1,
         "Not a directory", setup=both(files(plain=b"mine"), objects(**{"a.txt": b"r"})),
         check=file_is("plain", b"mine")),
    Case("recursive-into-a-file", ("cp", "-r", f"{B}/d/", "{tmp}/plain"), 1, "plain",
         setup=both(files(plain=b"mine"), objects(d__a=b"r")), check=file_is("plain", b"mine")),
    Case("folder-without-recursive", ("cp", f"{B}/d/", "{tmp}/out"), 2,
         "add --recursive", setup=objects(d__a=b"r"), check=no_file("out")),
    # Skipped and reported, one line per link, the rest synced: nothing to fail on.
    Case("symlink-loop", ("sync", "--follow-symlinks", "{tmp}/tree", f"{B}/tree/"), 0,
         "Too many levels of symbolic links", setup=symlink_loop, lines=3,
         check=both(absent("tree/a", "tree/self/plain.txt"),
                    object_is("tree/plain.txt", b"plain"))),
    Case("dangling-symlink", ("cp", "{tmp}/dangling", f"{B}/x"), 2,
         "no such file or directory",
         setup=lambda ctx: asyncio.to_thread((ctx.tmp / "dangling").symlink_to, "nowhere"),
         check=absent("x")),
    Case("glob-matches-nothing", ("cp", "{tmp}/*.nomatch", f"{B}/"), 2,
         "no local file matches"),
    Case("remote-glob-matches-nothing", ("cp", f"{B}/*.zzz", "{tmp}/out/"), 2,
         "no object matches", setup=objects(**{"a.txt": b"r"}),
         check=both(only_files(), no_file("out"))),  # the directory is not made for nothing
    Case("missing-key", ("cp", f"{B}/nokey", "{tmp}/out"), 1, "NotFound: empty body (/t-",
         check=no_file("out")),
    Case("destination-not-writable", ("cp", f"{B}/a.txt", "{tmp}/locked/a.txt"), 1,
         "Permission denied", setup=read_only_dir, check=no_file("locked/a.txt")),
    Case("stream-needs-a-key", ("cp", "-", f"{B}/"), 2, "needs a full key"),
    Case("stream-to-stream", ("cp", "-", "-"), 2, "'-' streams between"),
    Case("file-changes-while-uploading",
         ("cp", "--part-size", "5MiB", "{tmp}/growing.bin", f"{B}/growing.bin"), 1,
         "changed while it was being uploaded", setup=growing_file,
         check=object_is("growing.bin", b"the previous version")),
    Case("file-deleted-mid-sync",
         ("sync", "--concurrency", "1", "{tmp}/tree", f"{B}/tree/"), 1, "vanishing",
         setup=deleted_mid_sync, check=synced_but_vanished, lines=2),
    # credentials and configuration
    Case("bad-access-key", ("ls", B), 1, "InvalidAccessKeyId",
         env={"SPACES_KEY": "AKNOSUCHKEY0000000000"}),
    Case("bad-secret", ("ls", B), 1, "SignatureDoesNotMatch",
         env={"SPACES_SECRET": "not-the-secret"}),
    Case("bad-secret-upload", ("cp", "{tmp}/f.txt", f"{B}/f.txt"), 1, "SignatureDoesNotMatch",
         env={"SPACES_SECRET": "not-the-secret"}, setup=files(**{"f.txt": b"1"}),
         check=absent("f.txt")),
    Case("read-only-key-writing", ("cp", "{tmp}/f.txt", f"{B}/f.txt"), 1, "AccessDenied",
         setup=both(readonly_key, files(**{"f.txt": b"1"})), check=absent("f.txt")),
    Case("read-only-key-removing-bucket", ("rb", B), 1, "AccessDenied",
         setup=both(readonly_key, non_empty_bucket), check=object_is("keep.txt", b"keep me")),
    Case("no-endpoint", ("ls",), 2, "no endpoint", env={"SPACES_ENDPOINT": None}),
    Case("no-credentials", ("ls",), 2, "no credentials",
         env={"SPACES_KEY": None, "SPACES_SECRET": None}),
    Case("key-without-secret", ("ls", "--access-key", "AK"), 2, "set both or neither"),
    Case("endpoint-not-http", ("ls", "--endpoint-url", "ftp://127.0.0.1/"), 2, "ftp"),
    Case("missing-bucket", ("ls", "s3://no-such-bucket-here"), 1, "NoSuchBucket"),
    Case("missing-bucket-upload", ("cp", "{tmp}/f.txt", "s3://no-such-bucket-here/f"), 1,
         "NoSuchBucket", setup=files(**{"f.txt": b"1"}), check=file_is("f.txt", b"1")),
    # One line, not one per file: a missing bucket or a bad secret ends the whole job.
    Case("missing-bucket-recursive", ("cp", "-r", "{tmp}/d", "s3://no-such-bucket-here/"), 1,
         "NoSuchBucket", setup=files(**{f"d__f{n}.txt": b"1" for n in range(40)})),
    Case("bad-secret-recursive", ("cp", "-r", "{tmp}/d", f"{B}/d/"), 1, "SignatureDoesNotMatch",
         env={"SPACES_SECRET": "not-the-secret"},
         setup=files(**{f"d__f{n}.txt": b"1" for n in range(40)}), check=absent("d/f0.txt")),
    Case("invalid-bucket-name", ("mb", "s3://Bad_Name"), 2, "invalid bucket name"),
    Case("bucket-name-too-short", ("mb", "s3://ab"), 2, "3 to 63 characters"),
    Case("not-an-s3-url", ("ls", "http://example/bucket"), 2, "not an s3:// URL"),
    Case("key-over-1024-bytes", ("cp", "{tmp}/f.txt", f"{B}/{LONG_KEY}"), 1, "KeyTooLong",
         setup=files(**{"f.txt": b"1"}), check=absent(LONG_KEY)),
    Case("metadata-over-2kb",
         ("cp", "--metadata", f"big={BIG_META}", "{tmp}/f.txt", f"{B}/f.txt"), 1,
         "S3 allows at most 2048 bytes", setup=files(**{"f.txt": b"1"}), check=absent("f.txt")),
    Case("metadata-not-name-value", ("cp", "--metadata", "novalue", "{tmp}/f.txt", f"{B}/f"),
         2, "NAME=VALUE", setup=files(**{"f.txt": b"1"}), check=absent("f")),
    Case("bad-size", ("cp", "--part-size", "lots", "{tmp}/f.txt", f"{B}/f"), 2,
         "not a size"),
    Case("zero-concurrency", ("cp", "--concurrency", "0", "{tmp}/f.txt", f"{B}/f"), 2,
         "--concurrency must be at least 1", setup=files(**{"f.txt": b"1"}), check=absent("f")),
    Case("unknown-verb", ("frobnicate",), 2, "invalid choice"),
    Case("conflicting-quiet-json", ("cp", "--quiet", "--json", "{tmp}/f.txt", f"{B}/f"), 2,
         "not allowed with", setup=files(**{"f.txt": b"1"}), check=absent("f")),
    Case("conflicting-acl-forms",
         ("acl", "set", f"{B}/f", "--canned", "private", "--file", "{tmp}/acl.xml"), 2,
         "not allowed with"),
    Case("conflicting-logging-target-off",
         ("logging", "set", B, "--target", f"{B}/logs/", "--off"), 2, "not allowed with"),
    Case("presign-over-7-days", ("presign", f"{B}/f", "--expires", "604801"), 2, "604800"),
    Case("presign-v2-over-7-days",
         ("presign", f"{B}/f", "--expires", "604801", "--signature-version", "2"), 2,
         "604800"),
    Case("presign-zero-expiry", ("presign", f"{B}/f", "--expires", "0"), 2, "1..604800"),
    Case("rb-non-empty-without-force", ("rb", B), 1, "BucketNotEmpty",
         setup=non_empty_bucket, check=object_is("keep.txt", b"keep me")),
    Case("clock-an-hour-behind", ("ls", B), 0, "", setup=skewed_clock,
         needs=faketime_missing),
    # replies S3 would not give
    Case("malformed-xml", ("ls", B), 1, "not well-formed XML", serve="scripted",
         script=(Reply(200, GOOD_LISTING[:-30]),), requests=1),
    Case("wrong-root-element", ("ls", B), 1, "ListBucketResult", serve="scripted",
         script=(Reply(200, f"<Other {NS}/>"),), requests=1),
    Case("html-page-from-proxy", ("ls", B), 1, "403 Forbidden", serve="scripted",
         script=(Reply(403, PROXY_PAGE, {"Content-Type": "text/html"}),), requests=1),
    Case("empty-body-where-xml-expected", ("ls", B), 1, "not well-formed XML",
         serve="scripted", script=(Reply(200, b""),), requests=1),
    Case("empty-error-body", ("ls", B), 1, "BadRequest", serve="scripted",
         script=(Reply(400, b""),), requests=1),
    Case("xxe-reply", ("ls", B), 1, "DOCTYPE", serve="scripted",
         script=(Reply(200, XXE),), requests=1),
    Case("billion-laughs-reply", ("ls", B), 1, "not well-formed XML", serve="scripted",
         script=(Reply(200, LAUGHS),), requests=1),
    Case("unsafe-key-in-listing", ("cp", "-r", f"{B}/", "{tmp}/out"), 1, "refusing key",
         serve="scripted", script=(Reply(200, LISTING.format(contents=ENTRY.format(
             key="../escape.txt"))),), check=only_files()),
    Case("content-length-longer-than-body", ("ls", B), 1, "connection closed",
         serve="raw", raw=TRUNCATED, requests=8),
    # aiohttp refuses the bytes after the promised length; retried like any broken reply.
    Case("content-length-shorter-than-body", ("ls", B), 1, "HTTP failure",
         serve="raw", raw=OVERLONG, requests=8),
    Case("unreachable-endpoint", ("ls", B), 1, "cannot connect", setup=closed_port),
    Case("tls-self-signed", ("ls", B), 1, "TLS certificate verification failed",
         serve="tls", script=(Reply(200, GOOD_LISTING),), requests=0),
    Case("tls-self-signed-no-verify", ("--no-verify-ssl", "ls", B), 0, "",
         serve="tls", script=(Reply(200, GOOD_LISTING),), requests=1),
]


def test_the_table_has_at_least_40_rows_with_unique_names() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.fixture
def cli_env(
    clean_env: dict[str, str], local_server: LocalServerInfo, admin_identity: Identity
) -> dict[str, str]:
    return {
        **clean_env,
        "SPACES_ENDPOINT": local_server.endpoint_url,
        "SPACES_KEY": admin_identity.access_key,
        "SPACES_SECRET": admin_identity.secret_key,
    }


async def test_bad_input_table(
    tmp_path: Path,
    client: SpacesClient,
    readonly_identity: Identity,
    cli_env: dict[str, str],
) -> None:
    """Every row, a few at a time (each is a subprocess, some wait out retries); every
    failing row is reported, not just the first."""
    gate = asyncio.Semaphore(4)

    async def row(case: Case) -> str | None:
        async with gate:
            work = tmp_path / case.id
            work.mkdir()
            bucket = f"t-{uuid.uuid4().hex[:20]}"
            await client.create_bucket(bucket)
            ctx = Ctx(
                tmp=work, bucket=bucket, client=client, readonly=readonly_identity,
                env=dict(cli_env),
            )
            try:
                await run_row(case, ctx)
            except AssertionError as failure:
                return f"{case.id}: {failure}"
            finally:
                ctx.stop.set()
                await asyncio.to_thread(_release, ctx)
                await empty_bucket(client, bucket)
            return None

    failures = [f for f in await asyncio.gather(*(row(c) for c in CASES)) if f is not None]
    assert not failures, "\n\n".join(failures)


def _release(ctx: Ctx) -> None:
    """Stop the row's helpers and unlock what it locked, so the tree can be removed."""
    for thread in ctx.threads:
        thread.join(timeout=30)
    for path in [ctx.tmp, *ctx.tmp.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


async def run_row(case: Case, ctx: Ctx) -> None:
    if case.needs and (reason := await asyncio.to_thread(case.needs)):
        warnings.warn(f"bad-input row {case.id} skipped: {reason}", stacklevel=1)
        return
    async with AsyncExitStack() as stack:
        counted = None
        if case.serve in ("scripted", "tls"):
            context = self_signed_context(ctx.tmp) if case.serve == "tls" else None
            server = await stack.enter_async_context(scripted_server(ssl_context=context))
            server.add("GET", *case.script)
            ctx.env["SPACES_ENDPOINT"] = server.url
            counted = server.seen
        elif case.serve == "raw":
            raw = await stack.enter_async_context(raw_server(case.raw))
            ctx.env["SPACES_ENDPOINT"] = raw.url
            counted = raw.seen
        if case.setup:
            await case.setup(ctx)
        for name, value in case.env.items():
            if value is None:
                ctx.env.pop(name, None)
            else:
                ctx.env[name] = value
        argv = [arg.format(tmp=ctx.tmp, bucket=ctx.bucket) for arg in case.argv]
        done = await asyncio.to_thread(run_cli, argv, env=ctx.env, cwd=ctx.tmp, prefix=ctx.prefix)
        ctx.stop.set()
        if case.requests is not None:
            assert counted is not None
            assert len(counted) == case.requests, f"{len(counted)} requests"
    expected = case.exit if isinstance(case.exit, tuple) else (case.exit,)
    assert done.returncode in expected, f"exit {done.returncode}: {done.stderr}"
    lines = done.stderr.splitlines()
    want = case.lines if case.lines is not None else (0 if done.returncode == 0 else 1)
    assert len(lines) == want, done.stderr
    assert "Traceback" not in done.stderr
    assert not lines or case.stderr in done.stderr, done.stderr
    if case.check:
        await case.check(ctx)
