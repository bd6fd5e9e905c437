"""Where the endpoint, region and credentials come from: flags, then environment, then the
AWS CLI's ``~/.aws`` files, so spacesync works wherever the aws cli or s3cmd already does.

Only ``--region``/``SPACES_REGION`` may *choose* a Spaces endpoint: a stray ``AWS_REGION``
must not silently send requests to DigitalOcean.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from spacesync.errors import ConfigError
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.endpoint import (
    Addressing,
    Endpoint,
    region_from_spaces_host,
    spaces_endpoint_for_region,
)

DEFAULT_REGION = "us-east-1"
DEFAULT_PROFILE = "default"

_Section = Mapping[str, str]


@dataclass(frozen=True)
class Settings:
    endpoint: Endpoint
    credentials: Credentials
    region: str
    profile: str | None  # named by --profile or AWS_PROFILE; None when "default" applied implicitly
    #: Apply what `spacesync doctor --save` found about this endpoint (V1 listings, path
    #: addressing, clock offset): asked for by the profile (``spacesync_use_probe = true``)
    #: or by ``SPACES_USE_PROBE=1``.
    use_probe: bool = False


def resolve_settings(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    addressing: Addressing = "auto",
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Settings:
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    named_profile = _first(profile, env.get("AWS_PROFILE"))
    profile_name = named_profile or DEFAULT_PROFILE

    config_path = _aws_file(env.get("AWS_CONFIG_FILE"), home=home, name="config")
    credentials_path = _aws_file(
        env.get("AWS_SHARED_CREDENTIALS_FILE"), home=home, name="credentials"
    )
    config = _config_profile(_read_ini(config_path), profile_name)
    stored = _read_ini(credentials_path).get(profile_name)
    if named_profile is not None and config is None and stored is None:
        raise ConfigError(
            f"profile {named_profile!r} is not in {credentials_path} or {config_path}"
        )
    config, stored = config or {}, stored or {}

    url = _first(
        endpoint_url,
        env.get("SPACES_ENDPOINT"),
        env.get("AWS_ENDPOINT_URL"),
        _nested(config.get("s3"), "endpoint_url"),
        config.get("endpoint_url"),
    )
    spaces_region = _first(region, env.get("SPACES_REGION"))
    if url is None and spaces_region is not None:
        url = spaces_endpoint_for_region(spaces_region)
    if url is None:
        raise ConfigError(
            "no endpoint: pass --endpoint-url or --region, or set SPACES_ENDPOINT "
            "(try `spacesync local start` for a local server)"
        )
    parsed = Endpoint.parse(url, region=DEFAULT_REGION, addressing=addressing)
    signing_region = (
        _first(
            spaces_region,
            env.get("AWS_REGION"),
            env.get("AWS_DEFAULT_REGION"),
            config.get("region"),
        )
        or region_from_spaces_host(parsed.host)
        or DEFAULT_REGION
    )
    return Settings(
        endpoint=replace(parsed, region=signing_region),
        credentials=_credentials(
            flags=(access_key, secret_key, session_token),
            env=env,
            profile_sections=(stored, config),
        ),
        region=signing_region,
        profile=named_profile,
        use_probe=_is_true(_first(env.get("SPACES_USE_PROBE"), config.get("spacesync_use_probe"))),
    )


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _credentials(
    *,
    flags: tuple[str | None, str | None, str | None],
    env: Mapping[str, str],
    profile_sections: tuple[_Section, _Section],
) -> Credentials:
    """The first source that names a key wins; a source naming half a pair is an error
    rather than a fall-through, so a typo never picks up some other identity."""
    access, secret, token = flags
    if token and not (access or secret):
        raise ConfigError("--session-token needs --access-key and --secret-key")
    found = _pair(access, secret, names=("--access-key", "--secret-key"), token=token)
    found = found or _pair(
        env.get("SPACES_KEY"), env.get("SPACES_SECRET"), names=("SPACES_KEY", "SPACES_SECRET")
    )
    found = found or _pair(
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
        names=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        token=env.get("AWS_SESSION_TOKEN"),
    )
    for section in profile_sections:
        found = found or _pair(
            section.get("aws_access_key_id"),
            section.get("aws_secret_access_key"),
            names=("aws_access_key_id", "aws_secret_access_key"),
            token=section.get("aws_session_token"),
        )
    if found is None:
        raise ConfigError(
            "no credentials: set SPACES_KEY and SPACES_SECRET (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or pass --profile "
            "(try `spacesync local start` for a local server)"
        )
    return found


def _pair(
    access: str | None,
    secret: str | None,
    *,
    names: tuple[str, str],
    token: str | None = None,
) -> Credentials | None:
    access, secret = _first(access), _first(secret)
    if access is None and secret is None:
        return None
    if access is None or secret is None:
        given, missing = names if access is not None else names[::-1]
        raise ConfigError(f"{given} is set but {missing} is not: set both or neither")
    return Credentials(access_key=access, secret_key=secret, session_token=_first(token))


def _first(*values: str | None) -> str | None:
    """The first value actually given: an empty variable counts as unset, as in the aws cli."""
    return next((v.strip() for v in values if v and v.strip()), None)


def _aws_file(override: str | None, *, home: Path, name: str) -> Path:
    if not override:
        return home / ".aws" / name
    if override == "~" or override.startswith("~/"):
        return home / override[2:]
    return Path(override)


def _read_ini(path: Path) -> dict[str, dict[str, str]]:
    """Sections of an AWS-style ini file; a missing file is simply empty. Parse errors give
    line numbers only: the offending line may hold a secret."""
    # No section is special in AWS files, so [DEFAULT] must not leak into every profile.
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\0")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8"
        raise ConfigError(f"cannot read {path}: {reason}") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(f"{path} line {exc.lineno}: expected a [section] header") from None
    except configparser.ParsingError as exc:
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        raise ConfigError(f"{path}: cannot parse line(s) {lines}") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _config_profile(sections: Mapping[str, _Section], name: str) -> _Section | None:
    """In ~/.aws/config a profile is ``[profile NAME]``, except the default: ``[default]``."""
    found = sections.get(f"profile {name}")
    if found is None and name == DEFAULT_PROFILE:
        found = sections.get(DEFAULT_PROFILE)
    return found


def _nested(block: str | None, key: str) -> str | None:
    """A value from an indented sub-section such as ``s3 =\\n  endpoint_url = ...``."""
    for line in (block or "").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip().lower() == key:
            return value.strip()
    return None
