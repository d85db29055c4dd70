"""Version 1's rendering of a bundle's matters, derived from admitted entries (frozen).

The same functions that exported and verified version-1 bundles, unchanged: see
``evidence.v1``'s docstring for why they are kept apart from today's derivation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from evidence.v1.analysis import MatterAnalysis, analyse, matter_json
from evidence.v1.indicators import NAMES, Period, indicators_for
from evidence.v1.workdays import ICT, DayKind, WorkCalendar, ict_text, local_day
from ledger.times import parse_instant

if TYPE_CHECKING:
    from evidence.derive import Derived


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
