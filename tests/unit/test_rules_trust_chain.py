"""The trust chain's rules (DESIGN §6 "Trust chain"), in memory: who signs each registry
statement, and the registry's own refusals (keys registered once, one id one person,
known agencies and units, roots, registrars, delegations).

Each refused signer holds a valid key of its own and sends a body that a permitted signer
then gets accepted on the same state, so a refusal can only be about who signed.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.crypto import SigningKey
from ledger.errors import InvalidStatement
from ledger.note import format_vkey
from ledger.replay import verify_signature
from tests.unit.rules_world import (
    Office,
    RulesWorld,
    competence_body,
    delegation_body,
    official_body,
    posting_body,
    registrar_body,
    root_body,
)
from tests.world import ORIGIN, Actor


@pytest.fixture
def office() -> Office:
    return Office()


def on_official(actor: Actor) -> str:
    return f"official:{actor.id}"


# --- ledger.genesis ------------------------------------------------------------------------


def two_roots() -> tuple[RulesWorld, Actor, Actor]:
    world = RulesWorld(genesis=False)
    return world, world.root, Actor("bo-noi-vu", SigningKey.generate())


def test_a_genesis_self_signed_by_the_first_root_is_admitted() -> None:
    world, first, second = two_roots()
    world.ok("ledger.genesis", "ledger", first, world.genesis_body(first, second))
    assert set(world.state.registry.roots) == {first.id, second.id}
    assert world.state.heads["ledger"].seq == 0


def test_a_genesis_signed_by_a_root_other_than_the_first_is_rejected() -> None:
    # Both roots are named in the genesis, so the second one's key is known and valid; only
    # the rule "self-signed by the first root" can refuse it.
    world, first, second = two_roots()
    body = world.genesis_body(first, second)
    world.reject("ledger.genesis", "ledger", second, body, "not-permitted")
    assert world.state.registry.roots == {}


def test_a_genesis_signed_with_a_key_it_does_not_name_is_an_unknown_key() -> None:
    world, first, second = two_roots()
    body = world.genesis_body(first)
    world.reject("ledger.genesis", "ledger", first, body, "unknown-key", key=second.key)


def test_a_genesis_must_be_the_logs_first_entry() -> None:
    world, first, _ = two_roots()
    env = world.envelope("ledger.genesis", "ledger", first, world.genesis_body(first))
    recorded_at = world.next_recorded_at()
    with pytest.raises(InvalidStatement, match="first entry"):
        world.state.admit(env, index=1, recorded_at=recorded_at, check_signature=verify_signature)
    assert world.state.heads == {}


def test_a_genesis_whose_log_key_is_not_named_for_its_origin_is_rejected() -> None:
    world, first, _ = two_roots()
    body = world.genesis_body(first)
    body["log_vkey"] = format_vkey("another.origin", world.log_key.public_bytes)
    assert body["origin"] == ORIGIN
    world.reject("ledger.genesis", "ledger", first, body, "invalid-statement")


@pytest.mark.parametrize("same", ["id", "key"])
def test_a_genesis_naming_two_roots_with_one_id_or_one_key_is_rejected(same: str) -> None:
    world, first, second = two_roots()
    twin = Actor(first.id, second.key) if same == "id" else Actor(second.id, first.key)
    body = world.genesis_body(first, twin)
    world.reject("ledger.genesis", "ledger", first, body, "invalid-statement")


# --- roots ---------------------------------------------------------------------------------


def test_a_current_root_adds_a_root_who_can_then_add_another(office: Office) -> None:
    third = office.world.add_root("chinh-phu", by=office.second_root)
    assert {office.second_root.id, third.id} <= set(office.world.state.registry.roots)


def test_a_root_added_by_a_registrar_or_an_official_is_rejected(office: Office) -> None:
    body = root_body(Actor("chinh-phu", SigningKey.generate()))
    office.world.forbid("root.added", "ledger", [office.registrar, office.director], body)
    office.world.ok("root.added", "ledger", office.root, body)


def test_a_root_removes_another_root(office: Office) -> None:
    second = office.second_root
    office.world.ok("root.removed", "ledger", office.root, {"id": second.id})
    assert office.world.state.registry.roots[second.id].removed


def test_no_root_removes_itself(office: Office) -> None:
    # Two current roots, so neither would be the last one: only self-removal is at stake.
    first, second = office.root, office.second_root
    office.world.forbid("root.removed", "ledger", [first], {"id": first.id})
    office.world.forbid("root.removed", "ledger", [second], {"id": second.id})
    office.world.ok("root.removed", "ledger", first, {"id": second.id})


def test_the_last_root_cannot_be_removed(office: Office) -> None:
    # With one current root left, only that root could sign its own removal.
    world = office.world
    world.ok("root.removed", "ledger", office.root, {"id": office.second_root.id})
    world.reject("root.removed", "ledger", office.root, {"id": office.root.id}, "not-permitted")
    assert not world.state.registry.roots[office.root.id].removed


def test_a_root_removed_by_a_registrar_or_an_official_is_rejected(office: Office) -> None:
    body = {"id": office.second_root.id}
    office.world.forbid("root.removed", "ledger", [office.registrar, office.director], body)
    office.world.ok("root.removed", "ledger", office.root, body)


@pytest.mark.parametrize("who", ["an-unknown-id", "a-removed-root", "an-official"])
def test_removing_someone_who_is_not_a_current_root_is_an_invalid_statement(
    office: Office, who: str
) -> None:
    world = office.world
    if who == "an-unknown-id":
        target = "khong.ai"
    elif who == "a-removed-root":
        target = office.second_root.id
        world.ok("root.removed", "ledger", office.root, {"id": target})
    else:
        target = office.director.id
    world.reject("root.removed", "ledger", office.root, {"id": target}, "invalid-statement")


# --- agencies ------------------------------------------------------------------------------

COMMUNE = {"name": "UBND xã Tân Lập", "level": "commune", "parent_agency": "H10"}


@pytest.mark.parametrize("signer", ["root", "second_root"])
def test_a_root_registers_an_agency(office: Office, signer: str) -> None:
    office.world.ok("agency.registered", "agency:T30", office[signer], COMMUNE)
    assert "T30" in office.world.state.registry.agencies


def test_an_agency_registered_by_a_registrar_or_an_official_is_rejected(office: Office) -> None:
    signers = [office.registrar, office.director]
    office.world.forbid("agency.registered", "agency:T30", signers, COMMUNE)
    office.world.ok("agency.registered", "agency:T30", office.root, COMMUNE)


def test_an_agency_under_an_unknown_parent_agency_is_an_invalid_statement(office: Office) -> None:
    body = {**COMMUNE, "parent_agency": "Z99"}
    office.world.reject("agency.registered", "agency:T30", office.root, body, "invalid-statement")


# --- registrars ----------------------------------------------------------------------------


def test_a_root_appoints_and_dismisses_a_registrar(office: Office) -> None:
    world = office.world
    world.ok("registrar.appointed", "agency:H10", office.second_root, registrar_body("reg2.H10"))
    world.ok("registrar.dismissed", "agency:H10", office.root, {"official_id": "reg2.H10"})
    assert world.state.registry.agencies["H10"].registrars[-1].dismissed_at is not None


def test_a_registrar_appointed_by_anyone_but_a_root_is_rejected(office: Office) -> None:
    # Not even the agency's own registrar may appoint a colleague.
    body = registrar_body("reg2.H10")
    signers = [office.registrar, office.other_registrar, office.director]
    office.world.forbid("registrar.appointed", "agency:H10", signers, body)
    office.world.ok("registrar.appointed", "agency:H10", office.root, body)


def test_a_registrar_dismissed_by_anyone_but_a_root_is_rejected(office: Office) -> None:
    body = {"official_id": office.registrar.id}
    signers = [office.registrar, office.other_registrar, office.director]
    office.world.forbid("registrar.dismissed", "agency:H10", signers, body)
    office.world.ok("registrar.dismissed", "agency:H10", office.root, body)


def test_a_registrar_serving_one_agency_cannot_be_appointed_to_another(office: Office) -> None:
    world = office.world
    registrar = office.registrar
    outside = office.outside
    body = registrar_body(registrar.id)
    error = world.reject(
        "registrar.appointed", "agency:X10", office.root, body, "invalid-statement"
    )
    assert "already registrar of H10" in error.detail
    # Once dismissed in H10, the same person may serve X10.
    world.ok("registrar.dismissed", "agency:H10", office.root, {"official_id": registrar.id})
    world.ok("registrar.appointed", f"agency:{outside.id}", office.root, body)


@pytest.mark.parametrize(
    "who",
    ["other_registrar", "nobody", "director"],
    ids=["another-agencys", "nobody", "an-official"],
)
def test_dismissing_someone_who_is_not_a_serving_registrar_of_the_agency_is_invalid(
    office: Office, who: str
) -> None:
    body = {"official_id": "khong.ai" if who == "nobody" else office[who].id}
    office.world.reject("registrar.dismissed", "agency:H10", office.root, body, "invalid-statement")


def test_after_a_dismissal_as_compromised_nothing_the_registrar_signed_is_accepted(
    office: Office,
) -> None:
    world, registrar = office.world, office.registrar
    signed = world.at()
    body = {"official_id": registrar.id, "reason": "compromised"}
    world.ok("registrar.dismissed", "agency:H10", office.root, body)
    world.reject(
        "official.registered",
        "official:moi",
        registrar,
        official_body("H10"),
        "key-not-valid",
        occurred_at=signed,
    )


# --- units ---------------------------------------------------------------------------------

UNIT = {"unit_id": "phong-moi", "name": "Phòng mới", "parent_unit": "lanh-dao"}


def test_a_unit_registered_by_anyone_but_the_agencys_registrar_is_rejected(
    office: Office,
) -> None:
    signers = [office.other_registrar, office.root, office.director]
    office.world.forbid("unit.registered", "agency:H10", signers, UNIT)
    office.world.ok("unit.registered", "agency:H10", office.registrar, UNIT)


def test_a_unit_registered_twice_is_an_invalid_statement(office: Office) -> None:
    world = office.world
    world.ok("unit.registered", "agency:H10", office.registrar, UNIT)
    world.reject("unit.registered", "agency:H10", office.registrar, UNIT, "invalid-statement")


def test_a_unit_under_an_unknown_parent_unit_is_an_invalid_statement(office: Office) -> None:
    body = {**UNIT, "parent_unit": "phong-khong-co"}
    office.world.reject(
        "unit.registered", "agency:H10", office.registrar, body, "invalid-statement"
    )


# --- officials -----------------------------------------------------------------------------


def test_an_official_registered_by_anyone_but_the_registrar_of_its_agency_is_rejected(
    office: Office,
) -> None:
    body = official_body("H10", "phong-dat")
    signers = [office.other_registrar, office.root, office.director]
    office.world.forbid("official.registered", "official:moi", signers, body)
    office.world.ok("official.registered", "official:moi", office.registrar, body)


@pytest.mark.parametrize(
    ("agency_id", "unit_id"),
    [("Z99", "lanh-dao"), ("H10", "phong-khong-co"), ("H10", "van-phong-X10")],
    ids=["an-unknown-agency", "an-unknown-unit", "a-unit-of-another-agency"],
)
def test_an_official_registered_in_an_unknown_agency_or_unit_is_an_invalid_statement(
    office: Office, agency_id: str, unit_id: str
) -> None:
    if unit_id == "van-phong-X10":
        office.world.unit(office.outside, unit_id)
    body = official_body(agency_id, unit_id)
    office.world.reject(
        "official.registered", "official:moi", office.registrar, body, "invalid-statement"
    )


def test_an_official_moved_to_an_unknown_agency_or_unit_is_an_invalid_statement(
    office: Office,
) -> None:
    world, subject = office.world, on_official(office.clerk)
    for body in (posting_body("Z99"), posting_body("H10", "phong-khong-co")):
        world.reject("official.moved", subject, office.registrar, body, "invalid-statement")


@pytest.mark.parametrize(
    ("type_", "subject", "signer", "person"),
    [
        ("official.registered", "official:{person}", "registrar", "registrar"),
        ("official.registered", "official:{person}", "registrar", "root"),
        ("registrar.appointed", "agency:H10", "root", "director"),
        ("registrar.appointed", "agency:H10", "root", "root"),
        ("root.added", "ledger", "root", "director"),
        ("root.added", "ledger", "root", "other_registrar"),
    ],
    ids=[
        "an-official-named-as-a-registrar",
        "an-official-named-as-a-root",
        "a-registrar-named-as-an-official",
        "a-registrar-named-as-a-root",
        "a-root-named-as-an-official",
        "a-root-named-as-a-registrar",
    ],
)
def test_an_id_that_already_names_someone_in_another_role_is_refused(
    office: Office, type_: str, subject: str, signer: str, person: str
) -> None:
    # One namespace for all people (DESIGN §3): the new entry brings a fresh key.
    person_id = office[person].id
    fresh = Actor(person_id, SigningKey.generate())
    body: dict[str, Any] = {
        "official.registered": official_body("H10"),
        "registrar.appointed": registrar_body(person_id),
        "root.added": root_body(fresh),
    }[type_]
    office.world.reject(
        type_, subject.format(person=person_id), office[signer], body, "invalid-statement"
    )


# --- official.moved and official.released --------------------------------------------------


def test_a_move_within_one_agency_is_signed_by_its_registrar(office: Office) -> None:
    world, clerk = office.world, office.clerk
    body = posting_body("H10", "lanh-dao")
    world.forbid("official.moved", on_official(clerk), [clerk, office.other_registrar], body)
    world.ok("official.moved", on_official(clerk), office.registrar, body)
    posting = world.state.registry.posting(clerk.id, world.clock)
    assert posting is not None
    assert posting.unit_id == "lanh-dao"


def test_a_move_to_another_agency_is_not_signed_by_the_source_registrar_or_the_official(
    office: Office,
) -> None:
    clerk = office.clerk
    body = posting_body(office.outside.id)
    office.world.forbid("official.moved", on_official(clerk), [office.registrar, clerk], body)


def test_a_release_lets_the_destination_registrar_record_the_move(office: Office) -> None:
    world, clerk = office.world, office.clerk
    release = {"to_agency_id": office.outside.id, "instrument_no": "25/QĐ-SNV"}
    world.forbid(
        "official.released",
        on_official(clerk),
        [office.other_registrar, clerk, office.chief],
        release,
    )
    world.ok("official.released", on_official(clerk), office.registrar, release)
    world.ok("official.moved", on_official(clerk), office.other_registrar, posting_body("X10"))


def test_a_move_across_agencies_without_a_release_is_refused_to_the_destination_registrar(
    office: Office,
) -> None:
    world, clerk = office.world, office.clerk
    body = posting_body(office.outside.id)
    world.forbid("official.moved", on_official(clerk), [office.other_registrar], body)


def test_a_root_may_move_an_official_across_agencies(office: Office) -> None:
    body = posting_body(office.outside.id)
    office.world.ok("official.moved", on_official(office.clerk), office.root, body)


# --- keys ----------------------------------------------------------------------------------


def test_a_key_bound_by_anyone_but_the_registrar_of_the_officials_agency_is_rejected(
    office: Office,
) -> None:
    clerk = office.clerk
    body = {"public_key": SigningKey.generate().public_b64, "valid_from": "2020-01-01T00:00:00Z"}
    signers = [office.other_registrar, clerk, office.chief, office.root]
    office.world.forbid("key.bound", on_official(clerk), signers, body)
    office.world.ok("key.bound", on_official(clerk), office.registrar, body)


def test_after_a_move_only_the_new_agencys_registrar_binds_keys(office: Office) -> None:
    # "The official's agency" is the one they are posted to at occurred_at.
    world, clerk = office.world, office.clerk
    world.transfer(clerk, office.agency, office.outside)
    body = {"public_key": SigningKey.generate().public_b64, "valid_from": "2020-01-01T00:00:00Z"}
    world.forbid("key.bound", on_official(clerk), [office.registrar], body)
    world.ok("key.bound", on_official(clerk), office.other_registrar, body)


@pytest.mark.parametrize("holder", ["root", "registrar", "chief"])
@pytest.mark.parametrize("type_", ["key.bound", "registrar.appointed", "root.added"])
def test_a_key_already_registered_to_anyone_is_refused(
    office: Office, type_: str, holder: str
) -> None:
    # Every key is registered once: for an official, a registrar or a root.
    reused = office[holder].key
    newcomer = Actor("nguoi.moi", reused)
    subject, signer, body = {
        "key.bound": (
            on_official(office.clerk),
            office.registrar,
            {"public_key": reused.public_b64, "valid_from": "2020-01-01T00:00:00Z"},
        ),
        "registrar.appointed": ("agency:H10", office.root, registrar_body(newcomer.id, reused)),
        "root.added": ("ledger", office.root, root_body(newcomer)),
    }[type_]
    error = office.world.reject(type_, subject, signer, body, "invalid-statement")
    assert reused.key_id in error.detail


def spare_key(office: Office) -> dict[str, Any]:
    """Bind a second key to the clerk; the body retiring it tomorrow."""
    spare = SigningKey.generate()
    office.world.bind_key(office.clerk, office.agency, spare)
    return {
        "key_id": spare.key_id,
        "effective_at": office.world.ahead(24 * 60),
        "reason": "retired",
    }


@pytest.mark.parametrize("signer", ["registrar", "clerk"], ids=["the-registrar", "the-official"])
def test_a_key_is_revoked_by_the_registrar_or_the_official_themself(
    office: Office, signer: str
) -> None:
    body = spare_key(office)
    office.world.ok("key.revoked", on_official(office.clerk), office[signer], body)
    assert office.world.state.registry.keys[body["key_id"]].revocations


def test_a_key_revoked_by_anyone_else_is_rejected(office: Office) -> None:
    body = spare_key(office)
    signers = [office.other_registrar, office.chief, office.peer, office.root]
    office.world.forbid("key.revoked", on_official(office.clerk), signers, body)
    office.world.ok("key.revoked", on_official(office.clerk), office.clerk, body)


@pytest.mark.parametrize("whose", ["another-officials", "an-unknown"])
def test_revoking_a_key_not_bound_to_the_official_is_an_invalid_statement(
    office: Office, whose: str
) -> None:
    key = office.peer.key if whose == "another-officials" else SigningKey.generate()
    body = {"key_id": key.key_id, "effective_at": office.world.ahead(60), "reason": "retired"}
    office.world.reject(
        "key.revoked", on_official(office.clerk), office.registrar, body, "invalid-statement"
    )


# --- competence ----------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["competence.granted", "competence.revoked"])
def test_a_competence_change_signed_by_anyone_but_the_registrar_is_rejected(
    office: Office, type_: str
) -> None:
    clerk = office.clerk
    body = competence_body(type_)
    signers = [office.other_registrar, clerk, office.chief, office.root]
    office.world.forbid(type_, on_official(clerk), signers, body)
    office.world.ok(type_, on_official(clerk), office.registrar, body)


# --- delegations ---------------------------------------------------------------------------


def test_a_delegation_granted_by_anyone_but_the_grantor_is_rejected(office: Office) -> None:
    # The grantor is the subject (the chief); their registrar or their own superior may
    # not grant in their name.
    chief = office.chief
    body = delegation_body(office.clerk)
    signers = [office.registrar, office.director, office.peer, office.root]
    office.world.forbid("delegation.granted", on_official(chief), signers, body)
    office.world.ok("delegation.granted", on_official(chief), chief, body)


@pytest.mark.parametrize(
    "valid_until",
    ["2020-01-01T00:00:00+07:00", "2019-12-31T23:59:59+07:00"],
    ids=["equal-to-valid-from", "before-valid-from"],
)
def test_a_delegation_must_end_after_it_starts(office: Office, valid_until: str) -> None:
    body = delegation_body(office.clerk, valid_until=valid_until)
    office.world.reject(
        "delegation.granted", on_official(office.chief), office.chief, body, "invalid-statement"
    )


def test_a_delegation_to_nobody_or_to_oneself_is_rejected(office: Office) -> None:
    world, chief = office.world, office.chief
    body = {**delegation_body(chief), "grantee": "khong.ai"}
    world.reject("delegation.granted", on_official(chief), chief, body, "unknown-official")
    world.reject(
        "delegation.granted", on_official(chief), chief, delegation_body(chief), "invalid-statement"
    )


def test_a_delegation_revoked_by_anyone_but_the_grantor_is_rejected(office: Office) -> None:
    chief, clerk = office.chief, office.clerk
    body = {"delegation_id": office.world.delegate(chief, clerk, "uy_quyen")}
    signers = [clerk, office.director, office.registrar, office.root]
    office.world.forbid("delegation.revoked", on_official(chief), signers, body)
    office.world.ok("delegation.revoked", on_official(chief), chief, body)


def test_a_delegation_is_revoked_once(office: Office) -> None:
    world, chief = office.world, office.chief
    body = {"delegation_id": world.delegate(chief, office.clerk, "ky_thay")}
    world.ok("delegation.revoked", on_official(chief), chief, body)
    error = world.reject("delegation.revoked", on_official(chief), chief, body, "invalid-statement")
    assert "already revoked" in error.detail


def test_revoking_an_unknown_delegation_is_an_invalid_statement(office: Office) -> None:
    chief = office.chief
    body = {"delegation_id": "00000000-0000-4000-8000-000000000000"}
    office.world.reject("delegation.revoked", on_official(chief), chief, body, "invalid-statement")


def test_a_delegation_is_revoked_only_on_its_grantors_subject(office: Office) -> None:
    # The director may not revoke the chief's delegation, not even on their own subject.
    world, chief, director = office.world, office.chief, office.director
    body = {"delegation_id": world.delegate(chief, office.clerk, "uy_quyen")}
    world.reject("delegation.revoked", on_official(director), director, body, "invalid-statement")


# --- calendar and rules --------------------------------------------------------------------


def test_a_calendar_adjustment_signed_by_anyone_but_a_root_is_rejected(office: Office) -> None:
    body = {"date": "2026-05-02", "kind": "working_day", "source_document": "Công văn 1/BNV"}
    office.world.forbid(
        "calendar.adjusted", "calendar:VN", [office.registrar, office.director], body
    )
    office.world.ok("calendar.adjusted", "calendar:VN", office.second_root, body)


def test_a_current_root_adopts_a_later_rules_version_and_nobody_else_may() -> None:
    office = Office(RulesWorld(rules=None))  # a ledger of an earlier release: version 3
    world = office.world
    assert world.state.rules_version == 3
    world.forbid(
        "ledger.rules_adopted", "ledger", [office.registrar, office.director], {"version": 4}
    )
    world.ok("ledger.rules_adopted", "ledger", office.root, {"version": 4})
    assert world.state.rules_version == 4
    world.reject("ledger.rules_adopted", "ledger", office.root, {"version": 4}, "invalid-statement")
    # A version this release does not know cannot be adopted: its rules could not be applied.
    world.reject("ledger.rules_adopted", "ledger", office.root, {"version": 5}, "invalid-statement")
