"""``s3://bucket/key`` locations and local paths, as users type them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spacesync.errors import ConfigError

SCHEME = "s3://"


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}" if self.key else f"{SCHEME}{self.bucket}"

    @property
    def is_prefix(self) -> bool:
        """True when it names a "folder" (empty key or trailing slash)."""
        return not self.key or self.key.endswith("/")

    @property
    def prefix(self) -> str:
        """The key as a folder: empty, or ending in a slash (``a/b`` → ``a/b/``)."""
        return self.key if self.is_prefix else self.key + "/"

    def child(self, name: str) -> S3Location:
        return S3Location(self.bucket, self.prefix + name)


def is_s3_url(text: str) -> bool:
    return text.lower().startswith(SCHEME)


def parse_s3_url(text: str, *, require_key: bool = False) -> S3Location:
    """Parse ``s3://bucket[/key]``; the key is kept byte for byte (no normalisation)."""
    if not is_s3_url(text):
        raise ConfigError(f"not an s3:// URL: {text!r} (expected s3://BUCKET/KEY)")
    rest = text[len(SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ConfigError(f"no bucket in {text!r} (expected s3://BUCKET/KEY)")
    if require_key and not key:
        raise ConfigError(f"no object key in {text!r} (expected s3://BUCKET/KEY)")
    return S3Location(bucket, key)


def parse_location(text: str) -> S3Location | Path:
    """An s3:// URL, or anything else as a local path (``-`` is stdin/stdout)."""
    return parse_s3_url(text) if is_s3_url(text) else Path(text)
