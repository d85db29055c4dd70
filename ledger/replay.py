"""Re-derive every verdict from the log alone: the basis of catch-up, audit and read models.

Each stored entry is decoded from its exact bytes and admitted again against the state
built from the entries before it, with the ``recorded_at`` it was given. A stored entry
that no longer passes is an integrity failure naming the entry — never silently skipped.

Two ways in. ``apply_record`` trusts nothing about the stored record: its leaf and
envelope hashes are recomputed, its bytes decoded strictly (``decode_entry``) and, with
``verify_signature``, every signature checked — the audit's path. ``apply_trusted`` is
for records this log's own append path wrote (catch-up, start-up, projections): it
decodes with ``decode_trusted``, takes the stored hashes as they are and trusts the
signatures, and still runs every rule of ``LedgerState.admit``, so the verdicts are the
same. What it skips is listed in ``decode_trusted`` and docs/decisions.md.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ledger.crypto import statement_message, verify_ed25519
from ledger.entries import StoredEntry, decode_entry, decode_trusted, leaf_hash
from ledger.errors import IntegrityError, ProblemError
from ledger.registry import KeyRecord
from ledger.state import Assessment, LedgerState, SignatureCheck
from ledger.statements import Envelope
from ledger.storage import LogRecord


@dataclass(frozen=True)
class Verdict:
    """A stored entry and what admitting it found."""

    entry: StoredEntry
    assessment: Assessment


def verify_signature(key: KeyRecord, envelope: Envelope) -> None:
    """Check the envelope's signature with the registry's key (the audit's check)."""
    verify_ed25519(
        key.public_key, statement_message(envelope.statement.canonical), envelope.signature_bytes
    )


def trust_signature(key: KeyRecord, envelope: Envelope) -> None:
    """Catch-up trusts signatures this log already accepted; the audit re-verifies them."""


def apply_record(state: LedgerState, record: LogRecord, check: SignatureCheck) -> Verdict:
    """Admit a stored entry into ``state`` (committed), or raise ``IntegrityError``."""
    if record.index != state.last_index + 1:
        raise IntegrityError(
            f"log index {record.index} follows {state.last_index}: the index is not dense",
            index=record.index,
        )
    if leaf_hash(record.entry) != record.leaf_hash:
        raise IntegrityError(
            "the stored leaf hash is not SHA-256(0x00 || entry bytes)", index=record.index
        )
    stored = decode_entry(record)
    _check_order(state, stored)
    if hashlib.sha256(stored.envelope.canonical).digest() != record.envelope_hash:
        raise IntegrityError(
            "the stored envelope hash does not match the entry", index=record.index
        )
    return _admit(state, stored, check)


def apply_trusted(state: LedgerState, record: LogRecord) -> Verdict:
    """Admit an entry this log stored into ``state`` (committed), or raise ``IntegrityError``:
    ``apply_record`` with ``trust_signature``, less the checks of stored bytes that only
    the audit needs (``decode_trusted``)."""
    if record.index != state.last_index + 1:
        raise IntegrityError(
            f"log index {record.index} follows {state.last_index}: the index is not dense",
            index=record.index,
        )
    stored = decode_trusted(record)
    _check_order(state, stored)
    # The lexical rules of the version in force are schema checks, which the trusted
    # reading leaves to the audit like the rest of the schema.
    return _admit(state, stored, trust_signature, lexical=False)


def _check_order(state: LedgerState, stored: StoredEntry) -> None:
    if state.last_recorded_at is not None and stored.recorded_at <= state.last_recorded_at:
        raise IntegrityError(
            f"recorded_at {stored.recorded_at_text} is not after the previous entry's "
            f"({state.last_recorded_at.isoformat()}): entries were reordered or rewritten",
            index=stored.record.index,
        )


def _admit(
    state: LedgerState, stored: StoredEntry, check: SignatureCheck, *, lexical: bool = True
) -> Verdict:
    record = stored.record
    try:
        assessment = state.admit(
            stored.envelope,
            index=record.index,
            recorded_at=stored.recorded_at,
            check_signature=check,
            check_lexical=lexical,
        )
    except ProblemError as e:
        st = stored.envelope.statement
        raise IntegrityError(
            f"{st.subject} seq {st.seq} ({st.event_id}) fails the ledger's checks: "
            f"{e.slug}: {e.detail}",
            index=record.index,
        ) from None
    state.commit()
    return Verdict(stored, assessment)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk replay (start-up, a rebuild).

    Replaying frees its garbage by reference counting (the state holds no reference
    cycles); all the collector would do is traverse the state, larger at every pass, again
    and again — about a tenth of a replay's time. The collector is process-wide, so this is
    for bulk work that nothing else runs beside (``Ledger.warm_up`` before serving,
    ``projections.runner.rebuild``); it is enabled again afterwards unless it was off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(
    records: Iterable[LogRecord],
    *,
    state: LedgerState | None = None,
    verify_signatures: bool = True,
) -> Iterator[Verdict]:
    """Admit ``records`` in order into ``state`` (a fresh one by default), yielding verdicts."""
    state = state or LedgerState()
    check = verify_signature if verify_signatures else trust_signature
    for record in records:
        yield apply_record(state, record, check)
