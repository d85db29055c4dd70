"""One HTTP test per problem type of the append path, and what only HTTP can show.

Each rejection answers its status and problem document and leaves no trace: the log's size
and the subject's head are the same afterwards (``World.reject`` / ``World.unchanged``).
The steps before the state (schema, idempotency) are tested here in full. Every rule of
DESIGN §4 steps 6–12 and §6, and which rule answers when two fail, is tested in memory in
tests/unit/test_rules_*.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.canonical import jcs
from ledger.crypto import SigningKey
from tests.world import Actor, AgencyHandle, World, instant, problem_slug

MATTER_ID = "H10.15-260302-0001"
LATER = "2026-04-01T00:00:00+07:00"  # a month after the world's clock
NOBODY = "khong.ai"  # an id no one registered


@dataclass(frozen=True)
class Town:
    """One agency: a director, a department head, a clerk and one open matter."""

    so: AgencyHandle
    giam_doc: Actor  # head of the agency's leadership unit
    truong: Actor  # head of phong-dat: the clerk's superior
    cv: Actor  # opened the matter, so its custodian
    matter: str


@pytest.fixture
def town(world: World) -> Town:
    so = world.agency("H10")
    giam_doc = world.official("giam.doc", so, head=True)
    phong = world.unit(so, "phong-dat")
    truong = world.official("truong.phong", so, phong, head=True)
    cv = world.official("chuyen.vien", so, phong)
    # Three hours on, so back-dated statements still come after the registry (a writer
    # token admits an official's statements only once they belong to its agency).
    world.at(180)
    matter = world.open_matter(MATTER_ID, cv, so)
    return Town(so, giam_doc, truong, cv, matter)


def post_rejected(
    world: World, subject: str, env: dict[str, Any] | bytes, status: int, slug: str
) -> dict[str, Any]:
    """Post a hand-made envelope; require the problem and the log unchanged."""
    with world.unchanged(subject):
        response = world.post(env)
        assert response.status_code == status, response.text
        assert problem_slug(response) == slug, response.text
    problem: dict[str, Any] = response.json()
    return problem


def offer(world: World, town: Town, to: Actor | None = None) -> str:
    """cv offers the matter to ``to`` (default: the department head); the offer's id."""
    body = {"to": (to or town.truong).id, "reason": "Vượt thẩm quyền phòng"}
    return str(world.ok("handoff.offered", town.matter, town.cv, body)["event_id"])


def consult(world: World, town: Town) -> str:
    body = {"to": town.truong.id, "question": "Có cấp được không?"}
    return str(world.ok("consultation.requested", town.matter, town.cv, body)["event_id"])


def close(world: World, town: Town) -> str:
    receipt = world.ok("matter.closed", town.matter, town.cv, {"result": "completed"})
    return str(receipt["event_id"])


def future(minutes: float) -> str:
    """An instant ``minutes`` after the ledger's real clock."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def earlier(world: World, minutes: float) -> str:
    """An instant ``minutes`` before the world's clock (the matter's last statement)."""
    return instant(world.clock - timedelta(minutes=minutes))


# --- DESIGN §4: the checks on append, one test per problem type -------------------------


def test_a_statement_signed_with_an_unregistered_key_is_rejected_as_unknown_key(
    world: World, town: Town
) -> None:
    stranger = SigningKey.generate()
    problem = world.reject(
        422,
        "unknown-key",
        "supplement.requested",
        town.matter,
        town.cv,
        {"items": ["Bản sao sổ đỏ"]},
        key=stranger,
    )
    assert stranger.key_id in problem["detail"]


def test_a_signature_made_by_another_key_than_the_one_named_is_a_bad_signature(
    world: World, town: Town
) -> None:
    env = world.envelope("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    # The statement still names cv's key, but someone else signed it.
    env["signature"] = SigningKey.generate().sign_statement(jcs(env["statement"]))
    post_rejected(world, town.matter, env, 422, "bad-signature")


def test_a_statement_signed_with_someone_elses_registered_key_is_an_actor_mismatch(
    world: World, town: Town
) -> None:
    # The department head's own key, validly signing a statement that names the clerk.
    world.reject(
        422,
        "actor-mismatch",
        "supplement.requested",
        town.matter,
        town.cv,
        {"items": ["Bản sao"]},
        key=town.truong.key,
    )


def test_a_key_used_before_its_valid_from_is_not_valid(world: World, town: Town) -> None:
    new_key = SigningKey.generate()
    world.bind_key(town.cv, town.so, new_key, valid_from=LATER)
    body = {"items": ["Bản sao"]}
    world.reject(
        422, "key-not-valid", "supplement.requested", town.matter, town.cv, body, key=new_key
    )
    # From its valid_from on, the same key signs.
    world.ok("supplement.requested", town.matter, town.cv, body, key=new_key, occurred_at=LATER)


def test_a_statement_not_chained_to_the_subjects_head_is_a_stale_head(
    world: World, town: Town
) -> None:
    world.ok("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    head = world.head(town.matter)
    assert head is not None
    problem = world.reject(
        409,
        "stale-head",
        "supplement.requested",
        town.matter,
        town.cv,
        {"items": ["Bản sao"]},
        seq=head["seq"] + 1,
        prev="ab" * 32,
    )
    # The problem names the head the client must chain to.
    assert problem["head"] == {"seq": head["seq"], "envelope_hash": head["envelope_hash"]}
    assert head["envelope_hash"] in problem["detail"]


def test_an_exact_replay_answers_the_original_receipt_byte_for_byte_and_stores_nothing(
    world: World, town: Town
) -> None:
    env = world.envelope("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    first = world.post(env)
    assert first.status_code == 201, first.text
    with world.unchanged(town.matter):
        again = world.post(env)
        assert again.status_code == 200, again.text
        assert again.content == first.content
        # The same envelope in other JSON whitespace and escapes is still the same JCS.
        pretty = json.dumps(env, indent=2, ensure_ascii=True).encode()
        assert pretty != jcs(env)
        respelled = world.post(pretty)
        assert respelled.status_code == 200, respelled.text
        assert respelled.content == first.content
    # Idempotency (step 4) comes before the head check (step 10): still a replay later.
    world.ok("supplement.requested", town.matter, town.cv, {"items": ["Bản chính"]})
    with world.unchanged(town.matter):
        late = world.post(env)
        assert late.status_code == 200, late.text
        assert late.content == first.content


@pytest.mark.parametrize("where", ["same subject", "another subject"])
def test_a_stored_event_id_with_other_bytes_is_a_duplicate_event(
    world: World, town: Town, where: str
) -> None:
    stored = world.ok("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    body: dict[str, Any]
    if where == "same subject":
        subject, actor, type_ = town.matter, town.cv, "supplement.requested"
        body = {"items": ["Bản chính"]}
    else:
        subject, actor, type_ = f"official:{town.cv.id}", town.so.registrar, "competence.granted"
        body = {"procedure_codes": ["1.004227"], "legal_basis": "Quyết định 12/QĐ-UBND"}
    problem = world.reject(
        409, "duplicate-event", type_, subject, actor, body, event_id=stored["event_id"]
    )
    assert stored["event_id"] in problem["detail"]


def test_a_statement_dated_more_than_five_minutes_ahead_of_the_ledger_is_clock_skew(
    world: World, town: Town
) -> None:
    body = {"items": ["Bản sao"]}
    world.reject(
        422,
        "clock-skew",
        "supplement.requested",
        town.matter,
        town.cv,
        body,
        occurred_at=future(10),
    )
    # Three minutes ahead is within the bound.
    world.ok("supplement.requested", town.matter, town.cv, body, occurred_at=future(3))


def test_a_statement_dated_more_than_fifteen_minutes_before_its_subjects_last_is_out_of_order(
    world: World, town: Town
) -> None:
    body = {"items": ["Bản sao"]}
    kw: dict[str, Any] = {"occurred_at": earlier(world, 16)}
    world.reject(422, "out-of-order", "supplement.requested", town.matter, town.cv, body, **kw)


# --- DESIGN §6: the types' own rules, one test per problem type ---------------------------


def test_a_consultation_answered_twice_is_not_pending(world: World, town: Town) -> None:
    consultation_id = consult(world, town)
    body = {"in_reply_to": consultation_id, "position": "agree", "text": "Đồng ý với đề xuất"}
    world.ok("consultation.answered", town.matter, town.truong, body)
    again = {**body, "position": "disagree"}
    world.reject(409, "not-pending", "consultation.answered", town.matter, town.truong, again)


def test_an_addressee_who_is_not_a_registered_official_is_unknown(world: World, town: Town) -> None:
    body = {"to": NOBODY, "reason": "Chuyển xử lý"}
    problem = world.reject(422, "unknown-official", "handoff.offered", town.matter, town.cv, body)
    assert NOBODY in problem["detail"]


def test_a_statement_after_closing_is_matter_closed(world: World, town: Town) -> None:
    close(world, town)
    body = {"to": town.truong.id, "reason": "Chuyển xử lý"}
    world.reject(409, "matter-closed", "handoff.offered", town.matter, town.cv, body)


def test_a_second_offer_while_one_is_pending_is_refused_until_the_first_is_answered(
    world: World, town: Town
) -> None:
    first = offer(world, town)
    problem = world.reject(
        409,
        "offer-pending",
        "handoff.offered",
        town.matter,
        town.cv,
        {"to": town.giam_doc.id, "reason": "Trình giám đốc"},
    )
    assert first in problem["detail"]
    world.ok("handoff.withdrawn", town.matter, town.cv, {"in_reply_to": first})
    offer(world, town, to=town.giam_doc)


# --- DESIGN §4 step 3 / §6: bodies that do not fit their type ---------------------------

OPENED = {
    "title": "Cấp giấy chứng nhận quyền sử dụng đất",
    "procedure_code": "1.004227",
    "agency_id": "H10",
    "deadline_working_days": 5,
    "applicant_ref": "HS-0002",
}
REGISTERED = {
    "full_name": "Lê Văn Mới",
    "agency_id": "H10",
    "unit_id": "lanh-dao",
    "position": "Chuyên viên",
    "is_head": False,
}
OFFERED = {"to": "truong.phong", "reason": "Chuyển xử lý"}

# (case, type, where: the open matter / a new matter / a new official, body)
MISFITS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("an unknown field", "handoff.offered", "matter", {**OFFERED, "urgent": True}),
    ("a missing field", "handoff.offered", "matter", {"to": "truong.phong"}),
    ("an empty body", "handoff.offered", "matter", {}),
    (
        "null for an optional field",
        "consultation.requested",
        "matter",
        {"to": "truong.phong", "question": "Xin ý kiến", "proposed_position": None},
    ),
    ("null for a required field", "handoff.offered", "matter", {**OFFERED, "reason": None}),
    ("a value outside the enum", "matter.closed", "matter", {"result": "done"}),
    ("an enum in the wrong case", "matter.closed", "matter", {"result": "Completed"}),
    ("a list for a text", "handoff.offered", "matter", {**OFFERED, "reason": ["Chuyển"]}),
    ("an empty list", "supplement.requested", "matter", {"items": []}),
    (
        "a string for an integer",
        "matter.opened",
        "new matter",
        {**OPENED, "deadline_working_days": "5"},
    ),
    (
        "a boolean for an integer",
        "matter.opened",
        "new matter",
        {**OPENED, "deadline_working_days": True},
    ),
    (
        "an integer below its minimum",
        "matter.opened",
        "new matter",
        {**OPENED, "deadline_working_days": 0},
    ),
    ("1 for a boolean", "official.registered", "new official", {**REGISTERED, "is_head": 1}),
    (
        "a string for a boolean",
        "official.registered",
        "new official",
        {**REGISTERED, "is_head": "false"},
    ),
    (
        "an id that is not an identifier",
        "handoff.offered",
        "matter",
        {**OFFERED, "to": "truong phong"},
    ),
]


def misfit_target(town: Town, where: str) -> tuple[str, Actor]:
    return {
        "matter": (town.matter, town.cv),
        "new matter": ("matter:H10.15-260302-0009", town.cv),
        "new official": ("official:le.van.moi", town.so.registrar),
    }[where]


@pytest.mark.parametrize(("case", "type_", "where", "body"), MISFITS, ids=[m[0] for m in MISFITS])
def test_a_body_that_does_not_fit_its_type_is_an_invalid_statement(
    world: World, town: Town, case: str, type_: str, where: str, body: dict[str, Any]
) -> None:
    world.reject(422, "invalid-statement", type_, *misfit_target(town, where), body)


def test_the_bodies_the_misfits_are_made_from_are_accepted(world: World, town: Town) -> None:
    # So each misfit above is refused for its one flaw, not for its baseline.
    world.ok("official.registered", *misfit_target(town, "new official"), REGISTERED)
    world.ok("matter.opened", *misfit_target(town, "new matter"), OPENED)
    world.ok("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    world.ok(
        "consultation.requested",
        town.matter,
        town.cv,
        {"to": "truong.phong", "question": "Xin ý kiến", "proposed_position": "Đề xuất cấp"},
    )
    world.ok("handoff.offered", town.matter, town.cv, OFFERED)
    world.ok("matter.closed", town.matter, town.cv, {"result": "completed"})


@pytest.mark.parametrize(
    ("type_", "subject", "who", "body"),
    [
        ("handoff.offered", "official:chuyen.vien", "cv", OFFERED),
        ("official.registered", "matter:H10.15-260302-0009", "registrar", REGISTERED),
        ("agency.registered", "ledger", "root", {"name": "Sở Xây dựng", "level": "province"}),
        (
            "calendar.adjusted",
            "agency:H10",
            "root",
            {"date": "2026-04-30", "kind": "day_off", "source_document": "QĐ 1"},
        ),
        ("matter.opened", "official:moi.den", "cv", OPENED),
    ],
)
def test_a_statement_on_a_subject_of_another_kind_is_an_invalid_statement(
    world: World, town: Town, type_: str, subject: str, who: str, body: dict[str, Any]
) -> None:
    actor = {"cv": town.cv, "registrar": town.so.registrar, "root": world.root}.get(who)
    assert actor is not None
    world.reject(422, "invalid-statement", type_, subject, actor, body)


# --- DESIGN §4: which step answers when two fail before the state judges ----------------

Builder = Callable[[World, Town], tuple[dict[str, Any], str]]


def _supplement(world: World, town: Town, **kw: Any) -> dict[str, Any]:
    return world.envelope("supplement.requested", town.matter, town.cv, {"items": ["x"]}, **kw)


def schema_before_duplicate(world: World, town: Town) -> tuple[dict[str, Any], str]:
    stored = world.ok("supplement.requested", town.matter, town.cv, {"items": ["x"]})
    env = world.envelope(
        "supplement.requested", town.matter, town.cv, {"items": []}, event_id=stored["event_id"]
    )
    return env, town.matter


def duplicate_before_unknown_key(world: World, town: Town) -> tuple[dict[str, Any], str]:
    stored = world.ok("supplement.requested", town.matter, town.cv, {"items": ["x"]})
    env = _supplement(world, town, event_id=stored["event_id"], key=SigningKey.generate())
    return env, town.matter


ACROSS_STEPS: list[tuple[Builder, int, str]] = [
    (schema_before_duplicate, 422, "invalid-statement"),
    (duplicate_before_unknown_key, 409, "duplicate-event"),
]


@pytest.mark.parametrize(
    ("build", "status", "slug"), ACROSS_STEPS, ids=[b.__name__ for b, _, _ in ACROSS_STEPS]
)
def test_the_earlier_check_answers_when_two_steps_fail(
    world: World, town: Town, build: Builder, status: int, slug: str
) -> None:
    env, subject = build(world, town)
    post_rejected(world, subject, env, status, slug)
