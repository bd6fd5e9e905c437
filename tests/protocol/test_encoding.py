"""S3's single URI encoding: what goes on the wire is exactly what gets signed."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from hypothesis import given
from hypothesis import strategies as st

from spacesync.protocol.encoding import encode_query, uri_encode

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
ENCODED = re.compile(r"(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*")
ENCODED_PATH = re.compile(r"(?:[A-Za-z0-9\-_.~/]|%[0-9A-F]{2})*")

texts = st.text(st.characters(codec="utf-8"))
pairs = st.lists(st.tuples(texts, texts), max_size=8)


@given(texts, st.booleans())
def test_uri_encode_round_trips(value: str, keep_slash: bool) -> None:
    assert unquote(uri_encode(value, keep_slash=keep_slash), errors="strict") == value


@given(texts)
def test_uri_encode_emits_only_unreserved_and_uppercase_escapes(value: str) -> None:
    assert ENCODED.fullmatch(uri_encode(value))
    assert ENCODED_PATH.fullmatch(uri_encode(value, keep_slash=True))


@given(texts)
def test_slash_is_kept_only_in_paths(value: str) -> None:
    assert "/" not in uri_encode(value)
    assert uri_encode(value, keep_slash=True).count("/") == value.count("/")
    assert uri_encode(value, keep_slash=True).split("/") == [
        uri_encode(segment) for segment in value.split("/")
    ]


@given(texts)
def test_uri_encode_agrees_with_urllib_quote(value: str) -> None:
    assert uri_encode(value) == quote(value, safe="-_.~")
    assert uri_encode(value, keep_slash=True) == quote(value, safe="/-_.~")


@given(st.text(alphabet=UNRESERVED))
def test_unreserved_text_is_left_alone(value: str) -> None:
    assert uri_encode(value) == value


def test_uri_encode_known_values() -> None:
    assert uri_encode("a b+c%d~e/f") == "a%20b%2Bc%25d~e%2Ff"
    assert uri_encode("a b+c%d~e/f", keep_slash=True) == "a%20b%2Bc%25d~e/f"
    assert uri_encode("ሴ") == "%E1%88%B4"
    assert uri_encode("é") != uri_encode("e\u0301")  # NFC and NFD are different keys
    assert uri_encode("?#&=;:@$,") == "%3F%23%26%3D%3B%3A%40%24%2C"


def decode(query: str) -> list[tuple[str, str]]:
    decoded = []
    for item in filter(None, query.split("&")):
        name, sep, value = item.partition("=")
        assert sep == "="  # every pair carries '=', even with an empty value
        decoded.append((unquote(name), unquote(value)))
    return decoded


@given(pairs)
def test_encode_query_keeps_every_pair(query: list[tuple[str, str]]) -> None:
    assert sorted(decode(encode_query(query))) == sorted(query)


@given(pairs)
def test_encode_query_sorts_by_encoded_name_then_value(query: list[tuple[str, str]]) -> None:
    encoded = [tuple(item.split("=")) for item in filter(None, encode_query(query).split("&"))]
    assert encoded == sorted(encoded)
    assert all(ENCODED.fullmatch(part) for pair in encoded for part in pair)


@given(st.permutations([("b", "2"), ("B", "1"), ("a", "z"), ("a", "y"), ("a-b", ""), ("ሴ", "")]))
def test_encode_query_ignores_input_order(query: list[tuple[str, str]]) -> None:
    # Byte order of the *encoded* names: '%' < digits < upper case < '_' < lower case.
    assert encode_query(query) == "%E1%88%B4=&B=1&a=y&a=z&a-b=&b=2"


def test_encode_query_empty() -> None:
    assert encode_query([]) == ""
    assert encode_query([("acl", "")]) == "acl="
