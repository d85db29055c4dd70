"""The bytes the specifications fix, written out by hand, and the product held to them.

Every expected value here is a literal read off DESIGN §3–§5 and docs/evidence.md, the C2SP
specifications (signed-note, tlog-checkpoint, tlog-cosignature) or their published vectors,
or is computed in this file with ``hashlib``, ``base64`` and ``cryptography`` from literal
bytes — never with the code under test. Ed25519 signatures are deterministic (RFC 8032), so
a signature the product makes must equal, byte for byte, the one ``cryptography`` makes
over the literal message.

The helpers at the end (``vkey_by_hand``, ``open_checkpoint_by_hand``,
``cosignature_time_by_hand``, ``cosignature_line_by_hand``, ``leaf_hash_by_hand``) are the
same rules written once from the specifications; the integration and end-to-end tests
check what the product serves with them instead of with the product's own parsers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, cast

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import merkle
from ledger.canonical import entry_bytes, envelope_bytes, jcs
from ledger.client import envelope, envelope_hash
from ledger.crypto import SigningKey, key_id, statement_message
from ledger.entries import leaf_hash
from ledger.note import (
    Checkpoint,
    Note,
    cosign,
    cosignature_message,
    format_vkey,
    key_hash,
    open_checkpoint,
    parse_note,
    parse_verifier,
    sign_note,
    verify_cosignature,
    verify_note,
)
from ledger.statements import parse_envelope
from ledger.storage import LedgerRecorder
from ledger.transparency import (
    TransparencyLog,
    head_message,
    manifest_message,
    receipt_message,
)
from ledger.witness import witness_vkey

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# --- RFC 8032 §7.1, TEST 1 ----------------------------------------------------------------

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC_KEY = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
EMPTY_MESSAGE_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
PRIVATE = Ed25519PrivateKey.from_private_bytes(SEED)  # the reference signer: cryptography
PUBLIC = Ed25519PublicKey.from_public_bytes(PUBLIC_KEY)
KEY = SigningKey.from_seed(SEED)  # the same key, as the product holds it
NO_STORAGE = cast(LedgerRecorder, None)  # a log signs its promises without storage

# DESIGN §3: the first 32 hex digits of SHA-256 of the raw public key.
KEY_ID = "21fe31dfa154a261626bf854046fd227"
ORIGIN = "spec.example/ledger"
WITNESS = "witness.spec.example"
# DESIGN §5 / C2SP signed-note: <name>+<hex SHA-256(name || 0x0A || type || key)[:4]>+
# <base64(type || key)>, type 0x01 for the log's note key, 0x04 for a cosignature/v1 key.
LOG_VKEY = "spec.example/ledger+f173332c+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
WITNESS_VKEY = "witness.spec.example+b1d2e329+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"


def test_the_reference_key_is_rfc_8032_test_1_in_both_libraries() -> None:
    assert KEY.public_bytes == PUBLIC_KEY
    assert PRIVATE.sign(b"") == EMPTY_MESSAGE_SIGNATURE
    assert KEY.sign(b"") == EMPTY_MESSAGE_SIGNATURE


# --- key ids and vkeys --------------------------------------------------------------------


def test_a_key_id_is_the_first_32_hex_digits_of_sha256_of_the_raw_public_key() -> None:
    assert hashlib.sha256(PUBLIC_KEY).hexdigest()[:32] == KEY_ID
    assert key_id(PUBLIC_KEY) == KEY_ID
    assert KEY.key_id == KEY_ID


def test_a_vkeys_key_hash_is_sha256_of_name_newline_type_and_key() -> None:
    log_hash = hashlib.sha256(ORIGIN.encode() + b"\x0a" + b"\x01" + PUBLIC_KEY).digest()[:4]
    witness_hash = hashlib.sha256(WITNESS.encode() + b"\x0a" + b"\x04" + PUBLIC_KEY).digest()[:4]
    assert log_hash == bytes.fromhex("f173332c")
    assert witness_hash == bytes.fromhex("b1d2e329")
    assert key_hash(ORIGIN, PUBLIC_KEY) == log_hash
    assert key_hash(WITNESS, PUBLIC_KEY, 0x04) == witness_hash


def test_the_log_and_witness_vkeys_are_the_c2sp_form() -> None:
    assert base64.b64encode(b"\x01" + PUBLIC_KEY).decode() == LOG_VKEY.split("+", 2)[2]
    assert vkey_by_hand(ORIGIN, 0x01, PUBLIC_KEY) == LOG_VKEY
    assert vkey_by_hand(WITNESS, 0x04, PUBLIC_KEY) == WITNESS_VKEY
    assert format_vkey(ORIGIN, PUBLIC_KEY) == LOG_VKEY
    assert TransparencyLog(NO_STORAGE, origin=ORIGIN, log_key=KEY).vkey == LOG_VKEY
    assert witness_vkey(WITNESS, KEY) == WITNESS_VKEY
    parsed = parse_verifier(LOG_VKEY)
    assert (parsed.name, parsed.algorithm, parsed.public_key) == (ORIGIN, 0x01, PUBLIC_KEY)


# Published vkeys: golang.org/x/mod/sumdb/note's example (note_test.go), C2SP signed-note's
# example, and a witness of the public witness network (transparency-dev/formats tests).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


@pytest.mark.parametrize("vkey", [GO_VKEY, C2SP_VKEY, REMORA_VKEY])
def test_published_vkeys_parse_and_format_back_byte_for_byte(vkey: str) -> None:
    name, key_type, public_key = vkey_parts(vkey)
    verifier = parse_verifier(vkey)
    assert (verifier.name, verifier.algorithm, verifier.public_key) == (name, key_type, public_key)
    assert format_vkey(name, public_key, key_type) == vkey


# --- statements, envelopes, entries (DESIGN §4) ------------------------------------------

STATEMENT: dict[str, Any] = {
    "spec": "al/1",
    "event_id": "4b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
    "type": "handoff.offered",
    "subject": "matter:H10.15-251127-0001",
    "seq": 3,
    "prev": "9f2c" * 16,
    "actor": "nguyen.van.a",
    "key": KEY_ID,
    "occurred_at": "2026-11-27T09:30:00+07:00",
    "body": {"to": "tran.thi.b", "reason": 'Hồ sơ "thiếu"\nchuyển lại'},
}
# RFC 8785: members sorted by name, no whitespace, UTF-8 as is, only '"', '\' and controls
# escaped (here a quote and a line feed).
STATEMENT_JCS = (
    r'{"actor":"nguyen.van.a","body":{"reason":"Hồ sơ \"thiếu\"\nchuyển lại","to":"tran.thi.b"},'
    r'"event_id":"4b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3","key":"21fe31dfa154a261626bf854046fd227",'
    r'"occurred_at":"2026-11-27T09:30:00+07:00",'
    r'"prev":"9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c9f2c","seq":3,'
    r'"spec":"al/1","subject":"matter:H10.15-251127-0001","type":"handoff.offered"}'
).encode()
STATEMENT_MESSAGE = b"accountability-ledger/v1 statement\n" + STATEMENT_JCS
SIGNATURE = base64.b64encode(PRIVATE.sign(STATEMENT_MESSAGE)).decode()
RECORDED_AT = "2026-11-27T02:30:01.000000Z"


def test_a_statements_signed_message_is_the_prefix_and_its_jcs() -> None:
    assert jcs(STATEMENT) == STATEMENT_JCS
    assert statement_message(jcs(STATEMENT)) == STATEMENT_MESSAGE
    assert parse_envelope({"statement": STATEMENT, "signature": SIGNATURE}).statement.canonical == (
        STATEMENT_JCS
    )


def test_the_client_signs_exactly_the_statement_message() -> None:
    assert KEY.sign_statement(STATEMENT_JCS) == SIGNATURE
    signed = envelope(STATEMENT, KEY)
    assert signed == {"statement": STATEMENT, "signature": SIGNATURE}
    PUBLIC.verify(base64.b64decode(signed["signature"]), STATEMENT_MESSAGE)


def test_an_envelope_hash_is_sha256_of_the_envelopes_jcs() -> None:
    envelope_jcs = b'{"signature":"' + SIGNATURE.encode() + b'","statement":' + STATEMENT_JCS + b"}"
    expected = hashlib.sha256(envelope_jcs).hexdigest()
    assert envelope_bytes(STATEMENT_JCS, SIGNATURE) == envelope_jcs
    assert envelope_hash({"statement": STATEMENT, "signature": SIGNATURE}) == expected
    assert parse_envelope({"statement": STATEMENT, "signature": SIGNATURE}).hash == expected


def test_an_entrys_bytes_and_leaf_hash_are_jcs_and_sha256_of_0x00_and_them() -> None:
    entry = (
        b'{"recorded_at":"2026-11-27T02:30:01.000000Z","signature":"'
        + SIGNATURE.encode()
        + b'","statement":'
        + STATEMENT_JCS
        + b"}"
    )
    expected = hashlib.sha256(b"\x00" + entry).digest()
    assert entry_bytes(STATEMENT_JCS, SIGNATURE, RECORDED_AT) == entry
    assert rfc8785.dumps(
        {"recorded_at": RECORDED_AT, "signature": SIGNATURE, "statement": STATEMENT}
    ) == (entry)
    assert leaf_hash(entry) == expected == leaf_hash_by_hand(entry)
    assert merkle.hash_leaf(entry) == expected


# --- the log's signed promises (DESIGN §5, docs/evidence.md) -----------------------------

LEAF_HASH = "ab" * 32
ENVELOPE_HASH = "cd" * 32


def test_a_receipts_signed_entry_timestamp_signs_the_prefix_and_jcs_of_five_fields() -> None:
    message = (
        b"accountability-ledger/v1 receipt\n"
        b'{"event_id":"4b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3","index":42,'
        b'"leaf_hash":"abababababababababababababababababababababababababababababababab",'
        b'"origin":"spec.example/ledger","recorded_at":"2026-11-27T02:30:01.000000Z"}'
    )
    event_id = STATEMENT["event_id"]
    assert receipt_message(ORIGIN, event_id, 42, LEAF_HASH, RECORDED_AT) == message
    log = TransparencyLog(NO_STORAGE, origin=ORIGIN, log_key=KEY)
    signed = log.signed_entry_timestamp(event_id, 42, LEAF_HASH, RECORDED_AT)
    assert signed == base64.b64encode(PRIVATE.sign(message)).decode()
    PUBLIC.verify(base64.b64decode(signed), message)


def test_a_head_attestation_signs_the_prefix_and_jcs_of_five_fields() -> None:
    message = (
        b"accountability-ledger/v1 head\n"
        b'{"envelope_hash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",'
        b'"origin":"spec.example/ledger","seq":3,"subject":"matter:H10.15-251127-0001",'
        b'"tree_size":43}'
    )
    subject = "matter:H10.15-251127-0001"
    assert head_message(ORIGIN, subject, 3, ENVELOPE_HASH, 43) == message


def test_a_manifest_signs_the_prefix_and_jcs_of_the_manifest_without_its_signature() -> None:
    manifest = {
        "origin": ORIGIN,
        "tree_size": 43,
        "scope": {
            "official_id": "do.thi.lan",
            "from": None,
            "to": "2026-12-31T23:59:59+07:00",
            "matters": ["H10.15-251127-0001"],
        },
        "subjects": {
            "matter:H10.15-251127-0001": {"seq": 3, "envelope_hash": ENVELOPE_HASH},
            "ledger": {"seq": 0, "envelope_hash": "ef" * 32},
        },
        "signature": "not part of what is signed",
    }
    message = (
        b"accountability-ledger/v1 manifest\n"
        b'{"origin":"spec.example/ledger",'
        b'"scope":{"from":null,"matters":["H10.15-251127-0001"],"official_id":"do.thi.lan",'
        b'"to":"2026-12-31T23:59:59+07:00"},'
        b'"subjects":{'
        b'"ledger":{"envelope_hash":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef",'
        b'"seq":0},'
        b'"matter:H10.15-251127-0001":{'
        b'"envelope_hash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","seq":3}},'
        b'"tree_size":43}'
    )
    assert manifest_message(manifest) == message
    signed = TransparencyLog(NO_STORAGE, origin=ORIGIN, log_key=KEY).sign_manifest(manifest)
    assert signed == base64.b64encode(PRIVATE.sign(message)).decode()


def test_the_committed_version_1_bundles_manifest_verifies_over_the_documented_message() -> None:
    bundle = json.loads((FIXTURES / "bundle-v1.json").read_bytes())
    name, _, public_key = vkey_parts((FIXTURES / "bundle-v1.vkey").read_text("utf-8").strip())
    manifest = dict(bundle["manifest"])
    signature = base64.b64decode(manifest.pop("signature"), validate=True)
    assert manifest["origin"] == name
    message = b"accountability-ledger/v1 manifest\n" + rfc8785.dumps(manifest)
    Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)


# --- checkpoints (C2SP signed-note, tlog-checkpoint) -------------------------------------

# The RFC 6962 reference tree of five leaves (transparency-dev/merkle testonly/constants.go).
ROOT_5 = bytes.fromhex("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4")
CHECKPOINT_TEXT = "spec.example/ledger\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\n"


def test_a_checkpoint_is_origin_size_and_base64_root_then_the_logs_signature_line() -> None:
    assert base64.b64encode(ROOT_5).decode() == CHECKPOINT_TEXT.split("\n")[2]
    signature = PRIVATE.sign(CHECKPOINT_TEXT.encode())
    line = (
        "— spec.example/ledger " + base64.b64encode(bytes.fromhex("f173332c") + signature).decode()
    )
    note = CHECKPOINT_TEXT + "\n" + line + "\n"
    assert "\u2014" in line  # an EM DASH, then one space
    checkpoint = Checkpoint(ORIGIN, 5, ROOT_5)
    assert checkpoint.text == CHECKPOINT_TEXT
    assert checkpoint.sign(KEY) == note
    # the line verifies with cryptography alone, and the product opens the note made by hand
    assert open_checkpoint_by_hand(note, LOG_VKEY) == (ORIGIN, 5, ROOT_5)
    opened, _ = open_checkpoint(note, parse_verifier(LOG_VKEY))
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, 5, ROOT_5)


def test_a_checkpoint_signed_by_hand_and_tampered_does_not_open_by_hand() -> None:
    note = Checkpoint(ORIGIN, 5, ROOT_5).sign(KEY)
    with pytest.raises(InvalidSignature):
        open_checkpoint_by_hand(note.replace("\n5\n", "\n6\n", 1), LOG_VKEY)


GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n"
    + "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    + "gotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_product_signs_and_opens_the_go_note_packages_example_byte_for_byte() -> None:
    # The private key's base64 is 0x01 || seed (golang.org/x/mod/sumdb/note).
    material = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert material[0] == 0x01
    go_key = SigningKey.from_seed(material[1:])
    assert Note(GO_TEXT, (sign_note(GO_TEXT, "PeterNeumann", go_key),)).render() == GO_NOTE
    verify_note(parse_note(GO_NOTE), parse_verifier(GO_VKEY))


def test_the_product_verifies_the_c2sp_signed_note_example() -> None:
    line = (
        "— example.com/foo "
        "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
    )
    note = "This is an example message.\n\n" + line + "\n"
    verify_note(parse_note(note), parse_verifier(C2SP_VKEY))


# --- cosignatures (C2SP tlog-cosignature, cosignature/v1) --------------------------------


def test_a_cosignature_signs_cosignature_v1_the_time_and_the_checkpoint_body() -> None:
    message = (
        b"cosignature/v1\ntime 1700000000\n"
        b"spec.example/ledger\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\n"
    )
    assert cosignature_message(CHECKPOINT_TEXT, 1700000000) == message
    # key hash (type 0x04) || 8-byte big-endian time || signature
    payload = bytes.fromhex("b1d2e329") + bytes.fromhex("000000006553f100") + PRIVATE.sign(message)
    expected = "— witness.spec.example " + base64.b64encode(payload).decode() + "\n"
    assert cosign(CHECKPOINT_TEXT, WITNESS, KEY, 1700000000).line == expected
    assert cosignature_line_by_hand(CHECKPOINT_TEXT, WITNESS, PRIVATE, 1700000000) == expected
    note = Checkpoint(ORIGIN, 5, ROOT_5).sign(KEY) + expected
    assert cosignature_time_by_hand(note, WITNESS_VKEY) == 1700000000


# A checkpoint of a public CT log with witnesses' cosignatures (transparency-dev staging,
# as tlog-scales' tests keep it): remora.n621.de's line is a real cosignature/v1.
ARCHE_TEXT = (
    "arche2025h1.staging.ct.transparency.dev\n"
    "1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
)
REMORA_LINE = (
    "— remora.n621.de "
    "2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw=="
)


def test_the_product_verifies_a_public_witnesss_cosignature() -> None:
    note = ARCHE_TEXT + "\n" + REMORA_LINE + "\n"
    assert cosignature_time_by_hand(note, REMORA_VKEY) == 1779573024
    (line,) = parse_note(note).signatures
    assert verify_cosignature(ARCHE_TEXT, line, parse_verifier(REMORA_VKEY)) == 1779573024
    tampered = parse_note(note.replace("1432088532", "1432088533"))
    with pytest.raises(ValueError, match="does not verify"):
        verify_cosignature(tampered.text, tampered.signatures[0], parse_verifier(REMORA_VKEY))


# --- the rules written once, for the tests that check served notes ------------------------


def leaf_hash_by_hand(entry: bytes) -> bytes:
    """RFC 6962 §2.1: SHA-256(0x00 || the entry's bytes)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def vkey_by_hand(name: str, key_type: int, public_key: bytes) -> str:
    """C2SP signed-note: ``<name>+<hex key hash>+<base64(type || key)>``."""
    material = bytes([key_type]) + public_key
    key_hash = hashlib.sha256(name.encode("utf-8") + b"\n" + material).digest()[:4]
    return f"{name}+{key_hash.hex()}+{base64.b64encode(material).decode()}"


def vkey_parts(vkey: str) -> tuple[str, int, bytes]:
    """A vkey's name, key type and raw public key; its key hash must match them."""
    name, _, material_b64 = vkey.split("+", 2)  # the base64 may itself hold '+'
    material = base64.b64decode(material_b64, validate=True)
    assert len(material) == 33, vkey
    assert vkey_by_hand(name, material[0], material[1:]) == vkey, f"{vkey}: wrong key hash"
    return name, material[0], material[1:]


def _split_note(note: str) -> tuple[str, list[str]]:
    """The signed text (ending in a newline) and the signature lines of a signed note."""
    assert note.endswith("\n"), note
    end = note.index("\n\n") + 1  # a checkpoint's text has no empty line
    return note[:end], note[end + 1 :].splitlines()


def _signature_by(lines: list[str], name: str, key_type: int, public_key: bytes) -> bytes:
    """What follows the key hash in ``name``'s one line (key hash checked)."""
    prefix = f"\u2014 {name} "
    (raw,) = [
        base64.b64decode(line[len(prefix) :], validate=True)
        for line in lines
        if line.startswith(prefix)
    ]
    key_hash = hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]
    assert raw[:4] == key_hash, f"{name}'s line names another key"
    return raw[4:]


def open_checkpoint_by_hand(note: str, vkey: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint note whose ``vkey`` line verifies with
    ``cryptography``; ``InvalidSignature`` if it does not."""
    name, key_type, public_key = vkey_parts(vkey)
    assert key_type == 0x01, "a log signs checkpoints with an Ed25519 note key"
    text, lines = _split_note(note)
    signature = _signature_by(lines, name, key_type, public_key)
    Ed25519PublicKey.from_public_bytes(public_key).verify(signature, text.encode("utf-8"))
    origin, size, root, after = text.split("\n")
    assert (origin, after) == (name, ""), "the checkpoint's origin is the log's key name"
    assert size.isdigit(), size
    assert size == "0" or not size.startswith("0"), size
    return origin, int(size), base64.b64decode(root, validate=True)


def cosignature_time_by_hand(note: str, vkey: str) -> int:
    """The time of the cosignature/v1 line by ``vkey``'s witness on a checkpoint note,
    verified with ``cryptography``; ``InvalidSignature`` if it does not verify."""
    name, key_type, public_key = vkey_parts(vkey)
    assert key_type == 0x04, "a witness cosigns with a cosignature/v1 key"
    text, lines = _split_note(note)
    payload = _signature_by(lines, name, key_type, public_key)
    assert len(payload) == 8 + 64, "an 8-byte time and a 64-byte signature"
    timestamp = int.from_bytes(payload[:8], "big")
    message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode("utf-8")
    Ed25519PublicKey.from_public_bytes(public_key).verify(payload[8:], message)
    return timestamp


def cosignature_line_by_hand(
    text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int
) -> str:
    """A witness's cosignature/v1 line over a checkpoint's text, made with ``cryptography``."""
    public_key = private_key.public_key().public_bytes_raw()
    key_hash = hashlib.sha256(name.encode() + b"\n\x04" + public_key).digest()[:4]
    when = timestamp.to_bytes(8, "big")
    signature = private_key.sign(f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode())
    return f"\u2014 {name} {base64.b64encode(key_hash + when + signature).decode()}\n"


def checkpoint_note_by_hand(
    origin: str, size: int, root: bytes, private_key: Ed25519PrivateKey
) -> str:
    """A checkpoint note signed with ``cryptography`` under the key name ``origin``."""
    text = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    public_key = private_key.public_key().public_bytes_raw()
    key_hash = hashlib.sha256(origin.encode() + b"\n\x01" + public_key).digest()[:4]
    signature = private_key.sign(text.encode())
    return f"{text}\n\u2014 {origin} {base64.b64encode(key_hash + signature).decode()}\n"


def test_a_checkpoint_note_by_hand_is_the_one_the_product_signs() -> None:
    assert checkpoint_note_by_hand(ORIGIN, 5, ROOT_5, PRIVATE) == Checkpoint(
        ORIGIN, 5, ROOT_5
    ).sign(KEY)
