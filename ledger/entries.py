"""Stored entries: their leaf hashes, and reading an envelope back out of their bytes.

Two readings of the same bytes. ``decode_entry`` trusts nothing: strict JSON, the
statement's schema, canonical bytes, the log table's ``recorded_at`` — the audit's and
the API's reading. ``decode_trusted`` reads back what this log's own append path checked
and stored, for catch-up and projections, and re-checks none of it (see its docstring for
what it skips and why that is safe); on every entry the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import orjson

from ledger.canonical import entry_prefix, parse_json, split_entry
from ledger.errors import IntegrityError, ProblemError
from ledger.merkle import hash_leaf
from ledger.statements import Envelope, parse_statement, trusted_statement
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

    @cached_property
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


_STATEMENT_MEMBER = b'","statement":'
_STATEMENT_SIZE = len(_STATEMENT_MEMBER)
_PREFIX_SIZE = len(entry_prefix("", ""))
assert len(b'{"recorded_at":"","signature":"","statement":') == _PREFIX_SIZE


def decode_trusted(record: LogRecord) -> StoredEntry:
    """Read back an entry this log's append path stored, without checking it again.

    What it skips, each of which ``decode_entry`` (and so the audit) still checks:

    - the hostile-JSON inspection (UTF-8, duplicate names, floats, integers beyond 2^53,
      lone surrogates, nesting) and the statement's schema: the append path refused
      anything else, and its bytes are what was stored, never a re-encoding;
    - that the statement's bytes are canonical JCS: the append path stored the canonical
      bytes it computed, so the slice of the entry after its prefix is those bytes;
    - that the log table's ``recorded_at`` is the one in the bytes: both were written from
      one value in one transaction;
    - the envelope hash, taken from the log table (written with the entry) instead of
      hashing the envelope again.

    Safe because a catch-up reads the log through the same storage its appends wrote, and
    because nothing it skips can make a verdict differ from the append's unless the
    database was altered behind the ledger — which is what the audit (``ledgerctl
    verify``) is for. Bytes that are not an entry at all still raise ``IntegrityError``.
    """
    entry = record.entry
    try:
        obj = orjson.loads(entry)
        recorded_at: str = obj["recorded_at"]
        signature: str = obj["signature"]
        # ``entry_prefix`` of a recorded_at and a signature that need no escaping (the
        # log's own instant format, base64): the statement's bytes start right after it.
        start = _PREFIX_SIZE + len(recorded_at) + len(signature)
        if entry[start - _STATEMENT_SIZE : start] != _STATEMENT_MEMBER:
            raise ValueError("entry bytes are not laid out as the log writes them")
        statement = trusted_statement(obj["statement"], entry[start:-1])
        recorded = datetime.fromisoformat(recorded_at)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ProblemError) as e:
        detail = e.detail if isinstance(e, ProblemError) else f"{type(e).__name__}: {e}"
        raise IntegrityError(
            f"stored bytes are not a valid entry: {detail}", index=record.index
        ) from None
    envelope = Envelope(statement=statement, signature=signature)
    # What ``Envelope.hash`` would compute: the stored column (see above), hex as it is.
    envelope.__dict__["hash"] = record.envelope_hash.hex()
    stored = StoredEntry(record, envelope, recorded_at)
    stored.__dict__["recorded_at"] = recorded
    return stored
