"""Who may sign what: every "signed by" and "who may sign" rule of DESIGN §6.

Each statement type gets its permitted signers (201) and forbidden ones (403
``not-permitted``, the log unchanged). A forbidden signer always holds a valid key of its
own and sends a body that a permitted signer then gets accepted on the same state, so a
refusal can only be about who signed.

The people live in agency H10 (``Office``): the director heads the leadership unit
``lanh-dao`` (a superior of everyone below it); the chief heads the land department
``phong-dat``, where the clerk, a peer and a deputy work. Others are built on first use:
the head of a sibling department, the head of a second root unit ``van-phong`` (an agency
head who is nobody's superior in ``phong-dat``), and agency X10 with its own registrar and
head.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import pytest

from ledger.client import envelope, make_statement, now_instant
from ledger.crypto import SigningKey
from ledger.errors import NotPermitted
from ledger.note import format_vkey
from ledger.replay import verify_signature
from ledger.state import LedgerState
from ledger.statements import Envelope, parse_envelope
from ledger.times import utc_now
from tests.world import ORIGIN, PROCEDURE, REGISTRY_EPOCH, Actor, AgencyHandle, World, instant

MATTER_ID = "H10.15-260302-0001"
OTHER_PROCEDURE = "2.002154"


class Office:
    """Agency H10 and the people of the tests; each person is registered on first use."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.agency = world.agency("H10")
        self.dept = world.unit(self.agency, "phong-dat")

    @property
    def root(self) -> Actor:
        return self.world.root

    @property
    def registrar(self) -> Actor:
        return self.agency.registrar

    @cached_property
    def director(self) -> Actor:
        return self.world.official("giam.doc", self.agency, self.agency.root_unit, head=True)

    @cached_property
    def chief(self) -> Actor:
        return self.world.official("truong.phong", self.agency, self.dept, head=True)

    @cached_property
    def clerk(self) -> Actor:
        return self.world.official("chuyen.vien", self.agency, self.dept)

    @cached_property
    def peer(self) -> Actor:
        return self.world.official("dong.nghiep", self.agency, self.dept)

    @cached_property
    def deputy(self) -> Actor:
        return self.world.official("pho.phong", self.agency, self.dept)

    @cached_property
    def other_chief(self) -> Actor:
        """Head of a sibling department: nobody's superior in phong-dat."""
        unit = self.world.unit(self.agency, "phong-khac")
        return self.world.official("truong.phong.khac", self.agency, unit, head=True)

    @cached_property
    def office_chief(self) -> Actor:
        """Head of a second root unit: an agency head, yet not a superior in phong-dat."""
        unit = self.world.unit(self.agency, "van-phong", parent=None)
        return self.world.official("chanh.van.phong", self.agency, unit, head=True)

    @cached_property
    def outside(self) -> AgencyHandle:
        return self.world.agency("X10")

    @property
    def other_registrar(self) -> Actor:
        return self.outside.registrar

    @cached_property
    def outsider(self) -> Actor:
        """The head of X10's leadership unit: an agency head, of another agency."""
        return self.world.official("ngoai.vi", self.outside, self.outside.root_unit, head=True)

    @cached_property
    def second_root(self) -> Actor:
        actor = Actor("bo-noi-vu", SigningKey.generate())
        self.world.ok("root.added", "ledger", self.root, root_body(actor), **on_ledger())
        return actor

    def __getitem__(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor


@pytest.fixture
def office(world: World) -> Office:
    return Office(world)


def forbid(
    world: World,
    type_: str,
    subject: str,
    signers: list[Actor],
    body: dict[str, Any],
    **kw: Any,
) -> None:
    """Each signer gets 403 not-permitted and leaves the log unchanged."""
    for signer in signers:
        try:
            world.reject(403, "not-permitted", type_, subject, signer, body, **kw)
        except AssertionError as e:
            raise AssertionError(f"{signer.id} must not be permitted to sign {type_}: {e}") from e


# --- bodies ----------------------------------------------------------------------------


def root_body(actor: Actor) -> dict[str, Any]:
    # valid_from back-dated like the genesis root's, so the root may sign on world time
    return {
        "id": actor.id,
        "full_name": f"Gốc {actor.id}",
        "public_key": actor.key.public_b64,
        "valid_from": REGISTRY_EPOCH,
    }


def on_ledger() -> dict[str, Any]:
    """Statements of subject ``ledger`` follow the genesis, which occurred at real time."""
    return {"occurred_at": now_instant()}


def registrar_body(official_id: str) -> dict[str, Any]:
    return {
        "official_id": official_id,
        "full_name": "Lê Văn Đăng Ký",
        "public_key": SigningKey.generate().public_b64,
        "valid_from": REGISTRY_EPOCH,
    }


def official_body(agency_id: str, unit_id: str = "lanh-dao") -> dict[str, Any]:
    return {"full_name": "Phạm Thị Mới", **posting_body(agency_id, unit_id)}


def posting_body(agency_id: str, unit_id: str = "lanh-dao") -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "unit_id": unit_id,
        "position": "Chuyên viên",
        "is_head": False,
    }


def competence_body(type_: str) -> dict[str, Any]:
    body: dict[str, Any] = {"procedure_codes": [PROCEDURE]}
    if type_ == "competence.granted":
        body["legal_basis"] = "Quyết định 12/QĐ-UBND"
    return body


def delegation_body(grantee: Actor, kind: str = "uy_quyen", **fields: Any) -> dict[str, Any]:
    return {
        "grantee": grantee.id,
        "kind": kind,
        "procedure_codes": [PROCEDURE],
        "valid_from": REGISTRY_EPOCH,
        "valid_until": "2030-01-01T00:00:00+07:00",
        "instrument_no": "15/QĐ-UQ",
        **fields,
    }


def matter_body(agency_id: str = "H10") -> dict[str, Any]:
    return {
        "title": "Cấp giấy chứng nhận quyền sử dụng đất",
        "procedure_code": PROCEDURE,
        "agency_id": agency_id,
        "deadline_working_days": 5,
        "applicant_ref": "HS-0001",
    }


def task(assignee: Actor, role: str) -> dict[str, Any]:
    return {"assignee": assignee.id, "role": role, "instructions": "Thẩm định hồ sơ"}


def decision(capacity: str = "own", delegation_id: str | None = None) -> dict[str, Any]:
    body = {
        "outcome": "approved",
        "summary": "Đủ điều kiện cấp giấy chứng nhận",
        "legal_basis": "Luật Đất đai 2024",
        "capacity": capacity,
    }
    if delegation_id:
        body["delegation_id"] = delegation_id
    return body


@dataclass(frozen=True)
class Matter:
    subject: str
    opened: str  # the event_id of matter.opened


def open_matter(world: World, opener: Actor) -> Matter:
    subject = f"matter:{MATTER_ID}"
    receipt = world.ok("matter.opened", subject, opener, matter_body())
    return Matter(subject, receipt["event_id"])


def custodian(world: World) -> str:
    return world.ledger.state.matters[MATTER_ID].custodian


# --- ledger.genesis (unit level: every fixture ledger already has its genesis) -----------


def genesis_signed_by(signer: int) -> tuple[LedgerState, Envelope]:
    """A fresh state and a genesis naming two roots, signed by ``roots[signer]``."""
    log_key = SigningKey.generate()
    roots = [Actor("so-noi-vu", SigningKey.generate()), Actor("bo-noi-vu", SigningKey.generate())]
    statement = make_statement(
        "ledger.genesis",
        "ledger",
        seq=0,
        prev=None,
        actor=roots[signer].id,
        key_id=roots[signer].key.key_id,
        body={
            "origin": ORIGIN,
            "log_vkey": format_vkey(ORIGIN, log_key.public_bytes),
            "roots": [root_body(r) for r in roots],
        },
        occurred_at=now_instant(),
    )
    return LedgerState(), parse_envelope(envelope(statement, roots[signer].key))


def test_a_genesis_self_signed_by_the_first_root_is_admitted() -> None:
    state, env = genesis_signed_by(0)
    state.admit(env, index=0, recorded_at=utc_now(), check_signature=verify_signature)
    state.commit()
    assert set(state.registry.roots) == {"so-noi-vu", "bo-noi-vu"}
    assert state.heads["ledger"].seq == 0


def test_a_genesis_signed_by_a_root_other_than_the_first_is_rejected() -> None:
    # Both roots are named in the genesis, so the second one's key is known and valid; only
    # the rule "self-signed by the first root" can refuse it.
    state, env = genesis_signed_by(1)
    with pytest.raises(NotPermitted) as caught:
        state.admit(env, index=0, recorded_at=utc_now(), check_signature=verify_signature)
    assert (caught.value.status, caught.value.slug) == (403, "not-permitted")
    assert state.heads == {}
    assert state.registry.roots == {}
    assert state.last_index == -1


# --- roots ---------------------------------------------------------------------------------


def test_a_current_root_adds_a_root_who_can_then_add_another(office: Office) -> None:
    # second_root is added by the first root; it then signs as a current root itself.
    third = Actor("chinh-phu", SigningKey.generate())
    office.world.ok("root.added", "ledger", office.second_root, root_body(third), **on_ledger())
    assert {"bo-noi-vu", "chinh-phu"} <= set(office.world.ledger.state.registry.roots)


def test_a_root_added_by_a_registrar_or_an_official_is_rejected(office: Office) -> None:
    body = root_body(Actor("chinh-phu", SigningKey.generate()))
    forbid(
        office.world,
        "root.added",
        "ledger",
        [office.registrar, office.director],
        body,
        **on_ledger(),
    )
    office.world.ok("root.added", "ledger", office.root, body, **on_ledger())


def test_a_root_removes_another_root(office: Office) -> None:
    second = office.second_root
    office.world.ok("root.removed", "ledger", office.root, {"id": second.id}, **on_ledger())
    assert office.world.ledger.state.registry.roots[second.id].removed


def test_no_root_removes_itself(office: Office) -> None:
    # Two current roots, so neither would be the last one: only self-removal is at stake.
    first, second = office.root, office.second_root
    forbid(office.world, "root.removed", "ledger", [first], {"id": first.id}, **on_ledger())
    forbid(office.world, "root.removed", "ledger", [second], {"id": second.id}, **on_ledger())
    office.world.ok("root.removed", "ledger", first, {"id": second.id}, **on_ledger())


def test_a_root_removed_by_a_registrar_or_an_official_is_rejected(office: Office) -> None:
    body = {"id": office.second_root.id}
    forbid(
        office.world,
        "root.removed",
        "ledger",
        [office.registrar, office.director],
        body,
        **on_ledger(),
    )
    office.world.ok("root.removed", "ledger", office.root, body, **on_ledger())


# --- agencies and registrars -----------------------------------------------------------


@pytest.mark.parametrize("signer", ["root", "second_root"])
def test_a_root_registers_an_agency(office: Office, signer: str) -> None:
    body = {"name": "UBND xã Tân Lập", "level": "commune", "parent_agency": "H10"}
    office.world.ok("agency.registered", "agency:T20", office[signer], body)
    assert "T20" in office.world.ledger.state.registry.agencies


def test_an_agency_registered_by_a_registrar_or_an_official_is_rejected(office: Office) -> None:
    body = {"name": "UBND xã Tân Lập", "level": "commune", "parent_agency": "H10"}
    forbid(
        office.world, "agency.registered", "agency:T20", [office.registrar, office.director], body
    )
    office.world.ok("agency.registered", "agency:T20", office.root, body)


def test_a_registrar_appointed_by_anyone_but_a_root_is_rejected(office: Office) -> None:
    # Not even the agency's own registrar may appoint a colleague.
    body = registrar_body("reg2.H10")
    signers = [office.registrar, office.other_registrar, office.director]
    forbid(office.world, "registrar.appointed", "agency:H10", signers, body)
    office.world.ok("registrar.appointed", "agency:H10", office.root, body)


def test_a_registrar_dismissed_by_anyone_but_a_root_is_rejected(office: Office) -> None:
    body = {"official_id": office.registrar.id}
    signers = [office.registrar, office.other_registrar, office.director]
    forbid(office.world, "registrar.dismissed", "agency:H10", signers, body)
    office.world.ok("registrar.dismissed", "agency:H10", office.root, body)


# --- units and officials ---------------------------------------------------------------


def test_a_unit_registered_by_anyone_but_the_agencys_registrar_is_rejected(
    office: Office,
) -> None:
    body = {"unit_id": "phong-moi", "name": "Phòng mới", "parent_unit": "lanh-dao"}
    signers = [office.other_registrar, office.root, office.director]
    forbid(office.world, "unit.registered", "agency:H10", signers, body)
    office.world.ok("unit.registered", "agency:H10", office.registrar, body)


def test_an_official_registered_by_anyone_but_the_registrar_of_its_agency_is_rejected(
    office: Office,
) -> None:
    body = official_body("H10", "phong-dat")
    signers = [office.other_registrar, office.root, office.director]
    forbid(office.world, "official.registered", "official:moi", signers, body)
    office.world.ok("official.registered", "official:moi", office.registrar, body)


def test_an_official_moved_by_the_source_agencys_registrar_is_rejected(office: Office) -> None:
    # Only the registrar of the destination agency (X10) records the move, not the one
    # of the agency the official leaves, nor the official, nor a root.
    clerk, destination = office.clerk, office.outside
    body = posting_body(destination.id)
    signers = [office.registrar, clerk, office.root]
    forbid(office.world, "official.moved", f"official:{clerk.id}", signers, body)
    office.world.ok("official.moved", f"official:{clerk.id}", office.other_registrar, body)
    moved = office.world.ledger.state.registry.officials[clerk.id].postings[-1]
    assert moved.agency_id == "X10"


# --- keys ------------------------------------------------------------------------------


def test_a_key_bound_by_anyone_but_the_registrar_of_the_officials_agency_is_rejected(
    office: Office,
) -> None:
    clerk = office.clerk
    body = {"public_key": SigningKey.generate().public_b64, "valid_from": REGISTRY_EPOCH}
    signers = [office.other_registrar, clerk, office.chief, office.root]
    forbid(office.world, "key.bound", f"official:{clerk.id}", signers, body)
    office.world.ok("key.bound", f"official:{clerk.id}", office.registrar, body)


def test_after_a_move_only_the_new_agencys_registrar_binds_keys(office: Office) -> None:
    # "The official's agency" is the one they are posted to at occurred_at.
    clerk = office.clerk
    subject = f"official:{clerk.id}"
    office.world.ok("official.moved", subject, office.other_registrar, posting_body("X10"))
    body = {"public_key": SigningKey.generate().public_b64, "valid_from": REGISTRY_EPOCH}
    forbid(office.world, "key.bound", subject, [office.registrar], body)
    office.world.ok("key.bound", subject, office.other_registrar, body)


def spare_key(office: Office) -> dict[str, Any]:
    """Bind a second key to the clerk; the body retiring it tomorrow."""
    spare = SigningKey.generate()
    office.world.bind_key(office.clerk, office.agency, spare)
    effective = instant(office.world.clock + timedelta(days=1))
    return {"key_id": spare.key_id, "effective_at": effective, "reason": "retired"}


@pytest.mark.parametrize("signer", ["registrar", "clerk"], ids=["the-registrar", "the-official"])
def test_a_key_is_revoked_by_the_registrar_or_the_official_themself(
    office: Office, signer: str
) -> None:
    body = spare_key(office)
    office.world.ok("key.revoked", f"official:{office.clerk.id}", office[signer], body)
    assert office.world.ledger.state.registry.keys[body["key_id"]].revocations


def test_a_key_revoked_by_anyone_else_is_rejected(office: Office) -> None:
    body = spare_key(office)
    signers = [office.other_registrar, office.chief, office.peer, office.root]
    forbid(office.world, "key.revoked", f"official:{office.clerk.id}", signers, body)
    office.world.ok("key.revoked", f"official:{office.clerk.id}", office.clerk, body)


# --- competences and delegations -------------------------------------------------------


@pytest.mark.parametrize("type_", ["competence.granted", "competence.revoked"])
def test_a_competence_change_signed_by_anyone_but_the_registrar_is_rejected(
    office: Office, type_: str
) -> None:
    clerk = office.clerk
    body = competence_body(type_)
    signers = [office.other_registrar, clerk, office.chief, office.root]
    forbid(office.world, type_, f"official:{clerk.id}", signers, body)
    office.world.ok(type_, f"official:{clerk.id}", office.registrar, body)


def test_a_delegation_granted_by_anyone_but_the_grantor_is_rejected(office: Office) -> None:
    # The grantor is the subject (the chief); their registrar or their own superior may
    # not grant in their name.
    chief = office.chief
    body = delegation_body(office.clerk)
    signers = [office.registrar, office.director, office.peer, office.root]
    forbid(office.world, "delegation.granted", f"official:{chief.id}", signers, body)
    office.world.ok("delegation.granted", f"official:{chief.id}", chief, body)


def test_a_delegation_revoked_by_anyone_but_the_grantor_is_rejected(office: Office) -> None:
    chief, clerk = office.chief, office.clerk
    body = {"delegation_id": office.world.delegate(chief, clerk, "uy_quyen")}
    signers = [clerk, office.director, office.registrar, office.root]
    forbid(office.world, "delegation.revoked", f"official:{chief.id}", signers, body)
    office.world.ok("delegation.revoked", f"official:{chief.id}", chief, body)


# --- calendar --------------------------------------------------------------------------


def test_a_calendar_adjustment_signed_by_anyone_but_a_root_is_rejected(office: Office) -> None:
    body = {"date": "2026-05-02", "kind": "working_day", "source_document": "Công văn 1/BNV"}
    forbid(
        office.world, "calendar.adjusted", "calendar:VN", [office.registrar, office.director], body
    )
    office.world.ok("calendar.adjusted", "calendar:VN", office.root, body)


# --- matter.opened ---------------------------------------------------------------------


def test_a_matter_opened_by_anyone_but_an_official_of_its_agency_is_rejected(
    office: Office,
) -> None:
    # The registrar belongs to H10 but is not an official; the outsider heads X10.
    subject = f"matter:{MATTER_ID}"
    signers = [office.outsider, office.registrar, office.root]
    forbid(office.world, "matter.opened", subject, signers, matter_body("H10"))
    office.world.ok("matter.opened", subject, office.clerk, matter_body("H10"))


def test_an_official_who_moved_away_opens_matters_only_for_the_new_agency(
    office: Office,
) -> None:
    clerk = office.clerk
    office.world.ok(
        "official.moved", f"official:{clerk.id}", office.other_registrar, posting_body("X10")
    )
    subject = f"matter:{MATTER_ID}"
    forbid(office.world, "matter.opened", subject, [clerk], matter_body("H10"))
    office.world.ok("matter.opened", subject, clerk, matter_body("X10"))


# --- task.assigned ---------------------------------------------------------------------


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
    matter = open_matter(office.world, office[opener])
    if signer == "office_chief":
        # An agency head through a second root unit, not through the custodian's chain.
        registry = office.world.ledger.state.registry
        assert not registry.is_superior(office.office_chief.id, office.clerk.id, office.world.clock)
    office.world.ok("task.assigned", matter.subject, office[signer], task(office[assignee], "lead"))
    assert custodian(office.world) == office[assignee].id


def test_a_lead_assignment_by_anyone_else_is_rejected(office: Office) -> None:
    world, clerk = office.world, office.clerk
    matter = open_matter(world, clerk)
    # The custodian may order a lead only to someone they head: not to a peer, not upward.
    forbid(world, "task.assigned", matter.subject, [clerk], task(office.chief, "lead"))
    signers = [
        clerk,  # the custodian, who is not the peer's superior
        office.deputy,  # a colleague without custody
        office.other_chief,  # heads a sibling department
        office.outsider,  # heads another agency
        office.registrar,
    ]
    forbid(world, "task.assigned", matter.subject, signers, task(office.peer, "lead"))
    assert custodian(world) == clerk.id
    world.ok("task.assigned", matter.subject, office.chief, task(office.peer, "lead"))


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
    matter = open_matter(office.world, office.clerk)
    office.world.ok("task.assigned", matter.subject, office[signer], task(office.peer, "support"))
    state = office.world.ledger.state.matters[MATTER_ID]
    assert office.peer.id in state.support
    assert state.custodian == office.clerk.id


def test_a_support_assignment_by_anyone_else_is_rejected(office: Office) -> None:
    world, clerk = office.world, office.clerk
    matter = open_matter(world, clerk)
    world.ok("task.assigned", matter.subject, clerk, task(office.peer, "support"))
    signers = [
        office.peer,  # a support assignee does not recruit more support
        office.deputy,
        office.other_chief,
        office.outsider,
        office.registrar,
    ]
    forbid(world, "task.assigned", matter.subject, signers, task(office.chief, "support"))
    world.ok("task.assigned", matter.subject, clerk, task(office.chief, "support"))


# --- handoffs --------------------------------------------------------------------------


def test_a_handoff_offered_by_anyone_but_the_custodian_is_rejected(office: Office) -> None:
    # Not even a superior of the custodian may offer the custodian's matter.
    world = office.world
    matter = open_matter(world, office.clerk)
    body = {"to": office.deputy.id, "reason": "Chuyển xử lý"}
    signers = [office.chief, office.director, office.peer, office.registrar]
    forbid(world, "handoff.offered", matter.subject, signers, body)
    world.ok("handoff.offered", matter.subject, office.clerk, body)


HANDOFF_REPLIES = {
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
def test_a_handoff_reply_signed_by_someone_else_is_rejected(
    office: Office, type_: str, rightful: str, others: list[str]
) -> None:
    # The clerk offers to the chief: a withdrawal is the offerer's, an acceptance or a
    # return the addressee's — not the other party's, nor the addressee's superior's.
    world = office.world
    matter = open_matter(world, office.clerk)
    offer = world.ok(
        "handoff.offered",
        matter.subject,
        office.clerk,
        {"to": office.chief.id, "reason": "Xin ý kiến"},
    )
    body = {"in_reply_to": offer["event_id"], **HANDOFF_REPLIES[type_]}
    forbid(world, type_, matter.subject, [office[name] for name in others], body)
    world.ok(type_, matter.subject, office[rightful], body)
    expected = office.chief.id if type_ == "handoff.accepted" else office.clerk.id
    assert custodian(world) == expected


# --- consultations ---------------------------------------------------------------------


def consultation(to: Actor) -> dict[str, Any]:
    return {"to": to.id, "question": "Xin ý kiến về ranh giới thửa đất"}


def test_the_custodian_and_a_support_assignee_may_request_a_consultation(
    office: Office,
) -> None:
    world = office.world
    matter = open_matter(world, office.clerk)
    world.ok("task.assigned", matter.subject, office.clerk, task(office.peer, "support"))
    world.ok(
        "consultation.requested", matter.subject, office.clerk, consultation(office.other_chief)
    )
    world.ok(
        "consultation.requested", matter.subject, office.peer, consultation(office.other_chief)
    )


def test_a_consultation_requested_by_anyone_else_is_rejected(office: Office) -> None:
    # A superior of the custodian is neither the custodian nor a support assignee.
    world = office.world
    matter = open_matter(world, office.clerk)
    signers = [office.chief, office.director, office.deputy, office.registrar]
    forbid(
        world, "consultation.requested", matter.subject, signers, consultation(office.other_chief)
    )
    world.ok(
        "consultation.requested", matter.subject, office.clerk, consultation(office.other_chief)
    )


def test_a_consultation_answered_by_someone_other_than_the_consultee_is_rejected(
    office: Office,
) -> None:
    # The clerk asks the head of the sibling department; the director heads that head.
    world = office.world
    matter = open_matter(world, office.clerk)
    request = world.ok(
        "consultation.requested", matter.subject, office.clerk, consultation(office.other_chief)
    )
    body = {"in_reply_to": request["event_id"], "position": "agree", "text": "Đồng ý"}
    signers = [office.clerk, office.director, office.peer]
    forbid(world, "consultation.answered", matter.subject, signers, body)
    world.ok("consultation.answered", matter.subject, office.other_chief, body)


# --- supplements, deadlines, decisions, closing ----------------------------------------


@pytest.mark.parametrize("type_", ["supplement.requested", "supplement.received"])
def test_a_supplement_step_signed_by_anyone_but_the_custodian_is_rejected(
    office: Office, type_: str
) -> None:
    world, clerk = office.world, office.clerk
    matter = open_matter(world, clerk)
    world.ok("task.assigned", matter.subject, clerk, task(office.peer, "support"))
    request = {"items": ["Bản sao sổ hộ khẩu"]}
    if type_ == "supplement.received":
        world.ok("supplement.requested", matter.subject, clerk, request)
    body = request if type_ == "supplement.requested" else {}
    signers = [office.chief, office.director, office.peer, office.registrar]
    forbid(world, type_, matter.subject, signers, body)
    world.ok(type_, matter.subject, clerk, body)


def extension(world: World) -> dict[str, Any]:
    due = instant(world.clock + timedelta(days=10))
    return {"new_due_at": due, "reason": "Cần xác minh thực địa"}


@pytest.mark.parametrize(
    "signer",
    [
        pytest.param("clerk", id="the-custodian"),
        pytest.param("chief", id="the-head-of-the-custodians-unit"),
        pytest.param("director", id="the-head-of-an-ancestor-unit"),
    ],
)
def test_a_deadline_is_extended_by_the_custodian_or_a_superior(office: Office, signer: str) -> None:
    matter = open_matter(office.world, office.clerk)
    office.world.ok("deadline.extended", matter.subject, office[signer], extension(office.world))
    assert office.world.ledger.state.matters[MATTER_ID].extensions == 1


def test_a_deadline_extended_by_anyone_else_is_rejected(office: Office) -> None:
    # An agency head who is not the custodian's superior may not extend either.
    world, clerk = office.world, office.clerk
    matter = open_matter(world, clerk)
    world.ok("task.assigned", matter.subject, clerk, task(office.peer, "support"))
    signers = [office.peer, office.other_chief, office.office_chief, office.registrar]
    forbid(world, "deadline.extended", matter.subject, signers, extension(world))
    world.ok("deadline.extended", matter.subject, clerk, extension(world))


@pytest.mark.parametrize(
    "signer",
    [
        pytest.param("clerk", id="the-custodian"),
        pytest.param("chief", id="the-head-of-the-custodians-unit"),
        pytest.param("director", id="the-head-of-an-ancestor-unit"),
    ],
)
def test_a_decision_is_recorded_by_the_custodian_or_a_superior(office: Office, signer: str) -> None:
    matter = open_matter(office.world, office.clerk)
    office.world.ok("decision.recorded", matter.subject, office[signer], decision())


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
    matter = open_matter(world, office.clerk)
    delegation_id = world.delegate(office[grantor], office.deputy, kind)
    capacity = "on_behalf" if kind == "ky_thay" else "delegated"
    world.ok("decision.recorded", matter.subject, office.deputy, decision(capacity, delegation_id))


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
    matter = open_matter(world, office.clerk)
    fields = {k: v for k, v in delegation.items() if k != "revoked"}
    granted = world.ok(
        "delegation.granted",
        f"official:{office[grantor].id}",
        office[grantor],
        delegation_body(office.deputy, **fields),
    )
    if delegation.get("revoked"):
        world.ok(
            "delegation.revoked",
            f"official:{office[grantor].id}",
            office[grantor],
            {"delegation_id": granted["event_id"]},
        )
    capacity = "on_behalf" if fields["kind"] == "ky_thay" else "delegated"
    body = decision(capacity, granted["event_id"])
    forbid(world, "decision.recorded", matter.subject, [office.deputy], body)
    # The claims in the body only raise flags: the custodian gets the same body accepted.
    world.ok("decision.recorded", matter.subject, office.clerk, body)


def test_a_decision_by_anyone_else_is_rejected(office: Office) -> None:
    # An agency head who is not the custodian's superior may not decide the matter.
    world = office.world
    matter = open_matter(world, office.clerk)
    signers = [
        office.peer,
        office.other_chief,
        office.office_chief,
        office.outsider,
        office.registrar,
    ]
    forbid(world, "decision.recorded", matter.subject, signers, decision())
    world.ok("decision.recorded", matter.subject, office.clerk, decision())


def test_a_matter_closed_by_anyone_but_the_custodian_is_rejected(office: Office) -> None:
    world = office.world
    matter = open_matter(world, office.clerk)
    signers = [office.chief, office.director, office.peer, office.office_chief, office.registrar]
    forbid(world, "matter.closed", matter.subject, signers, {"result": "completed"})
    world.ok("matter.closed", matter.subject, office.clerk, {"result": "completed"})
    assert world.ledger.state.matters[MATTER_ID].closed


# --- corrections -----------------------------------------------------------------------


def correction(target: str, title: str = "Cấp đổi giấy chứng nhận") -> dict[str, Any]:
    return {"target_event_id": target, "reason": "Sai tên thủ tục", "corrections": {"title": title}}


def led_by_peer(office: Office) -> Matter:
    """The clerk opens the matter; the chief then makes the peer its custodian."""
    matter = open_matter(office.world, office.clerk)
    office.world.ok("task.assigned", matter.subject, office.chief, task(office.peer, "lead"))
    return matter


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
    matter = led_by_peer(office)
    office.world.ok(
        "correction.recorded", matter.subject, office[signer], correction(matter.opened)
    )


def test_a_correction_by_anyone_else_is_rejected(office: Office) -> None:
    # The current custodian (the peer) did not write the opening; an agency head who is
    # not the author's superior may not correct it either.
    world = office.world
    matter = led_by_peer(office)
    signers = [
        office.peer,
        office.deputy,
        office.other_chief,
        office.office_chief,
        office.registrar,
    ]
    forbid(world, "correction.recorded", matter.subject, signers, correction(matter.opened))
    world.ok("correction.recorded", matter.subject, office.clerk, correction(matter.opened))


def test_after_closing_the_author_may_still_correct_but_the_closer_may_not(office: Office) -> None:
    world = office.world
    matter = led_by_peer(office)
    world.ok("matter.closed", matter.subject, office.peer, {"result": "completed"})
    forbid(world, "correction.recorded", matter.subject, [office.peer], correction(matter.opened))
    world.ok("correction.recorded", matter.subject, office.clerk, correction(matter.opened))


def test_a_correction_of_a_correction_belongs_to_the_corrections_author(office: Office) -> None:
    # The chief corrects the clerk's opening; that correction is the chief's, so the clerk
    # (the original author, below the chief) may not correct it, but the director may.
    world = office.world
    matter = led_by_peer(office)
    chiefs = world.ok(
        "correction.recorded", matter.subject, office.chief, correction(matter.opened)
    )
    body = {
        "target_event_id": chiefs["event_id"],
        "reason": "Ghi rõ căn cứ",
        "corrections": {"reason": "Sai tên thủ tục theo hồ sơ gốc"},
    }
    forbid(world, "correction.recorded", matter.subject, [office.clerk, office.peer], body)
    world.ok("correction.recorded", matter.subject, office.director, body)
    world.ok("correction.recorded", matter.subject, office.chief, body)
