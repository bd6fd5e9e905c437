"""The fault proxy itself: each fault does what it says, against the real server, as seen
by our client (with retries off, so the raw effect shows)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from spacesync.client import S3Call, SpacesClient
from spacesync.errors import ConnectionClosed, NetworkTimeout, NotFound, ServerError, Throttled
from spacesync.localserver import Identity
from spacesync.transport.body import BytesBody
from spacesync.transport.retry import RetryPolicy
from tests.reliability.conftest import Proxied
from tests.reliability.helpers import fast_client
from tests.support.fault_proxy import Fault, FaultProxy, Rule

NO_RETRY = RetryPolicy(max_attempts=1)


async def test_clean_forwarding_keeps_signatures_and_bodies(
    new_proxy: Callable[..., FaultProxy], through: Proxied, bucket: str, client: SpacesClient
) -> None:
    data = random.Random(1).randbytes(3 * 1024 * 1024 + 17)
    proxy = new_proxy()
    async with through(proxy) as proxied:
        await proxied.put_object(bucket, "dir/a b+c", BytesBody(data))
        _, got = await proxied.get_object(bucket, "dir/a b+c")
        _, ranged = await proxied.get_object(bucket, "dir/a b+c", start=10, end=20)
    assert got == data and ranged == data[10:21]
    _, direct = await client.get_object(bucket, "dir/a b+c")
    assert direct == data
    assert proxy.faults() == {}
    assert [seen.method for seen in proxy.seen] == ["PUT", "GET", "GET"]


@pytest.mark.parametrize(
    ("fault", "error", "applied"),
    [
        (Fault.RESET_BEFORE, ConnectionClosed, False),
        (Fault.RESET_AFTER, ConnectionClosed, True),
        (Fault.SLOW_DOWN, Throttled, False),
        (Fault.INTERNAL_ERROR, ServerError, False),
        (Fault.STALL, NetworkTimeout, False),
    ],
)
async def test_each_fault_on_a_put(
    new_proxy: Callable[..., FaultProxy],
    admin_identity: Identity,
    client: SpacesClient,
    bucket: str,
    fault: Fault,
    error: type[Exception],
    applied: bool,
) -> None:
    proxy = new_proxy(rules=[Rule(fault, method="PUT", times=1)], stall=1.0)
    async with (
        proxy.running(),
        fast_client(proxy.url, admin_identity, read_timeout=0.3) as proxied,
    ):
        proxied.retry = NO_RETRY
        with pytest.raises(error):
            await proxied.put_object(bucket, "k", BytesBody(b"payload"))
        # The rule fired once: the same request now goes through.
        await proxied.put_object(bucket, "k2", BytesBody(b"payload"))
    if applied:
        assert (await client.get_object(bucket, "k"))[1] == b"payload"
    else:
        with pytest.raises(NotFound):
            await client.head_object(bucket, "k")
    assert proxy.faults() == {fault: 1}


async def test_truncated_body_and_error_in_200(
    new_proxy: Callable[..., FaultProxy], through: Proxied, bucket: str, client: SpacesClient
) -> None:
    await client.put_object(bucket, "k", BytesBody(b"x" * 100_000))
    proxy = new_proxy(
        rules=[
            Rule(Fault.TRUNCATE, method="GET", times=1),
            Rule(Fault.ERROR_IN_200, method="PUT", times=1),
        ]
    )
    async with through(proxy) as proxied:
        proxied.retry = NO_RETRY
        with pytest.raises(ConnectionClosed):
            await proxied.get_object(bucket, "k")
        call = S3Call("CopyObject", "PUT", bucket, "copy", headers={"x-amz-copy-source": "/x/y"})
        with pytest.raises(ServerError):
            await proxied.call(call, error_in_200=True)
    assert proxy.faults() == {Fault.TRUNCATE: 1, Fault.ERROR_IN_200: 1}


async def test_latency_only_delays(
    new_proxy: Callable[..., FaultProxy], through: Proxied, bucket: str
) -> None:
    proxy = new_proxy(rates={Fault.LATENCY: 1.0}, latency=0.01)
    async with through(proxy) as proxied:
        await proxied.put_object(bucket, "k", BytesBody(b"v"))
        assert (await proxied.get_object(bucket, "k"))[1] == b"v"
    assert proxy.faults() == {Fault.LATENCY: 2}


def test_seeded_draws_repeat_and_follow_the_rates() -> None:
    """The same seed gives the same sequence of decisions; the mix follows the rates."""

    class Fake:
        method = "GET"
        raw_path = "/b/k?x=1"

    rates = {Fault.RESET_AFTER: 0.05, Fault.SLOW_DOWN: 0.10, Fault.TRUNCATE: 0.05}
    proxy = FaultProxy("http://127.0.0.1:1", seed=7, rates=rates)
    again = FaultProxy("http://127.0.0.1:1", seed=7, rates=rates)
    drawn = [proxy._choose(Fake()) for _ in range(10_000)]  # type: ignore[arg-type]
    assert drawn == [again._choose(Fake()) for _ in range(10_000)]  # type: ignore[arg-type]
    counts = {fault: drawn.count(fault) for fault in rates}
    assert 400 < counts[Fault.RESET_AFTER] < 600
    assert 850 < counts[Fault.SLOW_DOWN] < 1150
    assert 400 < counts[Fault.TRUNCATE] < 600


def test_pattern_rules_skip_and_count() -> None:
    class Fake:
        def __init__(self, method: str, raw_path: str) -> None:
            self.method, self.raw_path = method, raw_path

    rule = Rule(Fault.RESET_AFTER, method="POST", query="uploadId=", skip=1, times=2)
    proxy = FaultProxy("http://127.0.0.1:1", rules=[rule])
    complete = Fake("POST", "/b/k?uploadId=abc")
    assert proxy._choose(Fake("POST", "/b/k?uploads")) is None  # type: ignore[arg-type]
    assert proxy._choose(Fake("PUT", "/b/k?partNumber=1&uploadId=abc")) is None  # type: ignore[arg-type]
    decisions = [proxy._choose(complete) for _ in range(4)]  # type: ignore[arg-type]
    assert decisions == [None, Fault.RESET_AFTER, Fault.RESET_AFTER, None]
