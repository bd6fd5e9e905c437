"""What the bad-input and security tests share: the CLI run as a user runs it (optionally
without root's power to read anything), a raw-socket server for replies aiohttp will not
send (a lying Content-Length), and a self-signed certificate for an HTTPS endpoint."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Runs a command as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so a 0000 file is
#: really unreadable (CI runs as root, which reads anything otherwise).
WITHOUT_ROOT_READ = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def no_root_read_prefix() -> tuple[str, ...]:
    return WITHOUT_ROOT_READ if os.geteuid() == 0 else ()


def run_cli(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    prefix: tuple[str, ...] = (),
    input: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m spacesync ARGV`` in a subprocess, stdout/stderr decoded leniently."""
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "spacesync", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        input=input,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


@dataclass
class RawServer:
    """Answers every connection with the same raw bytes, then closes it; counts requests."""

    reply: bytes
    url: str = ""
    requests: int = 0
    seen: list[bytes] = field(default_factory=list)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        self.requests += 1
        self.seen.append(head)
        writer.write(self.reply)
        await writer.drain()
        writer.close()


@asynccontextmanager
async def raw_server(reply: bytes) -> AsyncIterator[RawServer]:
    server = RawServer(reply)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spacesync-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def faketime_env(offset: str) -> dict[str, str] | None:
    """Variables that make a subprocess's wall clock run ``offset`` (``-1h``) off, with the
    monotonic clock left alone; None when the libfaketime package is not installed."""
    try:
        import libfaketime
    except ImportError:
        return None
    _, variables = libfaketime.get_reload_information()
    return {**variables, "DONT_FAKE_MONOTONIC": "1", "FAKETIME": offset}
