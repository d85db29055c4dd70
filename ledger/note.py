"""C2SP signed notes, checkpoints and cosignatures (DESIGN §5), byte for byte.

- vkey = ``<name>+<8 hex key hash>+<base64(type || public key)>`` where the key hash is
  ``SHA-256(name || 0x0A || type || public key)[:4]``; type 0x01 is an Ed25519 note key
  (the log's), 0x04 an Ed25519 ``cosignature/v1`` key (a witness's). Go's
  ``golang.org/x/mod/sumdb/note`` reads the same form.
- A note is its text (ending in a newline), an empty line, then signature lines
  ``— <name> <base64(key hash || signature)>`` (U+2014 EM DASH and one space).
- A checkpoint's text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` (C2SP
  tlog-checkpoint, no extension lines); the log signs those bytes.
- A cosignature (C2SP tlog-cosignature) signs ``cosignature/v1\\ntime <unix seconds>\\n``
  followed by the checkpoint text; its line carries key hash || 8-byte time || signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.crypto import PUBLIC_KEY_SIZE, SigningKey, b64decode_canonical, b64encode

ED25519_ALGORITHM = 0x01
COSIGNATURE_V1_ALGORITHM = 0x04
EM_DASH = "\u2014"
_SIGNATURE_LINE = re.compile(f"^{EM_DASH} (\\S+) (\\S+)$")


class NoteError(ValueError):
    """A note, key or signature is malformed or does not verify."""


def key_hash(name: str, public_key: bytes, algorithm: int = ED25519_ALGORITHM) -> bytes:
    """The 4-byte hash that names a key in signature lines."""
    material = name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key
    return hashlib.sha256(material).digest()[:4]


def check_key_name(name: str) -> None:
    """A key name (and so the log's origin): non-empty, no whitespace, no '+'."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise ValueError(f"key name {name!r} must be non-empty with no whitespace and no '+'")


def format_vkey(name: str, public_key: bytes, algorithm: int = ED25519_ALGORITHM) -> str:
    check_key_name(name)
    material = b64encode(bytes([algorithm]) + public_key)
    return f"{name}+{key_hash(name, public_key, algorithm).hex()}+{material}"


@dataclass(frozen=True)
class Verifier:
    """A parsed vkey."""

    name: str
    algorithm: int
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key, self.algorithm)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.public_key, self.algorithm)


def parse_verifier(vkey: str) -> Verifier:
    """A vkey of an Ed25519 note key or cosignature/v1 key; ``ValueError`` says what is wrong."""
    parts = vkey.split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3:
        raise ValueError("a vkey is <name>+<8 hex key hash>+<base64(type || key)>")
    name, hash_hex, material_b64 = parts
    check_key_name(name)
    try:
        material = b64decode_canonical(material_b64)
    except ValueError as e:
        raise ValueError(f"vkey key material: {e}") from None
    algorithm = material[0] if material else -1
    if len(material) != 1 + PUBLIC_KEY_SIZE or algorithm not in (
        ED25519_ALGORITHM,
        COSIGNATURE_V1_ALGORITHM,
    ):
        raise ValueError("vkey key material must be 0x01 or 0x04 and a 32-byte Ed25519 key")
    public_key = material[1:]
    if hash_hex != key_hash(name, public_key, algorithm).hex():
        raise ValueError("vkey key hash does not match its name and key")
    return Verifier(name, algorithm, public_key)


def parse_vkey(vkey: str) -> tuple[str, bytes]:
    """The name and raw public key of an Ed25519 note vkey (type 0x01)."""
    verifier = parse_verifier(vkey)
    if verifier.algorithm != ED25519_ALGORITHM:
        raise ValueError("expected an Ed25519 note key (type 0x01)")
    return verifier.name, verifier.public_key


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_hash: bytes
    payload: bytes  # what follows the key hash

    @property
    def line(self) -> str:
        return f"{EM_DASH} {self.name} {b64encode(self.key_hash + self.payload)}\n"


@dataclass(frozen=True)
class Note:
    text: str  # the signed text, ending with a newline
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def parse_note(message: str) -> Note:
    """Split a signed note into its text and signature lines (no verification)."""
    if not message.endswith("\n"):
        raise NoteError("a signed note ends with a newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note has its text, an empty line, then signatures")
    text, block = message[: split + 1], message[split + 2 :]
    signatures = []
    for line in block.split("\n")[:-1]:
        match = _SIGNATURE_LINE.match(line)
        if not match:
            raise NoteError(f"malformed signature line {line!r}")
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            raise NoteError(f"signature line of {match.group(1)} is not base64") from None
        if len(raw) < 5:
            raise NoteError(f"signature line of {match.group(1)} is too short")
        signatures.append(Signature(match.group(1), raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("the note has no signature lines")
    return Note(text, tuple(signatures))


def sign_note(text: str, name: str, key: SigningKey) -> Signature:
    """The log's Ed25519 signature line over a note's text."""
    return Signature(name, key_hash(name, key.public_bytes), key.sign(text.encode("utf-8")))


def _verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def find_signature(note: Note, verifier: Verifier) -> Signature | None:
    for signature in note.signatures:
        if signature.name == verifier.name and signature.key_hash == verifier.key_hash:
            return signature
    return None


def verify_note(note: Note, verifier: Verifier) -> None:
    """Raise ``NoteError`` unless the note carries a valid signature by ``verifier``."""
    signature = find_signature(note, verifier)
    if signature is None:
        raise NoteError(f"the note carries no signature by {verifier.name}")
    if verifier.algorithm != ED25519_ALGORITHM:
        raise NoteError(f"{verifier.name} is not an Ed25519 note key")
    if not _verify(verifier.public_key, signature.payload, note.text.encode("utf-8")):
        raise NoteError(f"the signature by {verifier.name} does not verify")


# --- checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"

    def sign(self, key: SigningKey) -> str:
        """The signed note, the log's signature first (and only)."""
        return Note(self.text, (sign_note(self.text, self.origin, key),)).render()


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise NoteError("a checkpoint is exactly origin, tree size and root hash lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"tree size {size_text!r} is not a decimal number")
    try:
        root = b64decode_canonical(root_text, size=32)
    except ValueError as e:
        raise NoteError(f"root hash: {e}") from None
    return Checkpoint(origin, int(size_text), root)


def open_checkpoint(message: str, log: Verifier) -> tuple[Checkpoint, Note]:
    """Verify a checkpoint note against the log's verifier and parse its text."""
    note = parse_note(message)
    verify_note(note, log)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != log.name:
        raise NoteError(f"the checkpoint's origin {checkpoint.origin!r} is not {log.name!r}")
    return checkpoint, note


# --- cosignatures ------------------------------------------------------------------------


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_text.encode("utf-8")


def cosign(checkpoint_text: str, name: str, key: SigningKey, timestamp: int) -> Signature:
    """A witness's cosignature/v1 line over a checkpoint's text."""
    signed = key.sign(cosignature_message(checkpoint_text, timestamp))
    return Signature(
        name,
        key_hash(name, key.public_bytes, COSIGNATURE_V1_ALGORITHM),
        struct.pack(">Q", timestamp) + signed,
    )


def verify_cosignature(checkpoint_text: str, signature: Signature, witness: Verifier) -> int:
    """The cosignature's timestamp; ``NoteError`` unless it is the witness's valid one."""
    if witness.algorithm != COSIGNATURE_V1_ALGORITHM:
        raise NoteError(f"{witness.name} is not a cosignature/v1 key")
    if signature.name != witness.name or signature.key_hash != witness.key_hash:
        raise NoteError(f"the line is not by witness {witness.name}")
    if len(signature.payload) != 8 + 64:
        raise NoteError("a cosignature/v1 line carries an 8-byte time and a 64-byte signature")
    (timestamp,) = struct.unpack(">Q", signature.payload[:8])
    message = cosignature_message(checkpoint_text, timestamp)
    if not _verify(witness.public_key, signature.payload[8:], message):
        raise NoteError(f"the cosignature by {witness.name} does not verify")
    return int(timestamp)
