"""Every REJECT rule of DESIGN §4 (checks on append) and §6 (the types' own rules) over HTTP.

Each rejection answers its problem type and leaves no trace: the log's size and the
subject's head are the same afterwards (``World.reject`` / ``World.unchanged``). Where two
rules fail at once, the first in DESIGN §4's order answers.
"""

from __future__ import annotations

import json
import uuid
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
A_KEY = SigningKey.generate().public_b64


@dataclass(frozen=True)
class Town:
    """One agency: a director, a department head, two clerks and one open matter."""

    so: AgencyHandle
    giam_doc: Actor  # head of the agency's leadership unit
    truong: Actor  # head of phong-dat: a superior of both clerks
    cv: Actor  # opened the matter, so its custodian
    cv2: Actor  # a colleague of cv with no part in the matter
    matter: str

    def __getitem__(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor


@pytest.fixture
def town(world: World) -> Town:
    so = world.agency("H10")
    giam_doc = world.official("giam.doc", so, head=True)
    phong = world.unit(so, "phong-dat")
    truong = world.official("truong.phong", so, phong, head=True)
    cv = world.official("chuyen.vien", so, phong)
    cv2 = world.official("chuyen.vien.2", so, phong)
    # Three hours on, so back-dated statements still come after the registry (a writer
    # token admits an official's statements only once they belong to its agency).
    world.at(180)
    matter = world.open_matter(MATTER_ID, cv, so)
    return Town(so, giam_doc, truong, cv, cv2, matter)


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


# The reply a given official would send to an offer (or consultation) ``in_reply_to``.
REPLIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "handoff.withdrawn": ("handoff.withdrawn", "cv", {}),
    "handoff.accepted": ("handoff.accepted", "truong", {}),
    "handoff.returned": (
        "handoff.returned",
        "truong",
        {"reason": "not_competent", "note": "Không thuộc thẩm quyền phòng"},
    ),
    "consultation.answered": (
        "consultation.answered",
        "truong",
        {"position": "agree", "text": "Đồng ý với đề xuất"},
    ),
}


def reply(town: Town, kind: str, in_reply_to: str) -> tuple[str, str, Actor, dict[str, Any]]:
    """(type, subject, actor, body) of a reply of ``kind`` on the town's matter."""
    type_, who, extra = REPLIES[kind]
    return type_, town.matter, town[who], {"in_reply_to": in_reply_to, **extra}


# --- DESIGN §4: the checks on append ----------------------------------------------------


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


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("body", {"items": ["Bản sao đã sửa"]}),
        ("occurred_at", "2026-03-02T09:59:00+07:00"),
        ("actor", "chuyen.vien.2"),
    ],
)
def test_a_statement_tampered_with_after_signing_is_a_bad_signature(
    world: World, town: Town, member: str, value: Any
) -> None:
    env = world.envelope("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    env["statement"][member] = value
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


def test_a_key_revoked_as_compromised_signs_nothing_more(world: World, town: Town) -> None:
    world.ok(
        "key.revoked",
        f"official:{town.cv.id}",
        town.cv,
        {"key_id": town.cv.key.key_id, "effective_at": world.at(), "reason": "compromised"},
    )
    world.reject(
        422, "key-not-valid", "supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]}
    )


def test_a_retired_key_signs_only_what_occurred_before_its_retirement(
    world: World, town: Town
) -> None:
    effective = future(-60)  # retired an hour ago, on the ledger's real clock
    world.ok(
        "key.revoked",
        f"official:{town.cv.id}",
        town.so.registrar,
        {"key_id": town.cv.key.key_id, "effective_at": effective, "reason": "retired"},
    )
    body = {"items": ["Bản sao"]}
    # Signed in March, recorded within 7 days of the retirement: still good.
    world.ok("supplement.requested", town.matter, town.cv, body)
    world.reject(
        422,
        "key-not-valid",
        "supplement.requested",
        town.matter,
        town.cv,
        body,
        occurred_at=future(-30),
    )


@pytest.mark.parametrize(
    ("case", "seq_delta", "prev"),
    [
        ("a seq ahead of the head", 2, "head"),
        ("a seq the head already has", 0, "head"),
        ("the right seq on the wrong prev", 1, "ab" * 32),
    ],
)
def test_a_statement_not_chained_to_the_subjects_head_is_a_stale_head(
    world: World, town: Town, case: str, seq_delta: int, prev: str
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
        seq=head["seq"] + seq_delta,
        prev=prev,
    )
    # The problem names the head the client must chain to.
    assert problem["head"] == {"seq": head["seq"], "envelope_hash": head["envelope_hash"]}
    assert head["envelope_hash"] in problem["detail"]


def test_a_first_statement_claiming_a_later_seq_is_a_stale_head(world: World) -> None:
    so = world.agency("H10")
    cv = world.official("chuyen.vien", so)
    body = {
        "title": "Cấp giấy chứng nhận",
        "procedure_code": "1.004227",
        "agency_id": so.id,
        "deadline_working_days": 5,
        "applicant_ref": "HS-0001",
    }
    world.reject(409, "stale-head", "matter.opened", "matter:M-1", cv, body, seq=1, prev="cd" * 32)


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
    if where == "same subject":
        subject, actor, type_, body = (
            town.matter,
            town.cv,
            "supplement.requested",
            {"items": ["Bản chính"]},
        )
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


@pytest.mark.parametrize(
    ("minutes_earlier", "accepted"),
    [(14, True), (15, True), (15.5, False), (16, False), (120, False)],
)
def test_a_statement_dated_more_than_fifteen_minutes_before_its_subjects_last_is_out_of_order(
    world: World, town: Town, minutes_earlier: float, accepted: bool
) -> None:
    kw: dict[str, Any] = {"occurred_at": earlier(world, minutes_earlier)}
    body = {"items": ["Bản sao"]}
    if accepted:
        world.ok("supplement.requested", town.matter, town.cv, body, **kw)
    else:
        world.reject(422, "out-of-order", "supplement.requested", town.matter, town.cv, body, **kw)


def test_the_fifteen_minute_bound_looks_only_at_the_subjects_own_last_statement(
    world: World, town: Town
) -> None:
    # Another subject moves on an hour; the matter's own last statement is what counts.
    world.grant(town.cv, town.so, occurred_at=world.at(60))
    world.ok(
        "supplement.requested",
        town.matter,
        town.cv,
        {"items": ["Bản sao"]},
        occurred_at=earlier(world, 50),
    )


# --- DESIGN §6: replies --------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_to_an_unknown_event_is_rejected_and_leaves_no_trace(
    world: World, town: Town, kind: str
) -> None:
    offer(world, town)
    consult(world, town)
    problem = world.reject(422, "invalid-statement", *reply(town, kind, str(uuid.uuid4())))
    assert "in_reply_to" in problem["detail"]


@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_to_an_event_of_the_wrong_type_is_an_unknown_in_reply_to(
    world: World, town: Town, kind: str
) -> None:
    # A handoff reply naming the consultation, and the consultation answer naming the offer.
    offer_id = offer(world, town)
    consultation_id = consult(world, town)
    target = offer_id if kind == "consultation.answered" else consultation_id
    world.reject(422, "invalid-statement", *reply(town, kind, target))


def test_a_reply_to_an_offer_of_another_matter_is_an_unknown_in_reply_to(
    world: World, town: Town
) -> None:
    other = world.open_matter("H10.15-260302-0002", town.cv, town.so)
    offer_elsewhere = world.ok(
        "handoff.offered", other, town.cv, {"to": town.truong.id, "reason": "Chuyển xử lý"}
    )
    offer(world, town)
    world.reject(
        422,
        "invalid-statement",
        "handoff.accepted",
        town.matter,
        town.truong,
        {"in_reply_to": offer_elsewhere["event_id"]},
    )


@pytest.mark.parametrize("first", ["handoff.withdrawn", "handoff.accepted", "handoff.returned"])
@pytest.mark.parametrize("second", ["handoff.withdrawn", "handoff.accepted", "handoff.returned"])
def test_a_second_reply_to_an_offer_is_not_pending(
    world: World, town: Town, first: str, second: str
) -> None:
    offer_id = offer(world, town)
    world.ok(*reply(town, first, offer_id))
    world.reject(409, "not-pending", *reply(town, second, offer_id))


def test_a_consultation_answered_twice_is_not_pending(world: World, town: Town) -> None:
    consultation_id = consult(world, town)
    world.ok(*reply(town, "consultation.answered", consultation_id))
    type_, subject, actor, body = reply(town, "consultation.answered", consultation_id)
    world.reject(409, "not-pending", type_, subject, actor, {**body, "position": "disagree"})


def test_an_offer_cancelled_by_a_lead_assignment_can_no_longer_be_accepted(
    world: World, town: Town
) -> None:
    offer_id = offer(world, town)
    # The department head orders cv2 to lead instead: an order, which cancels the offer.
    world.ok(
        "task.assigned",
        town.matter,
        town.truong,
        {"assignee": town.cv2.id, "role": "lead", "instructions": "Đồng chí trực tiếp xử lý"},
    )
    world.reject(
        409, "not-pending", "handoff.accepted", town.matter, town.truong, {"in_reply_to": offer_id}
    )
    # ...and a new offer no longer meets a pending one.
    world.ok(
        "handoff.offered", town.matter, town.cv2, {"to": town.truong.id, "reason": "Xin chuyển"}
    )


def test_an_offer_cancelled_by_closing_answers_matter_closed_not_not_pending(
    world: World, town: Town
) -> None:
    offer_id = offer(world, town)
    close(world, town)
    # Both rules fail; matter-closed comes first in DESIGN §4 step 12.
    world.reject(
        409,
        "matter-closed",
        "handoff.accepted",
        town.matter,
        town.truong,
        {"in_reply_to": offer_id},
    )


# --- DESIGN §6: addressees ---------------------------------------------------------------


def addressed(town: Town, kind: str, who: str) -> tuple[str, str, Actor, dict[str, Any]]:
    """A statement of ``kind`` addressed to ``who``: (type, subject, actor, body)."""
    if kind == "handoff.offered":
        return kind, town.matter, town.cv, {"to": who, "reason": "Chuyển xử lý"}
    if kind == "consultation.requested":
        return kind, town.matter, town.cv, {"to": who, "question": "Xin ý kiến"}
    if kind == "task.assigned":
        body = {"assignee": who, "role": "support", "instructions": "Phối hợp xử lý"}
        return kind, town.matter, town.truong, body
    assert kind == "delegation.granted"
    body = {
        "grantee": who,
        "kind": "ky_thay",
        "procedure_codes": ["1.004227"],
        "valid_from": "2026-01-01T00:00:00+07:00",
        "valid_until": "2027-01-01T00:00:00+07:00",
        "instrument_no": "15/QĐ-UQ",
    }
    return kind, f"official:{town.truong.id}", town.truong, body


ADDRESSED = ["handoff.offered", "consultation.requested", "task.assigned", "delegation.granted"]


@pytest.mark.parametrize("kind", ADDRESSED)
def test_an_addressee_who_is_not_a_registered_official_is_unknown(
    world: World, town: Town, kind: str
) -> None:
    type_, subject, actor, body = addressed(town, kind, NOBODY)
    problem = world.reject(422, "unknown-official", type_, subject, actor, body)
    assert NOBODY in problem["detail"]


@pytest.mark.parametrize("kind", ADDRESSED)
def test_an_addressee_registered_only_after_the_statement_occurred_is_unknown(
    world: World, town: Town, kind: str
) -> None:
    world.at(20)
    newcomer = world.official("moi.den", town.so)  # registered now...
    type_, subject, actor, body = addressed(town, kind, newcomer.id)
    # ...so a statement dated ten minutes ago could not have been addressed to them.
    world.reject(
        422, "unknown-official", type_, subject, actor, body, occurred_at=earlier(world, 10)
    )
    world.ok(type_, subject, actor, body)


@pytest.mark.parametrize("kind", ADDRESSED)
def test_an_addressee_who_is_the_actor_is_an_invalid_statement(
    world: World, town: Town, kind: str
) -> None:
    actor = addressed(town, kind, NOBODY)[2]
    world.reject(422, "invalid-statement", *addressed(town, kind, actor.id))


# --- DESIGN §6: closing, pending offers, supplements ------------------------------------


AFTER_CLOSING: list[tuple[str, str, dict[str, Any]]] = [
    ("handoff.offered", "cv", {"to": "truong.phong", "reason": "Chuyển xử lý"}),
    ("consultation.requested", "cv", {"to": "truong.phong", "question": "Xin ý kiến"}),
    (
        "task.assigned",
        "truong",
        {"assignee": "chuyen.vien.2", "role": "lead", "instructions": "Xử lý"},
    ),
    ("supplement.requested", "cv", {"items": ["Bản sao"]}),
    ("deadline.extended", "cv", {"new_due_at": "2026-04-01T17:00:00+07:00", "reason": "Phức tạp"}),
    (
        "decision.recorded",
        "cv",
        {"outcome": "approved", "summary": "Cấp", "legal_basis": "Luật Đất đai", "capacity": "own"},
    ),
    ("matter.closed", "cv", {"result": "stopped"}),
]


@pytest.mark.parametrize(
    ("type_", "who", "body"), AFTER_CLOSING, ids=[t for t, _, _ in AFTER_CLOSING]
)
def test_nothing_but_a_correction_follows_a_closed_matter(
    world: World, town: Town, type_: str, who: str, body: dict[str, Any]
) -> None:
    close(world, town)
    world.reject(409, "matter-closed", type_, town.matter, town[who], body)


def test_a_correction_after_closing_is_accepted(world: World, town: Town) -> None:
    closed = close(world, town)
    world.ok(
        "correction.recorded",
        town.matter,
        town.cv,
        {
            "target_event_id": closed,
            "reason": "Chọn nhầm kết quả",
            "corrections": {"result": "withdrawn"},
        },
    )


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


def test_a_supplement_received_without_a_pending_request_is_an_invalid_statement(
    world: World, town: Town
) -> None:
    world.reject(422, "invalid-statement", "supplement.received", town.matter, town.cv, {})
    world.ok("supplement.requested", town.matter, town.cv, {"items": ["Bản sao"]})
    world.ok("supplement.received", town.matter, town.cv, {})
    # The request was answered: a second receipt has nothing to answer.
    world.reject(422, "invalid-statement", "supplement.received", town.matter, town.cv, {})


# --- DESIGN §6: corrections --------------------------------------------------------------


@pytest.fixture
def corrected(world: World, town: Town) -> dict[str, tuple[str, Actor]]:
    """Targets to correct: each event id and its author."""
    offer_id = offer(world, town)
    accepted = world.ok("handoff.accepted", town.matter, town.truong, {"in_reply_to": offer_id})
    assigned = world.ok(
        "task.assigned",
        town.matter,
        town.truong,
        {"assignee": town.cv2.id, "role": "support", "instructions": "Phối hợp thẩm định"},
    )
    return {
        "handoff.offered": (offer_id, town.cv),
        "handoff.accepted": (accepted["event_id"], town.truong),
        "task.assigned": (assigned["event_id"], town.truong),
    }


BAD_CORRECTIONS = [
    ("handoff.offered", {"to": "chuyen.vien.2"}, "to may not be corrected"),
    ("task.assigned", {"assignee": "chuyen.vien"}, "assignee may not be corrected"),
    ("task.assigned", {"role": "lead"}, "role may not be corrected"),
    (
        "handoff.accepted",
        {"in_reply_to": str(uuid.UUID(int=7))},
        "in_reply_to may not be corrected",
    ),
    ("handoff.offered", {"outcome": "approved"}, "a field the offer does not have"),
    ("handoff.accepted", {"reason": "Đã nhận"}, "a field the acceptance does not have"),
    ("handoff.offered", {"reason": 5}, "an integer for a text"),
    ("handoff.offered", {"reason": ""}, "an empty text"),
    ("handoff.offered", {"reason": None}, "null"),
    ("task.assigned", {"due_at": "2026-03-10"}, "a date for an instant"),
    ("handoff.offered", {}, "no correction at all"),
]


@pytest.mark.parametrize(
    ("target", "corrections", "case"), BAD_CORRECTIONS, ids=[c for _, _, c in BAD_CORRECTIONS]
)
def test_a_correction_that_may_not_or_cannot_apply_is_an_invalid_statement(
    world: World,
    town: Town,
    corrected: dict[str, tuple[str, Actor]],
    target: str,
    corrections: dict[str, Any],
    case: str,
) -> None:
    event_id, author = corrected[target]
    body = {"target_event_id": event_id, "reason": "Sửa sai sót", "corrections": corrections}
    world.reject(422, "invalid-statement", "correction.recorded", town.matter, author, body)


def test_a_correction_of_an_unknown_target_is_an_invalid_statement(
    world: World, town: Town, corrected: dict[str, tuple[str, Actor]]
) -> None:
    body = {"target_event_id": str(uuid.uuid4()), "reason": "Sửa", "corrections": {"reason": "x"}}
    world.reject(422, "invalid-statement", "correction.recorded", town.matter, town.cv, body)


def test_a_correction_of_a_correctable_field_with_a_fitting_value_is_accepted(
    world: World, town: Town, corrected: dict[str, tuple[str, Actor]]
) -> None:
    event_id, author = corrected["task.assigned"]
    world.ok(
        "correction.recorded",
        town.matter,
        author,
        {
            "target_event_id": event_id,
            "reason": "Bổ sung hạn",
            "corrections": {
                "instructions": "Phối hợp thẩm định hồ sơ",
                "due_at": "2026-03-10T17:00:00+07:00",
            },
        },
    )


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


@pytest.mark.parametrize(
    ("type_", "subject", "who", "body"),
    [
        ("handoff.offered", "matter:H10.15-260302-0009", "cv", OFFERED),
        ("supplement.requested", "matter:H10.15-260302-0009", "cv", {"items": ["Bản sao"]}),
        ("key.bound", "official:moi.den", "registrar", {"public_key": A_KEY, "valid_from": LATER}),
        ("unit.registered", "agency:H11", "root", {"unit_id": "lanh-dao", "name": "Ban lãnh đạo"}),
    ],
)
def test_a_subjects_first_statement_must_be_its_opening_type(
    world: World, town: Town, type_: str, subject: str, who: str, body: dict[str, Any]
) -> None:
    actor = {"cv": town.cv, "registrar": town.so.registrar, "root": world.root}[who]
    world.reject(422, "invalid-statement", type_, subject, actor, body)


def test_an_opening_type_cannot_come_again_later_in_its_subject(world: World, town: Town) -> None:
    world.reject(422, "invalid-statement", "matter.opened", town.matter, town.cv, OPENED)


# --- DESIGN §4 step 12: which of two failing rules answers ------------------------------


def test_matter_closed_comes_before_an_unknown_addressee(world: World, town: Town) -> None:
    close(world, town)
    world.reject(
        409, "matter-closed", "handoff.offered", town.matter, town.cv, {"to": NOBODY, "reason": "x"}
    )


def test_matter_closed_comes_before_a_wrong_signer(world: World, town: Town) -> None:
    close(world, town)
    world.reject(
        409, "matter-closed", "supplement.requested", town.matter, town.cv2, {"items": ["x"]}
    )


def test_an_unknown_addressee_comes_before_a_wrong_signer(world: World, town: Town) -> None:
    # cv2 is not the custodian: handing to a real official is refused for the signer...
    world.reject(
        403,
        "not-permitted",
        "handoff.offered",
        town.matter,
        town.cv2,
        {"to": town.truong.id, "reason": "Chuyển xử lý"},
    )
    # ...but an unknown addressee is found first, and so is an addressee equal to the actor.
    world.reject(
        422,
        "unknown-official",
        "handoff.offered",
        town.matter,
        town.cv2,
        {"to": NOBODY, "reason": "Chuyển xử lý"},
    )
    world.reject(
        422,
        "invalid-statement",
        "handoff.offered",
        town.matter,
        town.cv2,
        {"to": town.cv2.id, "reason": "Chuyển xử lý"},
    )


def test_an_unknown_in_reply_to_comes_before_a_wrong_signer(world: World, town: Town) -> None:
    offer_id = offer(world, town)
    # cv2 is not the addressee of the offer...
    world.reject(
        403, "not-permitted", "handoff.accepted", town.matter, town.cv2, {"in_reply_to": offer_id}
    )
    # ...but replying to nothing is found first.
    world.reject(
        422,
        "invalid-statement",
        "handoff.accepted",
        town.matter,
        town.cv2,
        {"in_reply_to": str(uuid.uuid4())},
    )


def test_a_wrong_signer_comes_before_a_pending_offer(world: World, town: Town) -> None:
    offer(world, town)
    world.reject(
        403,
        "not-permitted",
        "handoff.offered",
        town.matter,
        town.cv2,
        {"to": town.giam_doc.id, "reason": "Trình giám đốc"},
    )


def test_a_wrong_signer_comes_before_a_reply_no_longer_pending(world: World, town: Town) -> None:
    offer_id = offer(world, town)
    world.ok("handoff.withdrawn", town.matter, town.cv, {"in_reply_to": offer_id})
    world.reject(
        403, "not-permitted", "handoff.accepted", town.matter, town.cv2, {"in_reply_to": offer_id}
    )


# --- DESIGN §4: which step answers when two fail -----------------------------------------

Builder = Callable[[World, Town], tuple[dict[str, Any], str]]


def _supplement(world: World, town: Town, **kw: Any) -> dict[str, Any]:
    return world.envelope("supplement.requested", town.matter, town.cv, {"items": ["x"]}, **kw)


def _wrong_seq(world: World, town: Town) -> dict[str, Any]:
    head = world.head(town.matter)
    assert head is not None
    return {"seq": head["seq"] + 5}


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


def unknown_key_before_stale_head(world: World, town: Town) -> tuple[dict[str, Any], str]:
    return _supplement(
        world, town, key=SigningKey.generate(), **_wrong_seq(world, town)
    ), town.matter


def bad_signature_before_actor_mismatch(world: World, town: Town) -> tuple[dict[str, Any], str]:
    env = _supplement(world, town, key=town.truong.key)  # names truong's key, actor cv
    env["signature"] = SigningKey.generate().sign_statement(jcs(env["statement"]))
    return env, town.matter


def actor_mismatch_before_key_not_valid(world: World, town: Town) -> tuple[dict[str, Any], str]:
    future_key = SigningKey.generate()
    world.bind_key(town.truong, town.so, future_key, valid_from=LATER)
    return _supplement(world, town, key=future_key), town.matter


def key_not_valid_before_stale_head(world: World, town: Town) -> tuple[dict[str, Any], str]:
    future_key = SigningKey.generate()
    world.bind_key(town.cv, town.so, future_key, valid_from=LATER)
    return _supplement(world, town, key=future_key, **_wrong_seq(world, town)), town.matter


def stale_head_before_clock_skew(world: World, town: Town) -> tuple[dict[str, Any], str]:
    return _supplement(world, town, occurred_at=future(60), **_wrong_seq(world, town)), town.matter


def stale_head_before_out_of_order(world: World, town: Town) -> tuple[dict[str, Any], str]:
    kw = _wrong_seq(world, town)
    return _supplement(world, town, occurred_at=earlier(world, 120), **kw), town.matter


def clock_skew_before_matter_closed(world: World, town: Town) -> tuple[dict[str, Any], str]:
    close(world, town)
    return _supplement(world, town, occurred_at=future(60)), town.matter


def out_of_order_before_matter_closed(world: World, town: Town) -> tuple[dict[str, Any], str]:
    close(world, town)
    return _supplement(world, town, occurred_at=earlier(world, 120)), town.matter


def out_of_order_before_unknown_addressee(world: World, town: Town) -> tuple[dict[str, Any], str]:
    env = world.envelope(
        "handoff.offered",
        town.matter,
        town.cv,
        {"to": NOBODY, "reason": "x"},
        occurred_at=earlier(world, 120),
    )
    return env, town.matter


ACROSS_STEPS: list[tuple[Builder, int, str]] = [
    (schema_before_duplicate, 422, "invalid-statement"),
    (duplicate_before_unknown_key, 409, "duplicate-event"),
    (unknown_key_before_stale_head, 422, "unknown-key"),
    (bad_signature_before_actor_mismatch, 422, "bad-signature"),
    (actor_mismatch_before_key_not_valid, 422, "actor-mismatch"),
    (key_not_valid_before_stale_head, 422, "key-not-valid"),
    (stale_head_before_clock_skew, 409, "stale-head"),
    (stale_head_before_out_of_order, 409, "stale-head"),
    (clock_skew_before_matter_closed, 422, "clock-skew"),
    (out_of_order_before_matter_closed, 422, "out-of-order"),
    (out_of_order_before_unknown_addressee, 422, "out-of-order"),
]


@pytest.mark.parametrize(
    ("build", "status", "slug"), ACROSS_STEPS, ids=[b.__name__ for b, _, _ in ACROSS_STEPS]
)
def test_the_earlier_check_answers_when_two_steps_fail(
    world: World, town: Town, build: Builder, status: int, slug: str
) -> None:
    env, subject = build(world, town)
    post_rejected(world, subject, env, status, slug)
