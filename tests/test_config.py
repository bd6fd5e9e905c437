from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spacesync.config import Settings, resolve_settings
from spacesync.errors import ConfigError
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.endpoint import Endpoint

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET"
KEYS = {"SPACES_KEY": "envkey", "SPACES_SECRET": SECRET}

CONFIG = """\
[default]
region = cfg-default-region
endpoint_url = https://default.example.com

[profile work]
region = work-region
endpoint_url = https://work.example.com
aws_access_key_id = cfgworkkey
aws_secret_access_key = cfgworksecret

[profile nested]
s3 =
    endpoint_url = https://nested.example.com
    addressing_style = path
endpoint_url = https://global.example.com

[profile configonly]
aws_access_key_id = cfgonlykey
aws_secret_access_key = cfgonlysecret

[profile spaces]
endpoint_url = https://sfo3.digitaloceanspaces.com

[work]
region = not-a-profile-in-config-files
"""

CREDENTIALS = f"""\
[default]
aws_access_key_id = filedefaultkey
aws_secret_access_key = {SECRET}

[work]
aws_access_key_id = fileworkkey
aws_secret_access_key = fileworksecret
aws_session_token = fileworktoken

[credsonly]
aws_access_key_id = credsonlykey
aws_secret_access_key = credsonlysecret

[empty]
"""


def make_home(tmp_path: Path, *, config: str | None = CONFIG,
              credentials: str | None = CREDENTIALS) -> Path:
    aws = tmp_path / "home" / ".aws"
    aws.mkdir(parents=True)
    if config is not None:
        (aws / "config").write_text(config)
    if credentials is not None:
        (aws / "credentials").write_text(credentials)
    return tmp_path / "home"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


@pytest.fixture
def bare_home(tmp_path: Path) -> Path:
    return make_home(tmp_path, config=None, credentials=None)


def resolve(home: Path, env: dict[str, str], **kwargs: Any) -> Settings:
    return resolve_settings(env=env, home=home, **kwargs)


# --- endpoint --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "env", "url"),
    [
        ({"endpoint_url": "http://flag:1", "region": "nyc3"},
         {"SPACES_ENDPOINT": "http://spaces:2", "AWS_ENDPOINT_URL": "http://aws:3"},
         "http://flag:1"),
        ({"region": "nyc3"},
         {"SPACES_ENDPOINT": "http://spaces:2", "AWS_ENDPOINT_URL": "http://aws:3"},
         "http://spaces:2"),
        ({"region": "nyc3"}, {"SPACES_ENDPOINT": "", "AWS_ENDPOINT_URL": "http://aws:3"},
         "http://aws:3"),
        ({"region": "nyc3"}, {}, "https://default.example.com"),
        ({"profile": "work", "region": "nyc3"}, {}, "https://work.example.com"),
        ({}, {"AWS_PROFILE": "work"}, "https://work.example.com"),
        ({"profile": "nested"}, {}, "https://nested.example.com"),
        ({"profile": "credsonly", "region": "nyc3"}, {}, "https://nyc3.digitaloceanspaces.com"),
        ({"profile": "credsonly"}, {"SPACES_REGION": "ams3"},
         "https://ams3.digitaloceanspaces.com"),
        ({"profile": "credsonly", "region": "fra1"}, {"SPACES_REGION": "ams3"},
         "https://fra1.digitaloceanspaces.com"),
    ],
)
def test_endpoint_precedence(
    home: Path, kwargs: dict[str, str], env: dict[str, str], url: str
) -> None:
    assert resolve(home, env | KEYS, **kwargs).endpoint.url == url


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_REGION": "nyc3"},
        {"AWS_DEFAULT_REGION": "nyc3"},
    ],
)
def test_aws_region_alone_never_picks_a_spaces_endpoint(
    bare_home: Path, env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as err:
        resolve(bare_home, env | KEYS)
    message = str(err.value)
    assert message.startswith("no endpoint:")
    for hint in ("--endpoint-url", "--region", "SPACES_ENDPOINT", "spacesync local start"):
        assert hint in message
    assert SECRET not in message


def test_profile_region_alone_never_picks_a_spaces_endpoint(tmp_path: Path) -> None:
    home = make_home(tmp_path, config="[default]\nregion = nyc3\n")
    with pytest.raises(ConfigError, match="no endpoint"):
        resolve(home, KEYS)


def test_endpoint_carries_addressing_and_region(home: Path) -> None:
    settings = resolve(home, KEYS, endpoint_url="http://127.0.0.1:8333", addressing="path",
                       region="nyc3")
    assert settings.endpoint == Endpoint(scheme="http", host="127.0.0.1", port=8333,
                                         region="nyc3", addressing="path")


def test_bad_endpoint_url_is_a_config_error(home: Path) -> None:
    with pytest.raises(ConfigError, match="has no scheme"):
        resolve(home, KEYS, endpoint_url="nyc3.digitaloceanspaces.com")


def test_bad_region_for_endpoint_is_a_config_error(bare_home: Path) -> None:
    with pytest.raises(ConfigError, match="invalid region"):
        resolve(bare_home, KEYS, region="nyc3.evil.com")


# --- signing region --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "env", "region"),
    [
        ({"region": "flag-r"},
         {"SPACES_REGION": "spaces-r", "AWS_REGION": "aws-r", "AWS_DEFAULT_REGION": "def-r"},
         "flag-r"),
        ({}, {"SPACES_REGION": "spaces-r", "AWS_REGION": "aws-r", "AWS_DEFAULT_REGION": "def-r"},
         "spaces-r"),
        ({}, {"AWS_REGION": "aws-r", "AWS_DEFAULT_REGION": "def-r"}, "aws-r"),
        ({}, {"AWS_DEFAULT_REGION": "def-r"}, "def-r"),
        ({}, {}, "cfg-default-region"),
        ({"profile": "work"}, {}, "work-region"),
        ({"profile": "spaces"}, {}, "sfo3"),
        ({"profile": "spaces"}, {"AWS_REGION": "aws-r"}, "aws-r"),
        ({"profile": "credsonly", "endpoint_url": "https://ams3.digitaloceanspaces.com"}, {},
         "ams3"),
        ({"profile": "credsonly", "endpoint_url": "http://localhost:8333"}, {}, "us-east-1"),
    ],
)
def test_signing_region_precedence(
    home: Path, kwargs: dict[str, str], env: dict[str, str], region: str
) -> None:
    settings = resolve(home, env | KEYS, **kwargs)
    assert settings.region == region
    assert settings.endpoint.region == region


def test_region_flag_sets_endpoint_and_signing_region_together(bare_home: Path) -> None:
    settings = resolve(bare_home, KEYS | {"AWS_REGION": "us-west-2"}, region="sgp1")
    assert settings.endpoint.url == "https://sgp1.digitaloceanspaces.com"
    assert settings.region == "sgp1"


# --- credentials -----------------------------------------------------------------------------

FLAGS = {"access_key": "flagkey", "secret_key": "flagsecret"}
SPACES_ENV = {"SPACES_KEY": "spaceskey", "SPACES_SECRET": "spacessecret"}
AWS_ENV = {"AWS_ACCESS_KEY_ID": "awskey", "AWS_SECRET_ACCESS_KEY": "awssecret",
           "AWS_SESSION_TOKEN": "awstoken"}


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        (FLAGS, SPACES_ENV | AWS_ENV, Credentials("flagkey", "flagsecret")),
        (FLAGS | {"session_token": "flagtoken"}, {},
         Credentials("flagkey", "flagsecret", "flagtoken")),
        ({}, SPACES_ENV | AWS_ENV, Credentials("spaceskey", "spacessecret")),
        ({}, AWS_ENV, Credentials("awskey", "awssecret", "awstoken")),
        ({}, {"AWS_ACCESS_KEY_ID": "awskey", "AWS_SECRET_ACCESS_KEY": "awssecret"},
         Credentials("awskey", "awssecret")),
        ({}, {"SPACES_KEY": "", "SPACES_SECRET": ""} | AWS_ENV,
         Credentials("awskey", "awssecret", "awstoken")),
        ({}, {}, Credentials("filedefaultkey", SECRET)),
        ({"profile": "work"}, {}, Credentials("fileworkkey", "fileworksecret", "fileworktoken")),
        ({}, {"AWS_PROFILE": "work"},
         Credentials("fileworkkey", "fileworksecret", "fileworktoken")),
        ({"profile": "configonly"}, {}, Credentials("cfgonlykey", "cfgonlysecret")),
        ({"profile": "credsonly"}, {}, Credentials("credsonlykey", "credsonlysecret")),
        ({"profile": "credsonly"}, AWS_ENV, Credentials("awskey", "awssecret", "awstoken")),
    ],
)
def test_credentials_precedence(
    home: Path, kwargs: dict[str, str], env: dict[str, str], expected: Credentials
) -> None:
    assert resolve(home, env, endpoint_url="http://h:1", **kwargs).credentials == expected


@pytest.mark.parametrize(
    ("kwargs", "env", "hint"),
    [
        ({"access_key": "flagkey"}, {}, "--access-key is set but --secret-key is not"),
        ({"secret_key": SECRET}, KEYS, "--secret-key is set but --access-key is not"),
        ({"session_token": SECRET}, KEYS, "--session-token needs --access-key and --secret-key"),
        ({}, {"SPACES_SECRET": SECRET}, "SPACES_SECRET is set but SPACES_KEY is not"),
        ({}, {"SPACES_KEY": "k"}, "SPACES_KEY is set but SPACES_SECRET is not"),
        ({}, {"AWS_SECRET_ACCESS_KEY": SECRET},
         "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
    ],
)
def test_half_a_key_pair_is_an_error(
    home: Path, kwargs: dict[str, str], env: dict[str, str], hint: str
) -> None:
    with pytest.raises(ConfigError) as err:
        resolve(home, env, endpoint_url="http://localhost:8333", **kwargs)
    assert hint in str(err.value)
    assert SECRET not in str(err.value)


def test_half_a_key_pair_in_a_profile_is_an_error(tmp_path: Path) -> None:
    home = make_home(tmp_path, credentials=f"[default]\naws_secret_access_key = {SECRET}\n")
    with pytest.raises(ConfigError) as err:
        resolve(home, {}, endpoint_url="http://localhost:8333")
    assert "aws_secret_access_key is set but aws_access_key_id is not" in str(err.value)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("kwargs", [{}, {"profile": "empty"}])
def test_no_credentials(tmp_path: Path, kwargs: dict[str, str]) -> None:
    home = make_home(tmp_path, config=None, credentials="[empty]\n")
    with pytest.raises(ConfigError) as err:
        resolve(home, {"AWS_REGION": "x"}, endpoint_url="http://localhost:8333", **kwargs)
    message = str(err.value)
    assert message.startswith("no credentials:")
    for hint in ("SPACES_KEY", "SPACES_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "--profile", "spacesync local start"):
        assert hint in message


def test_credentials_never_appear_in_settings_repr(home: Path) -> None:
    settings = resolve(home, {}, endpoint_url="http://localhost:8333", profile="work")
    assert "fileworksecret" not in repr(settings)
    assert "fileworktoken" not in repr(settings)


# --- profiles and files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "env", "profile"),
    [
        ({}, {}, None),
        ({"profile": "work"}, {"AWS_PROFILE": "credsonly"}, "work"),
        ({}, {"AWS_PROFILE": "credsonly"}, "credsonly"),
        ({"profile": "default"}, {}, "default"),
    ],
)
def test_profile_reported(
    home: Path, kwargs: dict[str, str], env: dict[str, str], profile: str | None
) -> None:
    settings = resolve(home, env, endpoint_url="http://localhost:8333", **kwargs)
    assert settings.profile == profile


@pytest.mark.parametrize(
    ("kwargs", "env"),
    [({"profile": "nosuch"}, KEYS), ({}, KEYS | {"AWS_PROFILE": "nosuch"})],
)
def test_unknown_named_profile_is_an_error(
    home: Path, kwargs: dict[str, str], env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as err:
        resolve(home, env, endpoint_url="http://localhost:8333", **kwargs)
    message = str(err.value)
    assert "profile 'nosuch' is not in" in message
    assert str(home / ".aws" / "credentials") in message
    assert str(home / ".aws" / "config") in message
    assert SECRET not in message


def test_implicit_default_profile_may_be_missing(bare_home: Path) -> None:
    settings = resolve(bare_home, KEYS, region="nyc3")
    assert settings.credentials.access_key == "envkey"


def test_plain_section_in_config_is_not_a_profile(tmp_path: Path) -> None:
    home = make_home(tmp_path, config="[work]\nregion = r\n", credentials=None)
    with pytest.raises(ConfigError, match="profile 'work' is not in"):
        resolve(home, KEYS, endpoint_url="http://localhost:8333", profile="work")


def test_profile_default_header_in_config(tmp_path: Path) -> None:
    home = make_home(tmp_path, config="[profile default]\nregion = pd-region\n")
    assert resolve(home, KEYS, endpoint_url="http://h:1").region == "pd-region"


def test_default_section_does_not_leak_into_profiles(tmp_path: Path) -> None:
    home = make_home(tmp_path, config="[DEFAULT]\nregion = leaked\n[profile p]\n")
    assert resolve(home, KEYS, endpoint_url="http://h:1", profile="p").region == "us-east-1"


def test_no_interpolation_in_secrets(tmp_path: Path) -> None:
    home = make_home(tmp_path, credentials="[default]\naws_access_key_id = k\n"
                                           "aws_secret_access_key = a%(b)s%\n")
    assert resolve(home, {}, endpoint_url="http://h:1").credentials.secret_key == "a%(b)s%"


def test_file_locations_from_env(tmp_path: Path, bare_home: Path) -> None:
    creds = tmp_path / "elsewhere" / "creds"
    creds.parent.mkdir()
    creds.write_text("[p]\naws_access_key_id = ek\naws_secret_access_key = es\n")
    (bare_home / "cfg").write_text("[profile p]\nendpoint_url = http://cfg:9\nregion = rr\n")
    settings = resolve(bare_home, {"AWS_SHARED_CREDENTIALS_FILE": str(creds),
                                   "AWS_CONFIG_FILE": "~/cfg", "AWS_PROFILE": "p"})
    assert settings.endpoint.url == "http://cfg:9"
    assert settings.region == "rr"
    assert settings.credentials.access_key == "ek"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        (f"aws_secret_access_key = {SECRET}\n", "line 1: expected a [section] header"),
        (f"[default]\naws_access_key_id = k\n{SECRET}\n", "cannot parse line(s) 3"),
    ],
)
def test_broken_files_do_not_leak_their_lines(tmp_path: Path, text: str, hint: str) -> None:
    home = make_home(tmp_path, credentials=text)
    with pytest.raises(ConfigError) as err:
        resolve(home, KEYS, endpoint_url="http://h:1")
    assert hint in str(err.value)
    assert SECRET not in str(err.value)


def test_unreadable_file(tmp_path: Path) -> None:
    home = make_home(tmp_path, credentials=None)
    (home / ".aws" / "credentials").mkdir()
    with pytest.raises(ConfigError, match=r"cannot read .*credentials"):
        resolve(home, KEYS, endpoint_url="http://h:1")


# --- probe use -------------------------------------------------------------------------------


def test_a_profile_or_the_environment_asks_for_probe_results(tmp_path: Path) -> None:
    config = (
        "[default]\nendpoint_url = http://127.0.0.1:1\n"
        "[profile probed]\nendpoint_url = http://127.0.0.1:1\nspacesync_use_probe = true\n"
    )
    credentials = "[default]\naws_access_key_id = k\naws_secret_access_key = s\n"
    home = make_home(tmp_path, config=config, credentials=credentials)
    assert not resolve(home, {}).use_probe
    assert resolve(home, {"SPACES_USE_PROBE": "1"}).use_probe
    probed = resolve(home, {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
                     profile="probed")
    assert probed.use_probe
