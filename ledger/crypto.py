"""Ed25519 keys, key ids, canonical base64, and the domain-separated signatures of DESIGN §4–5.

Every signature the ledger makes or checks covers a fixed prefix followed by JCS bytes, so a
signature over one kind of message can never be replayed as another kind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.errors import BadSignature

STATEMENT_PREFIX = b"accountability-ledger/v1 statement\n"
RECEIPT_PREFIX = b"accountability-ledger/v1 receipt\n"
HEAD_PREFIX = b"accountability-ledger/v1 head\n"
# An evidence bundle's manifest: every subject a bundle must hold, with its head (DESIGN §9
# is silent; docs/evidence.md).
MANIFEST_PREFIX = b"accountability-ledger/v1 manifest\n"

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def key_id(public_key: bytes) -> str:
    """The first 32 hex digits of SHA-256 of the raw 32-byte public key (DESIGN §3)."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def b64encode(data: bytes) -> str:
    """RFC 4648 standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode_canonical(text: str, *, size: int | None = None) -> bytes:
    """Decode base64 that has exactly one accepted encoding; ``ValueError`` otherwise."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("not RFC 4648 standard base64 with padding") from None
    if b64encode(data) != text:
        raise ValueError("not the canonical base64 encoding of its bytes")
    if size is not None and len(data) != size:
        raise ValueError(f"must encode exactly {size} bytes, not {len(data)}")
    return data


def statement_message(statement_jcs: bytes) -> bytes:
    """The bytes an official signs for a statement."""
    return STATEMENT_PREFIX + statement_jcs


@lru_cache(maxsize=4096)
def _public_key(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise ``BadSignature`` unless ``signature`` is ``public_key``'s over ``message``."""
    try:
        _public_key(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise BadSignature(
            f"the signature does not verify with key {key_id(public_key)} over "
            "'accountability-ledger/v1 statement\\n' + JCS(statement); sign the "
            "canonical bytes of exactly the statement sent"
        ) from None


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key with the ids the ledger knows it by."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """A deterministic key from 32 seed bytes (tests, demos)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM file does not hold an Ed25519 private key")
        return cls(key)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls.from_pem(path.read_bytes())

    def to_pem(self) -> bytes:
        """PEM PKCS#8, unencrypted (the file's mode protects it)."""
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, path: Path) -> None:
        """Write the PEM with mode 0600, refusing to overwrite an existing key."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.to_pem())

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_b64(self) -> str:
        return b64encode(self.public_bytes)

    @property
    def key_id(self) -> str:
        return key_id(self.public_bytes)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def sign_statement(self, statement_jcs: bytes) -> str:
        """The base64 signature of a statement's canonical bytes."""
        return b64encode(self.sign(statement_message(statement_jcs)))


def load_public_key_file(path: Path) -> bytes:
    """Raw public key bytes from a PEM public key or a file holding its base64."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} does not hold an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64decode_canonical(data.decode("ascii").strip(), size=PUBLIC_KEY_SIZE)
