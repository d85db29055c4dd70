from tests.world import World


def test_a_registered_official_opens_a_matter_and_hands_it_up(world: World) -> None:
    so = world.agency("H10")
    giam_doc = world.official("giam.doc", so, head=True)
    phong = world.unit(so, "phong-dat")
    truong = world.official("truong.phong", so, phong, head=True)
    cv = world.official("chuyen.vien", so, phong)
    matter = world.open_matter("H10.15-260302-0001", cv, so)
    offer = world.ok("handoff.offered", matter, cv, {"to": truong.id, "reason": "Xin ý kiến"})
    world.ok("handoff.accepted", matter, truong, {"in_reply_to": offer["event_id"]})
    assert world.ledger.state.matters["H10.15-260302-0001"].custodian == truong.id
    assert giam_doc.id in world.ledger.state.registry.officials
