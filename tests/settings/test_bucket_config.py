"""The typed settings and their XML: the documented example replies parse to what they
say, what we build parses back to what we meant, and what S3 would refuse is refused here."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from spacesync.errors import AccessDenied, ConfigError, MalformedResponse
from spacesync.protocol import bucket_config as cfg
from spacesync.protocol.model import Owner

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


OWNER = Owner("6174283", "6174283")
PUBLIC_READ = {("6174283", None, "FULL_CONTROL"), (None, cfg.ALL_USERS, "READ")}


def grant_set(policy: cfg.AccessControlPolicy) -> set[tuple[str | None, str | None, str]]:
    return {(g.grantee.id, g.grantee.uri, g.permission) for g in policy.grants}


# --- ACL -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["get_bucket_acl_reply.xml", "get_object_acl_reply.xml"])
def test_documented_acl_replies_are_public_read(name: str) -> None:
    policy = cfg.parse_acl(fixture(name))
    assert policy.owner == OWNER
    assert grant_set(policy) == PUBLIC_READ
    assert policy.canned_name == "public-read"
    kinds = {g.grantee.kind for g in policy.grants}
    assert kinds == {"CanonicalUser", "Group"}


def test_documented_examples_are_the_canned_acls() -> None:
    assert cfg.parse_acl(fixture("acl_private_example.xml")).canned_name == "private"
    assert cfg.parse_acl(fixture("acl_public_read_example.xml")).canned_name == "public-read"


def test_canned_policy_builds_the_documented_document() -> None:
    built = cfg.build_acl(cfg.AccessControlPolicy.canned("public-read", Owner("6174283")))
    documented = cfg.parse_acl(fixture("put_bucket_acl_request.xml"))
    assert grant_set(cfg.parse_acl(built)) == grant_set(documented) == PUBLIC_READ
    # Grantees carry their xsi:type, as the reference shows.
    assert b'xsi:type="Group"' in built and b'xsi:type="CanonicalUser"' in built


def test_mixed_grants_are_not_a_canned_acl() -> None:
    policy = cfg.AccessControlPolicy(OWNER, (cfg.Grant(cfg.Grantee(id="6174283"), "READ"),))
    assert policy.canned_name is None


def test_grant_headers_group_grantees_by_permission() -> None:
    grants = [
        cfg.Grant(cfg.Grantee(uri=cfg.ALL_USERS), "READ"),
        cfg.Grant(cfg.Grantee(id="a"), "READ"),
        cfg.Grant(cfg.Grantee(id="owner"), "FULL_CONTROL"),
        cfg.Grant(cfg.Grantee(id="b"), "WRITE_ACP"),
    ]
    assert cfg.grant_headers(grants) == {
        "x-amz-grant-read": f'uri="{cfg.ALL_USERS}", id="a"',
        "x-amz-grant-full-control": 'id="owner"',
        "x-amz-grant-write-acp": 'id="b"',
    }


def test_bad_grants_are_refused() -> None:
    with pytest.raises(ConfigError, match="not both"):
        cfg.Grantee(id="a", uri=cfg.ALL_USERS)
    with pytest.raises(ConfigError, match="unknown permission"):
        cfg.Grant(cfg.Grantee(id="a"), "EVERYTHING")
    with pytest.raises(ConfigError, match="canned"):
        cfg.AccessControlPolicy.canned("authenticated-read", OWNER)


def test_acl_reply_with_an_error_document_raises_it() -> None:
    body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
    with pytest.raises(AccessDenied):
        cfg.parse_acl(body)


# --- CORS ----------------------------------------------------------------------------------

DOCUMENTED_CORS = [
    cfg.CorsRule(
        allowed_origins=("http://example.com",),
        allowed_methods=("PUT", "DELETE", "POST"),
        allowed_headers=("*",),
    ),
    cfg.CorsRule(allowed_origins=("*",), allowed_methods=("GET",)),
]


def test_documented_cors_reply() -> None:
    assert cfg.parse_cors(fixture("get_bucket_cors_reply.xml")) == DOCUMENTED_CORS


def test_cors_build_round_trips() -> None:
    rules = [
        cfg.CorsRule(
            allowed_origins=("https://*.example.com",),
            allowed_methods=("GET", "HEAD"),
            allowed_headers=("x-amz-*",),
            expose_headers=("ETag",),
            max_age_seconds=600,
            id="web",
        )
    ]
    assert cfg.parse_cors(cfg.build_cors(rules)) == rules


def test_cors_json_in_the_aws_cli_shape() -> None:
    document = {
        "CORSRules": [
            {
                "AllowedOrigins": ["http://example.com"],
                "AllowedMethods": ["PUT", "DELETE", "POST"],
                "AllowedHeaders": ["*"],
            },
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
        ]
    }
    xml = cfg.parse_config_file(
        json.dumps(document).encode(), root="CORSConfiguration", lists=cfg.CORS_JSON_LISTS
    )
    assert cfg.parse_cors(xml) == DOCUMENTED_CORS


def test_cors_xml_file_is_taken_as_is() -> None:
    data = fixture("put_bucket_cors_request.xml")
    xml = cfg.parse_config_file(data, root="CORSConfiguration", lists=cfg.CORS_JSON_LISTS)
    assert cfg.parse_cors(xml) == [
        cfg.CorsRule(
            allowed_origins=("http://example.com",),
            allowed_methods=("PUT", "POST", "DELETE"),
            allowed_headers=("*",),
        ),
        DOCUMENTED_CORS[1],
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allowed_origins": (), "allowed_methods": ("GET",)}, "at least one"),
        ({"allowed_origins": ("*",), "allowed_methods": ("PATCH",)}, "PATCH"),
        ({"allowed_origins": ("http://*.*.com",), "allowed_methods": ("GET",)}, "one '\\*'"),
    ],
)
def test_bad_cors_rules_are_refused(kwargs: dict[str, tuple[str, ...]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.CorsRule(**kwargs)  # type: ignore[arg-type]


def test_config_file_that_is_neither_json_nor_xml() -> None:
    with pytest.raises(ConfigError, match="neither JSON nor"):
        cfg.parse_config_file(b"AllowedOrigin=*", root="CORSConfiguration", lists={})
    with pytest.raises(ConfigError, match="unexpected list 'Origins'"):
        cfg.parse_config_file(
            b'{"CORSRules": [{"Origins": ["*"]}]}',
            root="CORSConfiguration",
            lists=cfg.CORS_JSON_LISTS,
        )


# --- lifecycle -----------------------------------------------------------------------------

DOCUMENTED_LIFECYCLE = [
    cfg.LifecycleRule(id="Expire old logs", prefix="logs/", expiration_days=90),
    cfg.LifecycleRule(id="Remove uncompleted uploads", abort_incomplete_days=1),
]


@pytest.mark.parametrize(
    "name", ["get_bucket_lifecycle_reply.xml", "put_bucket_lifecycle_request.xml"]
)
def test_documented_lifecycle(name: str) -> None:
    assert cfg.parse_lifecycle(fixture(name)) == DOCUMENTED_LIFECYCLE


@pytest.mark.parametrize("legacy", [False, True])
def test_lifecycle_round_trips_in_both_forms(legacy: bool) -> None:
    rules = [
        *DOCUMENTED_LIFECYCLE,
        cfg.LifecycleRule(id="dated", enabled=False, expiration_date=date(2030, 1, 1)),
    ]
    built = cfg.build_lifecycle(rules, legacy=legacy)
    assert cfg.parse_lifecycle(built) == rules
    assert (b"<Filter>" in built) is not legacy
    assert b"<Date>2030-01-01T00:00:00Z</Date>" in built


def test_lifecycle_json_in_the_aws_cli_shape() -> None:
    document = {
        "Rules": [
            {
                "ID": "Expire old logs",
                "Filter": {"Prefix": "logs/"},
                "Status": "Enabled",
                "Expiration": {"Days": 90},
            },
            {
                "ID": "Remove uncompleted uploads",
                "Prefix": "",
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            },
        ]
    }
    xml = cfg.xml_from_json(document, root="LifecycleConfiguration", lists=cfg.LIFECYCLE_JSON_LISTS)
    assert cfg.parse_lifecycle(xml) == DOCUMENTED_LIFECYCLE


def test_lifecycle_date_must_be_midnight_utc() -> None:
    body = (
        b"<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status>"
        b"<Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration></Rule>"
        b"</LifecycleConfiguration>"
    )
    with pytest.raises(MalformedResponse, match="midnight"):
        cfg.parse_lifecycle(body)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "x"}, "no action"),
        ({"id": "x", "expiration_days": 0}, "positive"),
        ({"id": "x", "expiration_days": 1, "expiration_date": date(2030, 1, 1)}, "not both"),
        ({"id": "x" * 256, "expiration_days": 1}, "1..255"),
    ],
)
def test_bad_lifecycle_rules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.LifecycleRule(**kwargs)  # type: ignore[arg-type]


def test_duplicate_rule_ids_are_refused() -> None:
    rule = cfg.LifecycleRule(id="same", expiration_days=1)
    with pytest.raises(ConfigError, match="unique"):
        cfg.build_lifecycle([rule, rule])


# --- versioning and versions ---------------------------------------------------------------


def test_versioning_states() -> None:
    assert cfg.parse_versioning(fixture("aws_get_bucket_versioning_reply.xml")) == "Enabled"
    assert cfg.parse_versioning(b"<VersioningConfiguration/>") is None
    assert cfg.parse_versioning(cfg.build_versioning("Suspended")) == "Suspended"
    with pytest.raises(ConfigError):
        cfg.build_versioning("Disabled")


def test_documented_list_versions_reply() -> None:
    page = cfg.parse_list_versions(fixture("aws_list_object_versions_reply.xml"))
    assert [(v.key, v.version_id, v.is_latest, v.is_delete_marker) for v in page.versions] == [
        ("my-image.jpg", "3/L4kqtJl40Nr8X8gdRQBpUMLUo", True, False),
        ("my-second-image.jpg", "03jpff543dhffds434rfdsFDN943fdsFkdmqnh892", True, True),
        ("my-second-image.jpg", "QUpfdndhfd8438MNFDN93jdnJFkdmqnh893", False, False),
    ]
    first, marker = page.versions[0], page.versions[1]
    assert first.etag == "fba9dede5f27731c9771645a39863328"
    assert first.size == 434234
    assert first.last_modified == datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)
    assert marker.etag is None and marker.size is None
    assert page.is_truncated
    assert page.next_key_marker == "my-second-image.jpg"
    assert page.next_version_id_marker == "03jpff543dhffds434rfdsFDN943fdsFkdmqnh892"


def test_truncated_versions_page_needs_a_marker() -> None:
    body = b"<ListVersionsResult><IsTruncated>true</IsTruncated></ListVersionsResult>"
    with pytest.raises(MalformedResponse, match="NextKeyMarker"):
        cfg.parse_list_versions(body)


# --- tagging -------------------------------------------------------------------------------


def test_tagging() -> None:
    assert cfg.parse_tagging(fixture("aws_get_object_tagging_reply.xml")) == {
        "tag1": "val1",
        "tag2": "val2",
    }
    tags = {"project": "spacesync", "empty": "", "spaced key": "a & b"}
    assert cfg.parse_tagging(cfg.build_tagging(tags)) == tags


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({f"k{i}": "v" for i in range(11)}, "at most 10"),
        ({"": "v"}, "1..128"),
        ({"k" * 129: "v"}, "1..128"),
        ({"k": "v" * 257}, "256"),
    ],
)
def test_tag_limits(tags: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.build_tagging(tags)


# --- website -------------------------------------------------------------------------------


def test_documented_website_reply() -> None:
    config = cfg.parse_website(fixture("aws_get_bucket_website_reply.xml"))
    assert config.index_document == "index.html"
    assert config.error_document == "404.html"
    assert config.routing_rules == (
        cfg.RoutingRule(
            redirect=cfg.Redirect(replace_key_prefix_with="documents/"),
            key_prefix_equals="docs/",
        ),
        cfg.RoutingRule(
            redirect=cfg.Redirect(
                host_name="ec2-11-22-333-44.compute-1.amazonaws.com",
                replace_key_prefix_with="report-404/",
            ),
            http_error_code_returned_equals="404",
        ),
    )
    assert cfg.parse_website(cfg.build_website(config)) == config


def test_website_redirect_all_round_trips() -> None:
    config = cfg.WebsiteConfiguration(
        redirect_all_requests_to=cfg.Redirect(host_name="example.com", protocol="https")
    )
    assert cfg.parse_website(cfg.build_website(config)) == config


def test_website_json_in_the_aws_cli_shape() -> None:
    document = {
        "IndexDocument": {"Suffix": "index.html"},
        "RoutingRules": [
            {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyWith": "x"}}
        ],
    }
    xml = cfg.xml_from_json(document, root="WebsiteConfiguration", lists=cfg.WEBSITE_JSON_LISTS)
    config = cfg.parse_website(xml)
    assert config.routing_rules[0].redirect.replace_key_with == "x"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "index document"),
        ({"index_document": "a/index.html"}, "must not contain"),
        (
            {"index_document": "i.html", "redirect_all_requests_to": cfg.Redirect("h")},
            "nothing else",
        ),
    ],
)
def test_bad_websites_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.WebsiteConfiguration(**kwargs)  # type: ignore[arg-type]


# --- logging -------------------------------------------------------------------------------


def test_documented_logging_request() -> None:
    # The 2025 reference's example carries a misspelt namespace; it still reads.
    assert cfg.parse_logging(fixture("put_bucket_logging_request.xml")) == cfg.LoggingConfig(
        "log-target-bucket", "logs/"
    )
    assert cfg.parse_logging(cfg.build_logging(None)) is None
    config = cfg.LoggingConfig("logs", "access/")
    assert cfg.parse_logging(cfg.build_logging(config)) == config


# --- policy --------------------------------------------------------------------------------

GOOD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::media/*",
        }
    ],
}


def test_a_good_policy_passes() -> None:
    assert cfg.validate_policy(json.dumps(GOOD_POLICY)) == GOOD_POLICY


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        (json.dumps({**GOOD_POLICY, "Version": "2020-01-01"}), "Version"),
        (json.dumps({"Statement": []}), "non-empty Statement"),
        (json.dumps({"Statement": [{"Effect": "Maybe"}]}), "Allow or Deny"),
        (json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*"}]}), "Action"),
        (
            json.dumps({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}),
            "list of strings",
        ),
        (json.dumps({"Statement": {"Effect": "Deny", "Action": "s3:*"}}), "Resource"),
        ("{" + " " * cfg.MAX_POLICY_BYTES + "}", "20480"),
    ],
)
def test_bad_policies_are_refused_before_sending(policy: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.validate_policy(policy)
