"""The matter rules (DESIGN §6 "Matters"), in memory: who may sign each statement, replies,
addressees, the closed matter, the pending offer, supplements, corrections, and which rule
answers when two fail (DESIGN §4 step 12).

A refused signer always holds a valid key of its own and sends a body that a permitted
signer then gets accepted on the same state, so a refusal can only be about who signed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.unit.rules_world import (
    OTHER_PROCEDURE,
    Office,
    RulesWorld,
    consultation_body,
    decision_body,
    delegation_body,
    matter_body,
    task_body,
)
from tests.world import Actor, instant

MATTER_ID = "H10.15-260302-0001"
MATTER = f"matter:{MATTER_ID}"
NOBODY = "khong.ai"
REQUEST = {"items": ["Bản sao sổ hộ khẩu"]}


@pytest.fixture
def office() -> Office:
    return Office()


@pytest.fixture
def world(office: Office) -> RulesWorld:
    return office.world


def open_matter(office: Office, opener: Actor | None = None) -> str:
    return office.world.open_matter(MATTER_ID, opener or office.clerk)


def close(office: Office, by: Actor | None = None) -> str:
    office.world.ok("matter.closed", MATTER, by or office.clerk, {"result": "completed"})
    return office.world.last_event_id


def extension(world: RulesWorld) -> dict[str, Any]:
    due = instant(world.clock + timedelta(days=10))
    return {"new_due_at": due, "reason": "Cần xác minh thực địa"}


# --- matter.opened ----------------------------------------------------------------------------


def test_a_matter_is_opened_by_an_official_of_its_agency_who_becomes_its_custodian(
    office: Office,
) -> None:
    open_matter(office)
    assert office.world.custodian(MATTER) == office.clerk.id


def test_a_matter_opened_by_anyone_but_an_official_of_its_agency_is_rejected(
    office: Office, world: RulesWorld
) -> None:
    # The registrar belongs to H10 but is not an official; the outsider heads X10.
    signers = [office.outsider, office.registrar, office.root]
    world.forbid("matter.opened", MATTER, signers, matter_body("H10"))
    world.ok("matter.opened", MATTER, office.clerk, matter_body("H10"))


def test_an_official_who_moved_away_opens_matters_only_for_the_new_agency(
    office: Office, world: RulesWorld
) -> None:
    clerk = office.clerk
    world.transfer(clerk, office.agency, office.outside)
    world.forbid("matter.opened", MATTER, [clerk], matter_body("H10"))
    world.ok("matter.opened", MATTER, clerk, matter_body("X10"))


def test_a_matter_of_an_unknown_agency_is_an_invalid_statement(
    office: Office, world: RulesWorld
) -> None:
    world.reject("matter.opened", MATTER, office.clerk, matter_body("Z99"), "invalid-statement")


# --- task.assigned ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opener", "signer", "assignee"),
    [
        pytest.param("chief", "chief", "clerk", id="the-custodian-heading-the-assignee"),
        pytest.param("clerk", "chief", "peer", id="the-head-of-the-custodians-unit"),
        pytest.param("clerk", "director", "peer", id="the-head-of-an-ancestor-unit"),
        pytest.param("clerk", "office_chief", "peer", id="an-agency-head-who-is-no-superior"),
    ],
)
def test_a_lead_assignment_by_a_permitted_signer_moves_custody(
    office: Office, opener: str, signer: str, assignee: str
) -> None:
    open_matter(office, office[opener])
    if signer == "office_chief":
        # An agency head through a second root unit, not through the custodian's chain.
        registry = office.world.state.registry
        assert not registry.is_superior(office.office_chief.id, office.clerk.id, office.world.clock)
    office.world.assign(MATTER, office[signer], office[assignee], "lead")
    assert office.world.custodian(MATTER) == office[assignee].id


def test_a_lead_assignment_by_anyone_else_is_rejected(office: Office, world: RulesWorld) -> None:
    clerk = office.clerk
    open_matter(office)
    # The custodian may order a lead only to someone they head: not to a peer, not upward.
    world.forbid("task.assigned", MATTER, [clerk], task_body(office.chief, "lead"))
    signers = [
        clerk,  # the custodian, who is not the peer's superior
        office.deputy,  # a colleague without custody
        office.other_chief,  # heads a sibling department
        office.outsider,  # heads another agency
        office.registrar,
    ]
    world.forbid("task.assigned", MATTER, signers, task_body(office.peer, "lead"))
    assert world.custodian(MATTER) == clerk.id
    world.ok("task.assigned", MATTER, office.chief, task_body(office.peer, "lead"))


@pytest.mark.parametrize(
    "signer",
    [
        pytest.param("clerk", id="the-custodian"),
        pytest.param("chief", id="a-superior-of-the-custodian"),
        pytest.param("director", id="a-higher-superior"),
        pytest.param("office_chief", id="an-agency-head-who-is-no-superior"),
    ],
)
def test_a_support_assignment_by_a_permitted_signer_is_accepted(
    office: Office, signer: str
) -> None:
    open_matter(office)
    office.world.assign(MATTER, office[signer], office.peer, "support")
    matter = office.world.state.matters[MATTER_ID]
    assert office.peer.id in matter.support
    assert matter.custodian == office.clerk.id


def test_a_support_assignment_by_anyone_else_is_rejected(office: Office, world: RulesWorld) -> None:
    clerk = office.clerk
    open_matter(office)
    world.assign(MATTER, clerk, office.peer, "support")
    signers = [
        office.peer,  # a support assignee does not recruit more support
        office.deputy,
        office.other_chief,
        office.outsider,
        office.registrar,
    ]
    world.forbid("task.assigned", MATTER, signers, task_body(office.chief, "support"))
    world.ok("task.assigned", MATTER, clerk, task_body(office.chief, "support"))


def test_a_lead_assignment_cancels_a_pending_offer(office: Office, world: RulesWorld) -> None:
    open_matter(office)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    # The department head orders the peer to lead instead: an order, which cancels the offer.
    world.assign(MATTER, office.chief, office.peer, "lead")
    world.reject("handoff.accepted", MATTER, office.chief, {"in_reply_to": offer_id}, "not-pending")
    # ...and a new offer no longer meets a pending one.
    world.offer(MATTER, office.peer, office.chief)


# --- handoffs ---------------------------------------------------------------------------------


def test_a_handoff_offered_by_anyone_but_the_custodian_is_rejected(
    office: Office, world: RulesWorld
) -> None:
    # Not even a superior of the custodian may offer the custodian's matter.
    open_matter(office)
    body = {"to": office.deputy.id, "reason": "Chuyển xử lý"}
    signers = [office.chief, office.director, office.peer, office.registrar]
    world.forbid("handoff.offered", MATTER, signers, body)
    world.ok("handoff.offered", MATTER, office.clerk, body)


HANDOFF_REPLIES: dict[str, dict[str, Any]] = {
    "handoff.withdrawn": {},
    "handoff.accepted": {},
    "handoff.returned": {"reason": "not_competent", "note": "Không thuộc thẩm quyền"},
}


@pytest.mark.parametrize(
    ("type_", "rightful", "others"),
    [
        pytest.param(
            "handoff.withdrawn", "clerk", ["chief", "director", "registrar"], id="withdrawn"
        ),
        pytest.param("handoff.accepted", "chief", ["clerk", "director", "peer"], id="accepted"),
        pytest.param("handoff.returned", "chief", ["clerk", "director", "peer"], id="returned"),
    ],
)
def test_a_handoff_answered_by_someone_else_is_rejected(
    office: Office, type_: str, rightful: str, others: list[str]
) -> None:
    # The clerk offers to the chief: a withdrawal is the offerer's, an acceptance or a
    # return the addressee's — not the other party's, nor the addressee's superior's.
    world = office.world
    open_matter(office)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    body = {"in_reply_to": offer_id, **HANDOFF_REPLIES[type_]}
    world.forbid(type_, MATTER, [office[name] for name in others], body)
    world.ok(type_, MATTER, office[rightful], body)
    expected = office.chief.id if type_ == "handoff.accepted" else office.clerk.id
    assert world.custodian(MATTER) == expected
    assert world.state.matters[MATTER_ID].pending_offer is None


# --- consultations ----------------------------------------------------------------------------


def test_the_custodian_and_a_support_assignee_may_request_a_consultation(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    world.assign(MATTER, office.clerk, office.peer, "support")
    world.consult(MATTER, office.clerk, office.other_chief)
    world.consult(MATTER, office.peer, office.other_chief)


def test_a_consultation_requested_by_anyone_else_is_rejected(
    office: Office, world: RulesWorld
) -> None:
    # A superior of the custodian is neither the custodian nor a support assignee.
    open_matter(office)
    body = consultation_body(office.other_chief)
    signers = [office.chief, office.director, office.deputy, office.registrar]
    world.forbid("consultation.requested", MATTER, signers, body)
    world.ok("consultation.requested", MATTER, office.clerk, body)


def test_a_consultation_answered_by_someone_other_than_the_consultee_is_rejected(
    office: Office, world: RulesWorld
) -> None:
    # The clerk asks the head of the sibling department; the director heads that head.
    open_matter(office)
    request = world.consult(MATTER, office.clerk, office.other_chief)
    body = {"in_reply_to": request, "position": "agree", "text": "Đồng ý"}
    signers = [office.clerk, office.director, office.peer]
    world.forbid("consultation.answered", MATTER, signers, body)
    world.ok("consultation.answered", MATTER, office.other_chief, body)


# --- supplements, deadlines, closing ----------------------------------------------------------


@pytest.mark.parametrize("type_", ["supplement.requested", "supplement.received"])
def test_a_supplement_step_signed_by_anyone_but_the_custodian_is_rejected(
    office: Office, world: RulesWorld, type_: str
) -> None:
    clerk = office.clerk
    open_matter(office)
    world.assign(MATTER, clerk, office.peer, "support")
    if type_ == "supplement.received":
        world.ok("supplement.requested", MATTER, clerk, REQUEST)
    body = REQUEST if type_ == "supplement.requested" else {}
    signers = [office.chief, office.director, office.peer, office.registrar]
    world.forbid(type_, MATTER, signers, body)
    world.ok(type_, MATTER, clerk, body)


@pytest.mark.parametrize(
    "signer",
    [
        pytest.param("clerk", id="the-custodian"),
        pytest.param("chief", id="the-head-of-the-custodians-unit"),
        pytest.param("director", id="the-head-of-an-ancestor-unit"),
    ],
)
def test_a_deadline_is_extended_by_the_custodian_or_a_superior(office: Office, signer: str) -> None:
    open_matter(office)
    office.world.ok("deadline.extended", MATTER, office[signer], extension(office.world))
    assert office.world.state.matters[MATTER_ID].extensions == 1


def test_a_deadline_extended_by_anyone_else_is_rejected(office: Office, world: RulesWorld) -> None:
    # An agency head who is not the custodian's superior may not extend either.
    open_matter(office)
    world.assign(MATTER, office.clerk, office.peer, "support")
    signers = [office.peer, office.other_chief, office.office_chief, office.registrar]
    world.forbid("deadline.extended", MATTER, signers, extension(world))
    world.ok("deadline.extended", MATTER, office.clerk, extension(world))


def test_a_matter_closed_by_anyone_but_the_custodian_is_rejected(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    signers = [office.chief, office.director, office.peer, office.office_chief, office.registrar]
    world.forbid("matter.closed", MATTER, signers, {"result": "completed"})
    close(office)
    assert world.state.matters[MATTER_ID].closed


# --- decision.recorded ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signer",
    [
        pytest.param("clerk", id="the-custodian"),
        pytest.param("chief", id="the-head-of-the-custodians-unit"),
        pytest.param("director", id="the-head-of-an-ancestor-unit"),
    ],
)
def test_a_decision_is_recorded_by_the_custodian_or_a_superior(office: Office, signer: str) -> None:
    open_matter(office)
    office.world.ok("decision.recorded", MATTER, office[signer], decision_body())


@pytest.mark.parametrize(
    ("kind", "grantor"),
    [
        pytest.param("ky_thay", "clerk", id="ky-thay-from-the-custodian"),
        pytest.param("uy_quyen", "clerk", id="uy-quyen-from-the-custodian"),
        pytest.param("ky_thay", "chief", id="ky-thay-from-a-superior"),
        pytest.param("uy_quyen", "director", id="uy-quyen-from-a-higher-superior"),
    ],
)
def test_a_decision_is_recorded_by_the_grantee_of_a_valid_delegation(
    office: Office, kind: str, grantor: str
) -> None:
    world = office.world
    open_matter(office)
    delegation_id = world.delegate(office[grantor], office.deputy, kind)
    capacity = "on_behalf" if kind == "ky_thay" else "delegated"
    world.ok("decision.recorded", MATTER, office.deputy, decision_body(capacity, delegation_id))


DECISION_DELEGATIONS = [
    pytest.param({"kind": "phan_cap"}, "clerk", id="phan-cap-from-the-custodian"),
    pytest.param(
        {"kind": "ky_thay", "valid_until": "2025-01-01T00:00:00+07:00"}, "clerk", id="expired"
    ),
    pytest.param(
        {"kind": "ky_thay", "valid_from": "2027-01-01T00:00:00+07:00"},
        "clerk",
        id="not-yet-valid",
    ),
    pytest.param(
        {"kind": "ky_thay", "procedure_codes": [OTHER_PROCEDURE]},
        "clerk",
        id="for-another-procedure",
    ),
    pytest.param({"kind": "uy_quyen", "revoked": True}, "chief", id="revoked"),
    pytest.param({"kind": "ky_thay"}, "peer", id="from-a-peer-of-the-custodian"),
    pytest.param({"kind": "uy_quyen"}, "other_chief", id="from-the-head-of-another-unit"),
]


@pytest.mark.parametrize(("delegation", "grantor"), DECISION_DELEGATIONS)
def test_a_decision_by_a_grantee_without_a_qualifying_delegation_is_rejected(
    office: Office, delegation: dict[str, Any], grantor: str
) -> None:
    world = office.world
    open_matter(office)
    fields = {k: v for k, v in delegation.items() if k != "revoked"}
    subject = f"official:{office[grantor].id}"
    world.ok(
        "delegation.granted", subject, office[grantor], delegation_body(office.deputy, **fields)
    )
    granted = world.last_event_id
    if delegation.get("revoked"):
        world.ok("delegation.revoked", subject, office[grantor], {"delegation_id": granted})
    capacity = "on_behalf" if fields["kind"] == "ky_thay" else "delegated"
    body = decision_body(capacity, granted)
    world.forbid("decision.recorded", MATTER, [office.deputy], body)
    # The claims in the body only raise flags: the custodian gets the same body accepted.
    world.ok("decision.recorded", MATTER, office.clerk, body)


def test_a_decision_by_anyone_else_is_rejected(office: Office, world: RulesWorld) -> None:
    # An agency head who is not the custodian's superior may not decide the matter.
    open_matter(office)
    signers = [
        office.peer,
        office.other_chief,
        office.office_chief,
        office.outsider,
        office.registrar,
    ]
    world.forbid("decision.recorded", MATTER, signers, decision_body())
    world.ok("decision.recorded", MATTER, office.clerk, decision_body())


# --- replies ----------------------------------------------------------------------------------

# The reply a given official would send to an offer (or consultation) ``in_reply_to``: the
# offer and the consultation go from the clerk to the chief.
REPLIES: dict[str, tuple[str, dict[str, Any]]] = {
    "handoff.withdrawn": ("clerk", {}),
    "handoff.accepted": ("chief", {}),
    "handoff.returned": ("chief", {"reason": "not_competent", "note": "Không thuộc phòng"}),
    "consultation.answered": ("chief", {"position": "agree", "text": "Đồng ý với đề xuất"}),
}


def reply(
    office: Office, kind: str, in_reply_to: str, slug: str | None = None, **extra: Any
) -> None:
    """Send a reply of ``kind``; accepted, or refused with ``slug``."""
    who, fields = REPLIES[kind]
    body = {"in_reply_to": in_reply_to, **fields, **extra}
    if slug is None:
        office.world.ok(kind, MATTER, office[who], body)
    else:
        office.world.reject(kind, MATTER, office[who], body, slug)


@pytest.fixture
def asked(office: Office) -> tuple[str, str]:
    """An open matter with an offer and a consultation from the clerk to the chief."""
    open_matter(office)
    offer_id = office.world.offer(MATTER, office.clerk, office.chief)
    return offer_id, office.world.consult(MATTER, office.clerk, office.chief)


@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_to_an_unknown_event_is_an_invalid_statement(
    office: Office, asked: tuple[str, str], kind: str
) -> None:
    reply(office, kind, str(uuid.uuid4()), "invalid-statement")


@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_to_an_event_of_the_wrong_type_is_an_invalid_statement(
    office: Office, asked: tuple[str, str], kind: str
) -> None:
    # A handoff reply naming the consultation, and the consultation answer naming the offer.
    offer_id, consultation_id = asked
    target = offer_id if kind == "consultation.answered" else consultation_id
    reply(office, kind, target, "invalid-statement")


def test_a_reply_to_an_offer_of_another_matter_is_an_invalid_statement(
    office: Office, world: RulesWorld
) -> None:
    other = world.open_matter("H10.15-260302-0002", office.clerk)
    elsewhere = world.offer(other, office.clerk, office.chief)
    open_matter(office)
    world.offer(MATTER, office.clerk, office.chief)
    reply(office, "handoff.accepted", elsewhere, "invalid-statement")


@pytest.mark.parametrize("first", list(HANDOFF_REPLIES))
@pytest.mark.parametrize("second", list(HANDOFF_REPLIES))
def test_a_second_reply_to_an_offer_is_not_pending(
    office: Office, asked: tuple[str, str], first: str, second: str
) -> None:
    offer_id, _ = asked
    reply(office, first, offer_id)
    reply(office, second, offer_id, "not-pending")


def test_a_consultation_answered_twice_is_not_pending(
    office: Office, asked: tuple[str, str]
) -> None:
    _, consultation_id = asked
    reply(office, "consultation.answered", consultation_id)
    reply(office, "consultation.answered", consultation_id, "not-pending", position="disagree")


# --- addressees -------------------------------------------------------------------------------


def addressed(office: Office, kind: str, who: str) -> tuple[str, str, Actor, dict[str, Any]]:
    """A statement of ``kind`` addressed to ``who``: (type, subject, actor, body)."""
    if kind == "handoff.offered":
        return kind, MATTER, office.clerk, {"to": who, "reason": "Chuyển xử lý"}
    if kind == "consultation.requested":
        return kind, MATTER, office.clerk, {"to": who, "question": "Xin ý kiến"}
    if kind == "task.assigned":
        body = {"assignee": who, "role": "support", "instructions": "Phối hợp xử lý"}
        return kind, MATTER, office.chief, body
    assert kind == "delegation.granted"
    body = {**delegation_body(office.clerk, "ky_thay"), "grantee": who}
    return kind, f"official:{office.chief.id}", office.chief, body


ADDRESSED = ["handoff.offered", "consultation.requested", "task.assigned", "delegation.granted"]


@pytest.mark.parametrize("kind", ADDRESSED)
@pytest.mark.parametrize("who", ["nobody", "a-registrar", "a-root"])
def test_an_addressee_who_is_not_a_registered_official_is_unknown(
    office: Office, kind: str, who: str
) -> None:
    open_matter(office)
    person = {"nobody": NOBODY, "a-registrar": office.registrar.id, "a-root": office.root.id}
    type_, subject, actor, body = addressed(office, kind, person[who])
    error = office.world.reject(type_, subject, actor, body, "unknown-official")
    assert person[who] in error.detail


@pytest.mark.parametrize("kind", ADDRESSED)
def test_an_addressee_registered_only_after_the_statement_occurred_is_unknown(
    office: Office, world: RulesWorld, kind: str
) -> None:
    open_matter(office)
    office.register("chief")  # before the clock moves on
    world.at(20)
    newcomer = world.official("moi.den", office.agency)  # registered now...
    type_, subject, actor, body = addressed(office, kind, newcomer.id)
    # ...so a statement dated ten minutes ago could not have been addressed to them.
    world.reject(type_, subject, actor, body, "unknown-official", occurred_at=world.ago(10))
    world.ok(type_, subject, actor, body)


@pytest.mark.parametrize("kind", ADDRESSED)
def test_an_addressee_who_is_the_actor_is_an_invalid_statement(office: Office, kind: str) -> None:
    open_matter(office)
    actor = addressed(office, kind, NOBODY)[2]
    type_, subject, _, body = addressed(office, kind, actor.id)
    office.world.reject(type_, subject, actor, body, "invalid-statement")


# --- the closed matter, the pending offer, supplements ----------------------------------------

AFTER_CLOSING: list[tuple[str, str, dict[str, Any]]] = [
    ("handoff.offered", "clerk", {"to": "truong.phong", "reason": "Chuyển xử lý"}),
    ("consultation.requested", "clerk", {"to": "truong.phong", "question": "Xin ý kiến"}),
    (
        "task.assigned",
        "chief",
        {"assignee": "dong.nghiep", "role": "lead", "instructions": "Xử lý"},
    ),
    ("supplement.requested", "clerk", REQUEST),
    ("supplement.received", "clerk", {}),
    ("deadline.extended", "clerk", {"new_due_at": "2026-04-01T17:00:00+07:00", "reason": "Khó"}),
    ("decision.recorded", "clerk", decision_body()),
    ("matter.closed", "clerk", {"result": "stopped"}),
]


@pytest.mark.parametrize(
    ("type_", "who", "body"), AFTER_CLOSING, ids=[t for t, _, _ in AFTER_CLOSING]
)
def test_nothing_but_a_correction_follows_a_closed_matter(
    office: Office, type_: str, who: str, body: dict[str, Any]
) -> None:
    open_matter(office)
    office.register("peer", "chief")  # the addressees of AFTER_CLOSING
    office.world.ok("supplement.requested", MATTER, office.clerk, REQUEST)
    close(office)
    office.world.reject(type_, MATTER, office[who], body, "matter-closed")


@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_after_closing_is_matter_closed_not_not_pending(
    office: Office, asked: tuple[str, str], kind: str
) -> None:
    # Closing cancels the pending offer; both rules fail, matter-closed comes first.
    offer_id, consultation_id = asked
    close(office)
    reply(
        office,
        kind,
        consultation_id if kind.startswith("consultation") else offer_id,
        "matter-closed",
    )


def test_a_correction_after_closing_is_accepted(office: Office, world: RulesWorld) -> None:
    open_matter(office)
    closed = close(office)
    body = {
        "target_event_id": closed,
        "reason": "Chọn nhầm",
        "corrections": {"result": "withdrawn"},
    }
    world.ok("correction.recorded", MATTER, office.clerk, body)


def test_a_second_offer_while_one_is_pending_is_refused_until_the_first_is_answered(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    first = world.offer(MATTER, office.clerk, office.chief)
    body = {"to": office.director.id, "reason": "Trình giám đốc"}
    error = world.reject("handoff.offered", MATTER, office.clerk, body, "offer-pending")
    assert error.extra["pending_offer"] == first
    world.ok("handoff.withdrawn", MATTER, office.clerk, {"in_reply_to": first})
    world.ok("handoff.offered", MATTER, office.clerk, body)


def test_a_supplement_received_without_a_pending_request_is_an_invalid_statement(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    world.reject("supplement.received", MATTER, office.clerk, {}, "invalid-statement")
    world.ok("supplement.requested", MATTER, office.clerk, REQUEST)
    # A second request while paused starts no new pause: one receipt answers both.
    world.ok("supplement.requested", MATTER, office.clerk, REQUEST)
    world.ok("supplement.received", MATTER, office.clerk, {})
    world.reject("supplement.received", MATTER, office.clerk, {}, "invalid-statement")


# --- corrections ------------------------------------------------------------------------------


@pytest.fixture
def corrected(office: Office) -> dict[str, tuple[str, Actor]]:
    """Targets to correct, each event id with its author."""
    world = office.world
    open_matter(office)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    world.ok("handoff.accepted", MATTER, office.chief, {"in_reply_to": offer_id})
    accepted = world.last_event_id
    world.assign(MATTER, office.chief, office.peer, "support")
    return {
        "handoff.offered": (offer_id, office.clerk),
        "handoff.accepted": (accepted, office.chief),
        "task.assigned": (world.last_event_id, office.chief),
    }


BAD_CORRECTIONS = [
    ("handoff.offered", {"to": "dong.nghiep"}, "to-may-not-be-corrected"),
    ("task.assigned", {"assignee": "chuyen.vien"}, "assignee-may-not-be-corrected"),
    ("task.assigned", {"role": "lead"}, "role-may-not-be-corrected"),
    ("handoff.accepted", {"in_reply_to": str(uuid.UUID(int=7))}, "in-reply-to-may-not-be"),
    ("handoff.offered", {"outcome": "approved"}, "a-field-the-offer-does-not-have"),
    ("handoff.accepted", {"reason": "Đã nhận"}, "a-field-the-acceptance-does-not-have"),
    ("handoff.offered", {"reason": 5}, "an-integer-for-a-text"),
    ("handoff.offered", {"reason": ""}, "an-empty-text"),
    ("handoff.offered", {"reason": None}, "null"),
    ("task.assigned", {"due_at": "2026-03-10"}, "a-date-for-an-instant"),
    ("handoff.offered", {}, "no-correction-at-all"),
]


@pytest.mark.parametrize(
    ("target", "corrections", "case"), BAD_CORRECTIONS, ids=[c for _, _, c in BAD_CORRECTIONS]
)
def test_a_correction_that_may_not_or_cannot_apply_is_an_invalid_statement(
    office: Office,
    corrected: dict[str, tuple[str, Actor]],
    target: str,
    corrections: dict[str, Any],
    case: str,
) -> None:
    event_id, author = corrected[target]
    body = {"target_event_id": event_id, "reason": "Sửa sai sót", "corrections": corrections}
    office.world.reject("correction.recorded", MATTER, author, body, "invalid-statement")


def test_a_correction_of_an_unknown_target_is_an_invalid_statement(
    office: Office, corrected: dict[str, tuple[str, Actor]]
) -> None:
    body = {"target_event_id": str(uuid.uuid4()), "reason": "Sửa", "corrections": {"reason": "x"}}
    office.world.reject("correction.recorded", MATTER, office.clerk, body, "invalid-statement")


def test_a_correction_of_a_statement_of_another_matter_is_an_invalid_statement(
    office: Office, corrected: dict[str, tuple[str, Actor]]
) -> None:
    other = office.world.open_matter("H10.15-260302-0002", office.clerk)
    elsewhere = office.world.offer(other, office.clerk, office.chief)
    body = {"target_event_id": elsewhere, "reason": "Sửa", "corrections": {"reason": "x"}}
    office.world.reject("correction.recorded", MATTER, office.clerk, body, "invalid-statement")


def test_a_correction_of_a_correctable_field_with_a_fitting_value_is_accepted(
    office: Office, corrected: dict[str, tuple[str, Actor]]
) -> None:
    event_id, author = corrected["task.assigned"]
    corrections = {
        "instructions": "Phối hợp thẩm định hồ sơ",
        "due_at": "2026-03-10T17:00:00+07:00",
    }
    body = {"target_event_id": event_id, "reason": "Bổ sung hạn", "corrections": corrections}
    office.world.ok("correction.recorded", MATTER, author, body)


def correction(target: str, title: str = "Cấp đổi giấy chứng nhận") -> dict[str, Any]:
    return {"target_event_id": target, "reason": "Sai tên thủ tục", "corrections": {"title": title}}


def led_by_peer(office: Office) -> str:
    """The clerk opens the matter; the chief then makes the peer its custodian. The id of
    the opening."""
    open_matter(office)
    opened = office.world.last_event_id
    office.world.assign(MATTER, office.chief, office.peer, "lead")
    return opened


@pytest.mark.parametrize(
    "signer",
    [
        pytest.param("clerk", id="the-author"),
        pytest.param("chief", id="the-head-of-the-authors-unit"),
        pytest.param("director", id="the-head-of-an-ancestor-unit"),
    ],
)
def test_a_correction_is_recorded_by_the_author_or_a_superior_of_the_author(
    office: Office, signer: str
) -> None:
    opened = led_by_peer(office)
    office.world.ok("correction.recorded", MATTER, office[signer], correction(opened))


def test_a_correction_by_anyone_else_is_rejected(office: Office, world: RulesWorld) -> None:
    # The current custodian (the peer) did not write the opening; an agency head who is
    # not the author's superior may not correct it either.
    opened = led_by_peer(office)
    signers = [
        office.peer,
        office.deputy,
        office.other_chief,
        office.office_chief,
        office.registrar,
    ]
    world.forbid("correction.recorded", MATTER, signers, correction(opened))
    world.ok("correction.recorded", MATTER, office.clerk, correction(opened))


def test_after_closing_the_author_may_still_correct_but_the_closer_may_not(
    office: Office, world: RulesWorld
) -> None:
    opened = led_by_peer(office)
    close(office, office.peer)
    world.forbid("correction.recorded", MATTER, [office.peer], correction(opened))
    world.ok("correction.recorded", MATTER, office.clerk, correction(opened))


def test_a_correction_of_a_correction_belongs_to_the_corrections_author(
    office: Office, world: RulesWorld
) -> None:
    # The chief corrects the clerk's opening; that correction is the chief's, so the clerk
    # (the original author, below the chief) may not correct it, but the director may.
    opened = led_by_peer(office)
    world.ok("correction.recorded", MATTER, office.chief, correction(opened))
    body = {
        "target_event_id": world.last_event_id,
        "reason": "Ghi rõ căn cứ",
        "corrections": {"reason": "Sai tên thủ tục theo hồ sơ gốc"},
    }
    world.forbid("correction.recorded", MATTER, [office.clerk, office.peer], body)
    world.ok("correction.recorded", MATTER, office.director, body)
    world.ok("correction.recorded", MATTER, office.chief, body)


# --- DESIGN §4 step 12: which of two failing rules answers ------------------------------------


def test_matter_closed_comes_before_an_unknown_addressee(office: Office, world: RulesWorld) -> None:
    open_matter(office)
    close(office)
    body = {"to": NOBODY, "reason": "x"}
    world.reject("handoff.offered", MATTER, office.clerk, body, "matter-closed")


def test_matter_closed_comes_before_a_wrong_signer(office: Office, world: RulesWorld) -> None:
    open_matter(office)
    close(office)
    world.reject("supplement.requested", MATTER, office.peer, REQUEST, "matter-closed")


def test_an_unknown_addressee_comes_before_a_wrong_signer(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    peer = office.peer
    # The peer is not the custodian: handing to a real official is refused for the signer...
    world.reject(
        "handoff.offered", MATTER, peer, {"to": office.chief.id, "reason": "x"}, "not-permitted"
    )
    # ...but an unknown addressee is found first, and so is an addressee equal to the actor.
    world.reject("handoff.offered", MATTER, peer, {"to": NOBODY, "reason": "x"}, "unknown-official")
    world.reject(
        "handoff.offered", MATTER, peer, {"to": peer.id, "reason": "x"}, "invalid-statement"
    )


def test_an_unknown_in_reply_to_comes_before_a_wrong_signer(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    # The peer is not the addressee of the offer...
    world.reject(
        "handoff.accepted", MATTER, office.peer, {"in_reply_to": offer_id}, "not-permitted"
    )
    # ...but replying to nothing is found first.
    unknown = {"in_reply_to": str(uuid.uuid4())}
    world.reject("handoff.accepted", MATTER, office.peer, unknown, "invalid-statement")


def test_a_wrong_signer_comes_before_a_pending_offer(office: Office, world: RulesWorld) -> None:
    open_matter(office)
    world.offer(MATTER, office.clerk, office.chief)
    body = {"to": office.director.id, "reason": "Trình giám đốc"}
    world.reject("handoff.offered", MATTER, office.peer, body, "not-permitted")


def test_a_wrong_signer_comes_before_a_reply_no_longer_pending(
    office: Office, world: RulesWorld
) -> None:
    open_matter(office)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    world.ok("handoff.withdrawn", MATTER, office.clerk, {"in_reply_to": offer_id})
    world.reject(
        "handoff.accepted", MATTER, office.peer, {"in_reply_to": offer_id}, "not-permitted"
    )
