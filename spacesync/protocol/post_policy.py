"""PostObject: the policy document and Signature V4 fields of a browser upload form.

Whoever holds the form may upload, until ``expires``, one object whose key starts with the
prefix and whose size fits the range; the form's fields go in the multipart POST before the
``file`` field. Pure: the time is passed in.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from spacesync.errors import ConfigError
from spacesync.protocol.credentials import Credentials
from spacesync.protocol.sigv4 import (
    ALGORITHM,
    amz_date,
    check_presign_expires,
    credential_scope,
    signature,
    signing_key,
)

#: S3 fills ``${filename}`` in the key field with the name of the uploaded file.
FILENAME_VARIABLE = "${filename}"
#: S3's single-request upload limit: a browser form cannot send more.
MAX_POST_SIZE = 5 * 1024**3


@dataclass(frozen=True, slots=True)
class PostForm:
    """Where to POST, and the form fields to send with the file."""

    url: str
    fields: dict[str, str]
    expires: datetime


def build_post_form(
    credentials: Credentials,
    *,
    url: str,
    bucket: str,
    region: str,
    key_prefix: str,
    now: datetime,
    expires_in: int,
    max_size: int,
    min_size: int = 0,
    acl: str | None = None,
    content_type_prefix: str | None = None,
    success_action_status: int | None = None,
) -> PostForm:
    """The form for uploads under ``key_prefix`` of ``min_size..max_size`` bytes.

    The policy lists conditions in the order botocore does, so its signature can be
    checked against botocore's for the same inputs."""
    check_presign_expires(expires_in, what="POST form")
    if not 0 <= min_size <= max_size <= MAX_POST_SIZE:
        raise ConfigError(f"form size limits must satisfy 0 <= min <= max <= {MAX_POST_SIZE}")
    timestamp = amz_date(now)
    scope = credential_scope(date=timestamp[:8], region=region, service="s3")
    credential = f"{credentials.access_key}/{scope}"
    fields: dict[str, str] = {"key": key_prefix + FILENAME_VARIABLE}
    conditions: list[object] = [
        {"bucket": bucket},
        ["starts-with", "$key", key_prefix],
        ["content-length-range", min_size, max_size],
    ]
    if acl is not None:
        fields["acl"] = acl
        conditions.append({"acl": acl})
    if content_type_prefix is not None:
        conditions.append(["starts-with", "$Content-Type", content_type_prefix])
    if success_action_status is not None:
        fields["success_action_status"] = str(success_action_status)
        conditions.append({"success_action_status": str(success_action_status)})
    signed = {"x-amz-algorithm": ALGORITHM, "x-amz-credential": credential, "x-amz-date": timestamp}
    if credentials.session_token is not None:
        signed["x-amz-security-token"] = credentials.session_token
    conditions.extend({name: value} for name, value in signed.items())
    expires = now + timedelta(seconds=expires_in)
    policy = {"expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
    encoded = base64.b64encode(json.dumps(policy).encode("utf-8")).decode("ascii")
    key = signing_key(credentials.secret_key, date=timestamp[:8], region=region, service="s3")
    fields.update(signed)
    fields["policy"] = encoded
    fields["x-amz-signature"] = signature(key, encoded)
    return PostForm(url=url, fields=fields, expires=expires)
