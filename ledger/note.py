"""C2SP signed-note keys: verifier keys (``vkey``) and key hashes for Ed25519 (DESIGN §5).

vkey = ``<name>+<8 hex key hash>+<base64(0x01 || public key)>`` where the key hash is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; Go's ``golang.org/x/mod/sumdb/note``
reads the same form.
"""

from __future__ import annotations

import hashlib

from ledger.crypto import PUBLIC_KEY_SIZE, b64decode_canonical, b64encode

ED25519_ALGORITHM = 0x01


def key_hash(name: str, public_key: bytes, algorithm: int = ED25519_ALGORITHM) -> bytes:
    """The 4-byte hash that names a key in signature lines."""
    material = name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key
    return hashlib.sha256(material).digest()[:4]


def check_key_name(name: str) -> None:
    """A key name (and so the log's origin): non-empty, no whitespace, no '+'."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise ValueError(f"key name {name!r} must be non-empty with no whitespace and no '+'")


def format_vkey(name: str, public_key: bytes) -> str:
    check_key_name(name)
    return f"{name}+{key_hash(name, public_key).hex()}+{b64encode(bytes([1]) + public_key)}"


def parse_vkey(vkey: str) -> tuple[str, bytes]:
    """The key name and raw Ed25519 public key of a vkey; ``ValueError`` says what is wrong."""
    parts = vkey.split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3:
        raise ValueError("a vkey is <name>+<8 hex key hash>+<base64(0x01 || key)>")
    name, hash_hex, material_b64 = parts
    check_key_name(name)
    try:
        material = b64decode_canonical(material_b64)
    except ValueError as e:
        raise ValueError(f"vkey key material: {e}") from None
    if len(material) != 1 + PUBLIC_KEY_SIZE or material[0] != ED25519_ALGORITHM:
        raise ValueError("vkey key material must be 0x01 followed by a 32-byte Ed25519 key")
    public_key = material[1:]
    if hash_hex != key_hash(name, public_key).hex():
        raise ValueError("vkey key hash does not match its name and key")
    return name, public_key
