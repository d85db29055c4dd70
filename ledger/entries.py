"""Stored entries: their leaf hashes, and reading an envelope back out of their bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.canonical import parse_json, split_entry
from ledger.errors import IntegrityError, ProblemError
from ledger.merkle import hash_leaf
from ledger.statements import Envelope, parse_statement
from ledger.storage import LogRecord
from ledger.times import parse_instant


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash of an entry: SHA-256(0x00 || entry bytes)."""
    return hash_leaf(entry)


@dataclass(frozen=True)
class StoredEntry:
    """A stored entry decoded for reading: the record and its envelope."""

    record: LogRecord
    envelope: Envelope
    recorded_at_text: str  # as the entry's bytes say (the log table's column must agree)

    @property
    def recorded_at(self) -> datetime:
        return parse_instant(self.recorded_at_text)


def decode_entry(record: LogRecord) -> StoredEntry:
    """Read a stored entry's envelope from its bytes; ``IntegrityError`` if they are not one."""
    try:
        parts = split_entry(record.entry)
        statement = parse_statement(parse_json(parts.statement))
        envelope = Envelope(statement=statement, signature=parts.signature)
    except (ValueError, ProblemError) as e:
        detail = e.detail if isinstance(e, ProblemError) else str(e)
        raise IntegrityError(
            f"stored bytes are not a valid entry: {detail}", index=record.index
        ) from None
    if statement.canonical != parts.statement:
        raise IntegrityError("stored statement bytes are not canonical JCS", index=record.index)
    if parts.recorded_at != record.recorded_at:
        raise IntegrityError(
            f"the log table says recorded_at {record.recorded_at} but the entry's bytes say "
            f"{parts.recorded_at}",
            index=record.index,
        )
    try:
        parse_instant(parts.recorded_at)
    except ValueError as e:
        raise IntegrityError(f"recorded_at {parts.recorded_at!r} {e}", index=record.index) from None
    return StoredEntry(record, envelope, parts.recorded_at)
