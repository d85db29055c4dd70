"""What a statement did to custody is stated once, by the state machine (issue 12.2).

``LedgerState.admit`` answers with an ``Assessment`` whose ``custody`` says whom lead
custody moved to, who became a support assignee, whether the closing ended every interval,
and which offer is pending afterwards. The custody view, the matter analysis, the
indicators and the evidence read that; these tests hold what it says, in memory. And the
time windows a ledger judges by are those its genesis states (issue 12.1).
"""

from __future__ import annotations

from datetime import timedelta

from ledger.state import CustodyChange
from tests.unit.rules_world import Office, RulesWorld, matter_body


def test_an_opening_gives_lead_custody_to_the_opener() -> None:
    office = Office()
    clerk = office.clerk
    assessment = office.world.ok("matter.opened", "matter:M1", clerk, matter_body())
    assert assessment.custody == CustodyChange(lead_to=clerk.id)


def test_a_lead_assignment_moves_custody_and_cancels_a_pending_offer() -> None:
    office = Office()
    world, clerk, chief, peer = office.world, office.clerk, office.chief, office.peer
    matter = world.open_matter("M1", clerk)
    offer = world.offer(matter, clerk, peer)
    assert world.consult(matter, clerk, chief)  # a consultation leaves the offer pending
    consulted = world.state.matters["M1"].pending_offer
    assert consulted == offer

    assessment = world.assign(matter, chief, peer, "lead")

    assert assessment.custody == CustodyChange(lead_to=peer.id, pending_offer=None)
    assert world.state.matters["M1"].offers[offer].pending is False


def test_a_lead_assignment_to_the_holder_moves_nothing() -> None:
    office = Office()
    world, clerk, chief = office.world, office.clerk, office.chief
    matter = world.open_matter("M1", chief)
    world.assign(matter, chief, clerk, "lead")
    again = world.assign(matter, chief, clerk, "lead")
    assert again.custody == CustodyChange()


def test_a_support_assignment_adds_a_support_role_once() -> None:
    office = Office()
    world, clerk, peer = office.world, office.clerk, office.peer
    chief = office.chief
    matter = world.open_matter("M1", chief)
    first = world.assign(matter, chief, peer, "support")
    second = world.assign(matter, chief, peer, "support")
    assert first.custody == CustodyChange(support_to=peer.id)
    assert second.custody == CustodyChange()
    assert world.custodian(matter) == chief.id != clerk.id


def test_an_offer_is_pending_until_answered_and_only_an_acceptance_moves_custody() -> None:
    office = Office()
    world, clerk, peer = office.world, office.clerk, office.peer
    matter = world.open_matter("M1", clerk)

    returned_offer = world.offer(matter, clerk, peer)
    assert world.state.matters["M1"].pending_offer == returned_offer
    returned = world.ok(
        "handoff.returned",
        matter,
        peer,
        {"in_reply_to": returned_offer, "reason": "not_competent", "note": "Không đúng"},
    )
    assert returned.custody == CustodyChange()

    withdrawn_offer = world.offer(matter, clerk, peer)
    withdrawn = world.ok("handoff.withdrawn", matter, clerk, {"in_reply_to": withdrawn_offer})
    assert withdrawn.custody == CustodyChange()

    accepted_offer = world.offer(matter, clerk, peer)
    offered = world.state.matters["M1"].pending_offer
    accepted = world.ok("handoff.accepted", matter, peer, {"in_reply_to": accepted_offer})
    assert offered == accepted_offer
    assert accepted.custody == CustodyChange(lead_to=peer.id)
    assert world.custodian(matter) == peer.id


def test_the_statement_after_an_offer_carries_it_as_pending() -> None:
    office = Office()
    world, clerk, peer, chief = office.world, office.clerk, office.peer, office.chief
    matter = world.open_matter("M1", clerk)
    offer = world.offer(matter, clerk, peer)
    assessment = world.ok(
        "consultation.requested", matter, clerk, {"to": chief.id, "question": "Xin ý kiến"}
    )
    assert assessment.custody == CustodyChange(pending_offer=offer)


def test_the_closing_ends_every_interval_and_the_pending_offer() -> None:
    office = Office()
    world, clerk, peer = office.world, office.clerk, office.peer
    matter = world.open_matter("M1", clerk)
    world.offer(matter, clerk, peer)
    closing = world.ok("matter.closed", matter, clerk, {"result": "completed"})
    assert closing.custody == CustodyChange(closes=True, pending_offer=None)


def test_registry_statements_say_nothing_about_custody() -> None:
    office = Office()
    assert (
        office.world.ok(
            "unit.registered",
            "agency:H10",
            office.registrar,
            {
                "unit_id": "van-thu",
                "name": "Văn thư",
                "parent_unit": "lanh-dao",
            },
        ).custody
        is None
    )


# --- time windows from the genesis ---------------------------------------------------------


def test_a_genesis_without_time_rules_judges_by_the_protocol_constants() -> None:
    office = Office(RulesWorld())
    world, clerk = office.world, office.clerk
    matter = world.open_matter("M1", clerk)
    # 10 minutes before the previous statement: within the constant 15 minutes.
    world.ok(
        "supplement.requested", matter, clerk, {"items": ["Bản sao"]}, occurred_at=world.ago(10)
    )
    late = world.ok(
        "supplement.received",
        matter,
        clerk,
        {},
        recorded_at=(world.clock + timedelta(hours=23)).astimezone(),
    )
    assert "recorded_late" not in late.flags


def test_a_genesis_stating_time_rules_is_the_only_source_of_the_windows() -> None:
    rules = {"future_skew_seconds": 60, "out_of_order_seconds": 120, "recorded_late_seconds": 3600}
    office = Office(RulesWorld(time_rules=rules))
    world, clerk = office.world, office.clerk
    assert world.state.time_rules.as_json() == rules
    matter = world.open_matter("M1", clerk)
    world.reject(
        "supplement.requested",
        matter,
        clerk,
        {"items": ["Bản sao"]},
        "out-of-order",
        occurred_at=world.ago(10),
    )
    world.reject(
        "supplement.requested",
        matter,
        clerk,
        {"items": ["Bản sao"]},
        "clock-skew",
        occurred_at=world.ahead(3),
        recorded_at=world.next_recorded_at(),
    )
    late = world.ok(
        "supplement.requested",
        matter,
        clerk,
        {"items": ["Bản sao"]},
        recorded_at=(world.clock + timedelta(hours=2)).astimezone(),
    )
    assert "recorded_late" in late.flags
