"""``retroactive_registry_change`` (DESIGN §4, §7): an entry recorded later never changes a
verdict already given, but the read models say when a registry fact recorded after an
official's act took effect at or before it — a competence granted "as of last week", a
key bound with an earlier ``valid_from``. The act keeps its verdict; its timeline row
carries the flag, and acts the change did not reach do not."""

from __future__ import annotations

from datetime import timedelta

from ledger.crypto import SigningKey
from tests.world import PROCEDURE, World, instant


def _flags_by_type(world: World, official_id: str) -> dict[str, list[str]]:
    rows = world.read(f"/v1/officials/{official_id}/timeline", limit=100)["rows"]
    return {r["type"]: r["flags"] for r in rows if r["role"] == "actor"}


def test_a_competence_recorded_later_but_effective_before_an_act_flags_that_act(
    world: World,
) -> None:
    agency = world.agency("so-tnmt")
    clerk = world.official("chuyen.vien.a", agency)
    before_act = world.clock + timedelta(seconds=30)
    world.open_matter("H10-0001", clerk, agency)  # the act, at the next minute
    world.ok(
        "supplement.requested",
        "matter:H10-0001",
        clerk,
        {"items": ["Bản sao"]},
    )
    # Recorded now, effective before the opening: a grant dated back.
    world.grant(clerk, agency, PROCEDURE, occurred_at=instant(before_act))

    flags = _flags_by_type(world, clerk.id)
    assert "retroactive_registry_change" in flags["matter.opened"]
    assert "retroactive_registry_change" in flags["supplement.requested"]
    # The grant itself is the registrar's act, not the clerk's.
    assert "competence.granted" not in flags


def test_a_key_bound_later_with_an_earlier_valid_from_flags_the_acts_it_reaches_only(
    world: World,
) -> None:
    agency = world.agency("so-tnmt")
    clerk = world.official("chuyen.vien.a", agency)
    world.open_matter("H10-0002", clerk, agency)
    later = world.clock + timedelta(minutes=30)
    world.clock = later
    world.ok("supplement.requested", "matter:H10-0002", clerk, {"items": ["Bản sao"]})
    # A second key, recorded now, valid from between the two acts: it reaches the second.
    between = later - timedelta(minutes=10)
    world.bind_key(clerk, agency, SigningKey.generate(), valid_from=instant(between))

    flags = _flags_by_type(world, clerk.id)
    assert "retroactive_registry_change" in flags["supplement.requested"]
    assert "retroactive_registry_change" not in flags["matter.opened"]


def test_a_registry_change_recorded_before_an_act_flags_nothing(world: World) -> None:
    agency = world.agency("so-tnmt")
    clerk = world.official("chuyen.vien.a", agency)
    world.grant(clerk, agency, PROCEDURE)
    world.open_matter("H10-0003", clerk, agency)
    assert "retroactive_registry_change" not in _flags_by_type(world, clerk.id)["matter.opened"]
