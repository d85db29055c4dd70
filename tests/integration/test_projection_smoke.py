"""A first pass through the read side: a handoff moves custody and every read says so."""

from __future__ import annotations

from tests.world import World


def test_an_accepted_handoff_moves_custody_and_shows_in_both_timelines(world: World) -> None:
    agency = world.agency("so-tnmt")
    phong = world.unit(agency, "phong-dat")
    a = world.official("chuyen.vien.a", agency, phong)
    b = world.official("chuyen.vien.b", agency, phong)
    subject = world.open_matter("H10-0001", a, agency)
    offer = world.ok("handoff.offered", subject, a, {"to": b.id, "reason": "đúng chuyên môn"})
    world.ok("handoff.accepted", subject, b, {"in_reply_to": offer["event_id"]})

    matter = world.read("/v1/matters/H10-0001")
    assert matter["custodian"] == b.id
    assert matter["status"] == "open"
    custody = world.read("/v1/matters/H10-0001/custody")
    assert [(i["official_id"], i["role"]) for i in custody["intervals"]] == [
        (a.id, "lead"),
        (b.id, "lead"),
    ]
    assert custody["intervals"][0]["ended_by"] == custody["intervals"][1]["started_by"]
    timeline = world.read(f"/v1/officials/{b.id}/timeline")
    assert [(r["type"], r["role"]) for r in timeline["rows"]] == [
        ("handoff.offered", "addressee"),
        ("handoff.accepted", "actor"),
    ]
    indicators = world.read(f"/v1/officials/{a.id}/indicators")
    assert set(indicators["indicators"]) >= {"ping_pong", "overdue"}
