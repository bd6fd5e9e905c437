"""Keys from a hypothesis strategy round-trip through PUT, LIST and GET on the real server.

SeaweedFS refuses keys with ``..`` segments, folds ``//`` and limits each ``/``-separated
component to 255 bytes, so this strategy stays within what it stores; the signer tests
(tests/protocol) cover the rest of the key space against botocore.
"""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spacesync.client import SpacesClient
from spacesync.transport.body import BytesBody

# Printable characters including the awkward ones for URLs and XML, plus non-ASCII.
_ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    exclude_characters="/\\\x7f",
) | st.sampled_from(list(" +%~?#&=;:@$!'()*,[]{}<>\"éñ中😀"))

_SEGMENT = st.text(_ALPHABET, min_size=1, max_size=24).filter(
    lambda s: s not in (".", "..") and len(s.encode()) <= 255
)


def _normalised(segments: list[str], form: str) -> str:
    return "/".join(unicodedata.normalize(form, s) for s in segments)


KEYS = st.builds(
    _normalised,
    st.lists(_SEGMENT, min_size=1, max_size=4),
    st.sampled_from(["NFC", "NFD"]),
).filter(lambda k: len(k.encode()) <= 1024)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=KEYS)
async def test_any_key_round_trips(client: SpacesClient, bucket: str, key: str) -> None:
    body = key.encode("utf-8") + b"\x00payload"
    etag = await client.put_object(bucket, key, BytesBody(body))
    listed = [o async for o in client.list_objects(bucket, prefix=key)]
    assert key in [o.key for o in listed]
    assert next(o for o in listed if o.key == key).etag == etag
    head, got = await client.get_object(bucket, key)
    assert got == body
    assert head.etag == etag
    await client.delete_object(bucket, key)


async def test_long_key_of_1024_bytes(client: SpacesClient, bucket: str) -> None:
    key = "/".join(["é" * 100] * 5)  # 5 components of 200 bytes + 4 slashes = 1004 bytes
    key += "x" * (1024 - len(key.encode()))
    assert len(key.encode()) == 1024
    await client.put_object(bucket, key, BytesBody(b"long"))
    assert [o.key async for o in client.list_objects(bucket)] == [key]
    assert (await client.get_object(bucket, key))[1] == b"long"
