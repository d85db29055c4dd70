"""The ledger application: the only write path, and the reads of stored entries.

``Ledger`` is an eventsourcing ``Application`` whose events are stored entries. The
library's ``save()`` is not the write path here, and on purpose: an entry's bytes contain
its ``recorded_at`` and its verdict depends on every entry before it, and both are known
only once the storage's write lock is held. ``Ledger.append`` therefore runs the checks
of DESIGN §4 inside the storing transaction (``LedgerRecorder.append``), after catching
up with entries other processes stored, and keeps an in-memory ``LedgerState`` that is
rolled back whenever the transaction is not committed.

Signatures are verified before the lock is taken (the costly part, in parallel threads),
against the registry as this process last knew it; under the lock the verdict is re-derived
against the registry as of the new entry's index, re-verifying only if the key changed.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import Environment, EnvType

from ledger.canonical import entry_bytes, entry_recorded_at, parse_json, split_entry
from ledger.crypto import statement_message, verify_ed25519
from ledger.entries import leaf_hash
from ledger.errors import (
    BatchItemAborted,
    DuplicateEvent,
    IntegrityError,
    NotFound,
    ProblemError,
)
from ledger.registry import KeyRecord, Registry
from ledger.replay import apply_trusted, collector_paused, verify_signature
from ledger.state import Assessment, Authorizer, LedgerState, SignatureCheck
from ledger.statements import Envelope, parse_envelope
from ledger.storage import LedgerRecorder, LogRecord, NewEntry, WriteSession, library_environment
from ledger.times import ONE_MICROSECOND, format_recorded_at, parse_instant, utc_now
from ledger.transparency import TransparencyLog


@dataclass(frozen=True)
class EntryEvent:
    """A stored entry as the library's notification log and projections see it."""

    originator_id: str  # the subject
    originator_version: int  # seq
    type: str
    entry: bytes

    @property
    def timestamp(self) -> datetime:
        return parse_instant(split_entry(self.entry).recorded_at)


class EntryMapper(Mapper[str]):
    """Stores an entry's bytes as the event state, untouched (no transcoding, no cipher)."""

    def to_stored_event(self, domain_event: DomainEventProtocol[str]) -> StoredEvent:
        event = cast(EntryEvent, domain_event)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=event.type,
            state=event.entry,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[str]:
        return cast(
            DomainEventProtocol[str],
            EntryEvent(
                originator_id=str(stored_event.originator_id),
                originator_version=stored_event.originator_version,
                type=stored_event.topic,
                entry=bytes(stored_event.state),
            ),
        )


@dataclass(frozen=True)
class Receipt:
    """What the ledger answers for a stored entry (DESIGN §5)."""

    event_id: str
    subject: str
    seq: int
    index: int
    leaf_hash: str
    envelope_hash: str
    recorded_at: str
    signed_entry_timestamp: str | None = None

    @classmethod
    def of(cls, record: LogRecord, log: TransparencyLog | None = None) -> Receipt:
        """The receipt of a stored entry, with the log's signed promise when it can sign.

        ``recorded_at`` comes from the entry's bytes, the only place it is signed over.
        """
        leaf = record.leaf_hash.hex()
        recorded_at = entry_recorded_at(record.entry)
        promise = None
        if log is not None and log.log_key is not None:
            promise = log.signed_entry_timestamp(record.event_id, record.index, leaf, recorded_at)
        return cls(
            event_id=record.event_id,
            subject=record.subject,
            seq=record.seq,
            index=record.index,
            leaf_hash=leaf,
            envelope_hash=record.envelope_hash.hex(),
            recorded_at=recorded_at,
            signed_entry_timestamp=promise,
        )

    @classmethod
    def of_many(cls, records: Sequence[LogRecord], log: TransparencyLog | None) -> list[Receipt]:
        """Receipts of a batch, their promises signed on every core (``cryptography``
        releases the GIL while signing): one in seven seconds of a batch went to signing."""
        if log is None or log.log_key is None or len(records) < 2:
            return [cls.of(record, log) for record in records]
        unsigned = [cls.of(record) for record in records]
        jobs = [(r.event_id, r.index, r.leaf_hash, r.recorded_at) for r in unsigned]
        chunks = _chunks(jobs)
        signed = [
            promise
            for promises in _pool().map(log.signed_entry_timestamps, chunks)
            for promise in promises
        ]
        return [
            dataclasses.replace(receipt, signed_entry_timestamp=promise)
            for receipt, promise in zip(unsigned, signed, strict=True)
        ]

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "subject": self.subject,
            "seq": self.seq,
            "index": self.index,
            "leaf_hash": self.leaf_hash,
            "envelope_hash": self.envelope_hash,
            "recorded_at": self.recorded_at,
        }
        if self.signed_entry_timestamp is not None:
            body["signed_entry_timestamp"] = self.signed_entry_timestamp
        return body


@dataclass(frozen=True)
class AppendResult:
    receipt: Receipt
    replayed: bool  # an exact replay of a stored envelope: 200, not 201
    assessment: Assessment | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """One batch item's answer: a stored (or replayed) entry's result, or a problem."""

    result: AppendResult | None = None
    problem: ProblemError | None = None


@dataclass
class _BatchPass:
    """What one pass over a batch found, by array position."""

    admitted: list[tuple[int, datetime]] = field(default_factory=list)
    replays: dict[int, AppendResult] = field(default_factory=dict)
    twins: dict[int, int] = field(default_factory=dict)


def _reads_only_itself(subject: str | None) -> bool:
    """Whether no statement of another subject reads what ``subject``'s statements change.

    A matter's statements change that matter's state alone, and only its own statements
    read it (the registry and the other matters never do): dropping a matter from a batch
    changes no other item's verdict, so the items judged after its first one need not be
    judged again. Registry subjects (``ledger``, ``agency:``, ``official:``, ``calendar:``)
    are read by everything after them.
    """
    return subject is not None and subject.startswith("matter:")


def _raw_subject(item: Any) -> str | None:
    """The subject an item names, even when the item is otherwise invalid (for grouping)."""
    if isinstance(item, dict) and isinstance(item.get("statement"), dict):
        subject = item["statement"].get("subject")
        if isinstance(subject, str):
            return subject
    return None


_VERIFY_POOL: ThreadPoolExecutor | None = None


def preverify_many(registry: Registry, envelopes: Sequence[Envelope | None]) -> dict[str, bytes]:
    """Verify signatures with the keys this process knows, on every core (``cryptography``
    releases the GIL while verifying); envelope hash -> the public key that verified it."""
    jobs: list[tuple[str, bytes, bytes, bytes]] = []
    for env in envelopes:
        if env is None:
            continue
        key = registry.keys.get(env.statement.key)
        if key is not None:
            message = statement_message(env.statement.canonical)
            jobs.append((env.hash, key.public_key, message, env.signature_bytes))
    if len(jobs) < 2:  # no pool for one envelope: a thread hop costs more than it saves
        return _verify_chunk(jobs)
    verified: dict[str, bytes] = {}
    for results in _pool().map(_verify_chunk, _chunks(jobs)):
        verified.update(results)
    return verified


def _pool() -> ThreadPoolExecutor:
    """Threads for Ed25519 work, one per core."""
    global _VERIFY_POOL
    if _VERIFY_POOL is None:
        _VERIFY_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    return _VERIFY_POOL


T = TypeVar("T")


def _chunks(jobs: Sequence[T]) -> list[Sequence[T]]:
    """Four chunks per core: even shares, and order kept for callers that zip results."""
    size = max(1, len(jobs) // ((os.cpu_count() or 2) * 4))
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def _checked_against(verified: dict[str, bytes]) -> SignatureCheck:
    """The signature check under the lock: re-verify only if the registry's key for the
    statement is not the one its signature was checked with before the lock."""

    def check(key: KeyRecord, envelope: Envelope) -> None:
        if verified.get(envelope.hash) != key.public_key:
            verify_signature(key, envelope)

    return check


def _verify_chunk(jobs: list[tuple[str, bytes, bytes, bytes]]) -> dict[str, bytes]:
    good: dict[str, bytes] = {}
    for envelope_hash, public_key, message, signature in jobs:
        try:
            verify_ed25519(public_key, message, signature)
        except ProblemError:
            continue
        good[envelope_hash] = public_key
    return good


class _Replay(Exception):
    """Internal: the event_id is already stored; leave the transaction without writing."""

    def __init__(self, record: LogRecord) -> None:
        self.record = record


class Ledger(Application[str]):
    """The accountability ledger on one database (SQLite file or PostgreSQL)."""

    name = "Ledger"

    def __init__(
        self,
        database_url: str,
        *,
        log_vkey: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.database_url = database_url
        super().__init__(env=library_environment(database_url))
        assert isinstance(self.recorder, LedgerRecorder)
        self.recorder: LedgerRecorder
        self._clock = clock
        self._write_lock = threading.Lock()
        self._state = LedgerState(expected_log_vkey=log_vkey)
        self.transparency: TransparencyLog | None = None

    def attach_log(self, log: TransparencyLog) -> None:
        """The transparency log over this ledger's entries (receipts carry its promise)."""
        self.transparency = log

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # One source of configuration: our settings, not stray process variables.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[str]:
        return EntryMapper(transcoder=self.factory.transcoder())

    # --- writes --------------------------------------------------------------------------

    def append(self, raw: bytes, *, authorize: Authorizer | None = None) -> AppendResult:
        """Parse, check (DESIGN §4 steps 3–12) and store one envelope's bytes."""
        return self.append_envelope(parse_envelope(parse_json(raw)), authorize=authorize)

    def append_envelope(
        self, envelope: Envelope, *, authorize: Authorizer | None = None
    ) -> AppendResult:
        """Check and store a parsed envelope; exact replays answer the original receipt
        (found under the write lock: a look before it would cost every new append a round
        trip to spare the rare replay one lock)."""
        check_signature = _checked_against(preverify_many(self._state.registry, [envelope]))
        assessments: list[Assessment] = []

        def build(session: WriteSession) -> Sequence[NewEntry]:
            self._catch_up(session)
            existing = session.find_event(envelope.statement.event_id)
            if existing is not None:
                raise _Replay(existing)
            recorded = self._next_recorded_at()
            index = session.last_index + 1
            assessments.append(
                self._state.admit(
                    envelope,
                    index=index,
                    recorded_at=recorded,
                    check_signature=check_signature,
                    authorize=authorize,
                )
            )
            return [self._new_entry(envelope, recorded)]

        try:
            records = self._store(build)
        except _Replay as replay:
            return self._replayed(replay.record, envelope)
        return AppendResult(
            Receipt.of(records[0], self.transparency), replayed=False, assessment=assessments[0]
        )

    def append_batch(
        self, items: Sequence[Any], *, authorize: Authorizer | None = None
    ) -> list[BatchOutcome]:
        """Check and store a batch of decoded envelopes (DESIGN §8 ``events:batch``).

        Items are judged in array order against the state the earlier items create; a
        subject with any failing item is dropped whole (its other items answer
        ``batch-item-aborted``) and the rest judged again as if the subject had never been
        sent; the survivors are stored in one transaction. One outcome per item, in order.

        The verdicts are those of judging everything again from the start after each
        drop, without the cost: a pass goes back only to the dropped subject's first item
        (nothing before it could have read what the subject did), and not at all for a
        matter, which nothing else reads (then one more pass over the survivors, at the
        end, builds the state without it). 500 items each failing on a subject of its own
        beside 500 valid ones cost about twice the 500 alone, no longer 20 times
        (``bench/batch_ratio.py``).
        """
        n = len(items)
        failures: dict[int, ProblemError] = {}
        envelopes: list[Envelope | None] = [None] * n
        subjects = [_raw_subject(item) for item in items]
        for i, item in enumerate(items):
            if isinstance(item, ProblemError):  # refused while parsing the batch's JSON
                failures[i] = item
                continue
            try:
                envelopes[i] = parse_envelope(item)
            except ProblemError as e:
                failures[i] = e
        dropped = {subjects[i] for i in failures}
        check_signature = _checked_against(preverify_many(self._state.registry, envelopes))
        final: _BatchPass | None = None
        stored: dict[str, LogRecord] = {}

        def judge_one(i: int, env: Envelope, result: _BatchPass, seen: dict[str, int]) -> None:
            """Judge item ``i`` against the state the pass has built; raise its problem."""
            st = env.statement
            first = seen.get(st.event_id)
            if first is not None:
                earlier = envelopes[first]
                if earlier is not None and earlier.hash == env.hash:
                    result.twins[i] = first
                    return
                raise DuplicateEvent(
                    f"event_id {st.event_id} appears twice in the batch with other "
                    "bytes; choose a new event_id for a new statement"
                )
            seen[st.event_id] = i
            existing = stored.get(st.event_id)
            if existing is not None:
                result.replays[i] = self._replayed(existing, env)
                return
            recorded = self._next_recorded_at()
            self._state.admit(
                env,
                index=self._state.last_index + 1,
                recorded_at=recorded,
                check_signature=check_signature,
                authorize=authorize,
            )
            result.admitted.append((i, recorded))

        def judge(*, strict: bool) -> _BatchPass:
            """One pass in array order, with the verdicts of DESIGN §8's drop-and-rejudge.

            When an item fails, its subject is dropped. Every item before the subject's
            first one was judged exactly as a pass without the subject judges it, so the
            pass goes back there — undoing the state to that point — and goes on without
            the subject. A matter (``_reads_only_itself``) is dropped without going back
            unless ``strict``: what its earlier items changed is read by nothing else, so
            it is left in the state until a strict pass judges the survivors alone.
            """
            result = _BatchPass()
            seen: dict[str, int] = {}  # event_id -> the position that claimed it
            first_at: dict[str | None, int] = {}  # subject -> its first position in the pass
            marks: dict[int, tuple[int, int]] = {}  # that position -> (journal, admitted)
            judged: dict[str | None, list[int]] = {}  # subject -> its positions judged
            i = 0
            while i < n:
                env, subject = envelopes[i], subjects[i]
                if env is None or subject in dropped:
                    i += 1
                    continue
                if subject not in first_at:
                    first_at[subject] = i
                    marks[i] = (self._state.journal.mark(), len(result.admitted))
                judged.setdefault(subject, []).append(i)
                try:
                    judge_one(i, env, result, seen)
                except ProblemError as e:
                    failures[i] = e
                    dropped.add(subject)
                    if not strict and _reads_only_itself(subject):
                        forget(judged[subject], result, seen)
                        i += 1
                        continue
                    # Back to the subject's first item: forget what the pass found since.
                    back = first_at[subject]
                    journal_mark, admitted = marks[back]
                    self._state.rollback(journal_mark)
                    del result.admitted[admitted:]
                    again = [k for k in range(back, i + 1) if envelopes[k] is not None]
                    forget(again, result, seen)
                    for k in again:
                        if first_at.get(subjects[k]) == k:
                            del first_at[subjects[k]]
                            del marks[k]
                        positions = judged.get(subjects[k])
                        if positions and positions[-1] >= back:
                            judged[subjects[k]] = [p for p in positions if p < back]
                    i = back
                    continue
                i += 1
            return result

        def forget(positions: Sequence[int], result: _BatchPass, seen: dict[str, int]) -> None:
            """Items at ``positions`` no longer stand in the pass: neither their event ids
            nor their replays (what they admitted is undone, or left for a strict pass)."""
            for k in positions:
                event_id = envelopes[k].statement.event_id  # type: ignore[union-attr]
                if seen.get(event_id) == k:
                    del seen[event_id]
                result.replays.pop(k, None)
                result.twins.pop(k, None)

        def build(session: WriteSession) -> Sequence[NewEntry]:
            nonlocal final
            self._catch_up(session)
            stored.update(
                session.find_events([e.statement.event_id for e in envelopes if e is not None])
            )
            start = self._state.journal.mark()
            final = judge(strict=False)
            if any(subjects[i] in dropped for i, _ in final.admitted):
                # A dropped matter left its earlier items in the state: judge the
                # survivors alone, from the batch's start (one more pass, never more).
                self._state.rollback(start)
                final = judge(strict=True)
            return [
                self._new_entry(envelopes[i], recorded)  # type: ignore[arg-type]
                for i, recorded in final.admitted
            ]

        records = self._store(build)
        assert final is not None
        receipts = {
            i: receipt
            for (i, _), receipt in zip(
                final.admitted, Receipt.of_many(records, self.transparency), strict=True
            )
        }
        outcomes: list[BatchOutcome] = []
        for i in range(n):
            if i in receipts:
                outcomes.append(BatchOutcome(result=AppendResult(receipts[i], replayed=False)))
            elif i in final.replays:
                outcomes.append(BatchOutcome(result=final.replays[i]))
            elif i in final.twins and final.twins[i] in receipts:
                twin = receipts[final.twins[i]]
                outcomes.append(BatchOutcome(result=AppendResult(twin, replayed=True)))
            elif i in final.twins and final.twins[i] in final.replays:
                outcomes.append(BatchOutcome(result=final.replays[final.twins[i]]))
            elif i in failures:
                outcomes.append(BatchOutcome(problem=failures[i]))
            else:
                outcomes.append(
                    BatchOutcome(
                        problem=BatchItemAborted(
                            f"another item of {subjects[i] or 'this subject'} in this batch "
                            "failed, so the subject's items were all dropped; fix that item "
                            "and send them again"
                        )
                    )
                )
        return outcomes

    def _store(self, build: Callable[[WriteSession], Sequence[NewEntry]]) -> list[LogRecord]:
        """Store what ``build`` decides under the write lock; the in-memory state keeps its
        changes only if the transaction commits."""
        with self._write_lock:
            mark = self._state.journal.mark()
            try:
                records = self.recorder.append(build)
            except BaseException:
                self._state.rollback(mark)
                raise
            self._state.commit()
            return records

    def _replayed(self, record: LogRecord, envelope: Envelope) -> AppendResult:
        if record.envelope_hash.hex() != envelope.hash:
            raise DuplicateEvent(
                f"event_id {record.event_id} is already stored (index {record.index}) with "
                "other bytes; choose a new event_id for a new statement",
                index=record.index,
            )
        return AppendResult(Receipt.of(record, self.transparency), replayed=True)

    def _next_recorded_at(self) -> datetime:
        now = self._clock()
        last = self._state.last_recorded_at
        if last is not None and now <= last:
            return last + ONE_MICROSECOND
        return now

    def _new_entry(self, envelope: Envelope, recorded: datetime) -> NewEntry:
        st = envelope.statement
        entry = entry_bytes(st.canonical, envelope.signature, format_recorded_at(recorded))
        return NewEntry(
            event_id=st.event_id,
            type=st.type,
            subject=st.subject,
            seq=st.seq,
            leaf_hash=leaf_hash(entry),
            envelope_hash=bytes.fromhex(envelope.hash),
            recorded_at=format_recorded_at(recorded),
            entry=entry,
        )

    # --- keeping the in-memory state in step with the log --------------------------------

    def warm_up(self) -> None:
        """Replay stored entries into the in-memory state (at start-up, outside the lock)."""
        with self._write_lock, collector_paused():
            for record in self.recorder.iter_records(self._state.last_index + 1):
                self._apply_stored(record)

    def _catch_up(self, session: WriteSession) -> None:
        if session.last_index > self._state.last_index:  # another process appended
            for record in session.records_after(self._state.last_index):
                self._apply_stored(record)
        if self._state.last_index != session.last_index:
            raise IntegrityError(
                f"the log table ends at index {session.last_index} but entries are readable "
                f"only to {self._state.last_index}"
            )

    def _apply_stored(self, record: LogRecord) -> None:
        # Entries this log stored were checked when appended: ``apply_trusted`` re-derives
        # their verdicts without re-checking their bytes and signatures (the audit does).
        apply_trusted(self._state, record)

    # --- reads ---------------------------------------------------------------------------

    def receipt(self, event_id: str) -> Receipt:
        record = self.recorder.record_by_event_id(event_id)
        if record is None:
            raise NotFound(f"no stored event has event_id {event_id}")
        return Receipt.of(record, self.transparency)

    def head(self, subject: str) -> LogRecord | None:
        return self.recorder.head(subject)

    def subject_records(self, subject: str, *, after_seq: int, limit: int) -> list[LogRecord]:
        return self.recorder.subject_records(subject, after_seq, limit)

    def records(self, start: int, end: int) -> list[LogRecord]:
        return self.recorder.records(start, end)

    def iter_records(self, start: int = 0) -> Iterator[LogRecord]:
        return self.recorder.iter_records(start)

    def size(self) -> int:
        return self.recorder.size()

    @property
    def state(self) -> LedgerState:
        """The in-memory state as of the last entry this process saw (read-only use)."""
        return self._state
