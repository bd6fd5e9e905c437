from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spacesync.errors import ConfigError
from spacesync.protocol.endpoint import (
    Addressing,
    Endpoint,
    RequestTarget,
    is_dns_compatible_bucket,
    region_from_spaces_host,
    spaces_endpoint_for_region,
    validate_bucket_name,
)

SPACES = "https://nyc3.digitaloceanspaces.com"


def endpoint(url: str = SPACES, addressing: Addressing = "auto") -> Endpoint:
    return Endpoint.parse(url, region="nyc3", addressing=addressing)


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "normalised"),
    [
        (SPACES, "https", "nyc3.digitaloceanspaces.com", None, SPACES),
        (SPACES + "/", "https", "nyc3.digitaloceanspaces.com", None, SPACES),
        ("HTTPS://NYC3.DigitalOceanSpaces.com", "https", "nyc3.digitaloceanspaces.com", None,
         SPACES),
        ("https://example.com:443", "https", "example.com", None, "https://example.com"),
        ("http://example.com:80", "http", "example.com", None, "http://example.com"),
        ("http://127.0.0.1:8333", "http", "127.0.0.1", 8333, "http://127.0.0.1:8333"),
        ("https://localhost:80", "https", "localhost", 80, "https://localhost:80"),
        ("http://[::1]:9000", "http", "::1", 9000, "http://[::1]:9000"),
        ("  http://minio:9000  ", "http", "minio", 9000, "http://minio:9000"),
    ],
)
def test_parse_accepts_scheme_host_port(
    url: str, scheme: str, host: str, port: int | None, normalised: str
) -> None:
    parsed = Endpoint.parse(url, region="r1", addressing="path")
    assert parsed == Endpoint(scheme=scheme, host=host, port=port, region="r1", addressing="path")
    assert parsed.url == normalised


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("nyc3.digitaloceanspaces.com", "has no scheme"),
        ("localhost:8333", "has no scheme"),
        ("ftp://example.com", "must start with https:// or http://"),
        ("https://example.com/bucket", "without a path, query or fragment"),
        ("https://example.com?x=1", "without a path, query or fragment"),
        ("https://example.com/#frag", "without a path, query or fragment"),
        ("http://localhost:99999", "bad port"),
        ("http://localhost:0", "bad port"),
        ("http://localhost:abc", "bad port"),
        ("https://", "no valid host"),
        ("https://exa mple.com", "no valid host"),
    ],
)
def test_parse_rejects_bad_urls_in_one_sentence(url: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint) as err:
        Endpoint.parse(url, region="r1")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://AKIAKEY:s3cr3t/with+slash@example.com",
        "https://AKIAKEY:s3cr3t@example.com:9000",
        "AKIAKEY:s3cr3t@example.com",
    ],
)
def test_parse_rejects_credentials_without_echoing_them(url: str) -> None:
    with pytest.raises(ConfigError, match="must not contain credentials") as err:
        Endpoint.parse(url, region="r1")
    assert "s3cr3t" not in str(err.value)
    assert "AKIAKEY" not in str(err.value)


def test_parse_never_echoes_the_query() -> None:
    with pytest.raises(ConfigError) as err:
        Endpoint.parse("https://example.com/?X-Amz-Signature=deadbeef", region="r1")
    assert "deadbeef" not in str(err.value)
    assert "'https://example.com/'" in str(err.value)


def test_parse_rejects_unknown_addressing() -> None:
    with pytest.raises(ConfigError, match="auto, path or virtual"):
        Endpoint.parse(SPACES, region="r1", addressing="dns")  # type: ignore[arg-type]


# --- virtual host or path style --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "bucket", "addressing", "virtual"),
    [
        (SPACES, "my-space", "auto", True),
        ("http://nyc3.digitaloceanspaces.com", "my-space", "auto", True),
        ("https://s3.eu-west-1.amazonaws.com", "my-bucket", "auto", True),
        (SPACES, "my.space", "auto", False),
        (SPACES, "My_Space", "auto", False),
        (SPACES, "a-.b", "auto", False),
        (SPACES, "my-space", "path", False),
        ("http://127.0.0.1:8333", "my-space", "auto", False),
        ("http://localhost:8333", "my-space", "auto", False),
        ("https://minio.example.com", "my-space", "auto", False),
        ("https://digitaloceanspaces.com.evil.net", "my-space", "auto", False),
        ("https://minio.example.com", "my-space", "virtual", True),
        ("http://localhost:8333", "my.space", "virtual", True),
    ],
)
def test_uses_virtual_host(url: str, bucket: str, addressing: Addressing, virtual: bool) -> None:
    assert endpoint(url, addressing).uses_virtual_host(bucket) is virtual


def test_forced_virtual_refuses_non_dns_bucket() -> None:
    with pytest.raises(ConfigError, match="not DNS-compatible"):
        endpoint(addressing="virtual").uses_virtual_host("My_Space")


def test_forced_virtual_refuses_ip_host() -> None:
    with pytest.raises(ConfigError, match="IP address"):
        endpoint("http://127.0.0.1:8333", "virtual").uses_virtual_host("my-space")


# --- request targets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "bucket", "key", "expected"),
    [
        (SPACES, "my-space", "key",
         RequestTarget("https://my-space.nyc3.digitaloceanspaces.com",
                       "my-space.nyc3.digitaloceanspaces.com", "/key")),
        (SPACES, "my-space", None,
         RequestTarget("https://my-space.nyc3.digitaloceanspaces.com",
                       "my-space.nyc3.digitaloceanspaces.com", "/")),
        (SPACES, "my.space", "key",
         RequestTarget(SPACES, "nyc3.digitaloceanspaces.com", "/my.space/key")),
        (SPACES, None, None, RequestTarget(SPACES, "nyc3.digitaloceanspaces.com", "/")),
        ("http://127.0.0.1:8333", "b1b", "dir/k",
         RequestTarget("http://127.0.0.1:8333", "127.0.0.1:8333", "/b1b/dir/k")),
        ("http://127.0.0.1:8333", "b1b", None,
         RequestTarget("http://127.0.0.1:8333", "127.0.0.1:8333", "/b1b")),
        ("http://localhost:8333", None, None,
         RequestTarget("http://localhost:8333", "localhost:8333", "/")),
        ("https://nyc3.digitaloceanspaces.com:8443", "my-space", "k",
         RequestTarget("https://my-space.nyc3.digitaloceanspaces.com:8443",
                       "my-space.nyc3.digitaloceanspaces.com:8443", "/k")),
        ("https://example.com:443", "b1b", "k",
         RequestTarget("https://example.com", "example.com", "/b1b/k")),
        ("http://[::1]:9000", "b1b", "k", RequestTarget("http://[::1]:9000", "[::1]:9000",
                                                        "/b1b/k")),
    ],
)
def test_target(url: str, bucket: str | None, key: str | None, expected: RequestTarget) -> None:
    assert endpoint(url).target(bucket, key) == expected


def test_target_omits_default_port_even_when_constructed_with_it() -> None:
    ep = Endpoint(scheme="https", host="example.com", port=443, region="r1", addressing="path")
    assert ep.target("b1b", "k") == RequestTarget("https://example.com", "example.com", "/b1b/k")


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("with space", "/b1b/with%20space"),
        ("caf\u00e9/\u65e5\u672c", "/b1b/caf%C3%A9/%E6%97%A5%E6%9C%AC"),
        ("a//b", "/b1b/a//b"),
        ("../x", "/b1b/../x"),
        ("./x/./", "/b1b/./x/./"),
        ("/lead", "/b1b//lead"),
        ("q?x=1", "/b1b/q%3Fx%3D1"),
        ("h#frag", "/b1b/h%23frag"),
        ("100%", "/b1b/100%25"),
        ("a+b", "/b1b/a%2Bb"),
        ("~_-.", "/b1b/~_-."),
    ],
)
def test_key_encoded_once_and_never_normalised(key: str, path: str) -> None:
    assert endpoint("http://localhost:8333").target("b1b", key).path == path
    assert endpoint().target("my-space", key).path == path.removeprefix("/b1b")


def test_bucket_with_odd_characters_is_encoded_in_path_style() -> None:
    assert endpoint().target("Legacy_Bucket", "k").path == "/Legacy_Bucket/k"


def test_key_without_bucket_is_a_bug() -> None:
    with pytest.raises(ValueError, match="needs a bucket"):
        endpoint().target(None, "k")


def test_empty_bucket_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        endpoint().target("", "k")


@given(key=st.text())
def test_path_round_trips_any_key(key: str) -> None:
    path = endpoint("http://127.0.0.1:8333").target("bucket", key).path
    assert unquote(path, errors="strict") == "/bucket/" + key
    virtual = endpoint().target("bucket", key).path
    assert unquote(virtual, errors="strict") == "/" + key


# --- regions ---------------------------------------------------------------------------------


def test_spaces_endpoint_for_region() -> None:
    assert spaces_endpoint_for_region("ams3") == "https://ams3.digitaloceanspaces.com"


@pytest.mark.parametrize("region", ["", "NYC3", "nyc3.evil.com", "-nyc3", "nyc3/", "a" * 64])
def test_spaces_endpoint_refuses_non_label_regions(region: str) -> None:
    with pytest.raises(ConfigError, match="invalid region"):
        spaces_endpoint_for_region(region)


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("nyc3.digitaloceanspaces.com", "nyc3"),
        ("SFO3.digitaloceanspaces.com", "sfo3"),
        ("my-space.nyc3.digitaloceanspaces.com", None),
        ("digitaloceanspaces.com", None),
        ("nyc3.example.com", None),
        ("127.0.0.1", None),
    ],
)
def test_region_from_spaces_host(host: str, region: str | None) -> None:
    assert region_from_spaces_host(host) == region


# --- bucket names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem", "dns"),
    [
        ("abc", None, True),
        ("my-space-01", None, True),
        ("a" * 63, None, True),
        ("my.dotted.bucket", None, True),
        ("1-2.3-4", None, True),
        ("a-.b", None, False),
        ("a.-b", None, False),
        ("ab", "3 to 63 characters", False),
        ("a" * 64, "3 to 63 characters", False),
        ("My-Space", "only lowercase letters", False),
        ("my_space", "only lowercase letters", False),
        ("my space", "only lowercase letters", False),
        ("-abc", "start and end", False),
        ("abc-", "start and end", False),
        (".abc", "start and end", False),
        ("a..b", "'..'", False),
        ("192.168.5.4", "IP address", False),
        ("1.2.3.4.5", None, True),
    ],
)
def test_bucket_names(name: str, problem: str | None, dns: bool) -> None:
    assert is_dns_compatible_bucket(name) is dns
    if problem is None:
        validate_bucket_name(name)
    else:
        with pytest.raises(ConfigError, match=problem) as err:
            validate_bucket_name(name)
        assert str(err.value).startswith(f"invalid bucket name '{name}': ")
