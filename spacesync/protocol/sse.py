"""SSE-C: a customer-provided AES-256 key as the headers S3 wants with every request that
reads or writes the object (PUT, each UploadPart, GET, HEAD, the source of a copy).

The key is secret: it never appears in a repr or an error message; only its MD5 does, which
S3 echoes in replies and which identifies the key without revealing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from spacesync.errors import ConfigError, MalformedResponse

ALGORITHM = "AES256"
KEY_BYTES = 32
_PREFIX = "x-amz-server-side-encryption-customer-"
_COPY_PREFIX = "x-amz-copy-source-server-side-encryption-customer-"


class SseCustomerKey:
    """A 256-bit SSE-C key; ``headers()`` for the object itself, ``copy_source_headers()``
    for the source object of CopyObject / UploadPartCopy."""

    __slots__ = ("_key", "key_md5")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError(f"an SSE-C key has {KEY_BYTES} bytes (AES-256), got {len(key)}")
        self._key = bytes(key)
        #: base64 MD5 of the key: what S3 checks the key against, and echoes back.
        self.key_md5 = base64.b64encode(hashlib.md5(key).digest()).decode("ascii")

    @classmethod
    def from_material(cls, data: bytes) -> SseCustomerKey:
        """From a key file or variable: 32 raw bytes, or their base64 (whitespace around
        it ignored). Errors never quote the material."""
        if len(data) == KEY_BYTES:
            return cls(data)
        try:
            decoded = base64.b64decode(data.strip(), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) != KEY_BYTES:
            raise ConfigError(
                f"an SSE-C key must be {KEY_BYTES} raw bytes or their base64 "
                f"(got {len(data)} bytes of something else)"
            )
        return cls(decoded)

    def __repr__(self) -> str:
        return f"SseCustomerKey(<redacted>, md5={self.key_md5})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SseCustomerKey) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self.key_md5)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an SSE-C key is not pickled: it would be written out in clear")

    def headers(self) -> dict[str, str]:
        return self._headers(_PREFIX)

    def copy_source_headers(self) -> dict[str, str]:
        return self._headers(_COPY_PREFIX)

    def _headers(self, prefix: str) -> dict[str, str]:
        return {
            f"{prefix}algorithm": ALGORITHM,
            f"{prefix}key": base64.b64encode(self._key).decode("ascii"),
            f"{prefix}key-MD5": self.key_md5,
        }

    def check_reply(self, headers: Mapping[str, str]) -> None:
        """The reply must say the object was handled with this key: an endpoint that
        ignored SSE-C would otherwise store the object in clear, silently."""
        algorithm = headers.get(f"{_PREFIX}algorithm")
        md5 = headers.get(f"{_PREFIX}key-MD5")
        if algorithm != ALGORITHM or md5 != self.key_md5:
            raise MalformedResponse(
                "the endpoint did not confirm SSE-C with our key "
                f"(algorithm {algorithm!r}, key MD5 {md5!r}, expected {self.key_md5})"
            )
