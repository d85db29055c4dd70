"""One matter read at an evaluation instant: its state, deadline, consultations and acts.

``analyse`` folds a matter's stored events (already cut at ``as_of`` and ``to``) with the
working-day calendar in force at the evaluation instant E. Everything that depends on the
clock — overdue while open, deemed agreement, unanswered consultations, an open supplement
pause — is computed here, at E, and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.times import parse_instant
from ledger.workdays import ICT, WorkCalendar, ict_text, local_day
from projections import custody
from projections.custody import Interval
from projections.facts import MatterEventRow

CONSULTATION_WINDOW_DAYS = 5  # DESIGN §6: the default reply window, in working days

# What one stored value can make the analysis of its matter raise: an instant with no year
# in ICT (9999-12-31T23:59:59-01:00), a span past the calendar's years (2^53 working days) —
# values rules version 3 let in and a version-3 ledger keeps for ever (DESIGN §3 v4). Reads
# and bundles report such a matter in its place rather than fail.
UNEVALUABLE = (ValueError, OverflowError, ArithmeticError)

# Flags found at read time (the others are stored with each statement). One name each, in
# every read, bundle and CSV.
LATE_ANSWER = "late_answer"  # a consultation answered after its reply window
DEEMED_AGREED = "deemed_agreed"  # a consultation unanswered when its window ended


@dataclass
class Offer:
    event_id: str
    seq: int
    offerer: str
    to: str
    direction: str | None
    occurred_at: datetime
    answer: str | None = None  # accepted, returned, withdrawn
    reason: str | None = None
    answered_at: datetime | None = None


@dataclass
class Consultation:
    event_id: str
    seq: int
    requester: str
    to: str
    direction: str | None
    occurred_at: datetime
    proposed_position: bool
    reply_due: datetime
    position: str | None = None
    answered_at: datetime | None = None
    answer_event_id: str | None = None
    required_by: str | None = None  # v4: the legal basis that obliges it (not an escalation)

    @property
    def answered_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.reply_due

    def deemed_agreed(self, at: datetime, closed_at: datetime | None) -> bool:
        """Unanswered when the window ended by ``at``, unless the matter closed first."""
        if self.answered_at is not None or self.reply_due > at:
            return False
        return closed_at is None or closed_at >= self.reply_due


@dataclass
class Decision:
    event_id: str
    seq: int
    decider: str
    occurred_at: datetime
    outcome: str
    capacity: str
    competence: str | None
    delegation_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "decider": self.decider,
            "outcome": self.outcome,
            "capacity": self.capacity,
            "competence": self.competence,
            "delegation_id": self.delegation_id,
            "occurred_at": ict_text(self.occurred_at),
        }


@dataclass
class Task:
    """A ``task.assigned``: its ``due_at`` bounds that step, not the matter (indicator 11)."""

    event_id: str
    seq: int
    assigner: str
    assignee: str
    role: str  # lead or support
    occurred_at: datetime
    due_at: datetime | None


@dataclass
class PendingSpan:
    """[from, until) during which ``offer_id`` was the matter's pending offer, as the state
    machine recorded it on each row (``pending_offer``); ``until`` None: still pending at the
    end of the chain as cut (indicator 5: such days are the addressee's)."""

    offer_id: str
    offerer: str
    to: str
    from_at: datetime
    until: datetime | None = None


@dataclass
class Pause:
    """A supplement pause (DESIGN §6): from the request that opened it to the receipt, or
    to the matter's end while still open; ``working_days`` is its length P, the working
    days d with request_day < d ≤ receipt_day (a request while paused opens none)."""

    requested_by: str
    from_at: datetime
    received_by: str | None = None
    until: datetime | None = None
    working_days: int = 0


@dataclass
class MatterAnalysis:
    matter_id: str
    events: list[MatterEventRow]
    evaluated_at: datetime
    calendar: WorkCalendar
    agency_id: str = ""
    procedure_code: str = ""
    opener: str = ""
    opened_at: datetime | None = None
    opened_at_text: str = ""
    closed_at: datetime | None = None
    closed_at_text: str | None = None
    result: str | None = None
    due_at: datetime | None = None
    intervals: list[Interval] = field(default_factory=list)
    offers: dict[str, Offer] = field(default_factory=dict)
    consultations: dict[str, Consultation] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    supplement_requests: list[MatterEventRow] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    pending_offer: str | None = None
    late_extensions: list[str] = field(default_factory=list)  # extensions after the due time
    tasks: list[Task] = field(default_factory=list)
    pending_spans: list[PendingSpan] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        """The instant the matter is judged at: its closing, or E while open. Nothing about
        a closed matter depends on the clock or on ``to`` beyond its closing (DESIGN §6 v4):
        every clock-dependent value of this analysis is computed at ``end``."""
        return self.closed_at if self.closed_at is not None else self.evaluated_at

    @property
    def is_late(self) -> bool:
        return self.due_at is not None and self.end > self.due_at

    @property
    def overdue_working_days(self) -> int:
        if self.due_at is None or not self.is_late:
            return 0
        return self.calendar.working_days_between(local_day(self.due_at), local_day(self.end))

    @property
    def custodian(self) -> str | None:
        leads = [i for i in self.intervals if i.role == "lead"]
        return leads[-1].official_id if leads else None

    def lead_intervals(self, official_id: str) -> list[Interval]:
        return [i for i in self.intervals if i.role == "lead" and i.official_id == official_id]

    def interval_end(self, interval: Interval) -> datetime:
        return parse_instant(interval.to_at) if interval.to_at else self.evaluated_at

    def parties(self) -> set[str]:
        """Everyone who acted on, held, or was named or answered in this matter."""
        people = {e.actor for e in self.events}
        people |= {e.counterpart for e in self.events if e.counterpart}
        people |= {i.official_id for i in self.intervals}
        return people

    def first_decision_seq(self) -> int | None:
        return self.decisions[0].seq if self.decisions else None

    def flags(self) -> list[str]:
        seen: dict[str, None] = {}
        for event in self.events:
            for flag in event.flag_list():
                seen.setdefault(flag, None)
        if self.is_late:
            seen.setdefault("overdue", None)
        if self.late_extensions:
            seen.setdefault("extension_after_due", None)
        for c in self.consultations.values():
            if c.answered_late:
                seen.setdefault(LATE_ANSWER, None)
            if c.deemed_agreed(self.end, self.closed_at):
                seen.setdefault(DEEMED_AGREED, None)
        return list(seen)


def cut_at(events: list[MatterEventRow], to: datetime | None) -> list[MatterEventRow]:
    """The chain up to (not including) its first event with ``occurred_at`` ≥ ``to``."""
    if to is None:
        return events
    for n, event in enumerate(events):
        if parse_instant(event.occurred_at) >= to:
            return events[:n]
    return events


def analyse(
    matter_id: str,
    events: list[MatterEventRow],
    evaluated_at: datetime,
    calendar: WorkCalendar,
) -> MatterAnalysis:
    """Fold ``events`` (``seq`` order, already cut) at the evaluation instant."""
    m = MatterAnalysis(matter_id, events, evaluated_at, calendar)
    m.intervals = custody.fold(events)
    pause_from: datetime | None = None
    for event in events:
        at = parse_instant(event.occurred_at)
        body = event.body_dict()
        kind = event.type
        if kind == "matter.opened":
            m.agency_id = str(body["agency_id"])
            m.procedure_code = str(body["procedure_code"])
            m.opener = event.actor
            m.opened_at, m.opened_at_text = at, event.occurred_at
            m.due_at = calendar.deadline(at, int(body["deadline_working_days"]))
        elif kind == "handoff.offered":
            m.offers[event.event_id] = Offer(
                event.event_id, event.seq, event.actor, str(body["to"]), event.direction, at
            )
        elif kind in ("handoff.accepted", "handoff.returned", "handoff.withdrawn"):
            offer = m.offers[str(body["in_reply_to"])]
            offer.answer = kind.split(".")[1]
            offer.reason = body.get("reason")
            offer.answered_at = at
        elif kind == "consultation.requested":
            due = (
                parse_instant(str(body["reply_due_at"]))
                if "reply_due_at" in body
                else calendar.deadline(at, CONSULTATION_WINDOW_DAYS)
            )
            m.consultations[event.event_id] = Consultation(
                event.event_id,
                event.seq,
                event.actor,
                str(body["to"]),
                event.direction,
                at,
                "proposed_position" in body,
                due,
                required_by=body.get("required_by"),
            )
        elif kind == "task.assigned":
            m.tasks.append(
                Task(
                    event.event_id,
                    event.seq,
                    event.actor,
                    str(body["assignee"]),
                    str(body["role"]),
                    at,
                    parse_instant(str(body["due_at"])) if body.get("due_at") else None,
                )
            )
        elif kind == "consultation.answered":
            consultation = m.consultations[str(body["in_reply_to"])]
            consultation.position = str(body["position"])
            consultation.answered_at = at
            consultation.answer_event_id = event.event_id
        elif kind == "supplement.requested":
            m.supplement_requests.append(event)
            if pause_from is None:
                pause_from = at
                m.pauses.append(Pause(event.event_id, at))
        elif kind == "supplement.received":
            if m.pauses and m.pauses[-1].received_by is None:
                opened = m.pauses[-1]
                opened.received_by, opened.until = event.event_id, at
                opened.working_days = _pause(calendar, opened.from_at, at)
            if pause_from is not None and m.due_at is not None:
                m.due_at = calendar.shift(m.due_at, _pause(calendar, pause_from, at))
            pause_from = None
        elif kind == "deadline.extended":
            if m.due_at is not None and _due_with_pause(calendar, m.due_at, pause_from, at) < at:
                m.late_extensions.append(event.event_id)  # DESIGN §6: flagged
            m.due_at = parse_instant(str(body["new_due_at"])).astimezone(ICT)
            if pause_from is not None:
                # The new due time is set during the pause: only the rest of it adds.
                pause_from = at
        elif kind == "decision.recorded":
            m.decisions.append(
                Decision(
                    event.event_id,
                    event.seq,
                    event.actor,
                    at,
                    str(body["outcome"]),
                    str(body["capacity"]),
                    event.competence,
                    event.delegation_id,
                )
            )
        elif kind == "matter.closed":
            m.closed_at, m.closed_at_text = at, event.occurred_at
            m.result = str(body["result"])
        elif kind == "correction.recorded":
            m.corrections.append(
                {
                    "event_id": event.event_id,
                    "target_event_id": body["target_event_id"],
                    "actor": event.actor,
                    "reason": body["reason"],
                    "corrections": body["corrections"],
                    "occurred_at": event.occurred_at,
                }
            )
    # The pending offer is what the state machine found after the last statement shown.
    m.pending_offer = events[-1].pending_offer if events else None
    m.pending_spans = pending_spans(events, m.offers)
    if m.pauses and m.pauses[-1].received_by is None:
        still = m.pauses[-1]
        still.until, still.working_days = m.end, _pause(calendar, still.from_at, m.end)
    if pause_from is not None and m.due_at is not None:
        # A pause still open runs to the closing, or to the evaluation day while open.
        m.due_at = calendar.shift(m.due_at, _pause(calendar, pause_from, m.end))
    return m


def pending_spans(events: list[MatterEventRow], offers: dict[str, Offer]) -> list[PendingSpan]:
    """When each offer was pending: from the row after which it is the matter's pending
    offer to the first row after which it is not (an answer, a withdrawal, a lead
    assignment, the closing), as the state machine recorded it."""
    spans: list[PendingSpan] = []
    current: PendingSpan | None = None
    for event in events:
        pending = event.pending_offer
        if current is not None and pending == current.offer_id:
            continue
        at = parse_instant(event.occurred_at)
        if current is not None:
            current.until = at
            current = None
        if pending is not None and pending in offers:
            offer = offers[pending]
            current = PendingSpan(pending, offer.offerer, offer.to, at)
            spans.append(current)
    return spans


def _due_with_pause(
    calendar: WorkCalendar, due: datetime, pause_from: datetime | None, at: datetime
) -> datetime:
    """The due time at ``at``, counting a pause still open then."""
    if pause_from is None:
        return due
    return calendar.shift(due, _pause(calendar, pause_from, at))


def _pause(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """P = the working days d with request_day < d ≤ receipt_day."""
    return calendar.working_days_between(local_day(start), local_day(end))


def matter_json(m: MatterAnalysis) -> dict[str, Any]:
    """The matter read model of DESIGN §7."""
    latest = m.decisions[-1] if m.decisions else None
    return {
        "matter_id": m.matter_id,
        "status": "closed" if m.closed_at is not None else "open",
        "custodian": m.custodian,
        "procedure_code": m.procedure_code,
        "agency_id": m.agency_id,
        "opened_at": m.opened_at_text,
        "due_at": None if m.due_at is None else ict_text(m.due_at),
        "overdue_working_days": m.overdue_working_days,
        "pending_offer": m.pending_offer,
        "decision": None
        if latest is None
        else {
            "decider": latest.decider,
            "outcome": latest.outcome,
            "capacity": latest.capacity,
            "competence": latest.competence,
            "delegation_id": latest.delegation_id,
        },
        "decisions": [d.as_json() for d in m.decisions],
        "corrections": m.corrections,
        "flags": m.flags(),
        "closed_at": m.closed_at_text,
        "result": m.result,
        "evaluated_at": ict_text(m.evaluated_at),
    }
