"""Property: whatever the client signs, the server verifies; any single flipped byte of the
signed content or of the signature makes verification fail."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import envelope_bytes, jcs, parse_json
from ledger.client import envelope, make_statement
from ledger.crypto import (
    SigningKey,
    b64decode_canonical,
    b64encode,
    statement_message,
    verify_ed25519,
)
from ledger.errors import ProblemError
from ledger.statements import parse_envelope

KEY = SigningKey.from_seed(bytes(range(32)))
VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
)

# Printable text as statements carry it: no C0 controls but TAB/LF/CR, no lone surrogates.
text = st.text(
    alphabet=st.one_of(
        st.sampled_from(VIETNAMESE + VIETNAMESE.upper() + " .,-/\n"),
        st.characters(blacklist_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")


def statements() -> st.SearchStrategy[dict[str, object]]:
    return st.builds(
        lambda reason, to, seq, minute, normal: make_statement(
            "handoff.offered",
            "matter:H10.15-261127-0001",
            seq=seq,
            prev=None if seq == 0 else "ab" * 32,
            actor="nguyen.van.a",
            key_id=KEY.key_id,
            body={"to": to, "reason": normal(reason)},
            occurred_at=f"2026-11-27T09:{minute:02d}:00+07:00",
            event_id=str(uuid.uuid4()),
        ),
        reason=text,
        to=st.from_regex(r"^[a-z][a-z0-9.]{0,20}$", fullmatch=True),
        seq=st.integers(min_value=0, max_value=2**53 - 1),
        minute=st.integers(min_value=0, max_value=59),
        normal=st.sampled_from([lambda s: s, _nfd]),
    )


def _nfd(value: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFD", value)


def server_accepts(raw: bytes) -> bool:
    """What the server does with envelope bytes before any registry question."""
    try:
        env = parse_envelope(parse_json(raw))
        verify_ed25519(
            KEY.public_bytes, statement_message(env.statement.canonical), env.signature_bytes
        )
    except ProblemError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(statement=statements())
def test_any_statement_the_client_signs_verifies_on_the_server(statement: dict) -> None:
    assert server_accepts(jcs(envelope(statement, KEY)))


@settings(max_examples=150, deadline=None)
@given(statement=statements(), data=st.data())
def test_flipping_any_byte_of_the_signed_statement_fails_verification(
    statement: dict, data: st.DataObject
) -> None:
    signature = envelope(statement, KEY)["signature"]
    signed = bytearray(jcs(statement))
    position = data.draw(st.integers(min_value=0, max_value=len(signed) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    signed[position] ^= flip
    assert not server_accepts(envelope_bytes(bytes(signed), signature))


@settings(max_examples=150, deadline=None)
@given(statement=statements(), data=st.data())
def test_flipping_any_byte_of_the_signature_fails_verification(
    statement: dict, data: st.DataObject
) -> None:
    signed = jcs(statement)
    signature = bytearray(b64decode_canonical(envelope(statement, KEY)["signature"]))
    position = data.draw(st.integers(min_value=0, max_value=len(signature) - 1))
    signature[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    assert not server_accepts(envelope_bytes(signed, b64encode(bytes(signature))))
