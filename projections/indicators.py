"""Avoidance indicators 1–12 (DESIGN §7), computed from analysed matters at E.

One function per indicator, found by name in ``RULES``: each takes the official, the
matters they are party to and the period, and returns an ``Indicator``. ``with_percentiles``
ranks every value among the province's officials and among the official's agency. The
period is [from, to) of ``occurred_at``: a matter counts for an official when one of their
lead intervals meets it; an act counts when it occurred in it. Higher values are always
worse. docs/read-models.md "Indicators" states each definition exactly as computed here.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from ledger.times import parse_instant
from ledger.workdays import ICT, local_day, median
from projections.analysis import MatterAnalysis
from projections.custody import Interval
from projections.facts import MatterEventRow

_UP = ("up", "up_external")
_SIDEWAYS = ("lateral", "external", "up_external")
_ESCALATING = ("handoff.offered", "consultation.requested")
MIN_PEERS = 5  # a percentile among fewer values is null
IDLE_WORKING_DAYS = 5  # indicator 12: idle for more than this many working days


@dataclass
class Indicator:
    """One indicator of one official: a ratio, or (indicator 7) a measure."""

    numerator: int = 0
    denominator: int | None = 0
    matters: set[str] = field(default_factory=set)
    measure: float | None = None
    is_measure: bool = False  # ``value`` is ``measure``, not numerator / denominator
    extra: dict[str, Any] = field(default_factory=dict)

    def count(self, matter_id: str, hit: bool) -> None:
        """One more in the denominator; in the numerator too when ``hit``."""
        self.denominator = (self.denominator or 0) + 1
        if hit:
            self.numerator += 1
            self.matters.add(matter_id)

    @property
    def value(self) -> float | None:
        if self.is_measure:
            return self.measure
        if not self.denominator:
            return None
        return self.numerator / self.denominator

    def as_json(self, province: Rank, agency: Rank) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "matters": sorted(self.matters),
            "peer_percentile": province.percentile,
            "peers": province.n,
            "agency_percentile": agency.percentile,
            "agency_peers": agency.n,
            **self.extra,
        }


@dataclass(frozen=True)
class Period:
    start: datetime | None  # from (inclusive)
    end: datetime | None  # to (exclusive)

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment < self.end
        )

    def meets(self, start: datetime, end: datetime | None) -> bool:
        """Whether [start, end) overlaps the period (``end`` None: still running)."""
        if self.end is not None and start >= self.end:
            return False
        return self.start is None or end is None or end > self.start


Rule = Callable[[str, Sequence[MatterAnalysis], Period], Indicator]


# --- helpers shared by the rules -------------------------------------------------------------


def _occurred(event: MatterEventRow) -> datetime:
    return parse_instant(event.occurred_at)


def _end(interval: Interval) -> datetime | None:
    return parse_instant(interval.to_at) if interval.to_at else None


def _meets(interval: Interval, period: Period) -> bool:
    return period.meets(parse_instant(interval.from_at), _end(interval))


def _competent(finding: str | None) -> bool:
    """A competence finding of ``own`` or ``delegated``."""
    return finding not in (None, "none")


def _holds_lead_at(mine: list[Interval], seq: int) -> bool:
    return any(i.started_seq <= seq and (i.ended_seq is None or seq < i.ended_seq) for i in mine)


def _escalations(m: MatterAnalysis, official_id: str, mine: list[Interval]) -> list[MatterEventRow]:
    """Their ``up``/``up_external`` offers and consultations made while holding the lead and
    found within their competence (the statement's own finding)."""
    return [
        e
        for e in m.events
        if e.actor == official_id
        and e.type in _ESCALATING
        and e.direction in _UP
        and _competent(e.competence)
        and _holds_lead_at(mine, e.seq)
    ]


def _required(m: MatterAnalysis, event: MatterEventRow) -> bool:
    """A consultation that states the legal basis obliging it (``required_by``, v4)."""
    consultation = m.consultations.get(event.event_id)
    return consultation is not None and bool(consultation.required_by)


# --- the rules, 1–12 -------------------------------------------------------------------------


def escalation_within_competence(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """1. Of their lead matters held with competence, those sent up before the first
    decision (a consultation with ``required_by`` is no escalation)."""
    ind = Indicator()
    for m in matters:
        mine = m.lead_intervals(official_id)
        in_period = [i for i in mine if _meets(i, period)]
        if not in_period:
            continue
        escalations = [
            e for e in _escalations(m, official_id, mine) if period.contains(_occurred(e))
        ]
        # An escalation found within competence shows competence held, even one the law
        # required: it puts the matter in the denominator, never in the numerator.
        if not (any(_competent(i.competence) for i in in_period) or escalations):
            continue
        first = m.first_decision_seq()
        ind.count(
            m.matter_id,
            any((first is None or e.seq < first) and not _required(m, e) for e in escalations),
        )
    return ind


def positionless_consultation(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """2. Of their consultation requests, those with no ``proposed_position``."""
    ind = Indicator()
    for m in matters:
        for c in m.consultations.values():
            if c.requester == official_id and period.contains(c.occurred_at):
                ind.count(m.matter_id, not c.proposed_position)
    return ind


def ping_pong(official_id: str, matters: Sequence[MatterAnalysis], period: Period) -> Indicator:
    """3. Of their lead matters, those they held in two or more lead intervals separated by
    someone else's, counting only intervals begun before the first decision (v4)."""
    ind = Indicator()
    for m in matters:
        if any(_meets(i, period) for i in m.lead_intervals(official_id)):
            ind.count(m.matter_id, _bounced(m, official_id))
    return ind


def _bounced(m: MatterAnalysis, official_id: str) -> bool:
    first = m.first_decision_seq()
    before = [
        i for i in m.intervals if i.role == "lead" and (first is None or i.started_seq < first)
    ]
    # Consecutive lead intervals never have one holder (a lead assignment to the holder does
    # not split theirs): two of theirs always have someone else's between them.
    return sum(1 for i in before if i.official_id == official_id) >= 2


def returned_handoffs(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """4. Of their answered lateral/external/up_external offers, those returned
    ``not_competent``."""
    ind = Indicator()
    for m in matters:
        for o in m.offers.values():
            if (
                o.offerer == official_id
                and o.direction in _SIDEWAYS
                and o.answer in ("accepted", "returned")
                and period.contains(o.occurred_at)
            ):
                ind.count(m.matter_id, o.answer == "returned" and o.reason == "not_competent")
    return ind


Span = tuple[datetime, datetime | None]  # [start, end); end None: still running at E


def overdue(official_id: str, matters: Sequence[MatterAnalysis], period: Period) -> Indicator:
    """5. Of the matters they answered for, those late while they answered for it; also the
    overdue working days charged to them. They answer for a matter while holding the lead
    with no offer of theirs pending, and while an offer to them is pending (v4)."""
    ind = Indicator()
    days: list[float] = []
    for m in matters:
        mine = m.lead_intervals(official_id)
        offered = [(p.from_at, p.until) for p in m.pending_spans if p.to == official_id]
        if not (any(_meets(i, period) for i in mine) or any(period.meets(*s) for s in offered)):
            continue
        spans = _answerable_spans(m, official_id, mine) + [s for s in offered if _nonempty(s)]
        late = m.due_at is not None and m.is_late
        hit = late and any(Period(m.due_at, m.end).meets(*s) for s in spans)
        ind.count(m.matter_id, hit)
        if hit:
            days.append(float(_charged_days(m, spans)))
    ind.extra = {"total_working_days": int(sum(days)), "median_working_days": median(days)}
    return ind


def _nonempty(span: Span) -> bool:
    return span[1] is None or span[1] > span[0]


def _answerable_spans(m: MatterAnalysis, official_id: str, mine: list[Interval]) -> list[Span]:
    """Their lead intervals less the spans during which an offer of theirs was pending."""
    holes = sorted(
        ((p.from_at, p.until) for p in m.pending_spans if p.offerer == official_id),
        key=lambda s: s[0],
    )
    spans: list[Span] = []
    for interval in mine:
        spans += _minus(parse_instant(interval.from_at), _end(interval), holes)
    return [s for s in spans if _nonempty(s)]


def _minus(start: datetime, end: datetime | None, holes: list[Span]) -> list[Span]:
    """[start, end) less ``holes`` (sorted by start)."""
    pieces: list[Span] = []
    cursor: datetime | None = start  # None: a hole runs to E, nothing is left
    for hole_start, hole_end in holes:
        if cursor is None or (end is not None and hole_start >= end):
            break
        if hole_end is not None and hole_end <= cursor:
            continue
        if hole_start > cursor:
            pieces.append((cursor, hole_start))
        cursor = None if hole_end is None else max(cursor, hole_end)
    if cursor is not None and (end is None or cursor < end):
        pieces.append((cursor, end))
    return pieces


def _charged_days(m: MatterAnalysis, spans: list[Span]) -> int:
    """The overdue working days (due day < d ≤ end day) on which one of ``spans`` ran: a
    span [start, end) runs on day d (ICT) when it overlaps d; a span still running at E
    runs to the end day."""
    assert m.due_at is not None
    last = local_day(m.end)
    ranges: list[tuple[date, date]] = []
    for start, end in spans:
        if end is None:
            stop = last
        else:
            local_end = end.astimezone(ICT)
            # [start, end) overlaps day d unless ``end`` is exactly d's midnight.
            stop = local_end.date() - timedelta(days=1 if local_end.time() == time(0) else 0)
        ranges.append((local_day(start), stop))
    return sum(
        1
        for d in m.calendar.working_days_list(local_day(m.due_at), last)
        if any(lo <= d <= hi for lo, hi in ranges)
    )


def unresponsive_consultee(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """6. Of consultations addressed to them, answered or with their window over at E (the
    matter not closed first), those answered late, ``no_position``, or not at all."""
    ind = Indicator()
    for m in matters:
        for c in m.consultations.values():
            if c.to != official_id or not period.contains(c.occurred_at):
                continue
            window_over = c.reply_due <= m.evaluated_at
            closed_first = (
                c.answered_at is None and m.closed_at is not None and m.closed_at < c.reply_due
            )
            if closed_first or not (c.answered_at is not None or window_over):
                continue
            ind.count(
                m.matter_id,
                c.answered_late or c.position == "no_position" or c.answered_at is None,
            )
    return ind


def first_action_delay(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """7. The median working hours from receiving the lead (not their own opening) to their
    next act within that custody; intervals with no act are left out."""
    ind = Indicator(denominator=None, is_measure=True)
    delays: list[float] = []
    for m in matters:
        for interval in m.lead_intervals(official_id):
            if interval.started_seq == 0 or not period.contains(parse_instant(interval.from_at)):
                continue  # their own opening, or received outside the period
            act = next(
                (
                    e
                    for e in m.events
                    if e.actor == official_id
                    and e.seq > interval.started_seq
                    # The act that ends their custody (closing it, assigning it on) is
                    # an act within it.
                    and (interval.ended_seq is None or e.seq <= interval.ended_seq)
                ),
                None,
            )
            if act is None:
                continue
            ind.numerator += 1
            ind.matters.add(m.matter_id)
            delays.append(
                m.calendar.working_hours_between(parse_instant(interval.from_at), _occurred(act))
            )
    ind.measure = median(delays)
    return ind


def decisions_outside_competence(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """8. Of their decisions, those found ``none``."""
    ind = Indicator()
    for m in matters:
        for d in m.decisions:
            if d.decider == official_id and period.contains(d.occurred_at):
                ind.count(m.matter_id, d.competence == "none")
    return ind


def repeated_supplement_requests(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """9. Of matters where they requested a supplement, those with two or more requests."""
    ind = Indicator()
    for m in matters:
        requests = m.supplement_requests
        if any(r.actor == official_id and period.contains(_occurred(r)) for r in requests):
            ind.count(m.matter_id, len(requests) >= 2)
    return ind


def competence_unused(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """10. Of decided matters whose lead they held, with competence, before the first
    decision, those whose first decision someone else made."""
    ind = Indicator()
    for m in matters:
        if not m.decisions:
            continue  # nobody has decided yet: no competence went unused so far
        first = m.decisions[0]
        mine = m.lead_intervals(official_id)
        before = [i for i in mine if i.started_seq < first.seq and _meets(i, period)]
        if not before:
            continue
        competent = any(_competent(i.competence) for i in before) or any(
            e.seq < first.seq for e in _escalations(m, official_id, mine)
        )
        if competent:
            ind.count(m.matter_id, first.decider != official_id)
    return ind


def missed_step_deadlines(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> Indicator:
    """11. Of tasks assigned to them with a ``due_at``, those still theirs at ``due_at``
    with no statement of theirs on the matter since the assignment."""
    ind = Indicator()
    for m in matters:
        for task in m.tasks:
            if (
                task.assignee != official_id
                or task.due_at is None
                or not period.contains(task.occurred_at)
            ):
                continue
            due = task.due_at
            if any(
                e.actor == official_id and e.seq > task.seq and _occurred(e) <= due
                for e in m.events
            ):
                ind.count(m.matter_id, False)  # they acted by the due time
            elif due <= m.end and _holds(m, official_id, task.role, due):
                ind.count(m.matter_id, True)
            # Otherwise not yet due at E, or no longer theirs at the due time (the lead moved
            # on, the matter closed): neither met nor missed.
    return ind


def _holds(m: MatterAnalysis, official_id: str, role: str, at: datetime) -> bool:
    """Whether an interval of theirs in ``role`` runs at ``at``."""
    return any(
        i.official_id == official_id
        and i.role == role
        and parse_instant(i.from_at) <= at
        and (i.to_at is None or at < parse_instant(i.to_at))
        for i in m.intervals
    )


def idle_custody(official_id: str, matters: Sequence[MatterAnalysis], period: Period) -> Indicator:
    """12. Of their lead intervals, those with a stretch of more than 5 working days in
    which they signed nothing on the matter; also the longest such stretch."""
    ind = Indicator()
    longest: int | None = None
    for m in matters:
        for interval in m.lead_intervals(official_id):
            if not _meets(interval, period):
                continue
            idle = _longest_idle(m, official_id, interval)
            ind.count(m.matter_id, idle > IDLE_WORKING_DAYS)
            longest = idle if longest is None else max(longest, idle)
    ind.extra = {"longest_idle_working_days": longest}
    return ind


def _longest_idle(m: MatterAnalysis, official_id: str, interval: Interval) -> int:
    """The most working days (d with start day < d ≤ end day) between consecutive points of
    the interval: its start, each statement of theirs within it, its end (E while open)."""
    acts = [
        _occurred(e)
        for e in m.events
        if e.actor == official_id
        and e.seq > interval.started_seq
        and (interval.ended_seq is None or e.seq <= interval.ended_seq)
    ]
    points = sorted([parse_instant(interval.from_at), *acts, m.interval_end(interval)])
    return max(
        m.calendar.working_days_between(local_day(a), local_day(b)) for a, b in pairwise(points)
    )


RULES: dict[str, Rule] = {
    "escalation_within_competence": escalation_within_competence,
    "positionless_consultation": positionless_consultation,
    "ping_pong": ping_pong,
    "returned_handoffs": returned_handoffs,
    "overdue": overdue,
    "unresponsive_consultee": unresponsive_consultee,
    "first_action_delay": first_action_delay,
    "decisions_outside_competence": decisions_outside_competence,
    "repeated_supplement_requests": repeated_supplement_requests,
    "competence_unused": competence_unused,
    "missed_step_deadlines": missed_step_deadlines,
    "idle_custody": idle_custody,
}
NAMES = tuple(RULES)  # DESIGN §7's order, 1–12


def indicators_for(
    official_id: str, matters: Sequence[MatterAnalysis], period: Period
) -> dict[str, Indicator]:
    """Indicators 1–12 of ``official_id`` over ``matters`` (every matter they are party to)."""
    return {name: rule(official_id, matters, period) for name, rule in RULES.items()}


# --- percentiles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rank:
    """A percentile and the size of the group it ranks among."""

    percentile: float | None
    n: int


class _Group:
    """The non-null values of one indicator in one group of officials, sorted once."""

    def __init__(self, values: Iterable[float]) -> None:
        self.ordered = sorted(values)

    def rank(self, value: float | None) -> Rank:
        """100·(#lower + 0.5·#equal)/n, the official's own value among the equal; null for
        a null value or a group smaller than ``MIN_PEERS``."""
        n = len(self.ordered)
        if value is None or n < MIN_PEERS:
            return Rank(None, n)
        lower = bisect.bisect_left(self.ordered, value)
        equal = bisect.bisect_right(self.ordered, value) - lower
        return Rank(100 * (lower + 0.5 * equal) / n, n)


def with_percentiles(
    table: Mapping[str, Mapping[str, Indicator]], agency_of: Mapping[str, str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each official's indicators as JSON, ranked among all of ``table`` (the province's
    officials at E) and among those of their own agency (``agency_of``)."""
    out: dict[str, dict[str, dict[str, Any]]] = {official: {} for official in table}
    for name in NAMES:
        values = {official: row[name].value for official, row in table.items()}
        province = _Group(v for v in values.values() if v is not None)
        by_agency: dict[str, list[float]] = {}
        for official, value in values.items():
            if value is not None:
                by_agency.setdefault(agency_of[official], []).append(value)
        agencies = {agency: _Group(group) for agency, group in by_agency.items()}
        for official, row in table.items():
            value = values[official]
            agency = agencies.get(agency_of[official]) or _Group(())
            out[official][name] = row[name].as_json(province.rank(value), agency.rank(value))
    return out
