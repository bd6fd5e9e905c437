"""What an S3 ETag says about the bytes: the MD5 of a single-PUT object, or for a multipart
upload the MD5 of its parts' MD5s followed by ``-N``. The one place that knows these forms."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

_PLAIN = re.compile(r"[0-9a-f]{32}")
_MULTIPART = re.compile(r"[0-9a-f]{32}-([1-9][0-9]*)")


def is_plain_md5(etag: str) -> bool:
    """A single-PUT object's ETag: its MD5, in hex."""
    return _PLAIN.fullmatch(etag.lower()) is not None


def multipart_part_count(etag: str) -> int | None:
    """N of a multipart ETag ``md5-N``; None for any other form."""
    match = _MULTIPART.fullmatch(etag.lower())
    return None if match is None else int(match.group(1))


def multipart_etag(part_md5s: Sequence[bytes]) -> str:
    """The ETag S3 gives an upload made of parts with these MD5 digests, in order."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"
