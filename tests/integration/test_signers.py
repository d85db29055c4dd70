"""Who may sign, over HTTP: a refused signer answers 403 ``not-permitted`` and leaves the
log unchanged, whichever agency's writer token carries the statement.

Every rule of the "signed by" and "who may sign" columns of DESIGN §6 (each permitted
signer and the refused ones) is tested in memory in tests/unit/test_rules_trust_chain.py
and tests/unit/test_rules_matters.py; here the refusal travels the whole way.

The people live in agency H10 (``Office``): the director heads the leadership unit
``lanh-dao``; the chief heads the land department ``phong-dat``, where the clerk, a peer
and a deputy work. Others are built on first use: the head of a sibling department, the
head of a second root unit ``van-phong`` (an agency head who is nobody's superior in
``phong-dat``), and the head of agency X10.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import pytest

from tests.world import PROCEDURE, Actor, AgencyHandle, World

MATTER_ID = "H10.15-260302-0001"


class Office:
    """Agency H10 and the people of the tests; each person is registered on first use."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.agency = world.agency("H10")
        self.dept = world.unit(self.agency, "phong-dat")

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

    @cached_property
    def outsider(self) -> Actor:
        """The head of X10's leadership unit: an agency head, of another agency."""
        return self.world.official("ngoai.vi", self.outside, self.outside.root_unit, head=True)

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


def matter_body(agency_id: str = "H10") -> dict[str, Any]:
    return {
        "title": "Cấp giấy chứng nhận quyền sử dụng đất",
        "procedure_code": PROCEDURE,
        "agency_id": agency_id,
        "deadline_working_days": 5,
        "applicant_ref": "HS-0001",
    }


DECISION = {
    "outcome": "approved",
    "summary": "Đủ điều kiện cấp giấy chứng nhận",
    "legal_basis": "Luật Đất đai 2024",
    "capacity": "own",
}


def open_matter(world: World, opener: Actor) -> str:
    subject = f"matter:{MATTER_ID}"
    world.ok("matter.opened", subject, opener, matter_body())
    return subject


# --- the refusal over HTTP -------------------------------------------------------------


def test_a_handoff_offered_by_anyone_but_the_custodian_is_rejected(office: Office) -> None:
    # Not even a superior of the custodian may offer the custodian's matter.
    world = office.world
    matter = open_matter(world, office.clerk)
    body = {"to": office.deputy.id, "reason": "Chuyển xử lý"}
    signers = [office.chief, office.director, office.peer, office.registrar]
    forbid(world, "handoff.offered", matter, signers, body)
    world.ok("handoff.offered", matter, office.clerk, body)


def test_a_decision_by_anyone_else_is_rejected(office: Office) -> None:
    # An agency head who is not the custodian's superior may not decide the matter; the head
    # of X10 sends with X10's writer token, the registrar with H10's.
    world = office.world
    matter = open_matter(world, office.clerk)
    signers = [
        office.peer,
        office.other_chief,
        office.office_chief,
        office.outsider,
        office.registrar,
    ]
    forbid(world, "decision.recorded", matter, signers, DECISION)
    world.ok("decision.recorded", matter, office.clerk, DECISION)
