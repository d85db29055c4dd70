"""What a bundle's entries say, derived from them alone: one function for export and verify.

The entries are admitted in log order into a fresh ``LedgerState`` with every signature
checked, exactly as the ledger admitted them: key validity at ``occurred_at``, chains, the
signer rules, directions and competence findings all come out of the same code. While
admitting, it keeps what the registry said that a page needs beside ids (postings with
names, positions and units; grants with their legal basis; delegations with their
instrument numbers; each matter statement's signing key). The rendering — the matter read
model, custody, and the form-06 slip of ``evidence.slip`` (and, for an official's bundle,
their summary) — is then computed from those verdicts at the bundle's evaluation instant.
Export stores it; ``bundle verify`` computes it again and compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from evidence.slip import (
    DelegationFact,
    GrantFact,
    PostingFact,
    RegistryFacts,
    build_slip,
    official_summary,
)
from ledger import statements as s
from ledger.canonical import envelope_bytes, split_entry
from ledger.entries import decode_entry, leaf_hash
from ledger.errors import IntegrityError, ProblemError
from ledger.replay import Verdict, verify_signature
from ledger.state import PROTOCOL_TIME_RULES, LedgerState, TimeRules
from ledger.storage import LogRecord
from ledger.times import parse_instant
from ledger.workdays import ICT, DayKind, WorkCalendar, ict_text, local_day
from projections.analysis import UNEVALUABLE, MatterAnalysis, analyse, matter_json
from projections.facts import MatterEventRow, facts_of
from projections.indicators import Period


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
    # What the registry said, for names, positions and authority beside ids (version 2).
    registry: RegistryFacts = field(default_factory=RegistryFacts)


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
            derived.registry.postings.setdefault(posting.official_id, []).append(
                PostingFact(
                    posting.official_id,
                    posting.full_name,
                    index,
                    stored.recorded_at,
                    st.occurred,
                    posting.agency_id,
                    posting.unit_id,
                    posting.position,
                    posting.is_head,
                )
            )
        if facts.matter_event is not None:
            derived.matter_events.setdefault(facts.matter_event.matter_id, []).append(
                facts.matter_event
            )
            derived.registry.key_ids[st.event_id] = st.key
        elif st.type in _AUTHORITY_TYPES:
            _keep_authority(derived.registry, st, index)
        if facts.calendar is not None:
            c = facts.calendar
            derived.calendar_adjustments.append((c.day, c.kind, c.recorded_at))
    # Agencies and units are registered once each, under names that never change.
    for agency in state.registry.agencies.values():
        derived.registry.agencies[agency.id] = agency.name
        for unit in agency.units.values():
            derived.registry.units[(agency.id, unit.unit_id)] = unit.name
    return derived


_AUTHORITY_TYPES = frozenset({"competence.granted", "competence.revoked", "delegation.granted"})


def _keep_authority(registry: RegistryFacts, st: s.Statement, index: int) -> None:
    """A grant's legal basis and a delegation's instrument: the authority a decision
    rests on, named on the page."""
    body = st.body
    if isinstance(body, s.CompetenceGranted | s.CompetenceRevoked):
        registry.grants.setdefault(st.subject_id, []).append(
            GrantFact(
                index,
                st.event_id,
                st.occurred,
                frozenset(body.procedure_codes),
                isinstance(body, s.CompetenceGranted),
                body.legal_basis if isinstance(body, s.CompetenceGranted) else None,
            )
        )
    elif isinstance(body, s.DelegationGranted):
        registry.delegations[st.event_id] = DelegationFact(
            st.event_id,
            index,
            st.subject_id,
            body.grantee,
            body.kind,
            frozenset(body.procedure_codes),
            body.valid_from,
            body.valid_until,
            body.instrument_no,
        )


def calendar_at(derived: Derived, evaluated_at: datetime) -> WorkCalendar:
    """Adjustments recorded by E (the latest per day) over the holidays package."""
    adjustments: dict[date, DayKind] = {}
    for day, kind, recorded_at in derived.calendar_adjustments:
        if parse_instant(recorded_at) <= evaluated_at:
            adjustments[date.fromisoformat(day)] = (
                "working_day" if kind == "working_day" else "day_off"
            )
    return WorkCalendar(adjustments)


def render_matter(analysis: MatterAnalysis, registry: RegistryFacts) -> dict[str, Any]:
    """One matter as a version-2 bundle's rendering states it: the matter read model of
    DESIGN §7, its custody intervals, and the form-06 slip."""
    return {
        "matter": matter_json(analysis),
        "custody": [i.as_json() for i in analysis.intervals],
        "slip": build_slip(analysis, registry),
    }


UNAVAILABLE = "a stored value lies outside what the working-day calendar can evaluate"


def rendering(
    derived: Derived,
    matter_ids: Iterable[str],
    evaluated_at: datetime,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The rendering of the bundle's matters at E, the calendar days it used, and for an
    official's bundle (``scope`` names the official and the period) their summary."""
    calendar = calendar_at(derived, evaluated_at)
    matters: dict[str, Any] = {}
    analyses: list[MatterAnalysis] = []
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
        try:
            analysis = analyse(matter_id, events, evaluated_at, calendar)
            rendered = render_matter(analysis, derived.registry)
        except UNEVALUABLE:
            # A value rules version 3 let in (year 9999, 2^53 working days): the matter's
            # entries are in the bundle and verified; its slip cannot be computed, and the
            # rendering says so in its place, in words that never vary (DESIGN §3 v4).
            matters[matter_id] = {"unavailable": UNAVAILABLE}
            continue
        analyses.append(analysis)
        matters[matter_id] = rendered
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
    official = None
    if scope is not None and "official_id" in scope:
        period = Period(
            parse_instant(str(scope["from"])) if scope.get("from") else None,
            parse_instant(str(scope["to"])) if scope.get("to") else None,
        )
        official = official_summary(
            str(scope["official_id"]), analyses, derived.registry, period, evaluated_at
        )
    return {
        "evaluated_at": ict_text(evaluated_at.astimezone(ICT)),
        "matters": matters,
        "official": official,
        "calendar": days,
    }
