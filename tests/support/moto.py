"""moto's S3 server on loopback, for keys SeaweedFS refuses to store (``..`` segments,
``//``, backslashes, 255-byte components): malicious-key tests serve them from here."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

#: moto accepts any credentials; these only have to be well-formed.
MOTO_KEY = "AKIDMOTOTEST"
MOTO_SECRET = "moto-secret"


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str

    def env(self) -> dict[str, str]:
        """SPACES_* variables pointing the CLI at this server."""
        return {
            "SPACES_ENDPOINT": self.endpoint_url,
            "SPACES_KEY": MOTO_KEY,
            "SPACES_SECRET": MOTO_SECRET,
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A moto S3 server on 127.0.0.1 with empty state. moto keeps its buckets in this
    process's memory, not in the server, so the state is reset explicitly."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(reset, timeout=30):
        pass
    try:
        yield MotoServer(endpoint)
    finally:
        server.stop()
