"""Hostile bodies on POST /v1/events (DESIGN §3, §4 steps 2–3, §8).

Each hostile body is built around one statement a root could rightly sign (registering
an agency), signed over the exact bytes sent wherever a signature matters, so that the
only thing wrong with it is what the test put there. Every answer must be an RFC 9457
problem that reveals no internals, and nothing may reach the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ledger.canonical import MAX_NESTING, MAX_SAFE_INTEGER, envelope_bytes, jcs
from ledger.client import make_statement
from ledger.crypto import SigningKey
from ledger.errors import PROBLEM_TYPE_PREFIX
from ledger.statements import NAME_MAX, TEXT_MAX
from tests.world import Node, World

LIMIT = 64 * 1024
SUBJECT = "agency:H10"
OCCURRED = "2026-03-02T08:00:00+07:00"
BODY = {"name": "Sở Tài nguyên và Môi trường", "level": "province"}


def statement(world: World, **changes: Any) -> dict[str, Any]:
    """agency.registered of H10 by the root: valid as it stands."""
    st = make_statement(
        "agency.registered",
        SUBJECT,
        seq=0,
        prev=None,
        actor=world.root.id,
        key_id=world.root.key.key_id,
        body=BODY,
        occurred_at=OCCURRED,
        event_id="4b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
    )
    st.update(changes)
    return st


def signed(statement_bytes: bytes, key: SigningKey) -> bytes:
    """Envelope bytes around exactly these statement bytes, signed over exactly them."""
    return envelope_bytes(statement_bytes, key.sign_statement(statement_bytes))


def valid_envelope(world: World, **changes: Any) -> bytes:
    return signed(jcs(statement(world, **changes)), world.root.key)


def hostile(world: World, old: bytes, new: bytes) -> bytes:
    """The valid statement's canonical bytes with ``old`` replaced by ``new``, signed."""
    raw = jcs(statement(world))
    assert raw.count(old) == 1, (old, raw)
    return signed(raw.replace(old, new), world.root.key)


def post(node: Node, content: bytes | Iterator[bytes], content_type: str | None) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return node.http.post("/v1/events", content=content, headers=headers)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 problem of this status and type, with no internals in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_TYPE_PREFIX + slug, problem
    assert problem["status"] == status
    assert isinstance(problem["title"], str)
    assert problem["title"]
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    for leak in ("Traceback", 'File "', "Exception", "sqlite3", "psycopg", "/work/"):
        assert leak not in response.text, response.text
    return problem


def rejected(
    node: Node,
    content: bytes | Iterator[bytes],
    status: int,
    slug: str,
    content_type: str | None = "application/json",
) -> dict[str, Any]:
    """Post, require the problem, and require the log unchanged."""
    size = node.ledger.size()
    problem = assert_problem(post(node, content, content_type), status, slug)
    assert node.ledger.size() == size, "a rejected body reached the log"
    return problem


def test_the_untouched_envelope_is_accepted(node: Node, world: World) -> None:
    # The baseline every hostile body below is a variation of.
    response = post(node, valid_envelope(world), "application/json")
    assert response.status_code == 201, response.text
    assert world.head(SUBJECT) is not None


# --- step 3: syntax (400) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"statement": ',
        b"{'statement': {}, 'signature': ''}",
        b'{"statement": {}, "signature": "",}',
        b'{"statement": {} "signature": ""}',
        b'{"statement": {}, "signature": ""} trailing',
        b'{"statement": {}, "signature": ""}{}',
        b"statement=1&signature=2",
        b'{"signature": "\\x41"}',
        b'{"signature": "tab\tinside"}',
        b"[1, 2,]",
        b"01",
        b"undefined",
    ],
)
def test_malformed_json_is_a_malformed_request(node: Node, content: bytes) -> None:
    rejected(node, content, 400, "malformed-request")


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
@pytest.mark.parametrize("where", ["seq", "body"])
def test_nan_and_infinities_are_a_malformed_request(
    node: Node, world: World, constant: bytes, where: str
) -> None:
    if where == "seq":
        content = hostile(world, b'"seq":0', b'"seq":' + constant)
    else:
        content = hostile(world, b'"level":"province"', b'"level":"province","n":' + constant)
    rejected(node, content, 400, "malformed-request")


def test_duplicate_member_names_at_the_top_level_are_a_malformed_request(
    node: Node, world: World
) -> None:
    good = valid_envelope(world)
    # A last-wins parser would accept this as the good envelope itself.
    content = b'{"signature":"AAAA",' + good[1:]
    rejected(node, content, 400, "malformed-request")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"name":', '"name":"Sở Tư pháp","name":'.encode()),
        (b'"seq":0', b'"seq":0,"seq":0'),
        (b'"level":"province"', b'"level":"province","level":"province"'),
    ],
    ids=["in the body, other values", "in the statement, same value", "in the body, same value"],
)
def test_duplicate_member_names_nested_in_the_statement_are_a_malformed_request(
    node: Node, world: World, old: bytes, new: bytes
) -> None:
    rejected(node, hostile(world, old, new), 400, "malformed-request")


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 200, 20_000])
def test_a_deeply_nested_body_is_a_malformed_request(node: Node, world: World, depth: int) -> None:
    # Nested inside the statement's body, where a schema would otherwise see "unknown field".
    deep = b"[" * depth + b"]" * depth
    content = hostile(world, b'"level":"province"', b'"level":"province","x":' + deep)
    assert len(content) <= LIMIT
    rejected(node, content, 400, "malformed-request")


def test_a_deeply_nested_top_level_value_is_a_malformed_request(node: Node) -> None:
    depth = (LIMIT - 100) // len(b'{"a":}')
    rejected(node, b'{"a":' * depth + b"1" + b"}" * depth, 400, "malformed-request")


@pytest.mark.parametrize(
    "bad",
    [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe1\xba", b"\xf8\x88\x80\x80\x80"],
    ids=["0xff", "overlong slash", "encoded surrogate", "truncated sequence", "five bytes"],
)
def test_invalid_utf8_is_a_malformed_request(node: Node, world: World, bad: bytes) -> None:
    rejected(node, hostile(world, "Tài".encode(), b"T" + bad + b"i"), 400, "malformed-request")


def test_a_byte_order_mark_is_a_malformed_request(node: Node, world: World) -> None:
    # A UTF-8-sig decoder would accept what follows, a valid envelope.
    rejected(node, b"\xef\xbb\xbf" + valid_envelope(world), 400, "malformed-request")


# --- steps 2 and 3: size (413) and media type (415) ----------------------------------------


def padded(content: bytes, size: int) -> bytes:
    """JSON with trailing whitespace up to ``size`` bytes: the same value."""
    return content + b" " * (size - len(content))


def test_a_body_of_exactly_64_kib_is_read(node: Node, world: World) -> None:
    response = post(node, padded(valid_envelope(world), LIMIT), "application/json")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"x" * (LIMIT + 1), "application/json"),
        (b"x" * (LIMIT + 1), "text/plain"),
        (b"{" * (LIMIT + 1), "application/json"),
        (b"\xff" * (4 * LIMIT), "application/json"),
    ],
    ids=["not JSON", "not JSON nor declared JSON", "nested past any limit", "not UTF-8"],
)
def test_a_body_over_64_kib_is_too_large_before_it_is_parsed(
    node: Node, content: bytes, content_type: str
) -> None:
    rejected(node, content, 413, "payload-too-large", content_type)


def test_a_valid_envelope_one_byte_over_64_kib_is_too_large(node: Node, world: World) -> None:
    rejected(node, padded(valid_envelope(world), LIMIT + 1), 413, "payload-too-large")


def test_a_streamed_body_over_64_kib_without_a_length_is_too_large(node: Node) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 8192

    rejected(node, chunks(), 413, "payload-too-large")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/problem+json",
        "application/jsonl",
        "text/json",
    ],
)
def test_a_body_not_declared_as_json_is_an_unsupported_media_type(
    node: Node, world: World, content_type: str | None
) -> None:
    # A valid, signed envelope: only its declared type is wrong.
    rejected(node, valid_envelope(world), 415, "unsupported-media-type", content_type)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json "]
)
def test_json_declared_with_parameters_or_in_other_case_is_read(
    node: Node, world: World, content_type: str
) -> None:
    response = post(node, valid_envelope(world), content_type)
    assert response.status_code == 201, response.text


# --- step 3: what JCS cannot represent faithfully (422) ------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"seq":0', b'"seq":0.0'),
        (b'"seq":0', b'"seq":0e0'),
        (b'"seq":0', b'"seq":-0.0'),
        (b'"seq":0', b'"seq":1E400'),
        (b'"level":"province"', b'"level":"province","ratio":0.5'),
        (b'"level":"province"', b'"level":"province","list":[1,[2,{"f":3.25}]]'),
    ],
    ids=["0.0", "0e0", "-0.0", "1E400", "body member", "deep in a list"],
)
def test_a_float_anywhere_is_an_invalid_statement(
    node: Node, world: World, old: bytes, new: bytes
) -> None:
    rejected(node, hostile(world, old, new), 422, "invalid-statement")


def test_a_float_in_the_envelope_is_an_invalid_statement(node: Node, world: World) -> None:
    content = valid_envelope(world)[:-1] + b',"version":1.0}'
    rejected(node, content, 422, "invalid-statement")


@pytest.mark.parametrize(
    "number",
    [
        str(MAX_SAFE_INTEGER + 1),
        str(-(MAX_SAFE_INTEGER + 1)),
        str(2**64),
        str(-(2**63)),
        "9" * 5000,  # past Python's own limit on int() of a string
        "-" + "1" * 40_000,
    ],
    ids=["2^53", "-2^53", "2^64", "-2^63", "5000 digits", "-40000 digits"],
)
def test_an_integer_outside_the_safe_range_is_an_invalid_statement(
    node: Node, world: World, number: str
) -> None:
    content = hostile(world, b'"seq":0', b'"seq":' + number.encode())
    assert len(content) <= LIMIT
    rejected(node, content, 422, "invalid-statement")


def test_the_largest_safe_integer_is_parsed_and_judged_on_its_merits(
    node: Node, world: World
) -> None:
    # Not a parse error: the subject is empty, so seq 2^53−1 is a stale head.
    content = valid_envelope(world, seq=MAX_SAFE_INTEGER, prev="ab" * 32)
    assert str(MAX_SAFE_INTEGER).encode() in content
    rejected(node, content, 409, "stale-head")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"T\xc3\xa0i", b"\\ud800"),
        (b"T\xc3\xa0i", b"\\udfff"),
        (b"T\xc3\xa0i", b"\\ude00\\ud83d"),
        (b'"level":"province"', b'"level":"province","\\ud800":"x"'),
    ],
    ids=["high", "low", "swapped pair", "member name"],
)
def test_a_lone_surrogate_escape_is_an_invalid_statement(
    node: Node, world: World, old: bytes, new: bytes
) -> None:
    rejected(node, hostile(world, old, new), 422, "invalid-statement")


def test_an_escaped_surrogate_pair_is_one_character_and_is_accepted(
    node: Node, world: World
) -> None:
    # The signer signs JCS, where 😀 is four raw UTF-8 bytes; the wire may escape it.
    named = statement(world, body={**BODY, "name": "Sở 😀"})
    wire = jcs(named).replace("😀".encode(), b"\\ud83d\\ude00")
    content = envelope_bytes(wire, world.root.key.sign_statement(jcs(named)))
    response = post(node, content, "application/json")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "name",
    ["Sở\u0000Tư pháp", "Sở\u0007Tư pháp", "Sở\u001bTư pháp", "Sở\u007fTư pháp", "Sở\nTư pháp"],
    ids=["NUL", "BEL", "ESC", "DEL", "line feed"],
)
def test_control_characters_in_a_name_are_an_invalid_statement(
    node: Node, world: World, name: str
) -> None:
    content = valid_envelope(world, body={**BODY, "name": name})
    rejected(node, content, 422, "invalid-statement")


@pytest.mark.parametrize(
    ("field", "length", "accepted"),
    [("name", NAME_MAX, True), ("name", NAME_MAX + 1, False), ("name", 20_000, False)],
)
def test_an_overlong_name_is_an_invalid_statement(
    node: Node, world: World, field: str, length: int, accepted: bool
) -> None:
    content = valid_envelope(world, body={**BODY, field: "ạ" * length})
    assert len(content) <= LIMIT
    if accepted:
        assert post(node, content, "application/json").status_code == 201
    else:
        rejected(node, content, 422, "invalid-statement")


def test_an_overlong_text_is_an_invalid_statement(node: Node, world: World) -> None:
    # calendar.adjusted's source_document is a text; the calendar needs no opening.
    def adjusted(document: str) -> bytes:
        return valid_envelope(
            world,
            type="calendar.adjusted",
            subject="calendar:VN",
            body={"date": "2026-04-30", "kind": "day_off", "source_document": document},
        )

    rejected(node, adjusted("a" * (TEXT_MAX + 1)), 422, "invalid-statement")
    assert post(node, adjusted("a" * TEXT_MAX), "application/json").status_code == 201


def test_an_overlong_identifier_is_an_invalid_statement(node: Node, world: World) -> None:
    content = valid_envelope(world, subject="agency:" + "H" * 129)
    rejected(node, content, 422, "invalid-statement")


# --- step 3: the envelope's and the statement's shape (422) --------------------------------


@pytest.mark.parametrize(
    "content",
    [b"[]", b"null", b"true", b"1", b'"envelope"', b"{}", b'[{"statement":{},"signature":""}]'],
)
def test_an_envelope_that_is_not_an_object_of_two_members_is_an_invalid_statement(
    node: Node, content: bytes
) -> None:
    rejected(node, content, 422, "invalid-statement")


@pytest.mark.parametrize(
    "extra",
    [b',"receipt":{}', b',"recorded_at":"2026-03-02T01:00:00.000000Z"', b',"x":null'],
)
def test_extra_envelope_members_are_an_invalid_statement(
    node: Node, world: World, extra: bytes
) -> None:
    # A lenient reader would drop the extra member and store a valid envelope.
    content = valid_envelope(world)[:-1] + extra + b"}"
    rejected(node, content, 422, "invalid-statement")


def test_an_envelope_without_its_signature_is_an_invalid_statement(
    node: Node, world: World
) -> None:
    content = json.dumps({"statement": statement(world)}).encode()
    rejected(node, content, 422, "invalid-statement")


@pytest.mark.parametrize(
    "signature",
    ["", "not base64!", 42, None],
)
def test_a_signature_that_is_not_base64_of_64_bytes_is_an_invalid_statement(
    node: Node, world: World, signature: Any
) -> None:
    content = json.dumps({"statement": statement(world), "signature": signature}).encode()
    rejected(node, content, 422, "invalid-statement")


def test_a_non_canonical_base64_signature_is_an_invalid_statement(node: Node, world: World) -> None:
    good = json.loads(valid_envelope(world))
    unpadded = good["signature"].rstrip("=")
    assert unpadded != good["signature"]
    content = json.dumps({**good, "signature": unpadded}).encode()
    rejected(node, content, 422, "invalid-statement")


@pytest.mark.parametrize(
    "changes",
    [
        {"extra": "member"},
        {"spec": "al/2"},
        {"event_id": "4B0C1D2E-3F40-4A5B-8C6D-7E8F90A1B2C3"},
        {"type": "agency.renamed"},
        {"key": "AB" * 16},
        {"body": []},
    ],
    ids=["eleventh member", "spec", "uppercase uuid", "unknown type", "uppercase key", "body list"],
)
def test_a_statement_out_of_shape_is_an_invalid_statement(
    node: Node, world: World, changes: dict[str, Any]
) -> None:
    rejected(node, valid_envelope(world, **changes), 422, "invalid-statement")


def test_a_statement_missing_a_member_is_an_invalid_statement(node: Node, world: World) -> None:
    st = statement(world)
    del st["prev"]  # null at seq 0, but present: all ten members are required
    rejected(node, signed(jcs(st), world.root.key), 422, "invalid-statement")


# --- step 3: lexical forms of times and dates (422) ----------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-03-02T08:00:00",
        "2026-03-02T08:00:00.123456",
        "2026-03-02 08:00:00+07:00",
        "2026-03-02T08:00:00z",
        "2026-03-02T08:00+07:00",
        "2026-03-02T08:00:00+0700",
        "2026-03-02T08:00:00.1234567+07:00",
        "2026-03-02",
        "1772413200",
    ],
)
def test_an_instant_without_its_offset_or_in_another_form_is_an_invalid_statement(
    node: Node, world: World, occurred_at: str
) -> None:
    rejected(node, valid_envelope(world, occurred_at=occurred_at), 422, "invalid-statement")


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-02-30T08:00:00+07:00",
        "2025-02-29T08:00:00+07:00",
        "2026-13-01T08:00:00+07:00",
        "2026-03-02T24:00:00+07:00",
        "2026-03-02T08:60:00+07:00",
        "2026-03-02T08:00:60+07:00",
        "2026-03-02T08:00:00+24:00",
    ],
)
def test_an_instant_that_does_not_exist_is_an_invalid_statement(
    node: Node, world: World, occurred_at: str
) -> None:
    rejected(node, valid_envelope(world, occurred_at=occurred_at), 422, "invalid-statement")


@pytest.mark.parametrize(
    ("date", "accepted"),
    [("2026-02-30", False), ("2026-04-31", False), ("2026-4-30", False), ("2028-02-29", True)],
)
def test_a_date_that_does_not_exist_is_an_invalid_statement(
    node: Node, world: World, date: str, accepted: bool
) -> None:
    content = valid_envelope(
        world,
        type="calendar.adjusted",
        subject="calendar:VN",
        body={"date": date, "kind": "day_off", "source_document": "Quyết định 1/QĐ-UBND"},
    )
    if accepted:
        assert post(node, content, "application/json").status_code == 201
    else:
        rejected(node, content, 422, "invalid-statement")
