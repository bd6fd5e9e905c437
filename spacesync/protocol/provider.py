"""Provider quirks as data (rclone keeps them so): the limits a provider publishes."""

from __future__ import annotations

from dataclasses import dataclass

from spacesync.protocol.endpoint import SPACES_DOMAIN, Endpoint


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    name: str
    #: Requests per second per client IP before the provider answers SlowDown.
    max_request_rate: float | None
    #: Concurrent PUT/COPY requests allowed on one object.
    max_puts_per_object: int


SPACES = ProviderProfile("DigitalOcean Spaces", max_request_rate=1500.0, max_puts_per_object=10)
GENERIC = ProviderProfile("S3-compatible", max_request_rate=None, max_puts_per_object=10)


def profile_for(endpoint: Endpoint) -> ProviderProfile:
    host = endpoint.host
    return SPACES if host == SPACES_DOMAIN or host.endswith("." + SPACES_DOMAIN) else GENERIC
