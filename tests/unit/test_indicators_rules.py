"""Each indicator rule of DESIGN §7 (docs/read-models.md "Indicators"), in memory.

A ``Matter`` writes the rows the ``matters`` projection would store for a small history —
what the state machine found for each statement (direction, competence, the new lead
holder, the pending offer after it) — and ``analyse`` folds them at an evaluation instant,
as a read does. Each test calls one rule of ``projections.indicators.RULES`` and works its
numbers out in the comments. The calendar is March 2026 (no Vietnamese public holiday in
it): Mon 2, 9, 16 and 23 March are Mondays.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ledger.times import parse_instant
from ledger.workdays import WorkCalendar
from projections.analysis import MatterAnalysis, analyse
from projections.facts import MatterEventRow
from projections.indicators import (
    NAMES,
    RULES,
    Indicator,
    Period,
    _Group,
    competence_unused,
    decisions_outside_competence,
    escalation_within_competence,
    first_action_delay,
    idle_custody,
    indicators_for,
    missed_step_deadlines,
    overdue,
    ping_pong,
    positionless_consultation,
    repeated_supplement_requests,
    returned_handoffs,
    unresponsive_consultee,
    with_percentiles,
)

ICT = timezone(timedelta(hours=7))
CALENDAR = WorkCalendar()
ALWAYS = Period(None, None)
AN, BINH, CHIEF, DIRECTOR = "an", "binh", "truong.phong", "giam.doc"


def t(day: int, hour: int = 9, minute: int = 0) -> str:
    """An instant in March 2026, ICT."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ICT).isoformat()


class Matter:
    """One matter's stored rows, written as the state machine would have found them."""

    def __init__(
        self, opener: str, at: str, *, competence: str = "own", matter_id: str = "M1"
    ) -> None:
        # Opened with a 5-working-day deadline: opened Mon 2 March, due Mon 9 March 17:00.
        self.matter_id = matter_id
        self.rows: list[MatterEventRow] = []
        self.custodian: str | None = None
        self.pending: str | None = None
        body = {
            "title": "Cấp giấy chứng nhận",
            "procedure_code": "1.004227",
            "agency_id": "so-tnmt",
            "deadline_working_days": 5,
            "applicant_ref": "HS-1",
        }
        self._add("matter.opened", opener, at, body, lead_to=opener, holder_competence=competence)

    def _add(
        self,
        type_: str,
        actor: str,
        at: str,
        body: dict[str, Any],
        *,
        direction: str | None = None,
        competence: str | None = None,
        counterpart: str | None = None,
        lead_to: str | None = None,
        support_to: str | None = None,
        closes: bool = False,
        holder_competence: str | None = None,
        ends_offer: bool = False,
    ) -> str:
        event_id = f"{self.matter_id}-{len(self.rows)}"
        if lead_to == self.custodian:
            lead_to = None  # a lead assignment to the holder moves nothing
        if lead_to is not None:
            self.custodian = lead_to
        if type_ == "handoff.offered":
            self.pending = event_id
        if ends_offer or lead_to is not None or closes:
            self.pending = None
        self.rows.append(
            MatterEventRow(
                matter_id=self.matter_id,
                seq=len(self.rows),
                idx=len(self.rows) + 1,
                event_id=event_id,
                type=type_,
                actor=actor,
                occurred_at=at,
                recorded_at=at,
                direction=direction,
                flags="[]",
                competence=competence,
                delegation_id=None,
                counterpart=counterpart,
                holder_competence=holder_competence if lead_to is not None else None,
                body=json.dumps(body),
                lead_to=lead_to,
                support_to=support_to,
                closes=closes,
                pending_offer=self.pending,
            )
        )
        return event_id

    def offer(
        self,
        actor: str,
        to: str,
        at: str,
        *,
        direction: str = "lateral",
        finding: str | None = None,
    ) -> str:
        """An offer; ``finding``: the offerer's competence found for an up/up_external one."""
        body = {"to": to, "reason": "Chuyển xử lý"}
        return self._add(
            "handoff.offered",
            actor,
            at,
            body,
            direction=direction,
            competence=finding,
            counterpart=to,
        )

    def accept(self, actor: str, offer_id: str, at: str, *, competence: str | None = None) -> None:
        self._add(
            "handoff.accepted",
            actor,
            at,
            {"in_reply_to": offer_id},
            lead_to=actor,
            holder_competence=competence,
            ends_offer=True,
        )

    def give(
        self,
        actor: str,
        to: str,
        at: str,
        *,
        direction: str = "lateral",
        finding: str | None = None,
    ) -> None:
        """``actor`` offers the matter to ``to``, who accepts at the same minute."""
        self.accept(to, self.offer(actor, to, at, direction=direction, finding=finding), at)

    def send_back(self, actor: str, offer_id: str, at: str, reason: str = "not_competent") -> None:
        body = {"in_reply_to": offer_id, "reason": reason, "note": "Trả lại"}
        self._add("handoff.returned", actor, at, body, ends_offer=True)

    def assign(
        self,
        actor: str,
        assignee: str,
        at: str,
        *,
        role: str = "lead",
        due_at: str | None = None,
        competence: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"assignee": assignee, "role": role, "instructions": "Xử lý"}
        if due_at is not None:
            body["due_at"] = due_at
        self._add(
            "task.assigned",
            actor,
            at,
            body,
            counterpart=assignee,
            lead_to=assignee if role == "lead" else None,
            support_to=assignee if role == "support" else None,
            holder_competence=competence,
            ends_offer=role == "lead",
        )

    def consult(
        self,
        actor: str,
        to: str,
        at: str,
        *,
        direction: str = "lateral",
        finding: str | None = None,
        position: bool = True,
        required_by: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"to": to, "question": "Xin ý kiến"}
        if position:
            body["proposed_position"] = "Đề nghị cấp"
        if required_by is not None:
            body["required_by"] = required_by
        return self._add(
            "consultation.requested",
            actor,
            at,
            body,
            direction=direction,
            competence=finding,
            counterpart=to,
        )

    def answer(self, actor: str, request_id: str, at: str, position: str = "agree") -> None:
        body = {"in_reply_to": request_id, "position": position, "text": "Ý kiến"}
        self._add("consultation.answered", actor, at, body)

    def decide(self, actor: str, at: str, *, competence: str = "own") -> None:
        body = {"outcome": "approved", "summary": "Cấp", "legal_basis": "Luật", "capacity": "own"}
        self._add("decision.recorded", actor, at, body, competence=competence)

    def request_supplement(self, actor: str, at: str) -> None:
        self._add("supplement.requested", actor, at, {"items": ["Bản sao"]})

    def close(self, actor: str, at: str) -> None:
        self._add("matter.closed", actor, at, {"result": "completed"}, closes=True)

    def at(self, evaluated_at: str) -> MatterAnalysis:
        """The matter as read at E = ``evaluated_at``."""
        return analyse(self.matter_id, self.rows, parse_instant(evaluated_at), CALENDAR)


def counts(ind: Indicator) -> tuple[int, int | None, float | None, list[str]]:
    return ind.numerator, ind.denominator, ind.value, sorted(ind.matters)


# --- the table ---------------------------------------------------------------------------------


def test_the_rules_are_one_function_each_in_design_order() -> None:
    assert NAMES == (
        "escalation_within_competence",
        "positionless_consultation",
        "ping_pong",
        "returned_handoffs",
        "overdue",
        "unresponsive_consultee",
        "first_action_delay",
        "decisions_outside_competence",
        "repeated_supplement_requests",
        "competence_unused",
        "missed_step_deadlines",
        "idle_custody",
    )
    assert all(RULES[name].__name__ == name for name in NAMES)


# --- 1. escalation_within_competence -----------------------------------------------------------


def test_an_up_consultation_with_competence_before_the_decision_is_an_escalation() -> None:
    m = Matter(AN, t(2))
    m.consult(AN, CHIEF, t(2, 10), direction="up", finding="own")
    m.decide(AN, t(3))
    assert counts(escalation_within_competence(AN, [m.at(t(6))], ALWAYS)) == (1, 1, 1.0, ["M1"])


def test_a_consultation_the_law_requires_is_no_escalation() -> None:
    # The same consultation up, stating the legal basis that obliges it (v4): the matter
    # stays in her denominator (she held it with competence), not in the numerator.
    m = Matter(AN, t(2))
    m.consult(AN, CHIEF, t(2, 10), direction="up", finding="own", required_by="Điều 12 Nghị định 1")
    m.decide(AN, t(3))
    assert counts(escalation_within_competence(AN, [m.at(t(6))], ALWAYS)) == (0, 1, 0.0, [])


def test_an_escalation_after_the_first_decision_is_not_counted() -> None:
    m = Matter(AN, t(2))
    m.decide(AN, t(2, 10))
    m.consult(AN, CHIEF, t(2, 11), direction="up", finding="own")
    assert counts(escalation_within_competence(AN, [m.at(t(6))], ALWAYS)) == (0, 1, 0.0, [])


def test_a_matter_held_without_competence_is_not_in_the_escalation_denominator() -> None:
    m = Matter(AN, t(2), competence="none")
    m.offer(AN, CHIEF, t(2, 10), direction="up", finding="none")
    assert counts(escalation_within_competence(AN, [m.at(t(6))], ALWAYS)) == (0, 0, None, [])


# --- 2. positionless_consultation --------------------------------------------------------------


def test_a_request_without_a_proposed_position_is_positionless() -> None:
    m = Matter(AN, t(2))
    m.consult(AN, BINH, t(2, 10), position=False)
    m.consult(AN, CHIEF, t(2, 11), direction="up")
    assert counts(positionless_consultation(AN, [m.at(t(6))], ALWAYS)) == (1, 2, 0.5, ["M1"])


# --- 3. ping_pong ------------------------------------------------------------------------------


def test_holding_the_lead_again_before_the_decision_is_a_bounce() -> None:
    m = Matter(AN, t(2))
    m.give(AN, BINH, t(2, 10))
    m.give(BINH, AN, t(3))
    m.decide(AN, t(4))
    assert counts(ping_pong(AN, [m.at(t(6))], ALWAYS)) == (1, 1, 1.0, ["M1"])


def test_the_file_coming_back_to_the_desk_after_the_decision_is_no_bounce() -> None:
    # The one-stop desk (An) passes the file to Bình, who decides; the file comes back to
    # the desk to return the result (v4): An's second interval began after the decision.
    m = Matter(AN, t(2))
    m.give(AN, BINH, t(2, 10))
    m.decide(BINH, t(3))
    m.give(BINH, AN, t(3, 10))
    m.close(AN, t(3, 11))
    analysis = m.at(t(6))
    assert counts(ping_pong(AN, [analysis], ALWAYS)) == (0, 1, 0.0, [])
    assert counts(ping_pong(BINH, [analysis], ALWAYS)) == (0, 1, 0.0, [])


# --- 4. returned_handoffs ----------------------------------------------------------------------


def test_a_sideways_offer_returned_not_competent_counts_and_an_up_one_does_not() -> None:
    m = Matter(AN, t(2))
    m.send_back(BINH, m.offer(AN, BINH, t(2, 10)), t(2, 11))  # lateral, not_competent
    m.send_back(CHIEF, m.offer(AN, CHIEF, t(2, 12), direction="up"), t(2, 13))  # up: left out
    m.send_back(BINH, m.offer(AN, BINH, t(2, 14)), t(2, 15), reason="incomplete")
    assert counts(returned_handoffs(AN, [m.at(t(6))], ALWAYS)) == (1, 2, 0.5, ["M1"])


# --- 5. overdue --------------------------------------------------------------------------------


def test_the_holder_is_charged_each_overdue_day_they_held_the_matter() -> None:
    # Due Mon 9 March 17:00; open at E = Thu 12 March 12:00: overdue days Tue 10, Wed 11,
    # Thu 12, all An's.
    ind = overdue(AN, [Matter(AN, t(2)).at(t(12, 12))], ALWAYS)
    assert counts(ind) == (1, 1, 1.0, ["M1"])
    assert (ind.extra["total_working_days"], ind.extra["median_working_days"]) == (3, 3.0)


def test_overdue_days_with_an_offer_pending_are_charged_to_the_addressee() -> None:
    # Overdue days at E = Tue 17 March 12:00: Tue 10, Wed 11, Thu 12, Fri 13, Mon 16, Tue 17.
    # An offers the file to Bình Wed 11 09:00; Bình sits on it and returns it Fri 13 10:00.
    # An answers for [opening, Wed 11 09:00) and [Fri 13 10:00, E): Tue 10, Wed 11, Fri 13,
    # Mon 16, Tue 17 = 5 days (not Thu 12, wholly in Bình's inbox). Bình answers for the
    # pending offer [Wed 11 09:00, Fri 13 10:00): Wed 11, Thu 12, Fri 13 = 3 days, though he
    # never held the lead: the matter is in his denominator and numerator.
    m = Matter(AN, t(2))
    m.send_back(BINH, m.offer(AN, BINH, t(11)), t(13, 10), reason="other")
    analysis = m.at(t(17, 12))
    mine = overdue(AN, [analysis], ALWAYS)
    assert counts(mine) == (1, 1, 1.0, ["M1"])
    assert mine.extra["total_working_days"] == 5
    his = overdue(BINH, [analysis], ALWAYS)
    assert counts(his) == (1, 1, 1.0, ["M1"])
    assert his.extra == {"total_working_days": 3, "median_working_days": 3.0}


def test_a_holder_whose_offer_was_pending_through_the_whole_lateness_is_not_late() -> None:
    # An offers on Mon 9 March 10:00, before the due time; Bình never answers: every overdue
    # day (Tue 10 .. Thu 12 at E) is Bình's, and An's matter was on time while she answered
    # for it.
    m = Matter(AN, t(2))
    m.offer(AN, BINH, t(9, 10))
    analysis = m.at(t(12, 12))
    mine = overdue(AN, [analysis], ALWAYS)
    assert counts(mine) == (0, 1, 0.0, [])
    assert mine.extra == {"total_working_days": 0, "median_working_days": None}
    his = overdue(BINH, [analysis], ALWAYS)
    assert counts(his) == (1, 1, 1.0, ["M1"])
    assert his.extra["total_working_days"] == 3


# --- 6. unresponsive_consultee -----------------------------------------------------------------


def test_an_unanswered_consultation_counts_once_its_window_is_over() -> None:
    # Asked Mon 2 March 10:00: the window ends Mon 9 March 17:00.
    m = Matter(AN, t(2))
    m.consult(AN, CHIEF, t(2, 10), direction="up")
    assert counts(unresponsive_consultee(CHIEF, [m.at(t(9, 12))], ALWAYS)) == (0, 0, None, [])
    assert counts(unresponsive_consultee(CHIEF, [m.at(t(10))], ALWAYS)) == (1, 1, 1.0, ["M1"])


def test_an_answer_in_time_with_a_position_is_not_unresponsive() -> None:
    m = Matter(AN, t(2))
    m.answer(CHIEF, m.consult(AN, CHIEF, t(2, 10), direction="up"), t(3))
    m.answer(BINH, m.consult(AN, BINH, t(2, 11)), t(3), position="no_position")
    analysis = m.at(t(4))
    assert counts(unresponsive_consultee(CHIEF, [analysis], ALWAYS)) == (0, 1, 0.0, [])
    assert counts(unresponsive_consultee(BINH, [analysis], ALWAYS)) == (1, 1, 1.0, ["M1"])


# --- 7. first_action_delay ---------------------------------------------------------------------


def test_first_action_delay_is_the_working_hours_to_the_next_act() -> None:
    # Bình accepts Mon 2 March 10:00, first acts at 14:00: 1.5 h + 1 h = 2.5 working hours.
    m = Matter(AN, t(2))
    m.give(AN, BINH, t(2, 10))
    m.request_supplement(BINH, t(2, 14))
    analysis = m.at(t(6))
    assert counts(first_action_delay(BINH, [analysis], ALWAYS)) == (1, None, 2.5, ["M1"])
    # An's own opening is never counted.
    assert counts(first_action_delay(AN, [analysis], ALWAYS)) == (0, None, None, [])


# --- 8. decisions_outside_competence -----------------------------------------------------------


def test_a_decision_found_none_is_outside_competence() -> None:
    m = Matter(AN, t(2))
    m.decide(AN, t(3), competence="none")
    m.decide(AN, t(4), competence="own")
    assert counts(decisions_outside_competence(AN, [m.at(t(6))], ALWAYS)) == (1, 2, 0.5, ["M1"])


# --- 9. repeated_supplement_requests -----------------------------------------------------------


def test_two_supplement_requests_on_a_matter_are_repeated() -> None:
    once, twice = Matter(AN, t(2), matter_id="S1"), Matter(AN, t(2), matter_id="S2")
    once.request_supplement(AN, t(3))
    twice.request_supplement(AN, t(3))
    twice.request_supplement(AN, t(4))
    matters = [once.at(t(6)), twice.at(t(6))]
    assert counts(repeated_supplement_requests(AN, matters, ALWAYS)) == (1, 2, 0.5, ["S2"])


# --- 10. competence_unused ---------------------------------------------------------------------


def test_a_matter_within_her_competence_decided_by_her_chief_is_competence_unused() -> None:
    # An holds the competence and the lead; she passes the file up and the chief decides:
    # with or without an escalation statement, a decision that was hers went to someone else.
    m = Matter(AN, t(2))
    m.assign(DIRECTOR, CHIEF, t(3))  # the director gives the chief the lead (no offer of An's)
    m.decide(CHIEF, t(4))
    analysis = m.at(t(6))
    assert counts(competence_unused(AN, [analysis], ALWAYS)) == (1, 1, 1.0, ["M1"])
    # The chief held the lead before the decision, but without competence: not counted.
    assert counts(competence_unused(CHIEF, [analysis], ALWAYS)) == (0, 0, None, [])


def test_a_matter_she_decides_herself_is_not_competence_unused() -> None:
    m = Matter(AN, t(2))
    m.decide(AN, t(3))
    m.give(AN, BINH, t(4))  # after the decision: Bình's lead never preceded it
    analysis = m.at(t(6))
    assert counts(competence_unused(AN, [analysis], ALWAYS)) == (0, 1, 0.0, [])
    assert counts(competence_unused(BINH, [analysis], ALWAYS)) == (0, 0, None, [])


def test_an_undecided_or_incompetent_matter_is_not_in_competence_unused() -> None:
    undecided = Matter(AN, t(2), matter_id="U1")
    undecided.give(AN, CHIEF, t(3))
    # Held without competence, but she escalated with competence found (granted since):
    # the escalation's finding shows competence held.
    escalated = Matter(AN, t(2), competence="none", matter_id="U2")
    escalated.give(AN, CHIEF, t(3), direction="up", finding="own")
    escalated.decide(CHIEF, t(4))
    unknown = Matter(AN, t(2), competence="none", matter_id="U3")
    unknown.give(AN, CHIEF, t(3))
    unknown.decide(CHIEF, t(4))
    matters = [undecided.at(t(6)), escalated.at(t(6)), unknown.at(t(6))]
    assert counts(competence_unused(AN, matters, ALWAYS)) == (1, 1, 1.0, ["U2"])


# --- 11. missed_step_deadlines -----------------------------------------------------------------


def test_a_task_still_untouched_at_its_due_time_is_a_missed_step_deadline() -> None:
    # The chief assigns Bình the lead Mon 2 March 10:00, due Wed 4 March 17:00; Bình signs
    # nothing by then.
    m = Matter(AN, t(2))
    m.assign(CHIEF, BINH, t(2, 10), due_at=t(4, 17))
    assert counts(missed_step_deadlines(BINH, [m.at(t(6))], ALWAYS)) == (1, 1, 1.0, ["M1"])
    # Read before the due time: not yet known, in neither count.
    assert counts(missed_step_deadlines(BINH, [m.at(t(4, 12))], ALWAYS)) == (0, 0, None, [])


def test_a_task_acted_on_by_its_due_time_is_met() -> None:
    m = Matter(AN, t(2))
    m.assign(CHIEF, BINH, t(2, 10), due_at=t(4, 17))
    m.consult(BINH, CHIEF, t(4, 16), direction="up")
    assert counts(missed_step_deadlines(BINH, [m.at(t(6))], ALWAYS)) == (0, 1, 0.0, [])


def test_a_support_task_missed_counts_and_a_task_taken_away_first_does_not() -> None:
    # S1: Bình supports from Mon 2 March, due Tue 3 March 17:00, and signs nothing: missed.
    support = Matter(AN, t(2), matter_id="S1")
    support.assign(CHIEF, BINH, t(2, 10), role="support", due_at=t(3, 17))
    # S2: Bình's lead task (due Wed 4 March) is given back to An on Tue 3 March: no longer
    # his at the due time, so neither met nor missed.
    taken = Matter(AN, t(2), matter_id="S2")
    taken.assign(CHIEF, BINH, t(2, 10), due_at=t(4, 17))
    taken.assign(CHIEF, AN, t(3, 10))
    # S3: a task without a due time is not counted.
    undated = Matter(AN, t(2), matter_id="S3")
    undated.assign(CHIEF, BINH, t(2, 10))
    matters = [support.at(t(6)), taken.at(t(6)), undated.at(t(6))]
    assert counts(missed_step_deadlines(BINH, matters, ALWAYS)) == (1, 1, 1.0, ["S1"])


# --- 12. idle_custody --------------------------------------------------------------------------


def test_a_lead_interval_with_more_than_five_idle_working_days_is_idle_custody() -> None:
    # An opens Mon 2 March and signs nothing until Tue 10 March: the working days after Mon 2
    # through Tue 10 are Tue 3 .. Fri 6, Mon 9, Tue 10 = 6 > 5.
    m = Matter(AN, t(2))
    m.request_supplement(AN, t(10))
    m.close(AN, t(11))
    ind = idle_custody(AN, [m.at(t(20))], ALWAYS)
    assert counts(ind) == (1, 1, 1.0, ["M1"])
    assert ind.extra == {"longest_idle_working_days": 6}


def test_acting_every_five_working_days_is_not_idle_custody() -> None:
    # Mon 2 -> Mon 9 (5 working days) -> Fri 13 (4): at most 5, not more than 5.
    m = Matter(AN, t(2))
    m.request_supplement(AN, t(9, 16))
    m.close(AN, t(13))
    ind = idle_custody(AN, [m.at(t(20))], ALWAYS)
    assert counts(ind) == (0, 1, 0.0, [])
    assert ind.extra == {"longest_idle_working_days": 5}


def test_an_open_interval_counts_its_idle_days_up_to_E() -> None:
    # Bình receives the lead Mon 2 March 10:00 and signs nothing: at E = Mon 9 March 12:00
    # that is 5 working days (not idle yet); at E = Tue 10 March 08:00, 6 (idle). His
    # interval has no act, which indicator 7 leaves out and this one does not.
    m = Matter(AN, t(2))
    m.give(AN, BINH, t(2, 10))
    assert counts(idle_custody(BINH, [m.at(t(9, 12))], ALWAYS)) == (0, 1, 0.0, [])
    assert counts(idle_custody(BINH, [m.at(t(10, 8))], ALWAYS)) == (1, 1, 1.0, ["M1"])
    assert counts(first_action_delay(BINH, [m.at(t(10, 8))], ALWAYS)) == (0, None, None, [])
    assert idle_custody(AN, [], ALWAYS).extra == {"longest_idle_working_days": None}


# --- the period --------------------------------------------------------------------------------


def test_a_lead_interval_outside_the_period_is_not_counted() -> None:
    m = Matter(AN, t(2))
    m.request_supplement(AN, t(10))
    m.close(AN, t(11))
    later = Period(parse_instant(t(16, 0)), None)
    assert counts(idle_custody(AN, [m.at(t(20))], later)) == (0, 0, None, [])


# --- percentiles -------------------------------------------------------------------------------


def _row(value: float | None) -> dict[str, Indicator]:
    """A row of indicators, each with ``value`` (null: nothing counted)."""
    row = {name: Indicator() for name in NAMES}
    if value is not None:
        for ind in row.values():
            ind.numerator, ind.denominator = int(value * 4), 4
    return row


def test_percentiles_rank_among_the_province_and_among_the_agency() -> None:
    # Province: six officials with a value (0, 0, 0.5, 1, 1 in so-a; 1 in so-b) and one
    # without (so-a). 100·(#lower + 0.5·#equal)/n, the official among the equal.
    values = {"a1": 0.0, "a2": 0.0, "a3": 0.5, "a4": 1.0, "a5": 1.0, "a6": None, "b1": 1.0}
    agency_of = {o: "so-b" if o.startswith("b") else "so-a" for o in values}
    table = with_percentiles({o: _row(v) for o, v in values.items()}, agency_of)
    got = {o: table[o]["ping_pong"] for o in values}
    # Province n = 6: a1 (0 + 0.5·2)/6; a3 (2 + 0.5)/6; a4, a5, b1 (3 + 0.5·3)/6.
    assert {o: g["peers"] for o, g in got.items()} == dict.fromkeys(values, 6)
    assert got["a1"]["peer_percentile"] == pytest.approx(100 / 6)
    assert got["a3"]["peer_percentile"] == pytest.approx(250 / 6)
    assert got["b1"]["peer_percentile"] == pytest.approx(75.0)
    # so-a: n = 5 (a6's null is no peer): a1 (0 + 0.5·2)/5 = 20, a3 50, a4 (3 + 1)/5 = 80.
    assert [got[o]["agency_percentile"] for o in ("a1", "a3", "a4")] == [20.0, 50.0, 80.0]
    assert got["a1"]["agency_peers"] == 5
    # so-b: n = 1 < 5: null, though its province rank stands.
    assert (got["b1"]["agency_percentile"], got["b1"]["agency_peers"]) == (None, 1)
    # A null value has no rank; the group sizes are still stated.
    assert (got["a6"]["peer_percentile"], got["a6"]["agency_percentile"]) == (None, None)
    assert (got["a6"]["peers"], got["a6"]["agency_peers"]) == (6, 5)


def test_a_percentile_among_fewer_than_five_values_is_null() -> None:
    values = {"a1": 0.0, "a2": 0.5, "a3": 1.0, "a4": 1.0, "a5": None}
    table = with_percentiles({o: _row(v) for o, v in values.items()}, dict.fromkeys(values, "a"))
    for official in values:
        got = table[official]["overdue"]
        assert (got["peer_percentile"], got["peers"]) == (None, 4)
        assert (got["agency_percentile"], got["agency_peers"]) == (None, 4)


def test_each_indicator_keeps_its_json_shape() -> None:
    row = indicators_for(AN, [Matter(AN, t(2)).at(t(6))], ALWAYS)
    table = with_percentiles({AN: row}, {AN: "so-a"})
    keys = [
        "numerator",
        "denominator",
        "value",
        "matters",
        "peer_percentile",
        "peers",
        "agency_percentile",
        "agency_peers",
    ]
    assert list(table[AN]["ping_pong"]) == keys
    assert list(table[AN]["overdue"]) == [*keys, "total_working_days", "median_working_days"]
    assert list(table[AN]["idle_custody"]) == [*keys, "longest_idle_working_days"]


# --- the worked example of docs/read-models.md -------------------------------------------------


def test_the_worked_example_of_the_docs_gives_the_numbers_stated_there() -> None:
    # An (one-stop desk, no competence) opens Mon 2 March 08:30: due Mon 9 March 17:00.
    m = Matter(AN, t(2, 8, 30), competence="none")
    # Bình (competent by delegation) accepts An's lateral offer at 14:00.
    m.accept(BINH, m.offer(AN, BINH, t(2, 9)), t(2, 14), competence="delegated")
    # The chief asks An to support, due Wed 4 March 17:00.
    m.assign(CHIEF, AN, t(2, 15), role="support", due_at=t(4, 17))
    # Bình consults the chief without a position, then offers him the file: both `up`, both
    # found within Bình's (delegated) competence.
    m.consult(BINH, CHIEF, t(3, 10), direction="up", finding="delegated", position=False)
    up = m.offer(BINH, CHIEF, t(4, 9), direction="up", finding="delegated")
    m.accept(CHIEF, up, t(4, 15), competence="own")
    # The chief decides Thu 12 March 10:00 and offers the file down to the desk at 10:30 to
    # return the result; An accepts Mon 16 March 08:00 and closes at 09:00.
    m.decide(CHIEF, t(12, 10))
    m.accept(AN, m.offer(CHIEF, AN, t(12, 10, 30), direction="down"), t(16, 8))
    m.close(AN, t(16, 9))
    matters = [m.at(t(20, 12))]

    def row(official: str) -> dict[str, Indicator]:
        return indicators_for(official, matters, ALWAYS)

    an, binh, chief = row(AN), row(BINH), row(CHIEF)
    assert counts(binh["escalation_within_competence"]) == (1, 1, 1.0, ["M1"])
    assert counts(binh["positionless_consultation"]) == (1, 1, 1.0, ["M1"])
    assert [counts(r["ping_pong"]) for r in (an, binh, chief)] == [(0, 1, 0.0, [])] * 3
    assert counts(an["returned_handoffs"]) == (0, 1, 0.0, [])
    assert counts(an["overdue"]) == (1, 1, 1.0, ["M1"])
    assert an["overdue"].extra["total_working_days"] == 3  # Thu 12, Fri 13, Mon 16
    assert counts(binh["overdue"]) == (0, 1, 0.0, [])
    assert counts(chief["overdue"]) == (1, 1, 1.0, ["M1"])
    assert chief["overdue"].extra["total_working_days"] == 3  # Tue 10, Wed 11, Thu 12
    assert counts(chief["unresponsive_consultee"]) == (1, 1, 1.0, ["M1"])
    assert [r["first_action_delay"].value for r in (an, binh, chief)] == [1.0, 5.5, 44.5]
    assert counts(chief["decisions_outside_competence"]) == (0, 1, 0.0, [])
    assert counts(binh["competence_unused"]) == (1, 1, 1.0, ["M1"])
    assert counts(chief["competence_unused"]) == (0, 1, 0.0, [])
    assert counts(an["competence_unused"]) == (0, 0, None, [])
    assert counts(an["missed_step_deadlines"]) == (1, 1, 1.0, ["M1"])
    assert counts(chief["idle_custody"]) == (1, 1, 1.0, ["M1"])
    assert chief["idle_custody"].extra["longest_idle_working_days"] == 6
    assert counts(binh["idle_custody"]) == (0, 1, 0.0, [])
    assert counts(an["idle_custody"]) == (0, 2, 0.0, [])


@pytest.mark.parametrize(
    ("value", "population", "expected"),
    [
        (3.0, [1.0, 2.0, 3.0, 4.0], None),  # n < 5
        (3.0, [1.0, 2.0, 3.0, 4.0, 5.0], 50.0),  # 100·(2 + 0.5·1)/5
        (5.0, [1.0, 2.0, 3.0, 4.0, 5.0], 90.0),  # 100·(4 + 0.5)/5
        (1.0, [1.0, 2.0, 3.0, 4.0, 5.0], 10.0),  # 100·(0 + 0.5)/5
        (2.0, [2.0, 2.0, 2.0, 2.0, 2.0], 50.0),  # all equal, the official included
        (2.0, [0.0, 2.0, 2.0, 5.0, 1.0, 9.0], 50.0),  # 100·(2 + 0.5·2)/6
    ],
)
def test_a_percentile_counts_lower_values_and_half_of_the_equal_ones(
    value: float, population: list[float], expected: float | None
) -> None:
    assert _Group(population).rank(value).percentile == expected
