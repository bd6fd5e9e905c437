"""S3's URI encoding: the one used on the wire and in the canonical request alike.

S3 signs the path *as sent*: each key is percent-encoded once (UTF-8, RFC 3986 unreserved
characters kept, ``/`` kept in paths) and never normalised, so ``a//b``, ``./`` and ``..``
reach the server untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_TABLE = [chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256)]
_TABLE_SLASH = list(_TABLE)
_TABLE_SLASH[ord("/")] = "/"


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """Percent-encode every byte of ``value``'s UTF-8 except unreserved ones (and ``/``)."""
    table = _TABLE_SLASH if keep_slash else _TABLE
    return "".join(table[b] for b in value.encode("utf-8", "surrogateescape"))


def encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The canonical query string: names and values encoded, pairs sorted by encoded name
    then value. Sending it in this same form means the wire and the signature agree."""
    encoded = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)
