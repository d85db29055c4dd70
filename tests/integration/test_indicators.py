"""Avoidance indicators 1–12 (DESIGN §7, docs/read-models.md "Indicators"), hand-worked
case files read through ``/v1/officials/{id}/indicators`` and
``/v1/agencies/{id}/indicators``. Each rule's edges are tested in memory in
tests/unit/test_indicators_rules.py; here the whole read path answers for them.

Every case is built through the real API on the world clock (March 2026, no Vietnamese
public holiday falls in it) and every expected count is worked out in the comments. Each
case holds at least one matter (or request) that is in the denominator but not in the
numerator, so a count that takes everything cannot pass. Reads that depend on the clock
pass ``to``, so that E = ``to`` rather than the real now (months later).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.world import ICT, PROCEDURE, Actor, AgencyHandle, World, instant

OTHER_PROCEDURE = "2.002154"  # a procedure nobody in these cases holds a competence for


# --- helpers -------------------------------------------------------------------------------


def when(world: World, day: int, hour: int, minute: int = 0) -> str:
    """Move the world clock forward to 2026-03-<day> hh:mm ICT; that instant as text.

    Statements sent without an explicit ``occurred_at`` afterwards follow a minute apart."""
    target = datetime(2026, 3, day, hour, minute, tzinfo=ICT)
    assert target >= world.clock, f"the world clock would run back to {target}"
    world.clock = target
    return instant(target)


def ict(day: int, hour: int = 0, minute: int = 0) -> str:
    """An instant in March 2026, ICT (for ``from``, ``to`` and body fields)."""
    return instant(datetime(2026, 3, day, hour, minute, tzinfo=ICT))


def indicators(world: World, official: Actor, **params: Any) -> dict[str, dict[str, Any]]:
    body = world.read(f"/v1/officials/{official.id}/indicators", **params)
    assert body["official_id"] == official.id
    result: dict[str, dict[str, Any]] = body["indicators"]
    return result


def counts(indicator: dict[str, Any]) -> tuple[Any, Any, Any, list[str]]:
    """(numerator, denominator, value, matters) of one indicator."""
    return (
        indicator["numerator"],
        indicator["denominator"],
        indicator["value"],
        indicator["matters"],
    )


def open_at(
    world: World,
    matter_id: str,
    opener: Actor,
    agency: AgencyHandle,
    at: str,
    *,
    code: str = PROCEDURE,
) -> str:
    """Open a matter at ``at`` (5 working days); its subject."""
    subject = f"matter:{matter_id}"
    world.ok(
        "matter.opened",
        subject,
        opener,
        {
            "title": "Cấp giấy chứng nhận quyền sử dụng đất",
            "procedure_code": code,
            "agency_id": agency.id,
            "deadline_working_days": 5,
            "applicant_ref": f"HS-{matter_id}",
        },
        occurred_at=at,
    )
    return subject


def offer(world: World, subject: str, actor: Actor, to: Actor, at: str | None = None) -> str:
    receipt = world.ok(
        "handoff.offered",
        subject,
        actor,
        {"to": to.id, "reason": "Chuyển xử lý theo chức năng"},
        occurred_at=at,
    )
    return str(receipt["event_id"])


def accept(world: World, subject: str, actor: Actor, offer_id: str, at: str | None = None) -> None:
    world.ok("handoff.accepted", subject, actor, {"in_reply_to": offer_id}, occurred_at=at)


def give(world: World, subject: str, holder: Actor, to: Actor, at: str | None = None) -> None:
    """``holder`` offers the matter to ``to``, who accepts a minute later."""
    accept(world, subject, to, offer(world, subject, holder, to, at))


def send_back(world: World, subject: str, actor: Actor, offer_id: str, reason: str) -> None:
    world.ok(
        "handoff.returned",
        subject,
        actor,
        {"in_reply_to": offer_id, "reason": reason, "note": "Trả lại hồ sơ"},
    )


def consult(
    world: World,
    subject: str,
    actor: Actor,
    to: Actor,
    *,
    position: str | None = None,
    reply_due_at: str | None = None,
    required_by: str | None = None,
    at: str | None = None,
) -> str:
    body: dict[str, Any] = {"to": to.id, "question": "Đề nghị cho ý kiến về hồ sơ"}
    if position is not None:
        body["proposed_position"] = position
    if required_by is not None:
        body["required_by"] = required_by
    if reply_due_at is not None:
        body["reply_due_at"] = reply_due_at
    receipt = world.ok("consultation.requested", subject, actor, body, occurred_at=at)
    return str(receipt["event_id"])


def answer(
    world: World, subject: str, actor: Actor, request_id: str, position: str, at: str | None = None
) -> None:
    world.ok(
        "consultation.answered",
        subject,
        actor,
        {"in_reply_to": request_id, "position": position, "text": "Ý kiến của đơn vị"},
        occurred_at=at,
    )


def decide(
    world: World,
    subject: str,
    actor: Actor,
    *,
    capacity: str = "own",
    outcome: str = "approved",
    delegation_id: str | None = None,
    at: str | None = None,
) -> None:
    body: dict[str, Any] = {
        "outcome": outcome,
        "summary": "Cấp giấy chứng nhận",
        "legal_basis": "Luật Đất đai 2024",
        "capacity": capacity,
    }
    if delegation_id is not None:
        body["delegation_id"] = delegation_id
    world.ok("decision.recorded", subject, actor, body, occurred_at=at)


def close(world: World, subject: str, actor: Actor, at: str | None = None) -> None:
    world.ok("matter.closed", subject, actor, {"result": "completed"}, occurred_at=at)


def request_supplement(world: World, subject: str, actor: Actor, at: str | None = None) -> None:
    world.ok(
        "supplement.requested", subject, actor, {"items": ["Bản sao sổ hộ khẩu"]}, occurred_at=at
    )


def receive_supplement(world: World, subject: str, actor: Actor, at: str | None = None) -> None:
    world.ok("supplement.received", subject, actor, {}, occurred_at=at)


def assign_lead(
    world: World,
    subject: str,
    actor: Actor,
    assignee: Actor,
    at: str | None = None,
    *,
    due_at: str | None = None,
) -> None:
    body = {"assignee": assignee.id, "role": "lead", "instructions": "Đồng chí chủ trì xử lý"}
    if due_at is not None:
        body["due_at"] = due_at
    world.ok("task.assigned", subject, actor, body, occurred_at=at)


class Department:
    """Agency ``agency_id`` with its land department: the chief heads ``phong-dat`` (a
    superior of everyone in it), the clerks work there."""

    def __init__(self, world: World, agency_id: str, *clerks: str, parent: str | None = None):
        self.agency = world.agency(agency_id, parent=parent)
        self.unit = world.unit(self.agency, "phong-dat")
        self.chief = world.official(f"truong.phong.{agency_id}", self.agency, self.unit, head=True)
        self.clerks = [world.official(c, self.agency, self.unit) for c in clerks]


# --- 1. escalation_within_competence --------------------------------------------------------


def test_an_up_escalation_with_competence_before_the_first_decision_counts(world: World) -> None:
    bo = world.agency("bo-tnmt", level="central")
    office = Department(world, "so-tnmt", "lan", "minh", "hoa", parent=bo.id)
    lan, minh, hoa = office.clerks
    chief = office.chief
    vu = world.official("vu.bo", bo, bo.root_unit)  # an official of the parent agency
    world.grant(lan, office.agency)  # Lan holds the competence herself
    world.grant(chief, office.agency)
    world.delegate(chief, hoa, "phan_cap")  # Hoa holds it only by delegation from the chief

    # E1: Lan consults her chief (up, her own competence) before any decision -> escalation.
    e1 = open_at(world, "E1", lan, office.agency, when(world, 2, 9))
    request = consult(world, e1, lan, chief, position="Đề nghị cấp")
    answer(world, e1, chief, request, "agree")
    decide(world, e1, lan)
    # E2: Lan consults a peer (lateral, not up) and decides herself -> no escalation.
    e2 = open_at(world, "E2", lan, office.agency, when(world, 2, 10))
    consult(world, e2, lan, minh, position="Đề nghị cấp")
    decide(world, e2, lan)
    # E3: Lan decides first and consults the chief only afterwards -> not "before the first
    # decision".
    e3 = open_at(world, "E3", lan, office.agency, when(world, 2, 11))
    decide(world, e3, lan)
    consult(world, e3, lan, chief, position="Báo cáo kết quả")
    # E4: Lan offers the matter to the ministry (up_external) -> escalation.
    e4 = open_at(world, "E4", lan, office.agency, when(world, 2, 13))
    offer(world, e4, lan, vu)
    # E5: a procedure Lan has no competence for: her lead began without competence and her
    # offer up is found "none" -> E5 is not in her denominator at all.
    e5 = open_at(world, "E5", lan, office.agency, when(world, 2, 14), code=OTHER_PROCEDURE)
    offer(world, e5, lan, chief)
    # E6: Hoa, competent by delegation, offers her matter up to the chief.
    e6 = open_at(world, "E6", hoa, office.agency, when(world, 2, 15))
    offer(world, e6, hoa, chief)
    # E7: Minh opens a matter before he holds the competence (his lead began without it), is
    # granted it, then consults the chief: "in which they escalated with competence".
    e7 = open_at(world, "E7", minh, office.agency, when(world, 2, 16))
    world.grant(minh, office.agency)
    consult(world, e7, minh, chief, position="Đề nghị cấp")

    # Lan: denominator 4 — E1..E4 began with her own competence (E5 did not, and its
    # escalation was found "none"); numerator 2 — E1 (up consultation before the decision)
    # and E4 (up_external offer); E2 went lateral, E3 went up only after its decision.
    assert counts(indicators(world, lan)["escalation_within_competence"]) == (
        2,
        4,
        0.5,
        ["E1", "E4"],
    )
    # Hoa: denominator 1 — E6, held with delegated competence; numerator 1 — she offered it up.
    assert counts(indicators(world, hoa)["escalation_within_competence"]) == (1, 1, 1.0, ["E6"])
    # Minh: denominator 1 — E7, where he escalated with competence though his lead began
    # without it; numerator 1 — that escalation came before any decision.
    assert counts(indicators(world, minh)["escalation_within_competence"]) == (1, 1, 1.0, ["E7"])
    # The chief holds no lead matter: nothing counted, value null.
    assert counts(indicators(world, chief)["escalation_within_competence"]) == (0, 0, None, [])


# --- 2. positionless_consultation -----------------------------------------------------------


def test_a_consultation_without_a_proposed_position_counts_as_positionless(world: World) -> None:
    office = Department(world, "so-xd", "lan", "minh")
    lan, minh = office.clerks
    chief = office.chief

    # P1: Lan asks Minh without a position (positionless) and the chief with one.
    p1 = open_at(world, "P1", lan, office.agency, when(world, 2, 9))
    consult(world, p1, lan, minh)
    consult(world, p1, lan, chief, position="Đề nghị cấp giấy")
    # P2: Lan asks Minh without a position (positionless).
    p2 = open_at(world, "P2", lan, office.agency, when(world, 2, 10))
    consult(world, p2, lan, minh)
    # P3: Minh's matter; the chief makes Lan a support assignee, and she consults the chief
    # with a position (counted as hers: per request). Minh's own positionless request to Lan
    # is his, not hers.
    p3 = open_at(world, "P3", minh, office.agency, when(world, 2, 11))
    world.ok(
        "task.assigned",
        p3,
        chief,
        {"assignee": lan.id, "role": "support", "instructions": "Phối hợp thẩm định"},
    )
    consult(world, p3, lan, chief, position="Đủ điều kiện")
    consult(world, p3, minh, lan)

    # Lan: denominator 4 — her requests P1→Minh, P1→chief, P2→Minh, P3→chief; numerator 2 —
    # the two to Minh without proposed_position (P1, P2); matters listed once each, sorted.
    assert counts(indicators(world, lan)["positionless_consultation"]) == (
        2,
        4,
        0.5,
        ["P1", "P2"],
    )
    # Minh: denominator 1 — his request in P3; numerator 1 — it had no position.
    assert counts(indicators(world, minh)["positionless_consultation"]) == (1, 1, 1.0, ["P3"])
    # The chief asked nothing: denominator 0, value null.
    assert counts(indicators(world, chief)["positionless_consultation"]) == (0, 0, None, [])


# --- 3. ping_pong ---------------------------------------------------------------------------


def test_holding_a_matter_again_after_someone_else_held_it_is_ping_pong(world: World) -> None:
    office = Department(world, "so-gtvt", "an", "binh")
    an, binh = office.clerks
    chief = office.chief

    # G1: An -> Bình -> An: An holds lead twice, separated by Bình's interval.
    g1 = open_at(world, "G1", an, office.agency, when(world, 2, 9))
    give(world, g1, an, binh)
    give(world, g1, binh, an)
    # G2: An -> Bình, once.
    g2 = open_at(world, "G2", an, office.agency, when(world, 2, 10))
    give(world, g2, an, binh)
    # G3: the chief assigns lead to An, who already holds it: the interval does not split.
    g3 = open_at(world, "G3", an, office.agency, when(world, 2, 11))
    assign_lead(world, g3, chief, an)
    custody = world.read("/v1/matters/G3/custody")
    assert [(i["official_id"], i["role"]) for i in custody["intervals"]] == [(an.id, "lead")]

    # An: denominator 3 — G1, G2, G3 are her lead matters; numerator 1 — only in G1 did she
    # hold lead in two intervals with someone else's between them.
    assert counts(indicators(world, an)["ping_pong"]) == (1, 3, pytest.approx(1 / 3), ["G1"])
    # Bình: denominator 2 — G1 and G2; numerator 0 — one interval in each.
    assert counts(indicators(world, binh)["ping_pong"]) == (0, 2, 0.0, [])


# --- 4. returned_handoffs -------------------------------------------------------------------


def test_a_lateral_or_external_offer_returned_not_competent_counts(world: World) -> None:
    bo = world.agency("bo-xd", level="central")
    office = Department(world, "so-xd", "an", parent=bo.id)
    (an,) = office.clerks
    chief = office.chief
    khac = world.unit(office.agency, "phong-khac")
    binh = world.official("binh", office.agency, khac)  # same agency, not a superior: lateral
    other = world.agency("so-gtvt")
    xuan = world.official("xuan", other, other.root_unit)  # unrelated agency: external
    phuong = world.official("phuong", bo, bo.root_unit)  # parent agency: up_external

    # R1: lateral to Bình, returned not_competent (numerator); external to Xuân, returned
    # incomplete (denominator only); up_external to Phương, accepted (denominator only).
    r1 = open_at(world, "R1", an, office.agency, when(world, 2, 9))
    send_back(world, r1, binh, offer(world, r1, an, binh), "not_competent")
    send_back(world, r1, xuan, offer(world, r1, an, xuan), "incomplete")
    accept(world, r1, phuong, offer(world, r1, an, phuong))
    # R2: up to her own chief, returned not_competent: an `up` offer is not counted.
    r2 = open_at(world, "R2", an, office.agency, when(world, 2, 10))
    send_back(world, r2, chief, offer(world, r2, an, chief), "not_competent")
    # R3: lateral to Bình, withdrawn: never answered, not counted.
    r3 = open_at(world, "R3", an, office.agency, when(world, 2, 11))
    world.ok("handoff.withdrawn", r3, an, {"in_reply_to": offer(world, r3, an, binh)})
    # R4: lateral to Bình, returned not_competent (numerator).
    r4 = open_at(world, "R4", an, office.agency, when(world, 2, 13))
    send_back(world, r4, binh, offer(world, r4, an, binh), "not_competent")
    # R5: external to Xuân, still pending: not answered, not counted.
    r5 = open_at(world, "R5", an, office.agency, when(world, 2, 14))
    offer(world, r5, an, xuan)

    timeline = world.read(f"/v1/officials/{an.id}/timeline")
    directions = {
        (r["matter_id"], r["counterpart"]): r["direction"]
        for r in timeline["rows"]
        if r["type"] == "handoff.offered"
    }
    assert directions[("R1", binh.id)] == "lateral"
    assert directions[("R1", xuan.id)] == "external"
    assert directions[("R1", phuong.id)] == "up_external"
    assert directions[("R2", chief.id)] == "up"

    # An: denominator 4 — the answered lateral/external/up_external offers: R1→Bình, R1→Xuân,
    # R1→Phương, R4→Bình (R2's is `up`, R3's was withdrawn, R5's is pending); numerator 2 —
    # R1→Bình and R4→Bình came back not_competent.
    assert counts(indicators(world, an)["returned_handoffs"]) == (2, 4, 0.5, ["R1", "R4"])
    # Bình offered nothing.
    assert counts(indicators(world, binh)["returned_handoffs"]) == (0, 0, None, [])


# --- 5. overdue -----------------------------------------------------------------------------


def test_a_matter_late_while_they_held_it_counts_as_overdue_with_the_days_they_held_it(
    world: World,
) -> None:
    office = Department(world, "so-nn", "an", "binh")
    an, binh = office.clerks
    # Every matter is opened on Monday 2 March: due 17:00 on Monday 9 March (5 working days).
    # E = to = Friday 13 March 12:00, so the overdue working days of a matter still open at E
    # are Tue 10, Wed 11, Thu 12, Fri 13.
    to = ict(13, 12)
    open_at(world, "O1", an, office.agency, when(world, 2, 9, 0))
    o2 = open_at(world, "O2", an, office.agency, when(world, 2, 9, 10))
    o3 = open_at(world, "O3", an, office.agency, when(world, 2, 9, 20))
    o4 = open_at(world, "O4", an, office.agency, when(world, 2, 9, 30))
    o5 = open_at(world, "O5", an, office.agency, when(world, 2, 9, 40))
    o6 = open_at(world, "O6", an, office.agency, when(world, 2, 9, 50))
    # O1: An keeps it, open at E: late, An held it on 4 overdue days.
    # O3: An hands it to Bình on Tue 3 March, long before the due time: late, but in Bình's
    # hands only.
    accept(world, o3, binh, offer(world, o3, an, binh, when(world, 3, 9, 0)), when(world, 3, 9, 30))
    # O5: supplement pause Tue 3 -> Thu 5 March: P = the working days 3 < d ≤ 5 = 2 (Wed 4,
    # Thu 5), so due moves to Wed 11 March 17:00; closed Wed 11 March 16:00, on time.
    request_supplement(world, o5, an, when(world, 3, 10))
    # O2: closed Thu 5 March, on time.
    close(world, o2, an, when(world, 5, 10))
    receive_supplement(world, o5, an, when(world, 5, 10, 30))
    # O4: An holds it until Wed 11 March 10:00, then Bình until he closes it Thu 12 March
    # 09:00. Overdue days of the matter: Tue 10, Wed 11, Thu 12 (3); An's interval ran on
    # Tue 10 and Wed 11 (2); Bình's on Wed 11 and Thu 12 (2).
    # O6: on Fri 6 March An extends the deadline to Thu 12 March 17:00 and closes it Thu 12
    # March 10:00: after the original due time, before the extended one: on time.
    world.ok(
        "deadline.extended",
        o6,
        an,
        {"new_due_at": ict(12, 17), "reason": "Cần xác minh thực địa"},
        occurred_at=when(world, 6, 9),
    )
    accept(world, o4, binh, offer(world, o4, an, binh, when(world, 11, 9, 45)), when(world, 11, 10))
    close(world, o5, an, when(world, 11, 16))
    close(world, o4, binh, when(world, 12, 9))
    close(world, o6, an, when(world, 12, 10))

    assert world.read("/v1/matters/O5", to=to)["due_at"] == "2026-03-11T17:00:00+07:00"
    assert world.read("/v1/matters/O1", to=to)["overdue_working_days"] == 4
    assert world.read("/v1/matters/O4", to=to)["overdue_working_days"] == 3

    # An: denominator 6 — O1..O6 all had a lead interval of hers; numerator 2 — O1 (open and
    # late at E, hers throughout) and O4 (late, hers on Tue 10 and Wed 11); O3 was late only
    # in Bình's hands, O2, O5 (paused) and O6 (extended) closed in time.
    # total_working_days = 4 (O1) + 2 (O4) = 6 — not O4's 3 overdue days, only those she
    # held it; median of [4, 2] = 3.0.
    overdue = indicators(world, an, to=to)["overdue"]
    assert counts(overdue) == (2, 6, pytest.approx(1 / 3), ["O1", "O4"])
    assert overdue["total_working_days"] == 6
    assert overdue["median_working_days"] == 3.0
    # Bình: denominator 2 — O3, O4; numerator 2 — both late in his hands: O3 on 4 days
    # (Tue 10 .. Fri 13), O4 on 2 days (Wed 11, Thu 12): total 6, median 3.0.
    overdue = indicators(world, binh, to=to)["overdue"]
    assert counts(overdue) == (2, 2, 1.0, ["O3", "O4"])
    assert overdue["total_working_days"] == 6
    assert overdue["median_working_days"] == 3.0
    # Read at Mon 9 March 12:00, before any due time: nothing late, median null.
    early = indicators(world, an, to=ict(9, 12))["overdue"]
    assert counts(early) == (0, 6, 0.0, [])
    assert early["total_working_days"] == 0
    assert early["median_working_days"] is None


# --- 6. unresponsive_consultee --------------------------------------------------------------


def test_a_late_positionless_or_missing_answer_counts_against_the_consultee(
    world: World,
) -> None:
    office = Department(world, "so-tc", "an", "binh")
    an, binh = office.clerks
    chief = office.chief
    # Requests on Monday 2 March without reply_due_at have a window ending Monday 9 March
    # 17:00 (5 working days). E = to = Friday 20 March 12:00.
    to = ict(20, 12)
    u1 = open_at(world, "U1", an, office.agency, when(world, 2, 9, 0))
    c1 = consult(world, u1, an, chief, position="Đồng ý")
    u2 = open_at(world, "U2", an, office.agency, when(world, 2, 9, 10))
    c2 = consult(world, u2, an, chief, position="Đồng ý", reply_due_at=ict(4, 17))
    u3 = open_at(world, "U3", an, office.agency, when(world, 2, 9, 20))
    c3 = consult(world, u3, an, chief, position="Đồng ý")
    u4 = open_at(world, "U4", an, office.agency, when(world, 2, 9, 30))
    consult(world, u4, an, chief, position="Đồng ý")
    u5 = open_at(world, "U5", an, office.agency, when(world, 2, 9, 40))
    consult(world, u5, an, chief, position="Đồng ý")
    u7 = open_at(world, "U7", an, office.agency, when(world, 2, 9, 50))
    consult(world, u7, an, binh, position="Đồng ý")
    u8 = open_at(world, "U8", an, office.agency, when(world, 2, 9, 55))
    consult(world, u8, an, chief, position="Đồng ý")
    # U1: answered "agree" in time (Tue 3 March) -> denominator only.
    answer(world, u1, chief, c1, "agree", when(world, 3, 10))
    # U3: answered "no_position" in time -> numerator.
    answer(world, u3, chief, c3, "no_position", when(world, 3, 11))
    # U5: unanswered, but the matter closed Wed 4 March, before the window ended -> skipped.
    close(world, u5, an, when(world, 4, 10))
    # U2: reply due Wed 4 March 17:00, answered Thu 5 March -> late -> numerator.
    answer(world, u2, chief, c2, "agree", when(world, 5, 9))
    # U4: never answered; its window ended Mon 9 March 17:00 ≤ E -> deemed agreed -> numerator.
    # U8: never answered, and closed Tue 10 March, after its window ended (Mon 9 March 17:00):
    # the matter did not close first -> deemed agreed -> numerator.
    close(world, u8, an, when(world, 10, 10))
    # U6: asked Mon 16 March; its window ends Mon 23 March 17:00, after E -> not yet counted.
    u6 = open_at(world, "U6", an, office.agency, when(world, 16, 9))
    consult(world, u6, an, chief, position="Đồng ý")
    # U7 was addressed to Bình, not to the chief.

    # Chief: denominator 5 — U1, U2, U3 answered, U4's and U8's windows over (U5 closed
    # first, U6's window still open); numerator 4 — U2 late, U3 no_position, U4 and U8
    # unanswered.
    assert counts(indicators(world, chief, to=to)["unresponsive_consultee"]) == (
        4,
        5,
        0.8,
        ["U2", "U3", "U4", "U8"],
    )
    # Read at Mon 9 March 12:00: U4's and U8's windows have not ended yet, U6 was not asked:
    # denominator 3 — U1, U2, U3 answered; numerator 2 — U2 late, U3 no_position.
    assert counts(indicators(world, chief, to=ict(9, 12))["unresponsive_consultee"]) == (
        2,
        3,
        pytest.approx(2 / 3),
        ["U2", "U3"],
    )
    # Bình: U7 unanswered past its window -> deemed agreed: 1 of 1.
    assert counts(indicators(world, binh, to=to)["unresponsive_consultee"]) == (1, 1, 1.0, ["U7"])


# --- 7. first_action_delay ------------------------------------------------------------------


def test_first_action_delay_is_the_median_of_working_hours_to_the_first_act(
    world: World,
) -> None:
    office = Department(world, "so-ct", "an", "binh")
    an, binh = office.clerks
    chief = office.chief
    f1 = open_at(world, "F1", an, office.agency, when(world, 2, 9, 0))
    f2 = open_at(world, "F2", an, office.agency, when(world, 2, 9, 10))
    f3 = open_at(world, "F3", an, office.agency, when(world, 2, 9, 20))
    f4 = open_at(world, "F4", an, office.agency, when(world, 2, 9, 30))
    # F5: Bình's own opening: never counted, even though he acts at once.
    f5 = open_at(world, "F5", binh, office.agency, when(world, 2, 9, 40))
    # F1: Bình accepts Mon 2 March 10:00 and first acts at 14:00 the same day:
    # 10:00–11:30 (1.5 h) + 13:00–14:00 (1 h) = 2.5 working hours.
    accept(world, f1, binh, offer(world, f1, an, binh, when(world, 2, 9, 45)), when(world, 2, 10))
    request_supplement(world, f5, binh, when(world, 2, 10, 30))
    consult(world, f1, binh, chief, position="Đồng ý", at=when(world, 2, 14))
    # F4: Bình accepts Tue 3 March 10:00 and does nothing while he holds it: the chief gives
    # the lead back to An at 11:00. Bình's answer to An's consultation the next day is after
    # his interval ended, so the interval has no act: left out.
    f4_offer = offer(world, f4, an, binh, when(world, 3, 8, 45))
    # F3: the chief assigns the lead to Bình Tue 3 March 09:00; he acts at 09:30: 0.5 h.
    assign_lead(world, f3, chief, binh, when(world, 3, 9))
    request_supplement(world, f3, binh, when(world, 3, 9, 30))
    accept(world, f4, binh, f4_offer, when(world, 3, 10))
    assign_lead(world, f4, chief, an, when(world, 3, 11))
    f4_request = consult(world, f4, an, binh, position="Đồng ý", at=when(world, 3, 11, 30))
    answer(world, f4, binh, f4_request, "agree", when(world, 4, 9))
    # F2: Bình accepts Fri 6 March 16:00 and acts Mon 9 March 08:30: 16:00–17:00 (1 h) on
    # Friday, the weekend counts nothing, 07:30–08:30 (1 h) on Monday = 2.0 h.
    accept(world, f2, binh, offer(world, f2, an, binh, when(world, 6, 15)), when(world, 6, 16))
    request_supplement(world, f2, binh, when(world, 9, 8, 30))

    # Bình: numerator 3 — the intervals received in F1, F2, F3 with an act (F4 had none, F5
    # was his own opening); value = median of [2.5, 2.0, 0.5] = 2.0; denominator null.
    assert counts(indicators(world, binh)["first_action_delay"]) == (
        3,
        None,
        2.0,
        ["F1", "F2", "F3"],
    )
    # An: her openings never count; F4 came back to her by assignment Tue 3 March 11:00 and
    # she consulted at 11:30: numerator 1, value 0.5 h.
    assert counts(indicators(world, an)["first_action_delay"]) == (1, None, 0.5, ["F4"])


def test_closing_a_matter_received_is_its_holders_first_act(world: World) -> None:
    office = Department(world, "so-kh", "an", "binh")
    an, binh = office.clerks
    g1 = open_at(world, "G1", an, office.agency, when(world, 2, 9, 0))
    g2 = open_at(world, "G2", an, office.agency, when(world, 2, 9, 10))
    # G1: Bình accepts Mon 2 March 10:00 and his first act is closing it at 11:00 (1.0 h):
    # the closing ends his interval and is within it.
    accept(world, g1, binh, offer(world, g1, an, binh, when(world, 2, 9, 30)), when(world, 2, 10))
    close(world, g1, binh, when(world, 2, 11))
    # G2: Bình accepts at 13:00; the chief takes the lead back at 15:00 — the act that ends
    # Bình's interval is the chief's, not his: left out.
    accept(world, g2, binh, offer(world, g2, an, binh, when(world, 2, 12)), when(world, 2, 13))
    assign_lead(world, g2, office.chief, an, when(world, 2, 15))

    assert counts(indicators(world, binh)["first_action_delay"]) == (1, None, 1.0, ["G1"])


# --- 8. decisions_outside_competence --------------------------------------------------------


def test_a_decision_found_without_competence_counts_as_outside_competence(world: World) -> None:
    office = Department(world, "so-tp", "an", "binh", "cuc")
    an, binh, cuc = office.clerks
    chief = office.chief
    director = world.official("giam.doc", office.agency, office.agency.root_unit, head=True)
    world.grant(an, office.agency)
    world.grant(director, office.agency)
    ky_thay = world.delegate(director, cuc, "ky_thay")  # Cúc signs on the director's behalf

    # D1: An decides with her own competence (denominator only); her chief, who has none,
    # decides as well (his, not hers).
    d1 = open_at(world, "D1", an, office.agency, when(world, 2, 9))
    decide(world, d1, an)
    decide(world, d1, chief)
    # D2: a procedure An holds no competence for: found "none" -> numerator.
    d2 = open_at(world, "D2", an, office.agency, when(world, 2, 10), code=OTHER_PROCEDURE)
    decide(world, d2, an)
    # D3: two decisions of An's, both with her own competence: two in the denominator.
    d3 = open_at(world, "D3", an, office.agency, when(world, 2, 11))
    decide(world, d3, an, outcome="rejected")
    decide(world, d3, an, outcome="approved")
    # D4: Bình's matter; Cúc decides on behalf of the director (ký thay): found "delegated".
    d4 = open_at(world, "D4", binh, office.agency, when(world, 2, 13))
    decide(world, d4, cuc, capacity="on_behalf", delegation_id=ky_thay)
    decision = world.read("/v1/matters/D4")["decision"]
    assert (decision["competence"], decision["delegation_id"]) == ("delegated", ky_thay)

    # An: denominator 4 — D1, D2 and D3's two decisions; numerator 1 — D2's, found "none".
    assert counts(indicators(world, an)["decisions_outside_competence"]) == (1, 4, 0.25, ["D2"])
    # The chief: his one decision (D1) had no competence behind it.
    assert counts(indicators(world, chief)["decisions_outside_competence"]) == (1, 1, 1.0, ["D1"])
    # Cúc: one decision, within competence by delegation.
    assert counts(indicators(world, cuc)["decisions_outside_competence"]) == (0, 1, 0.0, [])


# --- 9. repeated_supplement_requests --------------------------------------------------------


def test_a_matter_with_two_supplement_requests_counts_as_repeated(world: World) -> None:
    office = Department(world, "so-yt", "an", "binh")
    an, binh = office.clerks

    # S1: An asks for a supplement, receives it, asks again: two requests -> numerator.
    s1 = open_at(world, "S1", an, office.agency, when(world, 2, 9))
    request_supplement(world, s1, an)
    receive_supplement(world, s1, an)
    request_supplement(world, s1, an)
    # S2: one request only -> denominator only.
    s2 = open_at(world, "S2", an, office.agency, when(world, 2, 10))
    request_supplement(world, s2, an)
    # S3: Bình asks once, receives, hands the matter to An, who asks once more: two requests
    # in all -> numerator for both of them.
    s3 = open_at(world, "S3", binh, office.agency, when(world, 2, 11))
    request_supplement(world, s3, binh)
    receive_supplement(world, s3, binh)
    give(world, s3, binh, an)
    request_supplement(world, s3, an)
    # S5: An asks twice while the first request is still pending (no new pause, but two
    # requests) -> numerator.
    s5 = open_at(world, "S5", an, office.agency, when(world, 2, 14))
    request_supplement(world, s5, an)
    request_supplement(world, s5, an)
    # S4: An never asks: not counted at all.
    open_at(world, "S4", an, office.agency, when(world, 2, 15))

    # An: denominator 4 — S1, S2, S3, S5 (she asked in each); numerator 3 — S1, S3 and S5
    # have two requests in all; S2 has one.
    assert counts(indicators(world, an)["repeated_supplement_requests"]) == (
        3,
        4,
        0.75,
        ["S1", "S3", "S5"],
    )
    # Bình: denominator 1 — S3; numerator 1 — it has two requests in all (one of them An's).
    assert counts(indicators(world, binh)["repeated_supplement_requests"]) == (1, 1, 1.0, ["S3"])


# --- peer_percentile ------------------------------------------------------------------------


def test_percentiles_rank_an_official_among_the_province_and_among_the_agency(
    world: World,
) -> None:
    office = Department(world, "so-vh", "o1", "o2", "o3", "o4", "o5")
    o1, o2, o3, o4, o5 = office.clerks
    chief = office.chief
    # An official of another agency, positionless in every request: a peer in the province,
    # not in the agency (DESIGN §7 v4).
    other = Department(world, "so-dl", "x1")
    (x1,) = other.clerks

    # positionless_consultation values: o1 0/1 = 0.0, o2 0/1 = 0.0, o3 1/2 = 0.5,
    # o4 1/1 = 1.0, o5 1/1 = 1.0; the chief asks nothing (null, not a peer).
    when(world, 2, 9)
    q1 = world.open_matter("Q1", o1, office.agency)
    consult(world, q1, o1, chief, position="Đồng ý")
    q2 = world.open_matter("Q2", o2, office.agency)
    consult(world, q2, o2, chief, position="Đồng ý")
    q3 = world.open_matter("Q3", o3, office.agency)
    consult(world, q3, o3, chief, position="Đồng ý")
    consult(world, q3, o3, chief)
    q4 = world.open_matter("Q4", o4, office.agency)
    consult(world, q4, o4, chief)
    q5 = world.open_matter("Q5", o5, office.agency)
    consult(world, q5, o5, chief)
    x = world.open_matter("X1", x1, other.agency)
    consult(world, x, x1, other.chief)

    # 100·(#lower + 0.5·#equal)/n, #equal with self. The province: n = 6 non-null values
    # [0, 0, 0.5, 1, 1, 1] (x1's too): o1, o2: (0 + 0.5·2)/6 = 16.7; o3: (2 + 0.5)/6 = 41.7;
    # o4, o5, x1: (3 + 0.5·3)/6 = 75. The agency so-vh: n = 5 values [0, 0, 0.5, 1, 1]:
    # o1, o2: (0 + 0.5·2)/5 = 20; o3: (2 + 0.5)/5 = 50; o4, o5: (3 + 0.5·2)/5 = 80.
    expected = {
        o1: (100 / 6, 20.0),
        o2: (100 / 6, 20.0),
        o3: (250 / 6, 50.0),
        o4: (75.0, 80.0),
        o5: (75.0, 80.0),
    }
    for official, (province, agency) in expected.items():
        got = indicators(world, official)["positionless_consultation"]
        assert (got["peers"], got["agency_peers"]) == (6, 5), official.id
        assert got["peer_percentile"] == pytest.approx(province), official.id
        assert got["agency_percentile"] == pytest.approx(agency), official.id
    # The chief's value is null: so are his percentiles; the group sizes stand.
    positionless = indicators(world, chief)["positionless_consultation"]
    assert (positionless["value"], positionless["peer_percentile"]) == (None, None)
    assert (positionless["agency_percentile"], positionless["peers"]) == (None, 6)
    # ping_pong: o1..o5 and x1 each hold one lead matter, value 0.0 (the chiefs hold none,
    # null): n = 6, all equal: (0 + 0.5·6)/6 = 50; in so-vh (0 + 0.5·5)/5 = 50.
    ping = indicators(world, o3)["ping_pong"]
    assert (ping["peer_percentile"], ping["agency_percentile"]) == (50.0, 50.0)
    # x1 is ranked in the province (n = 6: 75), but his agency has one value (his own; its
    # chief's is null): n = 1 < 5, null.
    got = indicators(world, x1)["positionless_consultation"]
    assert got["peer_percentile"] == pytest.approx(75.0)
    assert (got["agency_percentile"], got["agency_peers"]) == (None, 1)


def test_peer_percentile_is_null_with_fewer_than_five_peers_with_a_value(world: World) -> None:
    office = Department(world, "so-kh", "o1", "o2", "o3", "o4")
    chief = office.chief
    when(world, 2, 9)
    for n, official in enumerate(office.clerks, start=1):
        subject = world.open_matter(f"Q{n}", official, office.agency)
        consult(world, subject, official, chief, position="Đồng ý" if n % 2 else None)

    # Four officials with a value (0, 1, 0, 1) and the chief with none: n = 4 < 5 -> null,
    # in the province (this world's only agency) as in the agency, though each value is there.
    for official in office.clerks:
        got = indicators(world, official)["positionless_consultation"]
        assert got["value"] is not None
        assert (got["peer_percentile"], got["peers"]) == (None, 4), official.id
        assert (got["agency_percentile"], got["agency_peers"]) == (None, 4), official.id
    assert indicators(world, chief)["positionless_consultation"]["peer_percentile"] is None


# --- v4: fairer rules, and indicators 10–12 -------------------------------------------------


def test_a_required_consultation_and_the_desk_returning_the_result_are_no_avoidance(
    world: World,
) -> None:
    office = Department(world, "so-v4", "an", "binh")
    an, binh = office.clerks
    chief = office.chief
    world.grant(an, office.agency)  # An holds the competence for PROCEDURE

    # K1: the law obliges An to consult her chief (required_by, v4): she does, with a
    # position, then decides herself.
    k1 = open_at(world, "K1", an, office.agency, when(world, 2, 9))
    request = consult(
        world, k1, an, chief, position="Đề nghị cấp", required_by="Khoản 2 Điều 9 Nghị định 1"
    )
    answer(world, k1, chief, request, "agree")
    decide(world, k1, an)
    close(world, k1, an)
    # K2: An offers her own matter up to the chief, who accepts and decides it.
    k2 = open_at(world, "K2", an, office.agency, when(world, 2, 10))
    give(world, k2, an, chief)
    decide(world, k2, chief)
    close(world, k2, chief)
    # K3: a procedure An holds no competence for. At the one-stop desk she passes the file to
    # Bình, who decides; the file comes back to her to return the result.
    k3 = open_at(world, "K3", an, office.agency, when(world, 2, 11), code=OTHER_PROCEDURE)
    give(world, k3, an, binh)
    decide(world, k3, binh)
    give(world, k3, binh, an)
    close(world, k3, an)

    mine = indicators(world, an)
    # 1: denominator K1, K2 (held with competence; K3 without); numerator K2 only — K1's
    # consultation up was required by law.
    assert counts(mine["escalation_within_competence"]) == (1, 2, 0.5, ["K2"])
    # 10: K1 and K2 were hers to decide and she held the lead before the first decision;
    # the chief decided K2.
    assert counts(mine["competence_unused"]) == (1, 2, 0.5, ["K2"])
    # 3: K1, K2, K3 are her lead matters; her second interval in K3 began after the decision.
    assert counts(mine["ping_pong"]) == (0, 3, 0.0, [])
    # Bình held K3 without competence: not in his indicator 10.
    assert counts(indicators(world, binh)["competence_unused"]) == (0, 0, None, [])


def test_pending_offers_step_deadlines_and_idle_custody(world: World) -> None:
    office = Department(world, "so-v4b", "an", "binh")
    an, binh = office.clerks
    chief = office.chief
    # Every matter is opened Mon 2 March, due Mon 9 March 17:00. E = to = Tue 17 March 12:00:
    # a matter open at E is overdue on Tue 10, Wed 11, Thu 12, Fri 13, Mon 16, Tue 17.
    to = ict(17, 12)
    w1 = open_at(world, "W1", an, office.agency, when(world, 2, 9))
    w2 = open_at(world, "W2", an, office.agency, when(world, 2, 9, 30))
    # W2: the chief gives Bình the lead, due Wed 4 March 17:00; he signs nothing on it until
    # he closes it Thu 5 March: a missed step deadline (the matter itself closed on time).
    assign_lead(world, w2, chief, binh, when(world, 2, 10), due_at=ict(4, 17))
    w3 = open_at(world, "W3", an, office.agency, when(world, 2, 10, 30))
    # W3: the same step, and Bình consults the chief on Tue 3 March, in time: met. Then he
    # signs nothing more: idle Tue 3 -> Tue 17 = 10 working days, and late in his hands.
    assign_lead(world, w3, chief, binh, when(world, 2, 11), due_at=ict(4, 17))
    consult(world, w3, binh, chief, position="Đề nghị cấp", at=when(world, 3, 9))
    close(world, w2, binh, when(world, 5, 9))
    # W1: An consults Bình Fri 6 March, offers him the file Wed 11 March 09:00; he sits on it
    # and returns it Fri 13 March 10:00. An answers for [opening, Wed 11 09:00) and
    # [Fri 13 10:00, E): Tue 10, Wed 11, Fri 13, Mon 16, Tue 17 = 5 overdue days; Bình for
    # the pending offer: Wed 11, Thu 12, Fri 13 = 3 (v4).
    consult(world, w1, an, binh, position="Đề nghị cấp", at=when(world, 6, 9))
    pending = offer(world, w1, an, binh, when(world, 11, 9))
    when(world, 13, 10)
    send_back(world, w1, binh, pending, "incomplete")

    mine = indicators(world, an, to=to)
    # 5: her lead matters W1, W2, W3; late while she answered for it: W1 (W2 closed in time,
    # W3 was late only in Bình's hands).
    assert counts(mine["overdue"]) == (1, 3, pytest.approx(1 / 3), ["W1"])
    assert (mine["overdue"]["total_working_days"], mine["overdue"]["median_working_days"]) == (
        5,
        5.0,
    )
    # 12: her longest silence is W1's Mon 2 -> Fri 6 (4 working days): never idle.
    assert counts(mine["idle_custody"]) == (0, 3, 0.0, [])
    assert mine["idle_custody"]["longest_idle_working_days"] == 4
    # 11: nothing was assigned to her.
    assert counts(mine["missed_step_deadlines"]) == (0, 0, None, [])

    his = indicators(world, binh, to=to)
    # 5: W1 (the offer to him), W2, W3 (his leads); late while his: W1 (3 days), W3 (6).
    assert counts(his["overdue"]) == (2, 3, pytest.approx(2 / 3), ["W1", "W3"])
    assert (his["overdue"]["total_working_days"], his["overdue"]["median_working_days"]) == (
        9,
        4.5,
    )
    # 11: W2 missed, W3 met.
    assert counts(his["missed_step_deadlines"]) == (1, 2, 0.5, ["W2"])
    # 12: his lead intervals in W2 (3 idle days at most) and W3 (10).
    assert counts(his["idle_custody"]) == (1, 2, 0.5, ["W3"])
    assert his["idle_custody"]["longest_idle_working_days"] == 10


# --- the period ---------------------------------------------------------------------------


def test_from_and_to_select_the_matters_and_acts_of_the_period(world: World) -> None:
    office = Department(world, "so-ldtbxh", "an")
    (an,) = office.clerks
    chief = office.chief
    world.grant(an, office.agency)  # PROCEDURE only: OTHER_PROCEDURE decisions are "none"

    # T1, before the period: opened Mon 2 March, closed Tue 3 March.
    t1 = open_at(world, "T1", an, office.agency, when(world, 2, 9), code=OTHER_PROCEDURE)
    consult(world, t1, an, chief)
    decide(world, t1, an)
    close(world, t1, an, when(world, 3, 10))
    # T4: opened Thu 5 March, before the period, and still held by An in it.
    open_at(world, "T4", an, office.agency, when(world, 5, 9))
    # T2 and T3, in the period (Mon 16 March).
    t2 = open_at(world, "T2", an, office.agency, when(world, 16, 9), code=OTHER_PROCEDURE)
    consult(world, t2, an, chief)
    decide(world, t2, an)
    t3 = open_at(world, "T3", an, office.agency, when(world, 16, 10))
    consult(world, t3, an, chief, position="Đồng ý")
    decide(world, t3, an)
    close(world, t3, an)
    # T5, after the period: Mon 23 March.
    t5 = open_at(world, "T5", an, office.agency, when(world, 23, 9), code=OTHER_PROCEDURE)
    consult(world, t5, an, chief)
    decide(world, t5, an)

    period = {"from": ict(9), "to": ict(20)}
    body = world.read(f"/v1/officials/{an.id}/indicators", **period)
    assert (body["from"], body["to"]) == ("2026-03-09T00:00:00+07:00", "2026-03-20T00:00:00+07:00")
    assert body["evaluated_at"] == "2026-03-20T00:00:00+07:00"  # E = to
    inside = body["indicators"]
    # Decisions in [9 March, 20 March): T2's (none) and T3's (own): 1 of 2. T1's and T5's
    # decisions, outside competence too, fall outside the period.
    assert counts(inside["decisions_outside_competence"]) == (1, 2, 0.5, ["T2"])
    # Requests in the period: T2's without a position, T3's with one: 1 of 2.
    assert counts(inside["positionless_consultation"]) == (1, 2, 0.5, ["T2"])
    # Lead matters meeting the period: T2, T3 and T4 (opened before, held into it); T1's
    # interval ended 3 March and T5 was opened after: 3 matters, none ping-pong.
    assert counts(inside["ping_pong"]) == (0, 3, 0.0, [])

    # With no period every act counts: decisions T1, T2, T3, T5 (3 none); requests T1, T2,
    # T3, T5 (3 without a position); lead matters T1..T5.
    everything = indicators(world, an)
    assert counts(everything["decisions_outside_competence"]) == (3, 4, 0.75, ["T1", "T2", "T5"])
    assert counts(everything["positionless_consultation"]) == (3, 4, 0.75, ["T1", "T2", "T5"])
    assert everything["ping_pong"]["denominator"] == 5
    # `from` alone: T2, T3, T5's decisions (T1's is before it).
    since = indicators(world, an, **{"from": ict(9)})
    assert counts(since["decisions_outside_competence"]) == (
        2,
        3,
        pytest.approx(2 / 3),
        ["T2", "T5"],
    )


# --- the agency table -----------------------------------------------------------------------


def test_the_agency_table_lists_each_official_posted_there_at_E(world: World) -> None:
    office = Department(world, "so-gd", "an", "binh", "minh")
    an, binh, minh = office.clerks
    chief = office.chief
    elsewhere = Department(world, "so-tt", "xuan")
    world.grant(binh, office.agency)

    # A1: An, without competence, decides -> outside competence.
    a1 = open_at(world, "A1", an, office.agency, when(world, 2, 9))
    decide(world, a1, an)
    # A2: Bình decides with his own competence.
    a2 = open_at(world, "A2", binh, office.agency, when(world, 2, 10))
    decide(world, a2, binh)
    # Minh moves to the other agency on Tue 3 March: his agency releases him to it, then
    # its registrar records the move (DESIGN §6 v4).
    world.ok(
        "official.released",
        f"official:{minh.id}",
        office.agency.registrar,
        {"to_agency_id": elsewhere.agency.id},
        occurred_at=when(world, 3, 8),
    )
    world.ok(
        "official.moved",
        f"official:{minh.id}",
        elsewhere.agency.registrar,
        {
            "agency_id": elsewhere.agency.id,
            "unit_id": "phong-dat",
            "position": "Chuyên viên",
            "is_head": False,
        },
        occurred_at=when(world, 3, 9),
    )

    table = world.read(f"/v1/agencies/{office.agency.id}/indicators")
    assert table["agency_id"] == office.agency.id
    # Posted in so-gd at E (now): the chief, An and Bình; Minh has left, Xuân never was.
    assert [row["official_id"] for row in table["officials"]] == sorted([an.id, binh.id, chief.id])
    rows = {row["official_id"]: row["indicators"] for row in table["officials"]}
    # An: 1 of 1 decisions outside competence (A1); Bình 0 of 1; the chief decided nothing.
    assert counts(rows[an.id]["decisions_outside_competence"]) == (1, 1, 1.0, ["A1"])
    assert counts(rows[binh.id]["decisions_outside_competence"]) == (0, 1, 0.0, [])
    assert counts(rows[chief.id]["decisions_outside_competence"]) == (0, 0, None, [])
    # Each row is what the official's own read says (same period, same peers).
    for official in (an, binh, chief):
        assert rows[official.id] == indicators(world, official), official.id

    # Read at E = Tue 3 March 00:00, Minh was still posted here.
    before = world.read(f"/v1/agencies/{office.agency.id}/indicators", to=ict(3))
    assert before["evaluated_at"] == "2026-03-03T00:00:00+07:00"
    assert [row["official_id"] for row in before["officials"]] == sorted(
        [an.id, binh.id, chief.id, minh.id]
    )
