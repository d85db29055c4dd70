"""Canonical bytes: JCS as RFC 8785 defines it, and the entry/envelope layouts built on it."""

from __future__ import annotations

import json
import unicodedata

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    entry_bytes,
    envelope_bytes,
    jcs,
    parse_json,
    split_entry,
    statement_body,
)
from ledger.errors import InvalidStatement, MalformedRequest


def test_members_are_sorted_by_utf16_code_units_as_rfc_8785_section_3_2_3_shows() -> None:
    # The RFC's own sorting example: "\r", "1", U+0080, U+00F6, U+20AC, U+1F600, U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(jcs(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_strings_and_literals_serialise_as_rfc_8785_section_3_2_2_shows() -> None:
    value = {
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert jcs(value) == expected.encode("utf-8")


def test_vietnamese_text_keeps_its_normalisation_form_byte_for_byte() -> None:
    nfc = unicodedata.normalize("NFC", "Nguyễn Thị Ánh Tuyết")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    for text in (nfc, nfd):
        assert jcs({"full_name": text}) == b'{"full_name":"' + text.encode("utf-8") + b'"}'
        assert parse_json(jcs({"full_name": text})) == {"full_name": text}


def test_the_entry_layout_is_the_jcs_of_the_entry_object() -> None:
    statement = {"type": "matter.opened", "body": {"title": "Cấp phép xây dựng"}, "seq": 0}
    statement_jcs = jcs(statement)
    entry = {
        "statement": statement,
        "signature": "c2ln",
        "recorded_at": "2026-11-27T02:00:00.000001Z",
    }
    assert entry_bytes(statement_jcs, "c2ln", entry["recorded_at"]) == rfc8785.dumps(entry)
    envelope = {"statement": statement, "signature": "c2ln"}
    assert envelope_bytes(statement_jcs, "c2ln") == rfc8785.dumps(envelope)


def test_the_statement_bytes_are_a_slice_of_the_entry_bytes() -> None:
    statement_jcs = jcs({"a": "ở đâu", "b": [1, 2]})
    entry = entry_bytes(statement_jcs, "c2ln", "2026-11-27T02:00:00.000001Z")
    parts = split_entry(entry)
    assert parts.statement == statement_jcs
    assert parts.signature == "c2ln"
    assert parts.recorded_at == "2026-11-27T02:00:00.000001Z"


def test_entry_bytes_in_another_member_order_are_not_an_entry() -> None:
    reordered = b'{"signature":"c2ln","recorded_at":"2026-11-27T02:00:00.000001Z","statement":{}}'
    with pytest.raises(ValueError, match="canonical"):
        split_entry(reordered)


@pytest.mark.parametrize(
    ("raw", "error", "fragment"),
    [
        (b'{"a":1,"a":2}', MalformedRequest, "duplicate member name"),
        (b'{"a":{"b":1,"b":1}}', MalformedRequest, "duplicate member name"),
        (b'{"a":NaN}', MalformedRequest, "NaN"),
        (b'{"a":Infinity}', MalformedRequest, "Infinity"),
        (b'{"a":-Infinity}', MalformedRequest, "-Infinity"),
        (b'{"a":', MalformedRequest, "invalid JSON"),
        (b'{"a":"\xff"}', MalformedRequest, "UTF-8"),
        (b'\xef\xbb\xbf{"a":1}', MalformedRequest, "byte order mark"),
        (b"[" * 40 + b"]" * 40, MalformedRequest, "nests deeper"),
        (b'{"a":1.0}', InvalidStatement, "not an integer"),
        (b'{"a":1e3}', InvalidStatement, "not an integer"),
        (b'{"a":9007199254740992}', InvalidStatement, "outside"),
        (b'{"a":-9007199254740992}', InvalidStatement, "outside"),
        (b'{"a":1' + b"0" * 5000 + b"}", InvalidStatement, "outside"),
        (b'{"a":"\\ud800"}', InvalidStatement, "lone surrogate"),
        (b'{"\\udc00":1}', InvalidStatement, "lone surrogate"),
    ],
)
def test_json_that_jcs_cannot_represent_faithfully_is_refused(
    raw: bytes, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        parse_json(raw)


def test_the_largest_safe_integers_and_paired_surrogates_are_accepted() -> None:
    value = parse_json(b'{"max":9007199254740991,"min":-9007199254740991,"e":"\\ud83d\\ude00"}')
    assert value == {"max": 2**53 - 1, "min": -(2**53 - 1), "e": "\U0001f600"}


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=_json_values)
def test_the_fast_canonical_encoding_writes_exactly_what_rfc_8785_writes(value: object) -> None:
    # jcs() takes orjson's sorted-keys path when it can; rfc8785 is the reference.
    assert jcs(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(
    body=st.dictionaries(st.text(min_size=1, max_size=8), _json_values, max_size=5),
    actor=st.from_regex(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$", fullmatch=True),
)
def test_the_body_slice_of_a_canonical_statement_is_the_jcs_of_its_body(
    body: dict[str, object], actor: str
) -> None:
    statement = {
        "spec": "al/1",
        "event_id": "4b0c1d2e-0000-4000-8000-000000000000",
        "type": "handoff.offered",
        "subject": "matter:M1",
        "seq": 1,
        "prev": None,
        "actor": actor,
        "key": "0" * 32,
        "occurred_at": "2026-11-27T09:30:00+07:00",
        "body": body,
    }
    assert statement_body(jcs(statement)) == jcs(body)
