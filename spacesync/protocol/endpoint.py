"""Where requests go: the endpoint, and how a bucket and key turn into URL, Host and path.

Virtual-host addressing (``bucket.host``) is what Spaces and AWS prefer, but it needs a
bucket name that is a DNS label chain *without dots* (a dotted name breaks the wildcard TLS
certificate) and a host that has a wildcard DNS record; everything else gets path style.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

from spacesync.errors import ConfigError
from spacesync.protocol.encoding import uri_encode

Addressing = Literal["auto", "path", "virtual"]

SPACES_DOMAIN = "digitaloceanspaces.com"
_VIRTUAL_HOST_DOMAINS = (SPACES_DOMAIN, "amazonaws.com")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HOST_NAME = re.compile(r"[a-z0-9_.-]+")
_IP_LIKE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_BUCKET_CHARS = re.compile(r"[a-z0-9.-]+")


@dataclass(frozen=True, slots=True)
class RequestTarget:
    base_url: str
    host: str
    path: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    scheme: str
    host: str
    port: int | None
    region: str
    addressing: Addressing = "auto"

    @classmethod
    def parse(cls, url: str, *, region: str, addressing: Addressing = "auto") -> Endpoint:
        """Accept only ``scheme://host[:port][/]``: anything more would be silently ignored
        or, worse, signed into every request."""
        if addressing not in get_args(Addressing):
            raise ConfigError(
                f"unknown addressing style {addressing!r}: use auto, path or virtual"
            )
        url = url.strip()
        bare = url.split("?", 1)[0].split("#", 1)[0]
        if "@" in bare:
            raise ConfigError("endpoint URL must not contain credentials; configure them apart")
        shown = repr(bare)  # the query may carry a signature, so it is never shown
        if "://" not in url:
            raise ConfigError(
                f"endpoint URL {shown} has no scheme: write it as https://HOST or http://HOST:PORT"
            )
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ConfigError(f"endpoint URL {shown} must start with https:// or http://")
        if parts.path not in ("", "/") or bare != url:
            raise ConfigError(
                f"endpoint URL {shown} must be only scheme://host[:port], "
                "without a path, query or fragment"
            )
        host = parts.hostname or ""
        if not (_HOST_NAME.fullmatch(host) or _is_ip(host)):
            raise ConfigError(f"endpoint URL {shown} has no valid host name")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ConfigError(f"endpoint URL {shown} has a bad port: expected 1-65535")
        if port == _DEFAULT_PORTS[scheme]:
            port = None
        return cls(scheme=scheme, host=host, port=port, region=region, addressing=addressing)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self._authority(self.host)}"

    def uses_virtual_host(self, bucket: str) -> bool:
        if self.addressing == "path":
            return False
        dns_safe = is_dns_compatible_bucket(bucket)
        if self.addressing == "virtual":
            if not dns_safe:
                raise ConfigError(
                    f"bucket {bucket!r} cannot be addressed as a virtual host: "
                    "its name is not DNS-compatible (use path addressing)"
                )
            if _is_ip(self.host):
                raise ConfigError(
                    f"endpoint host {self.host} is an IP address, so it cannot serve "
                    "virtual-host buckets (use path addressing)"
                )
            return True
        return dns_safe and "." not in bucket and _has_wildcard_dns(self.host)

    def target(self, bucket: str | None, key: str | None = None) -> RequestTarget:
        """The URL, Host header and path of a request; the key is encoded once and never
        normalised, so what is sent is exactly what is signed."""
        if bucket is None:
            if key is not None:
                raise ValueError("an object key needs a bucket")
            return RequestTarget(base_url=self.url, host=self._authority(self.host), path="/")
        if not bucket:
            raise ConfigError("bucket name is empty")
        key_path = "" if key is None else "/" + uri_encode(key, keep_slash=True)
        if self.uses_virtual_host(bucket):
            host = self._authority(f"{bucket}.{self.host}")
            return RequestTarget(
                base_url=f"{self.scheme}://{host}", host=host, path=key_path or "/"
            )
        return RequestTarget(
            base_url=self.url,
            host=self._authority(self.host),
            path=f"/{uri_encode(bucket)}{key_path}",
        )

    def _authority(self, host: str) -> str:
        """Host as it goes into URLs and the Host header: IPv6 bracketed, default port left
        out (clients omit it, and the signature must match what they send)."""
        name = f"[{host}]" if ":" in host else host
        if self.port is None or self.port == _DEFAULT_PORTS.get(self.scheme):
            return name
        return f"{name}:{self.port}"


def spaces_endpoint_for_region(region: str) -> str:
    if not _DNS_LABEL.fullmatch(region):
        raise ConfigError(
            f"invalid region {region!r}: expected a plain lowercase name such as nyc3"
        )
    return f"https://{region}.{SPACES_DOMAIN}"


def region_from_spaces_host(host: str) -> str | None:
    """The region named by a ``REGION.digitaloceanspaces.com`` host, which Spaces signs with."""
    region, dot, domain = host.lower().partition(".")
    if dot and domain == SPACES_DOMAIN and _DNS_LABEL.fullmatch(region):
        return region
    return None


def is_dns_compatible_bucket(name: str) -> bool:
    """Valid, and every dot-separated part is a DNS label (no ``-.`` or ``.-``)."""
    return _bucket_name_problem(name) is None and "-." not in name and ".-" not in name


def validate_bucket_name(name: str) -> None:
    problem = _bucket_name_problem(name)
    if problem is not None:
        raise ConfigError(f"invalid bucket name {name!r}: {problem}")


def _bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "it must be 3 to 63 characters long"
    if not _BUCKET_CHARS.fullmatch(name):
        return "only lowercase letters, digits, '.' and '-' are allowed"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "it must start and end with a letter or digit"
    if ".." in name:
        return "it must not contain '..'"
    if _IP_LIKE.fullmatch(name):
        return "it must not look like an IP address"
    return None


def _has_wildcard_dns(host: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in _VIRTUAL_HOST_DOMAINS)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

