"""What a bundle's entries say, derived from them alone: one function for export and verify.

The entries are admitted in log order into a fresh ``LedgerState`` with every signature
checked, exactly as the ledger admitted them: key validity at ``occurred_at``, chains, the
signer rules, directions and competence findings all come out of the same code. The
rendering — custody, decisions with their authority, consultations, the hand-over slip —
is then computed from those verdicts at the bundle's evaluation instant. Export stores it;
``bundle verify`` computes it again and compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from ledger.canonical import envelope_bytes, split_entry
from ledger.entries import decode_entry, leaf_hash
from ledger.errors import IntegrityError, ProblemError
from ledger.replay import Verdict, verify_signature
from ledger.state import PROTOCOL_TIME_RULES, LedgerState, TimeRules
from ledger.storage import LogRecord
from ledger.times import parse_instant
from ledger.workdays import ICT, DayKind, WorkCalendar, ict_text, local_day
from projections.analysis import MatterAnalysis, analyse, matter_json
from projections.facts import MatterEventRow, facts_of
from projections.indicators import NAMES, Period, indicators_for


@dataclass(frozen=True)
class Failure:
    """One thing a check found wrong, and where."""

    check: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.where}: {self.detail}"


@dataclass
class Derived:
    """The verdicts of a bundle's entries and what they add up to."""

    failures: list[Failure] = field(default_factory=list)
    matter_events: dict[str, list[MatterEventRow]] = field(default_factory=dict)
    subjects: dict[str, tuple[int, str]] = field(default_factory=dict)  # subject -> seq, hash
    calendar_adjustments: list[tuple[str, str, str]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # person id -> full name
    admitted: int = 0
    # The time windows the entries were judged by: the genesis's, never the bundle's word.
    time_rules: TimeRules = PROTOCOL_TIME_RULES


def entry_record(index: int, entry: bytes) -> LogRecord:
    """A log record for entry bytes as a bundle carries them (no database involved)."""
    parts = split_entry(entry)
    statement = json.loads(parts.statement)
    envelope = hashlib.sha256(envelope_bytes(parts.statement, parts.signature)).digest()
    return LogRecord(
        index=index,
        event_id=str(statement.get("event_id")),
        subject=str(statement.get("subject")),
        seq=int(statement.get("seq", -1)),
        leaf_hash=leaf_hash(entry),
        envelope_hash=envelope,
        recorded_at=parts.recorded_at,
        entry=entry,
    )


def where(record: LogRecord) -> str:
    return f"index {record.index} ({record.subject} seq {record.seq}, event {record.event_id})"


def admit_all(entries: Iterable[tuple[int, bytes]]) -> Derived:
    """Admit every entry in index order with signatures checked; collect what fails."""
    derived = Derived()
    state = LedgerState()
    last_recorded: datetime | None = None
    for index, entry in entries:
        try:
            record = entry_record(index, entry)
            stored = decode_entry(record)
        except (ValueError, IntegrityError) as e:
            derived.failures.append(Failure("entry", f"index {index}", f"not a valid entry: {e}"))
            continue
        if last_recorded is not None and stored.recorded_at <= last_recorded:
            derived.failures.append(
                Failure("order", where(record), "recorded_at is not after the previous entry's")
            )
        last_recorded = stored.recorded_at
        try:
            assessment = state.admit(
                stored.envelope,
                index=index,
                recorded_at=stored.recorded_at,
                check_signature=verify_signature,
            )
        except ProblemError as e:
            check = {
                "bad-signature": "signature",
                "unknown-key": "key",
                "actor-mismatch": "key",
                "key-not-valid": "key",
                "stale-head": "chain",
            }.get(e.slug, "rules")
            derived.failures.append(Failure(check, where(record), f"{e.slug}: {e.detail}"))
            continue
        state.commit()
        derived.admitted += 1
        derived.time_rules = state.time_rules
        st = stored.envelope.statement
        derived.subjects[st.subject] = (st.seq, stored.envelope.hash)
        facts = facts_of(Verdict(stored, assessment), state, index)
        for posting in facts.postings:
            derived.names[posting.official_id] = posting.full_name
        if facts.matter_event is not None:
            derived.matter_events.setdefault(facts.matter_event.matter_id, []).append(
                facts.matter_event
            )
        if facts.calendar is not None:
            c = facts.calendar
            derived.calendar_adjustments.append((c.day, c.kind, c.recorded_at))
    return derived


def calendar_at(derived: Derived, evaluated_at: datetime) -> WorkCalendar:
    """Adjustments recorded by E (the latest per day) over the holidays package."""
    adjustments: dict[date, DayKind] = {}
    for day, kind, recorded_at in derived.calendar_adjustments:
        if parse_instant(recorded_at) <= evaluated_at:
            adjustments[date.fromisoformat(day)] = (
                "working_day" if kind == "working_day" else "day_off"
            )
    return WorkCalendar(adjustments)


def render_matter(analysis: MatterAnalysis) -> dict[str, Any]:
    """One matter as a bundle's rendering states it."""
    lead = [i for i in analysis.intervals if i.role == "lead"]
    handovers = []
    for previous, current in pairwise(lead):
        received = parse_instant(current.from_at)
        handovers.append(
            {
                "giver": previous.official_id,
                "receiver": current.official_id,
                "received_at": current.from_at,
                "event_id": current.started_by,
                "status": "late"
                if analysis.due_at is not None and received > analysis.due_at
                else "on_time",
            }
        )
    escalations = [
        {
            "event_id": e.event_id,
            "type": e.type,
            "actor": e.actor,
            "to": e.counterpart,
            "direction": e.direction,
            "competence": e.competence,
        }
        for e in analysis.events
        if e.type in ("handoff.offered", "consultation.requested")
        and e.direction in ("up", "up_external")
    ]
    consultations = [
        {
            "event_id": c.event_id,
            "requester": c.requester,
            "to": c.to,
            "direction": c.direction,
            "requested_at": ict_text(c.occurred_at),
            "proposed_position": c.proposed_position,
            "reply_due_at": ict_text(c.reply_due),
            "answered_at": None if c.answered_at is None else ict_text(c.answered_at),
            "position": c.position,
            "late": c.answered_late,
            "deemed_agreed": c.deemed_agreed(analysis.evaluated_at, analysis.closed_at),
        }
        for c in analysis.consultations.values()
    ]
    applies: dict[str, list[str]] = {}
    for person in sorted(analysis.parties()):
        found = indicators_for(person, [analysis], Period(None, None))
        hits = [n for n in NAMES if found[n].numerator and analysis.matter_id in found[n].matters]
        if hits:
            applies[person] = hits
    summary = matter_json(analysis)
    return {
        "matter": summary,
        "custody": [{**i.as_json(), "competence": i.competence} for i in analysis.intervals],
        "handovers": handovers,
        "decisions": [{**d.as_json(), "capacity_claimed": d.capacity} for d in analysis.decisions],
        "escalations": escalations,
        "consultations": consultations,
        "indicators": applies,
    }


def rendering(
    derived: Derived, matter_ids: Iterable[str], evaluated_at: datetime
) -> dict[str, Any]:
    """The rendering of the bundle's matters at E, and the calendar days it used."""
    calendar = calendar_at(derived, evaluated_at)
    matters: dict[str, Any] = {}
    span: list[date] = []
    for matter_id in sorted(matter_ids):
        # An as-of bundle carries entries up to its checkpoint; it shows what was recorded by E.
        events = [
            e
            for e in derived.matter_events.get(matter_id, [])
            if parse_instant(e.recorded_at) <= evaluated_at
        ]
        if not events:
            continue
        analysis = analyse(matter_id, events, evaluated_at, calendar)
        matters[matter_id] = render_matter(analysis)
        if analysis.opened_at is not None:
            span.append(local_day(analysis.opened_at))
        span.append(local_day(analysis.end))
        if analysis.due_at is not None:
            span.append(local_day(analysis.due_at))
    days: dict[str, Any] = {
        "from": None,
        "to": None,
        "weekdays_off": [],
        "weekend_working_days": [],
    }
    if span:
        start, end = min(span) - timedelta(days=1), max(span) + timedelta(days=1)
        changed = calendar.days_off(start, end)
        days = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "weekdays_off": [d.isoformat() for d in changed if d.weekday() < 5],
            "weekend_working_days": [d.isoformat() for d in changed if d.weekday() >= 5],
        }
    people = {
        person
        for m in matters.values()
        for person in (
            *(i["official_id"] for i in m["custody"]),
            *(d["decider"] for d in m["decisions"]),
            *(c["requester"] for c in m["consultations"]),
            *(c["to"] for c in m["consultations"]),
            *(e["to"] for e in m["escalations"] if e["to"]),
        )
    }
    return {
        "evaluated_at": ict_text(evaluated_at.astimezone(ICT)),
        "matters": matters,
        "people": {p: derived.names[p] for p in sorted(people) if p in derived.names},
        "calendar": days,
    }
