"""Key validity over time (DESIGN §4): retirement with its 7-day grace, compromise, and
registry entries recorded later never changing a verdict already given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.replay import replay
from tests.world import Actor, AgencyHandle, World, instant


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def desk(world: World) -> tuple[AgencyHandle, Actor, Actor]:
    """An agency with a head and an officer who keeps a matter of their own."""
    agency = world.agency("H10")
    head = world.official("truong.phong", agency, head=True)
    officer = world.official("chuyen.vien", agency)
    return agency, head, officer


def _revoke(
    world: World, agency: AgencyHandle, who: Actor, effective_at: datetime, reason: str
) -> None:
    world.ok(
        "key.revoked",
        f"official:{who.id}",
        agency.registrar,
        {"key_id": who.key.key_id, "effective_at": instant(effective_at), "reason": reason},
        occurred_at=instant(_now()),
    )


def test_a_retired_key_still_signs_what_it_dated_before_retirement_within_the_grace(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    effective = _now() - timedelta(days=1)
    _revoke(world, agency, officer, effective, "retired")
    # Signed an hour before retirement, arriving a day later: within the 7-day grace.
    world.ok(
        "supplement.requested",
        matter,
        officer,
        {"items": ["Bản sao sổ hộ khẩu"]},
        occurred_at=instant(effective - timedelta(hours=1)),
    )


def test_a_retired_key_cannot_sign_anything_dated_at_or_after_its_retirement(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    effective = _now() - timedelta(hours=2)
    _revoke(world, agency, officer, effective, "retired")
    for occurred in (effective, effective + timedelta(minutes=30)):
        problem = world.reject(
            422,
            "key-not-valid",
            "supplement.requested",
            matter,
            officer,
            {"items": ["Bản sao"]},
            occurred_at=instant(occurred),
        )
        assert "retired" in problem["detail"]


def test_a_retired_key_is_refused_once_the_grace_has_passed_even_for_older_statements(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    effective = _now() - timedelta(days=8)
    _revoke(world, agency, officer, effective, "retired")
    # Dated before retirement, but recorded more than 7 days after it.
    world.reject(
        422,
        "key-not-valid",
        "supplement.requested",
        matter,
        officer,
        {"items": ["Bản sao"]},
        occurred_at=instant(effective - timedelta(hours=1)),
    )


def test_a_compromised_key_signs_nothing_recorded_after_its_revocation_not_even_backdated(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    # Effective tomorrow, yet compromise stops the key at once: a thief would backdate.
    _revoke(world, agency, officer, _now() + timedelta(days=1), "compromised")
    problem = world.reject(
        422,
        "key-not-valid",
        "supplement.requested",
        matter,
        officer,
        {"items": ["Bản sao"]},
        occurred_at=world.at(),
    )
    assert "compromised" in problem["detail"]


def test_a_new_key_bound_after_a_compromise_signs_again(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    _revoke(world, agency, officer, _now(), "compromised")
    from ledger.crypto import SigningKey

    fresh = SigningKey.generate()
    world.bind_key(officer, agency, fresh, occurred_at=instant(_now()))
    world.ok(
        "supplement.requested",
        matter,
        officer,
        {"items": ["Bản sao"]},
        key=fresh,
        occurred_at=instant(_now()),
    )


def test_a_key_is_not_valid_before_its_valid_from(world: World) -> None:
    agency = world.agency("H10")
    officer = world.official("chuyen.vien", agency, key_valid_from="2026-06-01T00:00:00+07:00")
    # The world clock is in March 2026, before the key's valid_from.
    problem = world.reject(
        422,
        "key-not-valid",
        "matter.opened",
        "matter:M-1",
        officer,
        {
            "title": "Cấp phép xây dựng",
            "procedure_code": "1.009994",
            "agency_id": agency.id,
            "deadline_working_days": 15,
            "applicant_ref": "HS-7",
        },
    )
    assert "valid from" in problem["detail"]


def test_history_signed_with_a_key_later_retired_still_verifies(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, head, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    world.ok("handoff.offered", matter, officer, {"to": head.id, "reason": "Trình ký"})
    _revoke(world, agency, officer, _now() - timedelta(days=30), "retired")
    # Re-deriving every verdict from the stored bytes, signatures included, still passes.
    verdicts = list(replay(world.ledger.iter_records()))
    assert len(verdicts) == world.ledger.size()


def test_a_revocation_recorded_later_never_unaccepts_what_was_accepted_before_it(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    accepted = world.ok("supplement.requested", matter, officer, {"items": ["Bản sao"]})
    # Retired "as of" before that statement, but recorded after it.
    _revoke(world, agency, officer, world.clock - timedelta(hours=1), "retired")
    verdicts = {v.entry.record.event_id: v for v in replay(world.ledger.iter_records())}
    assert accepted["event_id"] in verdicts


def test_a_backdated_competence_grant_never_changes_a_finding_already_given(
    world: World, desk: tuple[AgencyHandle, Actor, Actor]
) -> None:
    agency, _, officer = desk
    matter = world.open_matter("M-1", officer, agency)
    before_decision = world.at()
    first = world.ok(
        "decision.recorded",
        matter,
        officer,
        {
            "outcome": "approved",
            "summary": "Cấp giấy",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "own",
        },
    )
    # The registrar now records a grant dated before that decision.
    world.grant(officer, agency, occurred_at=before_decision)
    second = world.ok(
        "decision.recorded",
        matter,
        officer,
        {
            "outcome": "approved",
            "summary": "Cấp lại",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "own",
        },
    )
    findings = {v.entry.record.event_id: v.assessment for v in replay(world.ledger.iter_records())}
    # Judged against the registry as it stood at its index: still no competence.
    assert findings[first["event_id"]].competence is not None
    assert findings[first["event_id"]].competence.basis == "none"
    assert "outside_competence" in findings[first["event_id"]].flags
    assert findings[second["event_id"]].competence is not None
    assert findings[second["event_id"]].competence.basis == "own"
