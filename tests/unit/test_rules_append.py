"""The checks on append that the state makes (DESIGN §4 steps 6–12), in memory.

Key known, signature, key holder, key validity, ``seq``/``prev``, the time windows, the
opening rules, and which check answers when two fail. Token, size, JSON, schema and
idempotency (steps 1–5) belong to the HTTP tier: tests/integration/test_rejections.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.crypto import SigningKey
from ledger.statements import parse_envelope
from ledger.times import parse_instant
from tests.unit.rules_world import (
    HEAD,
    Office,
    RulesWorld,
    matter_body,
    official_body,
    task_body,
)
from tests.world import REGISTRY_EPOCH

REQUEST = {"items": ["Bản sao sổ đỏ"]}
NOBODY = "khong.ai"
A_KEY = SigningKey.generate().public_b64


@pytest.fixture
def office() -> Office:
    return Office()


@pytest.fixture
def matter(office: Office) -> str:
    """An open matter held by the clerk; the clock stands at its opening."""
    return office.world.open_matter("H10.15-260302-0001", office.clerk)


def utc(text: str) -> datetime:
    return parse_instant(text).astimezone(UTC)


# --- step 6: the key is known --------------------------------------------------------------


def test_a_statement_signed_with_an_unregistered_key_is_an_unknown_key(
    office: Office, matter: str
) -> None:
    stranger = SigningKey.generate()
    error = office.world.reject(
        "supplement.requested", matter, office.clerk, REQUEST, "unknown-key", key=stranger
    )
    assert stranger.key_id in error.detail


# --- step 7: the signature -----------------------------------------------------------------


def test_a_signature_made_by_another_key_than_the_one_named_is_a_bad_signature(
    office: Office, matter: str
) -> None:
    # The statement names the clerk's key, but someone else signed it.
    office.world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "bad-signature",
        signer=SigningKey.generate(),
    )


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("body", {"items": ["Bản sao đã sửa"]}),
        ("occurred_at", "2026-03-02T09:59:00+07:00"),
        ("actor", "dong.nghiep"),
    ],
)
def test_a_statement_tampered_with_after_signing_is_a_bad_signature(
    office: Office, matter: str, member: str, value: Any
) -> None:
    world, clerk = office.world, office.clerk
    office.register("peer")  # so a tampered actor names a real official
    raw = world.raw_envelope("supplement.requested", matter, clerk, REQUEST)
    raw["statement"][member] = value
    world.reject_envelope(lambda: parse_envelope(raw), "bad-signature")


# --- step 8: the key belongs to the actor --------------------------------------------------


def test_a_statement_signed_with_someone_elses_registered_key_is_an_actor_mismatch(
    office: Office, matter: str
) -> None:
    # The department head's own key, validly signing a statement that names the clerk.
    office.world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "actor-mismatch",
        key=office.chief.key,
    )


def test_a_registrars_key_cannot_sign_for_an_official_of_its_agency(
    office: Office, matter: str
) -> None:
    office.world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "actor-mismatch",
        key=office.registrar.key,
    )


# --- step 9: the key is valid at occurred_at -----------------------------------------------


def test_a_key_used_before_its_valid_from_is_not_valid(office: Office, matter: str) -> None:
    world, clerk = office.world, office.clerk
    new_key = SigningKey.generate()
    world.bind_key(clerk, office.agency, new_key, valid_from=world.ahead(60))
    world.reject("supplement.requested", matter, clerk, REQUEST, "key-not-valid", key=new_key)
    # From its valid_from on, the same key signs.
    world.at(60)
    world.ok("supplement.requested", matter, clerk, REQUEST, key=new_key)


def test_a_retired_key_signs_only_what_occurred_before_its_retirement(
    office: Office, matter: str
) -> None:
    world, clerk = office.world, office.clerk
    effective = world.ahead(30)
    world.revoke_key(clerk, office.registrar, clerk.key, "retired", effective)
    # Before effective_at, the key still signs...
    world.ok("supplement.requested", matter, clerk, REQUEST, occurred_at=world.at(10))
    # ...from effective_at on, it does not.
    world.at(20)
    world.reject(
        "supplement.requested", matter, clerk, REQUEST, "key-not-valid", occurred_at=effective
    )


@pytest.mark.parametrize(
    ("recorded_after_effective", "accepted"),
    [(timedelta(days=7), True), (timedelta(days=7, microseconds=1), False)],
    ids=["seven-days-after", "later-than-seven-days"],
)
def test_a_retired_key_is_accepted_only_when_recorded_within_seven_days_of_its_retirement(
    office: Office, matter: str, recorded_after_effective: timedelta, accepted: bool
) -> None:
    world, clerk = office.world, office.clerk
    effective = world.ahead(30)
    world.revoke_key(clerk, office.registrar, clerk.key, "retired", effective)
    # Signed before the retirement, sent in late: what counts is when the ledger records it.
    occurred = world.at(10)
    recorded_at = utc(effective) + recorded_after_effective
    kw: dict[str, Any] = {"occurred_at": occurred, "recorded_at": recorded_at}
    if accepted:
        world.ok("supplement.requested", matter, clerk, REQUEST, **kw)
    else:
        world.reject("supplement.requested", matter, clerk, REQUEST, "key-not-valid", **kw)


def test_a_key_revoked_as_compromised_signs_nothing_recorded_after_the_revocation(
    office: Office, matter: str
) -> None:
    world, clerk = office.world, office.clerk
    # Even with effective_at tomorrow, and for a statement dated before the revocation.
    before = world.at()
    world.revoke_key(clerk, clerk, clerk.key, "compromised", world.ahead(24 * 60))
    world.reject(
        "supplement.requested", matter, clerk, REQUEST, "key-not-valid", occurred_at=before
    )
    world.reject("supplement.requested", matter, clerk, REQUEST, "key-not-valid")


def test_a_dismissed_registrars_key_signs_nothing_dated_from_the_dismissal(office: Office) -> None:
    world, registrar = office.world, office.registrar
    world.ok("registrar.dismissed", "agency:H10", office.root, {"official_id": registrar.id})
    body = {"unit_id": "phong-moi", "name": "Phòng mới", "parent_unit": "lanh-dao"}
    world.reject("unit.registered", "agency:H10", registrar, body, "key-not-valid")


def test_a_registrars_statement_dated_before_its_dismissal_is_accepted_soon_after(
    office: Office,
) -> None:
    world, registrar = office.world, office.registrar
    signed = world.at()
    world.ok("registrar.dismissed", "agency:H10", office.root, {"official_id": registrar.id})
    world.ok(
        "official.registered", "official:moi", registrar, official_body("H10"), occurred_at=signed
    )


def test_a_dismissed_registrar_cannot_keep_writing_by_backdating(office: Office) -> None:
    world, registrar = office.world, office.registrar
    signed = world.at()
    world.ok("registrar.dismissed", "agency:H10", office.root, {"official_id": registrar.id})
    world.at(8 * 24 * 60)  # eight days after the dismissal was recorded
    world.reject(
        "official.registered",
        "official:moi",
        registrar,
        official_body("H10"),
        "key-not-valid",
        occurred_at=signed,
    )


def test_a_removed_roots_key_signs_nothing_more(office: Office) -> None:
    world, second = office.world, office.second_root
    world.ok("root.removed", "ledger", office.root, {"id": second.id})
    body = {"name": "UBND xã Tân Lập", "level": "commune"}
    world.reject("agency.registered", "agency:T30", second, body, "key-not-valid")
    world.ok("agency.registered", "agency:T30", office.root, body)


def test_a_root_key_is_valid_only_from_its_valid_from(office: Office) -> None:
    world = office.world
    later = world.ahead(60)
    newcomer = world.add_root("chinh-phu", valid_from=later)
    body = {"name": "UBND xã Tân Lập", "level": "commune"}
    world.reject("agency.registered", "agency:T30", newcomer, body, "key-not-valid")
    world.at(60)
    world.ok("agency.registered", "agency:T30", newcomer, body)


# --- step 10: seq and prev -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq_delta", "prev"),
    [(2, HEAD), (0, HEAD), (1, "ab" * 32)],
    ids=["a-seq-ahead-of-the-head", "a-seq-the-head-already-has", "the-right-seq-on-a-wrong-prev"],
)
def test_a_statement_not_chained_to_the_subjects_head_is_a_stale_head(
    office: Office, matter: str, seq_delta: int, prev: str
) -> None:
    world = office.world
    world.ok("supplement.requested", matter, office.clerk, REQUEST)
    head = world.state.heads[matter]
    error = world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "stale-head",
        seq=head.seq + seq_delta,
        prev=prev,
    )
    # The problem names the head the client must chain to.
    assert error.extra["head"] == {"seq": head.seq, "envelope_hash": head.envelope_hash}


def test_a_first_statement_claiming_a_later_seq_is_a_stale_head(office: Office) -> None:
    office.world.reject(
        "matter.opened",
        "matter:M-1",
        office.clerk,
        matter_body(),
        "stale-head",
        seq=1,
        prev="cd" * 32,
    )


# --- step 11: the time windows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "accepted"),
    [
        (timedelta(minutes=3), True),
        (timedelta(minutes=5), True),
        (timedelta(minutes=5, microseconds=1), False),
        (timedelta(minutes=10), False),
    ],
    ids=["3-minutes", "5-minutes", "just-over-5-minutes", "10-minutes"],
)
def test_a_statement_dated_more_than_five_minutes_after_the_ledgers_clock_is_clock_skew(
    office: Office, matter: str, ahead: timedelta, accepted: bool
) -> None:
    world = office.world
    world.at()
    recorded_at = world.next_recorded_at()
    occurred = (recorded_at + ahead).isoformat()
    kw: dict[str, Any] = {"occurred_at": occurred, "recorded_at": recorded_at}
    if accepted:
        world.ok("supplement.requested", matter, office.clerk, REQUEST, **kw)
    else:
        world.reject("supplement.requested", matter, office.clerk, REQUEST, "clock-skew", **kw)


@pytest.mark.parametrize(
    ("minutes_earlier", "accepted"),
    [(14, True), (15, True), (15.5, False), (16, False), (120, False)],
)
def test_a_statement_dated_more_than_fifteen_minutes_before_its_subjects_last_is_out_of_order(
    office: Office, matter: str, minutes_earlier: float, accepted: bool
) -> None:
    world = office.world
    kw: dict[str, Any] = {"occurred_at": world.ago(minutes_earlier)}
    if accepted:
        world.ok("supplement.requested", matter, office.clerk, REQUEST, **kw)
    else:
        world.reject("supplement.requested", matter, office.clerk, REQUEST, "out-of-order", **kw)


def test_the_fifteen_minute_bound_looks_only_at_the_subjects_own_last_statement(
    office: Office, matter: str
) -> None:
    # Another subject moves on an hour; the matter's own last statement is what counts.
    world = office.world
    opened = world.clock
    world.at(60)
    world.grant(office.clerk, office.agency)
    world.ok(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        occurred_at=(opened + timedelta(minutes=5)).isoformat(),
    )


def test_the_time_windows_are_those_the_genesis_states() -> None:
    # A ledger whose genesis allows one minute of skew and no statement out of order.
    world = RulesWorld(
        time_rules={
            "future_skew_seconds": 60,
            "out_of_order_seconds": 0,
            "recorded_late_seconds": 3600,
        }
    )
    office = Office(world)
    matter = world.open_matter("H10.15-260302-0001", office.clerk)
    occurred = world.at()
    two_minutes_early = utc(occurred) - timedelta(minutes=2)
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "clock-skew",
        occurred_at=occurred,
        recorded_at=two_minutes_early,
    )
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "out-of-order",
        occurred_at=world.ago(2),  # a minute before the opening
    )
    # Recorded two hours after it occurred: late by this genesis, not by the constants.
    world.at(120)
    flags = world.ok(
        "supplement.requested", matter, office.clerk, REQUEST, occurred_at=world.ago(120)
    ).flags
    assert "recorded_late" in flags


# --- step 12 (first): a subject opens with its opening type --------------------------------


@pytest.mark.parametrize(
    ("type_", "subject", "who", "body"),
    [
        ("handoff.offered", "matter:M-2", "clerk", {"to": "truong.phong", "reason": "Chuyển"}),
        ("supplement.requested", "matter:M-2", "clerk", REQUEST),
        (
            "key.bound",
            "official:moi.den",
            "registrar",
            {"public_key": A_KEY, "valid_from": REGISTRY_EPOCH},
        ),
        ("unit.registered", "agency:H11", "root", {"unit_id": "lanh-dao", "name": "Ban"}),
    ],
    ids=["an-offer", "a-supplement", "a-key", "a-unit"],
)
def test_a_subjects_first_statement_must_be_its_opening_type(
    office: Office, type_: str, subject: str, who: str, body: dict[str, Any]
) -> None:
    office.register("chief")  # so the offer is refused for its place only
    office.world.reject(type_, subject, office[who], body, "invalid-statement")


@pytest.mark.parametrize(
    ("type_", "subject", "who", "body"),
    [
        ("matter.opened", "matter", "clerk", matter_body()),
        ("official.registered", "official:chuyen.vien", "registrar", official_body("H10")),
        ("agency.registered", "agency:H10", "root", {"name": "Sở", "level": "province"}),
        ("ledger.genesis", "ledger", "root", {}),
    ],
    ids=["matter.opened", "official.registered", "agency.registered", "ledger.genesis"],
)
def test_an_opening_type_cannot_come_again_later_in_its_subject(
    office: Office, matter: str, type_: str, subject: str, who: str, body: dict[str, Any]
) -> None:
    if type_ == "ledger.genesis":
        body = office.world.genesis_body(office.root)
    subject = matter if subject == "matter" else subject
    office.world.reject(type_, subject, office[who], body, "invalid-statement")


def test_the_calendar_subject_has_no_opening_statement(office: Office) -> None:
    body = {"date": "2026-05-02", "kind": "working_day", "source_document": "Công văn 1/BNV"}
    office.world.ok("calendar.adjusted", "calendar:VN", office.root, body)


# --- which check answers when two fail -----------------------------------------------------


def unknown_key_before_stale_head(world: RulesWorld, office: Office, matter: str) -> None:
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "unknown-key",
        key=SigningKey.generate(),
        seq=9,
    )


def bad_signature_before_actor_mismatch(world: RulesWorld, office: Office, matter: str) -> None:
    # Names the chief's key for the clerk, and is signed by neither.
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "bad-signature",
        key=office.chief.key,
        signer=SigningKey.generate(),
    )


def actor_mismatch_before_key_not_valid(world: RulesWorld, office: Office, matter: str) -> None:
    future_key = SigningKey.generate()
    world.bind_key(office.chief, office.agency, future_key, valid_from=world.ahead(600))
    world.reject(
        "supplement.requested", matter, office.clerk, REQUEST, "actor-mismatch", key=future_key
    )


def key_not_valid_before_stale_head(world: RulesWorld, office: Office, matter: str) -> None:
    future_key = SigningKey.generate()
    world.bind_key(office.clerk, office.agency, future_key, valid_from=world.ahead(600))
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "key-not-valid",
        key=future_key,
        seq=9,
    )


def stale_head_before_clock_skew(world: RulesWorld, office: Office, matter: str) -> None:
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "stale-head",
        occurred_at=world.ahead(60),
        seq=9,
    )


def stale_head_before_out_of_order(world: RulesWorld, office: Office, matter: str) -> None:
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "stale-head",
        occurred_at=world.ago(120),
        seq=9,
    )


def clock_skew_before_matter_closed(world: RulesWorld, office: Office, matter: str) -> None:
    world.ok("matter.closed", matter, office.clerk, {"result": "completed"})
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "clock-skew",
        occurred_at=world.ahead(60),
    )


def out_of_order_before_matter_closed(world: RulesWorld, office: Office, matter: str) -> None:
    world.ok("matter.closed", matter, office.clerk, {"result": "completed"})
    world.reject(
        "supplement.requested",
        matter,
        office.clerk,
        REQUEST,
        "out-of-order",
        occurred_at=world.ago(120),
    )


def out_of_order_before_unknown_addressee(world: RulesWorld, office: Office, matter: str) -> None:
    world.reject(
        "handoff.offered",
        matter,
        office.clerk,
        {"to": NOBODY, "reason": "Chuyển"},
        "out-of-order",
        occurred_at=world.ago(120),
    )


def stale_head_before_the_opening_rule(world: RulesWorld, office: Office, matter: str) -> None:
    world.reject(
        "task.assigned",
        "matter:M-3",
        office.clerk,
        task_body(office.peer, "support"),
        "stale-head",
        seq=1,
        prev="cd" * 32,
    )


ACROSS_STEPS = [
    unknown_key_before_stale_head,
    bad_signature_before_actor_mismatch,
    actor_mismatch_before_key_not_valid,
    key_not_valid_before_stale_head,
    stale_head_before_clock_skew,
    stale_head_before_out_of_order,
    clock_skew_before_matter_closed,
    out_of_order_before_matter_closed,
    out_of_order_before_unknown_addressee,
    stale_head_before_the_opening_rule,
]


@pytest.mark.parametrize("case", ACROSS_STEPS, ids=[c.__name__ for c in ACROSS_STEPS])
def test_the_earlier_check_answers_when_two_steps_fail(
    office: Office, matter: str, case: Callable[[RulesWorld, Office, str], None]
) -> None:
    case(office.world, office, matter)
