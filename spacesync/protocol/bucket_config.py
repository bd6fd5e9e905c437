"""Bucket and object settings as typed values, with their XML forms (and the AWS CLI's JSON).

Covers what the Spaces API reference lists: ACLs (``AccessControlPolicy`` and the
``x-amz-grant-*`` headers), CORS, lifecycle (current ``<Filter>`` form and the legacy
``<Prefix>`` form), versioning and ListObjectVersions, object tagging, website, logging,
and bucket policy JSON. Pure: values in, bytes or values out.

Builders validate what S3 would refuse and raise :class:`ConfigError`, so a bad setting is
reported before any request is sent. Parsers read namespace-agnostically, like
:mod:`spacesync.protocol.xml`, and raise only :class:`MalformedResponse` (or the
:class:`S3Error` of an ``<Error>`` document).

JSON files in the AWS CLI's shape (``aws s3api put-bucket-cors --cors-configuration``) are
accepted through :func:`xml_from_json`: their keys are the XML element names, except that
lists carry plural names, so one table per document says how each list is spelt in XML and
the JSON becomes the same XML the typed parser reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal, TypeVar, get_args

from lxml import etree

from spacesync.errors import ConfigError, MalformedResponse
from spacesync.protocol.model import Owner
from spacesync.protocol.xml import (
    add_child,
    as_bool,
    as_count,
    as_date,
    as_etag,
    as_optional,
    as_text,
    as_token,
    child_value,
    find_all,
    key_decoder,
    local_name,
    new_root,
    parse_document,
    required_value,
    serialize,
    success_root,
)

_V = TypeVar("_V")

#: How a JSON configuration spells its lists in XML: plural JSON key -> (XML container
#: element or None when the items sit directly in the parent, XML element of each item).
JsonLists = Mapping[str, tuple[str | None, str]]

# --- ACLs ----------------------------------------------------------------------------------

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
CannedAcl = Literal["private", "public-read"]
CANNED_ACLS: tuple[str, ...] = get_args(CannedAcl)
Permission = Literal["FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP"]
PERMISSIONS: tuple[str, ...] = get_args(Permission)
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True, slots=True)
class Grantee:
    """A canonical user (``id``) or a group (``uri``); Spaces knows only its owner and
    AllUsers."""

    id: str | None = None
    uri: str | None = None
    display_name: str | None = None

    def __post_init__(self) -> None:
        if (self.id is None) == (self.uri is None):
            raise ConfigError("a grantee is either a user id or a group URI, not both or neither")

    @property
    def kind(self) -> str:
        return "CanonicalUser" if self.id is not None else "Group"

    def header_value(self) -> str:
        """The form ``x-amz-grant-*`` headers take: ``id="…"`` or ``uri="…"``."""
        return f'id="{self.id}"' if self.id is not None else f'uri="{self.uri}"'


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: Grantee
    permission: str

    def __post_init__(self) -> None:
        if self.permission not in PERMISSIONS:
            raise ConfigError(
                f"unknown permission {self.permission!r}: use one of {', '.join(PERMISSIONS)}"
            )


@dataclass(frozen=True, slots=True)
class AccessControlPolicy:
    owner: Owner
    grants: tuple[Grant, ...]

    @classmethod
    def canned(cls, acl: str, owner: Owner) -> AccessControlPolicy:
        """The policy a canned ACL stands for: owner FULL_CONTROL (+ AllUsers READ)."""
        if acl not in CANNED_ACLS:
            raise ConfigError(f"unknown canned ACL {acl!r}: use {' or '.join(CANNED_ACLS)}")
        grants = [Grant(Grantee(id=owner.id), "FULL_CONTROL")]
        if acl == "public-read":
            grants.append(Grant(Grantee(uri=ALL_USERS), "READ"))
        return cls(owner=owner, grants=tuple(grants))

    @property
    def canned_name(self) -> str | None:
        """``private`` or ``public-read`` when the grants are exactly that canned ACL."""
        found = {(g.grantee.id, g.grantee.uri, g.permission) for g in self.grants}
        for acl in CANNED_ACLS:
            expected = AccessControlPolicy.canned(acl, self.owner).grants
            if found == {(g.grantee.id, g.grantee.uri, g.permission) for g in expected}:
                return acl
        return None


def parse_acl(body: bytes) -> AccessControlPolicy:
    root = success_root(body, "AccessControlPolicy")
    owner = _required_child(root, "Owner")
    grants = []
    for grant in find_all(root, "AccessControlList", "Grant"):
        grantee = _required_child(grant, "Grantee")
        try:
            who = Grantee(
                id=child_value(grantee, "ID", as_optional),
                uri=child_value(grantee, "URI", as_optional),
                display_name=child_value(grantee, "DisplayName", as_optional),
            )
            grants.append(Grant(who, required_value(grant, "Permission", as_token)))
        except ConfigError as exc:
            raise MalformedResponse(f"bad <Grant> in <AccessControlPolicy>: {exc}") from None
    return AccessControlPolicy(
        owner=Owner(
            id=required_value(owner, "ID", as_token),
            display_name=child_value(owner, "DisplayName", as_optional),
        ),
        grants=tuple(grants),
    )


def build_acl(policy: AccessControlPolicy) -> bytes:
    if not policy.grants:
        raise ConfigError("an AccessControlPolicy needs at least one grant (the owner's)")
    root = new_root("AccessControlPolicy")
    owner = add_child(root, "Owner")
    add_child(owner, "ID", policy.owner.id)
    if policy.owner.display_name:
        add_child(owner, "DisplayName", policy.owner.display_name)
    acl = add_child(root, "AccessControlList")
    for grant in policy.grants:
        element = add_child(acl, "Grant")
        grantee = etree.SubElement(
            element,
            f"{{{_ns(root)}}}Grantee",
            nsmap={"xsi": _XSI},
            attrib={f"{{{_XSI}}}type": grant.grantee.kind},
        )
        if grant.grantee.id is not None:
            add_child(grantee, "ID", grant.grantee.id)
        else:
            add_child(grantee, "URI", grant.grantee.uri)
        add_child(element, "Permission", grant.permission)
    return serialize(root)


def grant_headers(grants: Iterable[Grant]) -> dict[str, str]:
    """``x-amz-grant-read: uri="…"`` and friends: the header form of a list of grants,
    grantees of one permission joined with ``, ``."""
    by_permission: dict[str, list[str]] = {}
    for grant in grants:
        by_permission.setdefault(grant.permission, []).append(grant.grantee.header_value())
    return {
        "x-amz-grant-" + permission.lower().replace("_", "-"): ", ".join(values)
        for permission, values in by_permission.items()
    }


# --- CORS ----------------------------------------------------------------------------------

CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")

# (attribute, XML element repeated once per value, the AWS CLI JSON's plural name)
_CORS_LISTS = (
    ("allowed_origins", "AllowedOrigin", "AllowedOrigins"),
    ("allowed_methods", "AllowedMethod", "AllowedMethods"),
    ("allowed_headers", "AllowedHeader", "AllowedHeaders"),
    ("expose_headers", "ExposeHeader", "ExposeHeaders"),
)


@dataclass(frozen=True, slots=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if not self.allowed_origins or not self.allowed_methods:
            raise ConfigError("a CORS rule needs at least one AllowedOrigin and AllowedMethod")
        if bad := [m for m in self.allowed_methods if m not in CORS_METHODS]:
            raise ConfigError(
                f"CORS AllowedMethod {bad[0]!r} is not one of {', '.join(CORS_METHODS)}"
            )
        for value in (*self.allowed_origins, *self.allowed_headers):
            if value.count("*") > 1:
                raise ConfigError(f"CORS value {value!r} may contain at most one '*' wildcard")


def build_cors(rules: Sequence[CorsRule]) -> bytes:
    if not 1 <= len(rules) <= 100:
        raise ConfigError(f"a CORS configuration holds 1..100 rules, got {len(rules)}")
    root = new_root("CORSConfiguration")
    for rule in rules:
        element = add_child(root, "CORSRule")
        if rule.id is not None:
            add_child(element, "ID", rule.id)
        for attribute, tag, _ in _CORS_LISTS:
            for value in getattr(rule, attribute):
                add_child(element, tag, value)
        if rule.max_age_seconds is not None:
            add_child(element, "MaxAgeSeconds", str(rule.max_age_seconds))
    return serialize(root)


def parse_cors(body: bytes) -> list[CorsRule]:
    root = success_root(body, "CORSConfiguration")
    return [_valid(_cors_rule, rule) for rule in find_all(root, "CORSRule")]


def _cors_rule(rule: etree._Element) -> CorsRule:
    values = {attribute: tuple(_texts(rule, tag)) for attribute, tag, _ in _CORS_LISTS}
    return CorsRule(
        allowed_origins=values["allowed_origins"],
        allowed_methods=values["allowed_methods"],
        allowed_headers=values["allowed_headers"],
        expose_headers=values["expose_headers"],
        max_age_seconds=child_value(rule, "MaxAgeSeconds", as_count),
        id=child_value(rule, "ID", as_optional),
    )


CORS_JSON_LISTS: JsonLists = {
    "CORSRules": (None, "CORSRule"),
    **{plural: (None, tag) for _, tag, plural in _CORS_LISTS},
}


# --- lifecycle -----------------------------------------------------------------------------

MAX_RULE_ID = 255


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    """One rule, limited to what Spaces supports: expiry by days or date, abort of
    unfinished multipart uploads, a prefix filter."""

    id: str
    enabled: bool = True
    prefix: str = ""
    expiration_days: int | None = None
    expiration_date: date | None = None
    abort_incomplete_days: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.id) <= MAX_RULE_ID:
            raise ConfigError(f"a lifecycle rule ID has 1..{MAX_RULE_ID} characters")
        if self.expiration_days is not None and self.expiration_date is not None:
            raise ConfigError(f"rule {self.id!r}: Expiration takes Days or Date, not both")
        for name, days in (
            ("Expiration Days", self.expiration_days),
            ("DaysAfterInitiation", self.abort_incomplete_days),
        ):
            if days is not None and days < 1:
                raise ConfigError(f"rule {self.id!r}: {name} must be a positive number")
        if (self.expiration_days, self.expiration_date, self.abort_incomplete_days) == (
            None,
            None,
            None,
        ):
            raise ConfigError(
                f"rule {self.id!r} has no action: give an expiration or an abort of "
                "incomplete multipart uploads"
            )


def build_lifecycle(rules: Sequence[LifecycleRule], *, legacy: bool = False) -> bytes:
    """The current form puts the prefix in ``<Filter>`` (PutBucketLifecycleConfiguration);
    ``legacy`` puts it straight in ``<Rule>``, as PutBucketLifecycle and the Spaces
    reference's example do."""
    if not 1 <= len(rules) <= 1000:
        raise ConfigError(f"a lifecycle configuration holds 1..1000 rules, got {len(rules)}")
    if len({rule.id for rule in rules}) != len(rules):
        raise ConfigError("lifecycle rule IDs must be unique")
    root = new_root("LifecycleConfiguration")
    for rule in rules:
        element = add_child(root, "Rule")
        add_child(element, "ID", rule.id)
        add_child(element if legacy else add_child(element, "Filter"), "Prefix", rule.prefix)
        add_child(element, "Status", "Enabled" if rule.enabled else "Disabled")
        if rule.expiration_days is not None:
            add_child(add_child(element, "Expiration"), "Days", str(rule.expiration_days))
        elif rule.expiration_date is not None:
            add_child(add_child(element, "Expiration"), "Date", f"{rule.expiration_date}T00:00:00Z")
        if rule.abort_incomplete_days is not None:
            abort = add_child(element, "AbortIncompleteMultipartUpload")
            add_child(abort, "DaysAfterInitiation", str(rule.abort_incomplete_days))
    return serialize(root)


def parse_lifecycle(body: bytes) -> list[LifecycleRule]:
    """Either form; the prefix is read from ``<Filter>`` first, then from ``<Rule>``."""
    root = success_root(body, "LifecycleConfiguration")
    return [_valid(_lifecycle_rule, rule) for rule in find_all(root, "Rule")]


def _lifecycle_rule(rule: etree._Element) -> LifecycleRule:
    status = required_value(rule, "Status", as_token)
    if status not in ("Enabled", "Disabled"):
        raise MalformedResponse(f"lifecycle rule Status {status[:40]!r}")
    expiration = _optional_child(rule, "Expiration")
    abort = _optional_child(rule, "AbortIncompleteMultipartUpload")
    return LifecycleRule(
        id=child_value(rule, "ID", as_text) or "",
        enabled=status == "Enabled",
        prefix=_in(_optional_child(rule, "Filter"), "Prefix", as_text)
        or child_value(rule, "Prefix", as_text)
        or "",
        expiration_days=_in(expiration, "Days", as_count),
        expiration_date=_in(expiration, "Date", _as_midnight),
        abort_incomplete_days=_in(abort, "DaysAfterInitiation", as_count),
    )


LIFECYCLE_JSON_LISTS: JsonLists = {"Rules": (None, "Rule")}


def _as_midnight(text: str) -> date:
    """A lifecycle Date: S3 requires midnight UTC; a bare ``YYYY-MM-DD`` is taken as that."""
    value = text.strip()
    moment = (
        as_date(value)
        if "T" in value
        else datetime.combine(date.fromisoformat(value), time(), UTC)
    )
    if moment.time() != time():
        raise ValueError("a lifecycle date must be midnight UTC")
    return moment.date()


# --- versioning ----------------------------------------------------------------------------

VersioningStatus = Literal["Enabled", "Suspended"]
VERSIONING_STATES: tuple[str, ...] = get_args(VersioningStatus)


def build_versioning(status: str) -> bytes:
    if status not in VERSIONING_STATES:
        raise ConfigError(f"versioning is Enabled or Suspended, not {status!r}")
    root = new_root("VersioningConfiguration")
    add_child(root, "Status", status)
    return serialize(root)


def parse_versioning(body: bytes) -> str | None:
    """``Enabled``, ``Suspended``, or None for a bucket that never had versioning."""
    root = success_root(body, "VersioningConfiguration")
    status = child_value(root, "Status", as_optional)
    if status is not None and status not in VERSIONING_STATES:
        raise MalformedResponse(f"unknown versioning <Status> {status[:40]!r}")
    return status


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One entry of ListObjectVersions: a version, or a delete marker (no ETag, no size)."""

    key: str
    version_id: str
    is_latest: bool
    last_modified: datetime | None
    etag: str | None = None
    size: int | None = None
    storage_class: str | None = None
    is_delete_marker: bool = False


@dataclass(frozen=True, slots=True)
class VersionsPage:
    versions: list[ObjectVersion]
    prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None


def parse_list_versions(body: bytes) -> VersionsPage:
    """Versions and delete markers in document order (by key, newest first)."""
    root = success_root(body, "ListVersionsResult")
    decode = key_decoder(root)
    versions = []
    for entry in root.iterchildren("{*}Version", "{*}DeleteMarker"):
        marker = local_name(entry) == "DeleteMarker"
        versions.append(
            ObjectVersion(
                key=required_value(entry, "Key", decode),
                version_id=required_value(entry, "VersionId", as_token),
                is_latest=required_value(entry, "IsLatest", as_bool),
                last_modified=child_value(entry, "LastModified", as_date),
                etag=None if marker else required_value(entry, "ETag", as_etag),
                size=None if marker else required_value(entry, "Size", as_count),
                storage_class=child_value(entry, "StorageClass", as_optional),
                is_delete_marker=marker,
            )
        )
    truncated = required_value(root, "IsTruncated", as_bool)
    key_marker = (child_value(root, "NextKeyMarker", decode) or None) if truncated else None
    if truncated and key_marker is None:
        raise MalformedResponse("truncated ListVersionsResult without <NextKeyMarker>")
    return VersionsPage(
        versions=versions,
        prefixes=[required_value(p, "Prefix", decode) for p in find_all(root, "CommonPrefixes")],
        is_truncated=truncated,
        next_key_marker=key_marker,
        next_version_id_marker=(
            child_value(root, "NextVersionIdMarker", as_optional) if truncated else None
        ),
    )


# --- tagging -------------------------------------------------------------------------------

MAX_OBJECT_TAGS = 10
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256


def validate_tags(tags: Mapping[str, str]) -> None:
    """S3's limits on object tags, checked before sending (PutObjectTagging or
    ``x-amz-tagging``)."""
    if len(tags) > MAX_OBJECT_TAGS:
        raise ConfigError(f"an object takes at most {MAX_OBJECT_TAGS} tags, got {len(tags)}")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY:
            raise ConfigError(f"tag key {key[:40]!r} must have 1..{MAX_TAG_KEY} characters")
        if len(value) > MAX_TAG_VALUE:
            raise ConfigError(f"tag {key!r}: the value has more than {MAX_TAG_VALUE} characters")


def build_tagging(tags: Mapping[str, str]) -> bytes:
    validate_tags(tags)
    root = new_root("Tagging")
    tag_set = add_child(root, "TagSet")
    for key, value in tags.items():
        tag = add_child(tag_set, "Tag")
        add_child(tag, "Key", key)
        add_child(tag, "Value", value)
    return serialize(root)


def parse_tagging(body: bytes) -> dict[str, str]:
    root = success_root(body, "Tagging")
    return {
        required_value(tag, "Key", as_text): child_value(tag, "Value", as_text) or ""
        for tag in find_all(root, "TagSet", "Tag")
    }


# --- website -------------------------------------------------------------------------------

# (attribute, XML element) of a <Redirect> / <RedirectAllRequestsTo>, in schema order.
_REDIRECT_FIELDS = (
    ("host_name", "HostName"),
    ("http_redirect_code", "HttpRedirectCode"),
    ("protocol", "Protocol"),
    ("replace_key_prefix_with", "ReplaceKeyPrefixWith"),
    ("replace_key_with", "ReplaceKeyWith"),
)
_CONDITION_FIELDS = (
    ("http_error_code_returned_equals", "HttpErrorCodeReturnedEquals"),
    ("key_prefix_equals", "KeyPrefixEquals"),
)


@dataclass(frozen=True, slots=True)
class Redirect:
    host_name: str | None = None
    http_redirect_code: str | None = None
    protocol: str | None = None
    replace_key_prefix_with: str | None = None
    replace_key_with: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in (None, "http", "https"):
            raise ConfigError(f"redirect protocol is http or https, not {self.protocol!r}")
        if self.replace_key_prefix_with is not None and self.replace_key_with is not None:
            raise ConfigError("a redirect replaces the key or its prefix, not both")


@dataclass(frozen=True, slots=True)
class RoutingRule:
    redirect: Redirect
    http_error_code_returned_equals: str | None = None
    key_prefix_equals: str | None = None


@dataclass(frozen=True, slots=True)
class WebsiteConfiguration:
    """Either every request redirected elsewhere, or an index document (with an error
    document and routing rules)."""

    index_document: str | None = None
    error_document: str | None = None
    redirect_all_requests_to: Redirect | None = None
    routing_rules: tuple[RoutingRule, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.redirect_all_requests_to is not None:
            if self.index_document or self.error_document or self.routing_rules:
                raise ConfigError("a website that redirects all requests takes nothing else")
            if not self.redirect_all_requests_to.host_name:
                raise ConfigError("RedirectAllRequestsTo needs a host name")
        elif not self.index_document:
            raise ConfigError("a website needs an index document or a redirect of all requests")
        elif "/" in self.index_document:
            raise ConfigError("the index document suffix must not contain '/'")


def build_website(config: WebsiteConfiguration) -> bytes:
    root = new_root("WebsiteConfiguration")
    if config.redirect_all_requests_to is not None:
        _add_fields(
            add_child(root, "RedirectAllRequestsTo"),
            config.redirect_all_requests_to,
            (("host_name", "HostName"), ("protocol", "Protocol")),
        )
        return serialize(root)
    add_child(add_child(root, "IndexDocument"), "Suffix", config.index_document)
    if config.error_document:
        add_child(add_child(root, "ErrorDocument"), "Key", config.error_document)
    if config.routing_rules:
        rules = add_child(root, "RoutingRules")
        for rule in config.routing_rules:
            element = add_child(rules, "RoutingRule")
            if rule.http_error_code_returned_equals or rule.key_prefix_equals:
                _add_fields(add_child(element, "Condition"), rule, _CONDITION_FIELDS)
            _add_fields(add_child(element, "Redirect"), rule.redirect, _REDIRECT_FIELDS)
    return serialize(root)


def parse_website(body: bytes) -> WebsiteConfiguration:
    return _valid(_website, success_root(body, "WebsiteConfiguration"))


def _website(root: etree._Element) -> WebsiteConfiguration:
    redirect_all = _optional_child(root, "RedirectAllRequestsTo")
    return WebsiteConfiguration(
        index_document=_in(_optional_child(root, "IndexDocument"), "Suffix", as_optional),
        error_document=_in(_optional_child(root, "ErrorDocument"), "Key", as_optional),
        redirect_all_requests_to=(
            Redirect(**_read_fields(redirect_all, _REDIRECT_FIELDS))
            if redirect_all is not None
            else None
        ),
        routing_rules=tuple(
            RoutingRule(
                redirect=Redirect(
                    **_read_fields(_required_child(rule, "Redirect"), _REDIRECT_FIELDS)
                ),
                **_read_fields(_optional_child(rule, "Condition"), _CONDITION_FIELDS),
            )
            for rule in find_all(root, "RoutingRules", "RoutingRule")
        ),
    )


WEBSITE_JSON_LISTS: JsonLists = {"RoutingRules": ("RoutingRules", "RoutingRule")}


# --- logging -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """Access logs of a bucket delivered to ``target_bucket`` under ``target_prefix``."""

    target_bucket: str
    target_prefix: str = ""


def build_logging(config: LoggingConfig | None) -> bytes:
    """None disables logging (an empty ``<BucketLoggingStatus>``)."""
    root = new_root("BucketLoggingStatus")
    if config is not None:
        enabled = add_child(root, "LoggingEnabled")
        add_child(enabled, "TargetBucket", config.target_bucket)
        add_child(enabled, "TargetPrefix", config.target_prefix)
    return serialize(root)


def parse_logging(body: bytes) -> LoggingConfig | None:
    root = success_root(body, "BucketLoggingStatus")
    enabled = _optional_child(root, "LoggingEnabled")
    if enabled is None:
        return None
    return LoggingConfig(
        target_bucket=required_value(enabled, "TargetBucket", as_token),
        target_prefix=child_value(enabled, "TargetPrefix", as_text) or "",
    )


# --- bucket policy -------------------------------------------------------------------------

MAX_POLICY_BYTES = 20 * 1024
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")


def validate_policy(text: str | bytes) -> dict[str, object]:
    """Check a bucket policy's JSON before it is sent: well-formed, within 20 KB, and every
    statement with an Effect, an Action (or NotAction) and a Resource (or NotResource).
    Returns the parsed document."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_POLICY_BYTES:
        raise ConfigError(f"the policy has {len(raw)} bytes; S3 allows {MAX_POLICY_BYTES}")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the policy is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError("the policy must be a JSON object")
    version = document.get("Version")
    if version is not None and version not in POLICY_VERSIONS:
        raise ConfigError(f"policy Version must be one of {', '.join(POLICY_VERSIONS)}")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise ConfigError("the policy needs a non-empty Statement list")
    for number, statement in enumerate(statements, 1):
        where = f"policy Statement {number}"
        if not isinstance(statement, dict):
            raise ConfigError(f"{where} must be a JSON object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise ConfigError(f"{where}: Effect must be Allow or Deny")
        for a, b in (("Action", "NotAction"), ("Resource", "NotResource")):
            if (a in statement) == (b in statement):
                raise ConfigError(f"{where} needs exactly one of {a} and {b}")
            value = statement.get(a, statement.get(b))
            if not (
                (isinstance(value, str) and value)
                or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
            ):
                raise ConfigError(f"{where}: {a} must be a string or a list of strings")
    return document


# --- JSON files in the AWS CLI's shape -----------------------------------------------------


def xml_from_json(data: object, *, root: str, lists: JsonLists) -> bytes:
    """The XML document a JSON configuration (AWS CLI shape) stands for."""
    if not isinstance(data, dict):
        raise ConfigError(f"the {root} JSON must be an object")
    element = new_root(root)
    _json_into(element, data, lists=lists)
    return serialize(element)


def _json_into(parent: etree._Element, data: Mapping[str, object], *, lists: JsonLists) -> None:
    for name, value in data.items():
        if isinstance(value, list):
            if name not in lists:
                raise ConfigError(f"unexpected list {name!r} in the JSON configuration")
            container, item = lists[name]
            holder = add_child(parent, container) if container else parent
            for entry in value:
                _json_value(holder, item, entry, lists=lists)
        else:
            _json_value(parent, name, value, lists=lists)


def _json_value(
    parent: etree._Element,
    name: str,
    value: object,
    *,
    lists: JsonLists,
) -> None:
    if isinstance(value, dict):
        _json_into(add_child(parent, name), value, lists=lists)
    elif isinstance(value, bool):
        add_child(parent, name, "true" if value else "false")
    elif isinstance(value, str | int):
        add_child(parent, name, str(value))
    else:
        raise ConfigError(f"unexpected value for {name!r} in the JSON configuration")


# --- reading helpers -----------------------------------------------------------------------


def parse_config_file(data: bytes, *, root: str, lists: JsonLists) -> bytes:
    """A configuration file as the XML to parse: XML as is, JSON converted; anything else
    is the user's mistake (ConfigError), not a bad reply."""
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        try:
            return xml_from_json(json.loads(data), root=root, lists=lists)
        except ValueError as exc:
            raise ConfigError(f"not valid JSON: {exc}") from None
    try:
        parse_document(data)
    except MalformedResponse as exc:
        raise ConfigError(f"neither JSON nor well-formed XML: {exc}") from None
    return data


def _ns(root: etree._Element) -> str:
    return etree.QName(root).namespace or ""


def _texts(parent: etree._Element, name: str) -> list[str]:
    return [(child.text or "").strip() for child in find_all(parent, name)]


def _optional_child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(f"{{*}}{name}")


def _required_child(parent: etree._Element, name: str) -> etree._Element:
    child = _optional_child(parent, name)
    if child is None:
        raise MalformedResponse(f"<{local_name(parent)}> without <{name}>")
    return child


def _in(parent: etree._Element | None, name: str, convert: Callable[[str], _V]) -> _V | None:
    return None if parent is None else child_value(parent, name, convert)


def _read_fields(
    parent: etree._Element | None, fields: Sequence[tuple[str, str]]
) -> dict[str, str | None]:
    return {attribute: _in(parent, tag, as_optional) for attribute, tag in fields}


def _add_fields(parent: etree._Element, value: object, fields: Sequence[tuple[str, str]]) -> None:
    for attribute, tag in fields:
        text = getattr(value, attribute)
        if text is not None:
            add_child(parent, tag, text)


def _valid(build: Callable[[etree._Element], _V], element: etree._Element) -> _V:
    """Build a value from a reply: one our model refuses makes the reply malformed."""
    try:
        return build(element)
    except ConfigError as exc:
        raise MalformedResponse(f"bad <{local_name(element)}> in the reply: {exc}") from None
