"""Coverage-guided fuzzing of every reply parser with atheris (run by test_atheris.py).

Any input must give a result or a SpacesError; anything else escapes and atheris reports
a crash with the input that caused it."""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from spacesync.errors import SpacesError
    from spacesync.protocol import bucket_config as cfg
    from spacesync.protocol import headers, xml

XML_PARSERS = [
    xml.parse_document, xml.error_in_body, xml.parse_list_buckets, xml.parse_list_objects_v2,
    xml.parse_list_objects_v1, xml.parse_bucket_location, xml.parse_initiate_multipart,
    xml.parse_complete_multipart, xml.parse_copy_result, xml.parse_list_parts,
    xml.parse_list_uploads, xml.parse_delete_result, cfg.parse_acl, cfg.parse_cors,
    cfg.parse_lifecycle, cfg.parse_versioning, cfg.parse_list_versions, cfg.parse_tagging,
    cfg.parse_website, cfg.parse_logging,
]


def one_input(data: bytes) -> None:
    for parse in XML_PARSERS:
        with contextlib.suppress(SpacesError):
            parse(data)
    xml.parse_error(data, status=500)
    text = data.decode("utf-8", "replace")
    headers.parse_http_date(text)
    with contextlib.suppress(SpacesError):
        headers.parse_content_range(text)
    with contextlib.suppress(SpacesError):
        headers.parse_object_head({"Content-Length": text, "Content-Range": text, "ETag": text})


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
