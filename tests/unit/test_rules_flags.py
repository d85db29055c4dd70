"""What the state finds in an accepted statement (DESIGN §6 "Rules that flag", hierarchy and
competence finding), in memory: the direction of a handoff, consultation or assignment, the
flags ``unanswerable``, ``repeated_extension``, ``returned``,
``escalation_within_competence``, ``outside_competence``, ``capacity_mismatch`` and
``recorded_late``, and the competence finding of a decision.

``retroactive_registry_change`` is a read-model flag (an entry recorded later never changes
a verdict already given), so it is not found here.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from ledger.crypto import SigningKey
from ledger.state import Assessment
from tests.unit.rules_world import (
    OTHER_PROCEDURE,
    Office,
    RulesWorld,
    consultation_body,
    decision_body,
    delegation_body,
    task_body,
)
from tests.world import Actor, instant

MATTER_ID = "H10.15-260302-0001"
MATTER = f"matter:{MATTER_ID}"


@pytest.fixture
def office() -> Office:
    return Office()


@pytest.fixture
def world(office: Office) -> RulesWorld:
    return office.world


def send(world: RulesWorld, kind: str, sender: Actor, to: Actor) -> Assessment:
    """An offer or a consultation on the matter from ``sender`` to ``to``."""
    if kind == "handoff.offered":
        return world.ok(kind, MATTER, sender, {"to": to.id, "reason": "Chuyển xử lý"})
    return world.ok(kind, MATTER, sender, consultation_body(to))


SENT = ["handoff.offered", "consultation.requested"]


# --- direction --------------------------------------------------------------------------------

# (the matter's custodian and sender, the addressee, the direction)
DIRECTIONS = [
    pytest.param("clerk", "chief", "up", id="to-the-head-of-ones-unit-is-up"),
    pytest.param("clerk", "director", "up", id="to-the-head-of-an-ancestor-unit-is-up"),
    pytest.param("chief", "clerk", "down", id="to-someone-one-heads-is-down"),
    pytest.param("director", "clerk", "down", id="to-someone-below-an-ancestor-unit-is-down"),
    pytest.param("clerk", "peer", "lateral", id="to-a-colleague-is-lateral"),
    pytest.param("clerk", "other_chief", "lateral", id="to-the-head-of-a-sibling-unit-is-lateral"),
    pytest.param(
        "clerk", "office_chief", "lateral", id="to-an-agency-head-above-no-one-is-lateral"
    ),
    pytest.param("commune_clerk", "clerk", "up_external", id="to-the-parent-agency-is-up-external"),
    pytest.param("clerk", "outsider", "external", id="to-an-unrelated-agency-is-external"),
    pytest.param("clerk", "commune_clerk", "external", id="to-a-child-agency-is-external"),
]


@pytest.mark.parametrize("kind", SENT)
@pytest.mark.parametrize(("sender", "to", "direction"), DIRECTIONS)
def test_a_handoff_or_consultation_is_found_up_down_lateral_up_external_or_external(
    office: Office, kind: str, sender: str, to: str, direction: str
) -> None:
    world = office.world
    office.register(to)  # before the matter, like every addressee
    agency_id = "T20" if sender == "commune_clerk" else "H10"
    world.open_matter(MATTER_ID, office[sender], agency_id)
    assessment = send(world, kind, office[sender], office[to])
    assert assessment.direction == direction
    assert "unanswerable" not in assessment.flags


@pytest.mark.parametrize(
    ("reply", "who", "extra"),
    [
        ("handoff.accepted", "chief", {}),
        ("handoff.returned", "chief", {"reason": "incomplete", "note": "Thiếu hồ sơ"}),
        ("handoff.withdrawn", "clerk", {}),
    ],
)
def test_a_handoff_reply_carries_the_direction_of_the_offer(
    office: Office, world: RulesWorld, reply: str, who: str, extra: dict[str, Any]
) -> None:
    world.open_matter(MATTER_ID, office.clerk)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    assessment = world.ok(reply, MATTER, office[who], {"in_reply_to": offer_id, **extra})
    assert assessment.direction == "up"


def test_a_consultation_answer_carries_the_direction_of_the_request(
    office: Office, world: RulesWorld
) -> None:
    world.open_matter(MATTER_ID, office.clerk)
    request = world.consult(MATTER, office.clerk, office.outsider)
    body = {"in_reply_to": request, "position": "no_position", "text": "Không có ý kiến"}
    assert world.ok("consultation.answered", MATTER, office.outsider, body).direction == "external"


@pytest.mark.parametrize(
    ("signer", "assignee", "role", "direction"),
    [
        ("chief", "clerk", "support", "down"),
        ("office_chief", "clerk", "lead", "lateral"),
        ("clerk", "peer", "support", "lateral"),
    ],
)
def test_an_assignment_is_found_with_its_direction(
    office: Office, world: RulesWorld, signer: str, assignee: str, role: str, direction: str
) -> None:
    office.register(assignee)
    world.open_matter(MATTER_ID, office.clerk if signer != "chief" else office.chief)
    assert world.assign(MATTER, office[signer], office[assignee], role).direction == direction


# --- unanswerable -----------------------------------------------------------------------------


def without_a_valid_key(office: Office, how: str) -> Actor:
    """A registered official of phong-dat who holds no key valid now."""
    world = office.world
    if how == "no-key-bound":
        return office.keyless
    if how == "a-key-valid-only-later":
        return world.official("moi.den", office.agency, office.dept, key_valid_from=world.ahead(60))
    person = world.official("sap.nghi", office.agency, office.dept)
    reason = "retired" if how == "a-retired-key" else "compromised"
    world.revoke_key(person, office.registrar, person.key, reason, world.ahead(1))
    world.at(2)
    return person


HOW = ["no-key-bound", "a-key-valid-only-later", "a-retired-key", "a-compromised-key"]


@pytest.mark.parametrize("kind", SENT)
@pytest.mark.parametrize("how", HOW)
def test_an_offer_or_consultation_to_someone_without_a_valid_key_is_accepted_as_unanswerable(
    office: Office, kind: str, how: str
) -> None:
    world = office.world
    addressee = without_a_valid_key(office, how)
    world.open_matter(MATTER_ID, office.clerk)
    assessment = send(world, kind, office.clerk, addressee)
    assert "unanswerable" in assessment.flags
    assert assessment.direction == "lateral"


@pytest.mark.parametrize("kind", ["task.assigned", "delegation.granted"])
def test_an_assignee_or_grantee_without_a_valid_key_is_accepted_as_unanswerable(
    office: Office, kind: str
) -> None:
    world = office.world
    keyless = office.keyless
    if kind == "task.assigned":
        world.open_matter(MATTER_ID, office.chief)
        assessment = world.ok(kind, MATTER, office.chief, task_body(keyless, "support"))
    else:
        body = delegation_body(keyless, "ky_thay")
        assessment = world.ok(kind, f"official:{office.chief.id}", office.chief, body)
    assert "unanswerable" in assessment.flags


# --- returned, repeated_extension ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "who", "flagged"),
    [
        ("handoff.returned", "chief", True),
        ("handoff.accepted", "chief", False),
        ("handoff.withdrawn", "clerk", False),
    ],
)
def test_a_returned_handoff_is_flagged_returned(
    office: Office, world: RulesWorld, reply: str, who: str, flagged: bool
) -> None:
    world.open_matter(MATTER_ID, office.clerk)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    extra = {"reason": "not_competent", "note": "Không thuộc thẩm quyền"}
    body = {"in_reply_to": offer_id, **(extra if reply == "handoff.returned" else {})}
    assert ("returned" in world.ok(reply, MATTER, office[who], body).flags) is flagged
    # A return leaves custody where it was.
    expected = office.chief if reply == "handoff.accepted" else office.clerk
    assert world.custodian(MATTER) == expected.id


def test_a_second_extension_is_flagged_repeated_extension(
    office: Office, world: RulesWorld
) -> None:
    world.open_matter(MATTER_ID, office.clerk)

    def extend(by: Actor, days: int) -> tuple[str, ...]:
        due = instant(world.clock + timedelta(days=days))
        body = {"new_due_at": due, "reason": "Cần xác minh thực địa"}
        return world.ok("deadline.extended", MATTER, by, body).flags

    assert "repeated_extension" not in extend(office.clerk, 10)
    # Whoever signs it, the second and every later extension is flagged.
    assert "repeated_extension" in extend(office.chief, 20)
    assert "repeated_extension" in extend(office.clerk, 30)


# --- escalation_within_competence ---------------------------------------------------------------


def with_competence(office: Office, basis: str) -> None:
    """Give the clerk competence for the matter's procedure: own, or by a ky_thay from the
    chief (who holds it), or none (only for another procedure)."""
    world = office.world
    if basis == "own":
        world.grant(office.clerk, office.agency)
    elif basis == "delegated":
        world.grant(office.chief, office.agency)
        world.delegate(office.chief, office.clerk, "ky_thay")
    else:
        world.grant(office.clerk, office.agency, OTHER_PROCEDURE)


@pytest.mark.parametrize("kind", SENT)
@pytest.mark.parametrize("basis", ["own", "delegated"])
@pytest.mark.parametrize(
    "to",
    [pytest.param("chief", id="up"), pytest.param("director", id="up-to-an-ancestor-unit")],
)
def test_sending_up_a_matter_within_ones_competence_is_flagged(
    office: Office, kind: str, basis: str, to: str
) -> None:
    world = office.world
    office.register(to)
    with_competence(office, basis)
    world.open_matter(MATTER_ID, office.clerk)
    assessment = send(world, kind, office.clerk, office[to])
    assert "escalation_within_competence" in assessment.flags
    assert assessment.competence is not None
    assert assessment.competence.basis == basis


@pytest.mark.parametrize("kind", SENT)
def test_sending_a_matter_within_ones_competence_to_the_parent_agency_is_flagged(
    office: Office, kind: str
) -> None:
    world = office.world
    clerk, chief = office.commune_clerk, office.chief
    world.grant(clerk, office.commune)
    world.open_matter(MATTER_ID, clerk, "T20")
    assessment = send(world, kind, clerk, chief)
    assert assessment.direction == "up_external"
    assert "escalation_within_competence" in assessment.flags


@pytest.mark.parametrize("kind", SENT)
def test_sending_up_without_competence_is_no_escalation_within_competence(
    office: Office, kind: str
) -> None:
    world = office.world
    office.register("chief")
    with_competence(office, "another-procedure")
    world.open_matter(MATTER_ID, office.clerk)
    assessment = send(world, kind, office.clerk, office.chief)
    assert assessment.direction == "up"
    assert "escalation_within_competence" not in assessment.flags
    assert assessment.competence is not None
    assert assessment.competence.basis == "none"


def test_competence_revoked_before_sending_up_is_no_escalation_within_competence(
    office: Office, world: RulesWorld
) -> None:
    world.grant(office.clerk, office.agency)
    body = {"procedure_codes": ["1.004227"]}
    world.ok("competence.revoked", f"official:{office.clerk.id}", office.registrar, body)
    office.register("chief")
    world.open_matter(MATTER_ID, office.clerk)
    assert (
        "escalation_within_competence"
        not in send(world, "handoff.offered", office.clerk, office.chief).flags
    )


@pytest.mark.parametrize("kind", SENT)
@pytest.mark.parametrize("to", ["peer", "outsider"])
def test_sending_sideways_or_out_is_no_escalation_within_competence(
    office: Office, kind: str, to: str
) -> None:
    world = office.world
    office.register(to)
    with_competence(office, "own")
    world.open_matter(MATTER_ID, office.clerk)
    assert "escalation_within_competence" not in send(world, kind, office.clerk, office[to]).flags


# --- the competence finding of a decision: outside_competence, capacity_mismatch -----------------


def decide(office: Office, capacity: str, delegation_id: str | None = None) -> Assessment:
    return office.world.ok(
        "decision.recorded", MATTER, office.clerk, decision_body(capacity, delegation_id)
    )


# (what the clerk holds, the capacity claimed, the finding, the flags)
DECISIONS = [
    pytest.param("own", "own", "own", (), id="own-claimed-own"),
    pytest.param("own", "delegated", "own", ("capacity_mismatch",), id="own-claimed-delegated"),
    pytest.param("own", "on_behalf", "own", ("capacity_mismatch",), id="own-claimed-on-behalf"),
    pytest.param("ky_thay", "on_behalf", "delegated", (), id="ky-thay-claimed-on-behalf"),
    pytest.param("ky_thay", "delegated", "delegated", (), id="ky-thay-claimed-delegated"),
    pytest.param("uy_quyen", "delegated", "delegated", (), id="uy-quyen-claimed-delegated"),
    pytest.param("phan_cap", "delegated", "delegated", (), id="phan-cap-claimed-delegated"),
    pytest.param("uy_quyen", "own", "delegated", ("capacity_mismatch",), id="uy-quyen-claimed-own"),
    pytest.param(
        "uy_quyen",
        "on_behalf",
        "none",
        ("outside_competence", "capacity_mismatch"),
        id="on-behalf-needs-a-ky-thay",
    ),
    pytest.param(
        "nothing",
        "own",
        "none",
        ("outside_competence", "capacity_mismatch"),
        id="nothing-claimed-own",
    ),
    pytest.param(
        "another-procedure",
        "delegated",
        "none",
        ("outside_competence", "capacity_mismatch"),
        id="another-procedure-claimed-delegated",
    ),
    pytest.param(
        "a-delegation-from-someone-without-competence",
        "on_behalf",
        "none",
        ("outside_competence", "capacity_mismatch"),
        id="delegated-by-someone-without-competence",
    ),
]


@pytest.mark.parametrize(("holds", "capacity", "basis", "flags"), DECISIONS)
def test_a_decision_is_found_own_delegated_or_none_and_flagged_where_the_claim_differs(
    office: Office, holds: str, capacity: str, basis: str, flags: tuple[str, ...]
) -> None:
    world = office.world
    delegation_id = None
    if holds == "own":
        world.grant(office.clerk, office.agency)
    elif holds == "another-procedure":
        world.grant(office.clerk, office.agency, OTHER_PROCEDURE)
    elif holds == "a-delegation-from-someone-without-competence":
        delegation_id = world.delegate(office.chief, office.clerk, "ky_thay")
    elif holds != "nothing":
        world.grant(office.chief, office.agency)
        delegation_id = world.delegate(office.chief, office.clerk, holds)
    world.open_matter(MATTER_ID, office.clerk)
    assessment = decide(office, capacity, delegation_id)
    assert assessment.competence is not None
    assert assessment.competence.basis == basis
    if basis == "delegated":
        assert assessment.competence.delegation_id == delegation_id
    assert sorted(assessment.flags) == sorted(flags)


def test_a_decision_by_a_superior_without_competence_is_accepted_and_flagged(
    office: Office, world: RulesWorld
) -> None:
    world.grant(office.clerk, office.agency)  # the clerk could have decided; the chief did
    world.open_matter(MATTER_ID, office.clerk)
    assessment = world.ok("decision.recorded", MATTER, office.chief, decision_body())
    assert sorted(assessment.flags) == ["capacity_mismatch", "outside_competence"]


def test_the_finding_names_the_delegation_the_decision_names_when_several_qualify(
    office: Office, world: RulesWorld
) -> None:
    world.grant(office.chief, office.agency)
    world.grant(office.director, office.agency)
    first = world.delegate(office.chief, office.clerk, "ky_thay")
    second = world.delegate(office.director, office.clerk, "ky_thay")
    world.open_matter(MATTER_ID, office.clerk)
    for named in (second, first):
        competence = decide(office, "on_behalf", named).competence
        assert competence is not None
        assert competence.delegation_id == named


@pytest.mark.parametrize(
    ("change", "basis"),
    [("revoked", "none"), ("expired", "none"), ("grantors-competence-revoked", "none")],
)
def test_a_delegation_no_longer_valid_or_without_competence_behind_it_finds_none(
    office: Office, world: RulesWorld, change: str, basis: str
) -> None:
    world.grant(office.chief, office.agency)
    until = world.ahead(30) if change == "expired" else "2030-01-01T00:00:00+07:00"
    delegation_id = world.delegate(office.chief, office.clerk, "ky_thay", valid_until=until)
    chief = f"official:{office.chief.id}"
    if change == "revoked":
        world.ok("delegation.revoked", chief, office.chief, {"delegation_id": delegation_id})
    elif change == "grantors-competence-revoked":
        body = {"procedure_codes": ["1.004227"]}
        world.ok("competence.revoked", chief, office.registrar, body)
    world.at(60)
    world.open_matter(MATTER_ID, office.clerk)
    competence = decide(office, "on_behalf", delegation_id).competence
    assert competence is not None
    assert competence.basis == basis


# --- recorded_late ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("late", "flagged"),
    [
        (timedelta(hours=1), False),
        (timedelta(hours=24), False),
        (timedelta(hours=24, microseconds=1), True),
        (timedelta(days=30), True),
    ],
    ids=["an-hour", "exactly-24-hours", "just-over-24-hours", "a-month"],
)
def test_a_statement_recorded_more_than_24_hours_after_it_occurred_is_flagged_recorded_late(
    office: Office, world: RulesWorld, late: timedelta, flagged: bool
) -> None:
    world.open_matter(MATTER_ID, office.clerk)
    occurred = world.at()
    recorded_at = world.clock.astimezone(UTC) + late
    body = {"items": ["Bản sao sổ đỏ"]}
    assessment = world.ok(
        "supplement.requested",
        MATTER,
        office.clerk,
        body,
        occurred_at=occurred,
        recorded_at=recorded_at,
    )
    assert ("recorded_late" in assessment.flags) is flagged


def test_recorded_late_joins_the_statements_own_flags(office: Office, world: RulesWorld) -> None:
    # A history import: the return happened a week before the ledger recorded it.
    world.open_matter(MATTER_ID, office.clerk)
    offer_id = world.offer(MATTER, office.clerk, office.chief)
    occurred = world.at()
    body = {"in_reply_to": offer_id, "reason": "other", "note": "Trả lại"}
    assessment = world.ok(
        "handoff.returned",
        MATTER,
        office.chief,
        body,
        occurred_at=occurred,
        recorded_at=world.clock.astimezone(UTC) + timedelta(days=7),
    )
    assert sorted(assessment.flags) == ["recorded_late", "returned"]
    assert assessment.direction == "up"


def test_a_registry_statement_recorded_late_is_flagged_too(
    office: Office, world: RulesWorld
) -> None:
    clerk = office.clerk
    occurred = world.at()
    key = SigningKey.generate()
    assessment = world.ok(
        "key.bound",
        f"official:{clerk.id}",
        office.registrar,
        {"public_key": key.public_b64, "valid_from": occurred},
        occurred_at=occurred,
        recorded_at=world.clock.astimezone(UTC) + timedelta(days=2),
    )
    assert assessment.flags == ("recorded_late",)


def test_a_statement_with_nothing_to_find_has_no_flags(office: Office, world: RulesWorld) -> None:
    world.open_matter(MATTER_ID, office.clerk)
    assessment = world.ok("supplement.requested", MATTER, office.clerk, {"items": ["Bản sao"]})
    assert assessment.flags == ()
    assert assessment.direction is None
    assert assessment.competence is None


def test_a_consultation_the_law_requires_is_no_escalation_within_competence(
    office: Office,
) -> None:
    world = office.world
    office.register("chief")
    with_competence(office, "own")
    world.open_matter(MATTER_ID, office.clerk)
    required = world.ok(
        "consultation.requested",
        f"matter:{MATTER_ID}",
        office.clerk,
        consultation_body(office.chief, required_by="Điều 12 Nghị định 101/2024/NĐ-CP"),
    )
    assert required.direction == "up"
    assert "escalation_within_competence" not in required.flags
    # The same consultation without a legal obligation is one.
    assert (
        "escalation_within_competence"
        in send(world, "consultation.requested", office.clerk, office.chief).flags
    )
