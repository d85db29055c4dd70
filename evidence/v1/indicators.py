"""Avoidance indicators 1–9 (DESIGN §7), computed from analysed matters at E.

Each indicator is ``{numerator, denominator, value, matters, peer_percentile}``; ``value`` is
numerator / denominator (null when the denominator is 0) and ``matters`` the ids behind the
numerator. The period is [from, to) of ``occurred_at``: a matter counts for an official when
one of their lead intervals meets it; an act counts when it occurred in it. Higher values
are always worse. docs/indicators.md states each definition exactly as computed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from evidence.v1.analysis import MatterAnalysis
from evidence.v1.custody import Interval
from evidence.v1.workdays import ICT, local_day, median, percentile_rank
from ledger.times import parse_instant

NAMES = (
    "escalation_within_competence",
    "positionless_consultation",
    "ping_pong",
    "returned_handoffs",
    "overdue",
    "unresponsive_consultee",
    "first_action_delay",
    "decisions_outside_competence",
    "repeated_supplement_requests",
)
_UP = ("up", "up_external")
_SIDEWAYS = ("lateral", "external", "up_external")


@dataclass
class Indicator:
    numerator: int = 0
    denominator: int | None = 0
    matters: set[str] = field(default_factory=set)
    value_override: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    has_override: bool = False

    @property
    def value(self) -> float | None:
        if self.has_override:
            return self.value_override
        if not self.denominator:
            return None
        return self.numerator / self.denominator

    def as_json(self, peer_percentile: float | None) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "matters": sorted(self.matters),
            "peer_percentile": peer_percentile,
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


def _interval_meets(m: MatterAnalysis, interval: Interval, period: Period) -> bool:
    end = parse_instant(interval.to_at) if interval.to_at else None
    return period.meets(parse_instant(interval.from_at), end)


def indicators_for(
    official_id: str, matters: Iterable[MatterAnalysis], period: Period
) -> dict[str, Indicator]:
    """Indicators 1–9 of ``official_id`` over ``matters`` (every matter they touched)."""
    out = {name: Indicator() for name in NAMES}
    out["first_action_delay"].denominator = None
    out["first_action_delay"].has_override = True
    overdue_days: list[float] = []
    delays: list[float] = []
    for m in matters:
        mine = m.lead_intervals(official_id)
        lead_in_period = [i for i in mine if _interval_meets(m, i, period)]
        first_decision = m.first_decision_seq()
        # 1. escalation_within_competence
        escalations = [
            e
            for e in m.events
            if e.actor == official_id
            and e.type in ("handoff.offered", "consultation.requested")
            and e.direction in _UP
            and e.competence not in (None, "none")
            and period.contains(parse_instant(e.occurred_at))
            and _holds_lead_at(mine, e.seq)
        ]
        held_with_competence = any(i.competence not in (None, "none") for i in lead_in_period)
        if lead_in_period and (held_with_competence or escalations):
            ind = out["escalation_within_competence"]
            ind.denominator = (ind.denominator or 0) + 1
            if any(first_decision is None or e.seq < first_decision for e in escalations):
                ind.numerator += 1
                ind.matters.add(m.matter_id)
        # 2. positionless_consultation (counted per request)
        for c in m.consultations.values():
            if c.requester == official_id and period.contains(c.occurred_at):
                ind = out["positionless_consultation"]
                ind.denominator = (ind.denominator or 0) + 1
                if not c.proposed_position:
                    ind.numerator += 1
                    ind.matters.add(m.matter_id)
        # 3. ping_pong
        if lead_in_period:
            ind = out["ping_pong"]
            ind.denominator = (ind.denominator or 0) + 1
            if _ping_pong(m, official_id):
                ind.numerator += 1
                ind.matters.add(m.matter_id)
        # 4. returned_handoffs (counted per answered offer)
        for o in m.offers.values():
            if (
                o.offerer == official_id
                and o.direction in _SIDEWAYS
                and o.answer in ("accepted", "returned")
                and period.contains(o.occurred_at)
            ):
                ind = out["returned_handoffs"]
                ind.denominator = (ind.denominator or 0) + 1
                if o.answer == "returned" and o.reason == "not_competent":
                    ind.numerator += 1
                    ind.matters.add(m.matter_id)
        # 5. overdue
        if lead_in_period:
            ind = out["overdue"]
            ind.denominator = (ind.denominator or 0) + 1
            if m.is_late and m.due_at is not None:
                late_span = Period(m.due_at, m.end)
                if any(late_span.meets(parse_instant(i.from_at), _end(i)) for i in mine):
                    ind.numerator += 1
                    ind.matters.add(m.matter_id)
                    overdue_days.append(float(_days_held_overdue(m, mine)))
        # 6. unresponsive_consultee (counted per consultation)
        for c in m.consultations.values():
            if c.to != official_id or not period.contains(c.occurred_at):
                continue
            window_over = c.reply_due <= m.evaluated_at
            closed_first = (
                c.answered_at is None and m.closed_at is not None and m.closed_at < c.reply_due
            )
            if closed_first or not (c.answered_at is not None or window_over):
                continue
            ind = out["unresponsive_consultee"]
            ind.denominator = (ind.denominator or 0) + 1
            if c.answered_late or c.position == "no_position" or c.answered_at is None:
                ind.numerator += 1
                ind.matters.add(m.matter_id)
        # 7. first_action_delay
        for interval in mine:
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
            ind = out["first_action_delay"]
            ind.numerator += 1
            ind.matters.add(m.matter_id)
            delays.append(
                m.calendar.working_hours_between(
                    parse_instant(interval.from_at), parse_instant(act.occurred_at)
                )
            )
        # 8. decisions_outside_competence (counted per decision)
        for d in m.decisions:
            if d.decider == official_id and period.contains(d.occurred_at):
                ind = out["decisions_outside_competence"]
                ind.denominator = (ind.denominator or 0) + 1
                if d.competence == "none":
                    ind.numerator += 1
                    ind.matters.add(m.matter_id)
        # 9. repeated_supplement_requests
        requests = m.supplement_requests
        if any(
            r.actor == official_id and period.contains(parse_instant(r.occurred_at))
            for r in requests
        ):
            ind = out["repeated_supplement_requests"]
            ind.denominator = (ind.denominator or 0) + 1
            if len(requests) >= 2:
                ind.numerator += 1
                ind.matters.add(m.matter_id)
    out["first_action_delay"].value_override = median(delays)
    out["overdue"].extra = {
        "total_working_days": int(sum(overdue_days)),
        "median_working_days": median(overdue_days),
    }
    return out


def _end(interval: Interval) -> datetime | None:
    return parse_instant(interval.to_at) if interval.to_at else None


def _holds_lead_at(mine: list[Interval], seq: int) -> bool:
    return any(i.started_seq <= seq and (i.ended_seq is None or seq < i.ended_seq) for i in mine)


def _ping_pong(m: MatterAnalysis, official_id: str) -> bool:
    """Two or more lead intervals of theirs separated by someone else's."""
    holders = [i.official_id for i in m.intervals if i.role == "lead"]
    seen_mine = seen_other_after = False
    for holder in holders:
        if holder == official_id:
            if seen_mine and seen_other_after:
                return True
            seen_mine = True
            seen_other_after = False
        elif seen_mine:
            seen_other_after = True
    return False


def _days_held_overdue(m: MatterAnalysis, mine: list[Interval]) -> int:
    """Overdue working days (due day < d ≤ end day) during which one of their lead
    intervals ran (an interval [from, to) runs during day d when it overlaps d, in ICT)."""
    assert m.due_at is not None
    first_overdue = local_day(m.due_at) + timedelta(days=1)
    last_overdue = local_day(m.end)
    spans: list[tuple[date, date]] = []
    for interval in mine:
        start = local_day(parse_instant(interval.from_at))
        end = _end(interval)
        if end is None:
            stop = last_overdue
        else:
            local_end = end.astimezone(ICT)
            # [from, to) overlaps day d unless ``to`` is exactly d's midnight.
            stop = local_end.date() - timedelta(days=1 if local_end.time() == time(0) else 0)
        lo, hi = max(start, first_overdue), min(stop, last_overdue)
        if lo <= hi:
            spans.append((lo, hi))
    count = 0
    covered_to: date | None = None
    for lo, hi in sorted(spans):
        if covered_to is not None and lo <= covered_to:
            lo = covered_to + timedelta(days=1)
        if lo <= hi:
            count += m.calendar.working_days_between(lo - timedelta(days=1), hi)
            covered_to = hi
    return count


def with_percentiles(
    table: dict[str, dict[str, Indicator]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each official's indicators as JSON with peer percentiles among ``table``'s officials."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for official_id, indicators in table.items():
        out[official_id] = {}
        for name, ind in indicators.items():
            peers = [v for other in table.values() if (v := other[name].value) is not None]
            value = ind.value
            rank = None if value is None else percentile_rank(value, peers)
            out[official_id][name] = ind.as_json(rank)
    return out
