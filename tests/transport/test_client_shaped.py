"""Replies the real server cannot be made to give, from a scripted loopback server.

Only rare replies live here (NotImplemented, SlowDown storms, 200-with-Error, a proxy's
HTML page); every ordinary exchange is tested against the real server in tests/integration.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spacesync.client import SpacesClient
from spacesync.config import resolve_settings
from spacesync.errors import MalformedResponse, ServerError, Throttled
from spacesync.protocol.model import CompletedPart
from spacesync.protocol.sse import SseCustomerKey
from spacesync.transport.body import BytesBody
from spacesync.transport.pacer import Pacer
from spacesync.transport.retry import RetryPolicy

from ..support.scripted_server import Reply, ScriptedServer, scripted_server

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with scripted_server() as s:
        yield s


@pytest.fixture
async def client(
    sleeps: Sleeps, tmp_path: Path, server: ScriptedServer
) -> AsyncIterator[SpacesClient]:
    settings = resolve_settings(
        endpoint_url=server.url, access_key="AKTEST", secret_key="secret", env={}, home=tmp_path
    )
    retry = RetryPolicy(rng=random.Random(1), sleep=sleeps, max_attempts=4)
    pacer = Pacer(sleep=sleeps)
    async with SpacesClient(settings, retry=retry, pacer=pacer) as c:
        yield c


def error_xml(code: str, message: str = "m") -> str:
    return (
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId></Error>"
    )


V1_PAGE = f"""<ListBucketResult {NS}><Name>b</Name><Prefix></Prefix><Marker></Marker>
<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
<Contents><Key>only</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size></Contents>
</ListBucketResult>"""


async def test_listing_falls_back_to_v1_when_v2_is_not_implemented(
    client: SpacesClient, server: ScriptedServer
) -> None:
    server.add("GET", Reply(501, error_xml("NotImplemented")), Reply(200, V1_PAGE))
    keys = [o.key async for o in client.list_objects("b")]
    again = [o.key async for o in client.list_objects("b")]
    assert keys == again == ["only"]
    queries = [seen.path_qs for seen in server.seen]
    assert len(queries) == 3  # V2 refused once, then V1 for both listings
    assert "list-type=2" in queries[0]
    assert all("list-type" not in q for q in queries[1:])


async def test_slowdown_storm_backs_off_and_slows_the_endpoint(
    client: SpacesClient, server: ScriptedServer, sleeps: Sleeps
) -> None:
    slow = Reply(503, error_xml("SlowDown", "Please reduce your request rate."))
    ok = Reply(200, f"<ListAllMyBucketsResult {NS}><Buckets/></ListAllMyBucketsResult>")
    server.add("GET", slow, slow, ok)
    assert await client.list_buckets() == []
    assert len(server.seen) == 3
    assert client.pacer.throttle_interval > 0  # every later request is spaced out
    assert len([s for s in sleeps.calls if s > 0]) >= 2  # backoff slept (fake sleep)


async def test_slowdown_forever_gives_up_with_throttled(
    client: SpacesClient, server: ScriptedServer
) -> None:
    server.add("GET", Reply(503, error_xml("SlowDown")))
    with pytest.raises(Throttled):
        await client.list_buckets()
    assert len(server.seen) == 4  # max_attempts


async def test_a_get_is_tried_max_attempts_times_not_that_squared(
    client: SpacesClient, server: ScriptedServer
) -> None:
    """get_object retries the whole exchange; the request inside it is not retried again."""
    server.add("GET", Reply(503, error_xml("SlowDown")))
    with pytest.raises(Throttled):
        await client.get_object("b", "k")
    assert len(server.seen) == 4  # max_attempts


async def test_complete_with_error_in_200_body_is_retried(
    client: SpacesClient, server: ScriptedServer
) -> None:
    done = (
        f"<CompleteMultipartUploadResult {NS}><Location>x</Location><Bucket>b</Bucket>"
        "<Key>k</Key><ETag>&quot;abc-1&quot;</ETag></CompleteMultipartUploadResult>"
    )
    server.add("POST", Reply(200, error_xml("InternalError", "try again")), Reply(200, done))
    result = await client.complete_multipart_upload(
        "b", "k", upload_id="U", parts=[CompletedPart(1, "abc")]
    )
    assert result.etag == "abc-1"
    assert len(server.seen) == 2


async def test_proxy_html_error_page_is_a_typed_error(
    client: SpacesClient, server: ScriptedServer
) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server.add("GET", Reply(502, page, {"Content-Type": "text/html"}))
    with pytest.raises(ServerError) as caught:
        await client.list_buckets()
    assert "502 Bad Gateway" in str(caught.value)


def v2_page(key: str, *, token: str | None) -> str:
    more = f"<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>"
    return (
        f"<ListBucketResult {NS}><Name>b</Name>"
        f"{more if token else '<IsTruncated>false</IsTruncated>'}"
        f"<Contents><Key>{key}</Key><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>"
        "</ListBucketResult>"
    )


async def test_read_ahead_asks_for_the_next_page_before_it_is_read(
    client: SpacesClient, server: ScriptedServer
) -> None:
    """Timing the real server cannot show: the second request is out while the caller still
    holds the first page."""
    server.add("GET", Reply(200, v2_page("a", token="t1")), Reply(200, v2_page("b", token=None)))
    pages = client.list_pages("b", read_ahead=True)
    first = await anext(pages)
    for _ in range(200):
        if len(server.seen) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(server.seen) == 2 and "continuation-token=t1" in server.seen[1].path_qs
    rest = [page async for page in pages]
    assert [o.key for page in (first, *rest) for o in page.objects] == ["a", "b"]
    assert len(server.seen) == 2


async def test_read_ahead_left_early_drops_the_page_asked_for(
    client: SpacesClient, server: ScriptedServer
) -> None:
    """A caller that stops after a page: the page asked for ahead failed meanwhile, and
    that is nobody's error."""
    server.add("GET", Reply(200, v2_page("a", token="t1")), Reply(400, error_xml("InvalidToken")))
    pages = client.list_pages("b", read_ahead=True)
    assert [o.key for o in (await anext(pages)).objects] == ["a"]
    for _ in range(200):
        if len(server.seen) == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the failed reply is in
    await pages.aclose()
    assert len(server.seen) == 2


@pytest.mark.parametrize("operation", ["put", "part"])
async def test_an_sse_c_write_the_endpoint_does_not_confirm_is_refused(
    client: SpacesClient, server: ScriptedServer, operation: str
) -> None:
    """An endpoint that ignores SSE-C would keep the bytes in clear: the reply must echo the
    algorithm and our key's MD5, else the write is a MalformedResponse."""
    key = SseCustomerKey(bytes(range(32)))
    confirmed = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key-MD5": key.key_md5,
        "ETag": '"abc"',
    }
    server.add("PUT", Reply(200, headers={"ETag": '"abc"'}), Reply(200, headers=confirmed))
    with pytest.raises(MalformedResponse, match="did not confirm SSE-C"):
        if operation == "put":
            await client.put_object("b", "k", BytesBody(b"x"), sse=key)
        else:
            await client.upload_part(
                "b", "k", upload_id="U", part_number=1, body=BytesBody(b"x"), sse=key
            )
    assert await client.put_object("b", "k", BytesBody(b"x"), sse=key) == "abc"
