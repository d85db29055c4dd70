"""Form 06 as data (``evidence.slip``) and its words (``evidence.i18n``), in memory.

A ``Paper`` log signs a small province's registry and one matter's statements, lays them
out as entry bytes and gives them to ``admit_all`` — the very function a bundle's export
and its verifier use — with no database and no HTTP. The matter goes through every kind
of step form 06 knows: an opening, a hand-over accepted, a lead task with its own due
time, a support task, a hand-over returned and one withdrawn, a consultation answered late
without a position and one never answered, two supplement requests and a receipt, two
extensions (the second after the due time), a hand-over up, a decision signed "ký thay"
under a delegation, a correction of it, and a closing one working day late.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import pytest

from evidence.derive import Derived, admit_all, rendering
from evidence.i18n import CATALOGUE, GROUPS, Translator
from evidence.render import render_html
from evidence.verify import Report
from ledger import statements as s
from ledger.canonical import jcs
from ledger.client import Chains
from ledger.crypto import SigningKey
from ledger.note import format_vkey
from ledger.registry import Direction
from ledger.times import format_recorded_at
from projections.analysis import DEEMED_AGREED, LATE_ANSWER
from projections.indicators import NAMES

ICT = timezone(timedelta(hours=7))
ORIGIN = "test.ledger.example/province"
EPOCH = "2020-01-01T00:00:00+07:00"
PROCEDURE = "1.004227"
AGENCY = "000.00.15.H10"
MATTER = "H10.15-260302-0001"
SUBJECT = f"matter:{MATTER}"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in March 2026, ICT (2 March is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ICT)


@dataclass(frozen=True)
class Actor:
    id: str
    key: SigningKey


class Paper:
    """A log kept on paper: statements signed, chained and laid out as entry bytes, each
    recorded a second after it occurred (and after the entry before it)."""

    def __init__(self) -> None:
        self.chains = Chains()
        self.entries: list[bytes] = []
        self.clock = datetime(2026, 2, 2, 8, 0, tzinfo=ICT)
        self.last_recorded = self.clock.astimezone(UTC)
        self.root = Actor("so-noi-vu", SigningKey.generate())
        self.log_key = SigningKey.generate()
        self.registrars: dict[str, Actor] = {}
        self.add(
            "ledger.genesis",
            "ledger",
            self.root,
            {
                "origin": ORIGIN,
                "log_vkey": format_vkey(ORIGIN, self.log_key.public_bytes),
                "roots": [
                    {
                        "id": self.root.id,
                        "full_name": "Sở Nội vụ",
                        "public_key": self.root.key.public_b64,
                        "valid_from": EPOCH,
                    }
                ],
            },
        )

    def add(
        self,
        type_: str,
        subject: str,
        actor: Actor,
        body: dict[str, Any],
        when: datetime | None = None,
    ) -> str:
        if when is None:
            self.clock += timedelta(minutes=1)
            when = self.clock
        env = self.chains.sign(
            type_, subject, actor=actor.id, key=actor.key, body=body, occurred_at=when.isoformat()
        )
        recorded = max(when.astimezone(UTC) + timedelta(seconds=1), self.last_recorded)
        recorded += timedelta(microseconds=1)
        self.last_recorded = recorded
        self.entries.append(
            jcs(
                {
                    "recorded_at": format_recorded_at(recorded),
                    "signature": env["signature"],
                    "statement": env["statement"],
                }
            )
        )
        return str(env["statement"]["event_id"])

    def agency(self, agency_id: str, name: str) -> Actor:
        self.add(
            "agency.registered",
            f"agency:{agency_id}",
            self.root,
            {"name": name, "level": "province"},
        )
        registrar = Actor(f"reg.{agency_id}", SigningKey.generate())
        self.add(
            "registrar.appointed",
            f"agency:{agency_id}",
            self.root,
            {
                "official_id": registrar.id,
                "full_name": "Trần Thị Tổ Chức",
                "public_key": registrar.key.public_b64,
                "valid_from": EPOCH,
            },
        )
        self.registrars[agency_id] = registrar
        return registrar

    def unit(
        self, agency_id: str, unit_id: str, name: str, parent: str | None = "lanh-dao"
    ) -> None:
        body: dict[str, Any] = {"unit_id": unit_id, "name": name}
        if parent:
            body["parent_unit"] = parent
        self.add("unit.registered", f"agency:{agency_id}", self.registrars[agency_id], body)

    def official(
        self, official_id: str, name: str, unit: str, position: str, *, head: bool = False
    ) -> Actor:
        actor = Actor(official_id, SigningKey.generate())
        registrar = self.registrars[AGENCY]
        self.add(
            "official.registered",
            f"official:{official_id}",
            registrar,
            {
                "full_name": name,
                "agency_id": AGENCY,
                "unit_id": unit,
                "position": position,
                "is_head": head,
            },
        )
        self.add(
            "key.bound",
            f"official:{official_id}",
            registrar,
            {"public_key": actor.key.public_b64, "valid_from": EPOCH},
        )
        return actor

    def derive(self) -> Derived:
        derived = admit_all(enumerate(self.entries))
        assert not derived.failures, [str(f) for f in derived.failures]
        return derived


@dataclass
class Case:
    paper: Paper
    people: dict[str, Actor]
    ids: dict[str, str]  # event ids by step name
    delegation: str


def build() -> Case:
    """The province and the matter (the module docstring tells its story)."""
    p = Paper()
    p.agency(AGENCY, "Sở Tài nguyên và Môi trường tỉnh Lào Cai")
    p.unit(AGENCY, "lanh-dao", "Ban Giám đốc", parent=None)
    p.unit(AGENCY, "mot-cua", "Bộ phận Một cửa")
    p.unit(AGENCY, "phong-dat", "Phòng Đất đai")
    people = {
        "giam_doc": p.official(
            "tran.quoc.cuong", "Trần Quốc Cường", "lanh-dao", "Giám đốc", head=True
        ),
        "truong_phong": p.official(
            "pham.minh.duc", "Phạm Minh Đức", "phong-dat", "Trưởng phòng", head=True
        ),
        "clerk": p.official("nguyen.van.an", "Nguyễn Văn An", "mot-cua", "Chuyên viên một cửa"),
        "binh": p.official("le.thi.binh", "Lê Thị Bình", "phong-dat", "Chuyên viên"),
        "chi": p.official("vu.thi.chi", "Vũ Thị Chi", "phong-dat", "Chuyên viên"),
    }
    giam_doc, truong_phong = people["giam_doc"], people["truong_phong"]
    clerk, binh, chi = people["clerk"], people["binh"], people["chi"]
    p.add(
        "competence.granted",
        f"official:{giam_doc.id}",
        p.registrars[AGENCY],
        {"procedure_codes": [PROCEDURE], "legal_basis": "Quyết định 12/QĐ-UBND"},
    )
    delegation = p.add(
        "delegation.granted",
        f"official:{giam_doc.id}",
        giam_doc,
        {
            "grantee": truong_phong.id,
            "kind": "ky_thay",
            "procedure_codes": [PROCEDURE],
            "valid_from": EPOCH,
            "valid_until": "2030-01-01T00:00:00+07:00",
            "instrument_no": "15/QĐ-UQ",
        },
    )
    ids: dict[str, str] = {}

    def step(name: str, type_: str, actor: Actor, body: dict[str, Any], when: datetime) -> str:
        ids[name] = p.add(type_, SUBJECT, actor, body, when)
        return ids[name]

    step(
        "opened",
        "matter.opened",
        clerk,
        {
            "title": "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
            "procedure_code": PROCEDURE,
            "agency_id": AGENCY,
            "deadline_working_days": 5,
            "applicant_ref": "HS-0001",
        },
        at(2, 8),
    )
    offer = step(
        "offered",
        "handoff.offered",
        clerk,
        {"to": truong_phong.id, "reason": "Chuyển phòng chuyên môn"},
        at(2, 8, 30),
    )
    step("accepted", "handoff.accepted", truong_phong, {"in_reply_to": offer}, at(2, 9))
    step(
        "assigned",
        "task.assigned",
        truong_phong,
        {
            "assignee": binh.id,
            "role": "lead",
            "instructions": "Thẩm định hồ sơ",
            "due_at": at(4, 17).isoformat(),
        },
        at(2, 9, 30),
    )
    step(
        "support",
        "task.assigned",
        truong_phong,
        {"assignee": chi.id, "role": "support", "instructions": "Phối hợp đo đạc"},
        at(2, 9, 40),
    )
    sideways = step(
        "sideways",
        "handoff.offered",
        binh,
        {"to": chi.id, "reason": "Đề nghị xử lý phần đo đạc"},
        at(3, 10),
    )
    step(
        "returned",
        "handoff.returned",
        chi,
        {
            "in_reply_to": sideways,
            "reason": "not_competent",
            "note": "Không thuộc phần việc được giao",
        },
        at(3, 11),
    )
    back = step(
        "to_desk",
        "handoff.offered",
        binh,
        {"to": clerk.id, "reason": "Trả bộ phận một cửa"},
        at(3, 11, 30),
    )
    step("withdrawn", "handoff.withdrawn", binh, {"in_reply_to": back}, at(3, 11, 45))
    asked = step(
        "asked",
        "consultation.requested",
        binh,
        {
            "to": giam_doc.id,
            "question": "Thửa đất giáp ranh đất rừng: có cấp không?",
            "proposed_position": "Đề nghị cấp",
        },
        at(5, 9),
    )
    step(
        "asked_unanswered",
        "consultation.requested",
        chi,
        {
            "to": truong_phong.id,
            "question": "Xin ý kiến về ranh giới",
            "reply_due_at": at(6, 17).isoformat(),
        },
        at(5, 10),
    )
    step(
        "supplement",
        "supplement.requested",
        binh,
        {"items": ["Trích lục bản đồ địa chính"]},
        at(9, 9),
    )
    step(
        "supplement_again",
        "supplement.requested",
        binh,
        {"items": ["Biên bản ranh giới"]},
        at(9, 10),
    )
    step("supplemented", "supplement.received", binh, {}, at(11, 15))
    step(
        "extended",
        "deadline.extended",
        binh,
        {
            "new_due_at": at(16, 17).isoformat(),
            "reason": "Cần xác minh ranh giới",
            "apology_document": "Văn bản xin lỗi số 01/XL-VPĐK",
        },
        at(11, 16),
    )
    step(
        "answered",
        "consultation.answered",
        giam_doc,
        {"in_reply_to": asked, "position": "no_position", "text": "Đề nghị căn cứ quy định"},
        at(13, 9),
    )
    step(
        "extended_again",
        "deadline.extended",
        binh,
        {"new_due_at": at(18, 17).isoformat(), "reason": "Chờ ý kiến"},
        at(17, 9),
    )
    up = step(
        "up", "handoff.offered", binh, {"to": truong_phong.id, "reason": "Trình ký"}, at(18, 10)
    )
    step("taken_up", "handoff.accepted", truong_phong, {"in_reply_to": up}, at(19, 9))
    decided = step(
        "decided",
        "decision.recorded",
        truong_phong,
        {
            "outcome": "approved",
            "summary": "Cấp giấy chứng nhận",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "on_behalf",
            "delegation_id": delegation,
        },
        at(19, 10),
    )
    step(
        "corrected",
        "correction.recorded",
        truong_phong,
        {
            "target_event_id": decided,
            "reason": "Lỗi đánh máy",
            "corrections": {"summary": "Cấp giấy chứng nhận (đã đính chính)"},
        },
        at(19, 10, 30),
    )
    step("closed", "matter.closed", truong_phong, {"result": "completed"}, at(19, 11))
    return Case(p, people, ids, delegation)


E = at(30, 9)  # the evaluation instant, long after the closing


@pytest.fixture(scope="module")
def case() -> Case:
    return build()


@pytest.fixture(scope="module")
def derived(case: Case) -> Derived:
    return case.paper.derive()


@pytest.fixture(scope="module")
def slip(derived: Derived) -> dict[str, Any]:
    value: dict[str, Any] = rendering(derived, [MATTER], E)["matters"][MATTER]["slip"]
    return value


def rows_by_event(slip: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["event_id"]: row for row in slip["steps"]}


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from walk(item, f"{path}[{n}]")


# --- the view model ---------------------------------------------------------------------


def test_the_slip_is_plain_json_and_derives_the_same_twice(
    case: Case, slip: dict[str, Any]
) -> None:
    assert json.loads(json.dumps(slip, ensure_ascii=False)) == slip
    again = rendering(case.paper.derive(), [MATTER], E)["matters"][MATTER]["slip"]
    assert jcs(again) == jcs(slip)


def test_every_statement_of_the_matter_is_in_exactly_one_row(slip: dict[str, Any]) -> None:
    seqs = sorted(seq for row in slip["steps"] for seq in row["statements"])
    assert seqs == list(range(len(slip["statements"]))) == list(range(22))
    assert [st["seq"] for st in slip["statements"]] == seqs
    assert all(st["key_id"] and len(st["key_id"]) == 32 for st in slip["statements"])
    assert all(st["row"] for st in slip["statements"])


def test_the_rows_follow_the_matter_step_by_step(case: Case, slip: dict[str, Any]) -> None:
    ids = case.ids
    kinds = [(row["kind"], row["state"]) for row in slip["steps"]]
    assert kinds == [
        ("opened", None),
        ("handoff", "accepted"),
        ("assigned_lead", None),
        ("assigned_support", None),
        ("handoff", "returned"),
        ("handoff", "withdrawn"),
        ("consultation", "answered"),
        ("consultation", "deemed_agreed"),
        ("supplement", "received"),
        ("supplement", "within_pause"),
        ("extension", None),
        ("extension", None),
        ("handoff", "accepted"),
        ("decision", None),
        ("closed", None),
    ]
    rows = rows_by_event(slip)
    assert rows[ids["offered"]]["statements"] == [1, 2]
    assert rows[ids["decided"]]["statements"] == [19, 20]  # the correction beside it
    assert rows[ids["supplement"]]["statements"] == [11, 13]


def test_each_step_is_judged_against_its_own_budget(case: Case, slip: dict[str, Any]) -> None:
    ids, rows = case.ids, rows_by_event(slip)
    matter_due = at(18, 17).isoformat()  # 9 March, + 2 days paused, extended to 16 then 18

    def judged(name: str) -> tuple[Any, ...]:
        step = rows[ids[name]]["step"]
        return (step["due_at"], step["due_source"], step["result"], step["overdue_working_days"])

    # The desk passed the file on the first morning: before time, not "on time" for all.
    assert judged("opened") == (matter_due, "matter", "before", 0)
    assert rows[ids["opened"]]["step"]["to"] == at(2, 8, 30).isoformat()  # the offer: "giao"
    assert judged("offered") == (matter_due, "matter", "before", 0)
    # Bình's task was due on 4 March; she passed the file up on the 18th: 10 working days.
    assert judged("assigned") == (at(4, 17).isoformat(), "task", "late", 10)
    assert rows[ids["assigned"]]["step"]["to"] == at(18, 10).isoformat()
    # The support assignee acted (returned the hand-over) the next day.
    assert judged("support") == (matter_due, "matter", "before", 0)
    assert rows[ids["support"]]["step"]["ended_by"] == ids["returned"]
    # Consultations: against their reply windows.
    assert judged("asked") == (at(12, 17).isoformat(), "reply", "late", 1)
    assert judged("asked_unanswered")[:3] == (at(6, 17).isoformat(), "reply", "late")
    # The head received it after the due time and closed it the next day.
    assert judged("up") == (matter_due, "matter", "late", 1)
    assert judged("closed") == (matter_due, "matter", "late", 1)
    # Rows that are no step of anyone's custody carry no result.
    for name in ("sideways", "to_desk", "supplement", "extended", "decided"):
        assert rows[ids[name]]["step"] is None, name


def test_the_header_carries_the_promise_its_extensions_and_the_pause(
    case: Case, slip: dict[str, Any]
) -> None:
    h = slip["header"]
    assert h["agency"] == {"id": AGENCY, "name": "Sở Tài nguyên và Môi trường tỉnh Lào Cai"}
    assert (h["dossier_code"], h["procedure"], h["applicant_ref"]) == (
        MATTER,
        {"code": PROCEDURE, "name": None},
        "HS-0001",
    )
    assert h["received_by"]["name"] == "Nguyễn Văn An"
    assert h["due_at_initial"] == at(9, 17).isoformat()
    assert h["due_at"] == at(18, 17).isoformat()
    assert h["paused_working_days"] == 2
    assert [(x["no"], x["apology_document"], x["after_due"]) for x in h["extensions"]] == [
        (1, "Văn bản xin lỗi số 01/XL-VPĐK", False),
        (2, None, True),
    ]
    assert h["handling_unit"] == {"id": "phong-dat", "name": "Phòng Đất đai"}
    assert [p["name"] for p in h["cooperating"]] == ["Vũ Thị Chi"]
    assert (h["status"], h["result"], h["custodian"]) == ("closed", "completed", None)
    assert (h["timeliness"], h["overdue_working_days"]) == ("late", 1)
    supplement = rows_by_event(slip)[case.ids["supplement"]]["details"]
    assert supplement["pause_working_days"] == 2


def test_names_positions_and_units_stand_beside_every_id(case: Case, slip: dict[str, Any]) -> None:
    rows = rows_by_event(slip)
    giver = rows[case.ids["offered"]]["giver"]
    assert giver == {
        "id": "nguyen.van.an",
        "name": "Nguyễn Văn An",
        "position": "Chuyên viên một cửa",
        "unit": {"id": "mot-cua", "name": "Bộ phận Một cửa"},
        "agency": {"id": AGENCY, "name": "Sở Tài nguyên và Môi trường tỉnh Lào Cai"},
    }
    for path, value in walk(slip):
        party = path.endswith((".giver", ".receiver", ".decider", ".holder", ".by", ".signer"))
        if party and isinstance(value, dict) and "id" in value:
            assert value["name"], path


def test_competence_appears_only_on_decisions_with_its_authority_by_name_and_instrument(
    case: Case, slip: dict[str, Any]
) -> None:
    found = [path for path, _ in walk(slip) if path.endswith(".competence")]
    assert found == [".decisions[0].competence"]
    (decision,) = slip["decisions"]
    assert (decision["capacity"], decision["competence"], decision["stands"]) == (
        "on_behalf",
        "delegated",
        True,
    )
    delegation, grant = decision["authority"]
    assert delegation["kind"] == "delegation"
    assert (delegation["type"], delegation["instrument_no"]) == ("ky_thay", "15/QĐ-UQ")
    assert delegation["grantor"]["name"] == "Trần Quốc Cường"
    assert delegation["grantor"]["position"] == "Giám đốc"
    assert grant["kind"] == "competence"
    assert grant["holder"]["id"] == case.people["giam_doc"].id
    assert grant["legal_basis"] == "Quyết định 12/QĐ-UBND"
    assert decision["claimed_instrument_no"] == "15/QĐ-UQ"
    (correction,) = rows_by_event(slip)[case.ids["decided"]]["corrections"]
    assert correction["fields"] == {"summary": "Cấp giấy chứng nhận (đã đính chính)"}
    assert correction["target_seq"] == 19


def test_handoffs_consultations_and_supplements_keep_their_notes(
    case: Case, slip: dict[str, Any]
) -> None:
    rows = rows_by_event(slip)
    returned = rows[case.ids["sideways"]]["details"]
    assert (returned["return_reason"], returned["direction"]) == ("not_competent", "lateral")
    asked = rows[case.ids["asked"]]
    assert asked["details"]["position"] == "no_position"
    assert asked["details"]["late"] is True
    assert asked["received_at"] == at(13, 9).isoformat()
    unanswered = rows[case.ids["asked_unanswered"]]["details"]
    assert unanswered["proposed_position"] is None
    assert rows[case.ids["supplement_again"]]["details"]["pause_working_days"] is None


def test_flags_are_listed_with_the_statements_behind_them(case: Case, slip: dict[str, Any]) -> None:
    flags = {f["code"]: f["event_ids"] for f in slip["flags"]}
    assert flags["returned"] == [case.ids["returned"]]
    assert flags["repeated_extension"] == [case.ids["extended_again"]]
    assert flags["extension_after_due"] == [case.ids["extended_again"]]
    assert flags[LATE_ANSWER] == [case.ids["answered"]]
    assert flags[DEEMED_AGREED] == [case.ids["asked_unanswered"]]
    assert flags["overdue"] == [case.ids["closed"]]


def test_an_open_matter_names_its_holder_and_a_decision_without_competence_has_no_authority() -> (
    None
):
    other = build()
    paper, clerk, binh = other.paper, other.people["clerk"], other.people["binh"]
    matter_id = "H10.15-260323-0002"
    subject = f"matter:{matter_id}"
    paper.add(
        "matter.opened",
        subject,
        clerk,
        {
            "title": "Cấp giấy",
            "procedure_code": PROCEDURE,
            "agency_id": AGENCY,
            "deadline_working_days": 5,
            "applicant_ref": "HS-0002",
        },
        at(23, 8),
    )
    paper.add(
        "decision.recorded",
        subject,
        clerk,
        {"outcome": "rejected", "summary": "Từ chối", "legal_basis": "x", "capacity": "own"},
        at(23, 9),
    )
    offer = paper.add("handoff.offered", subject, clerk, {"to": binh.id, "reason": "y"}, at(23, 10))

    slip = rendering(paper.derive(), [matter_id], at(24, 9))["matters"][matter_id]["slip"]

    h = slip["header"]
    assert h["status"] == "open"
    assert h["custodian"]["name"] == "Nguyễn Văn An"
    assert h["pending_offer"] == offer
    assert (h["timeliness"], h["overdue_working_days"]) == ("running", 0)
    assert slip["steps"][-1]["state"] == "pending"
    (decision,) = slip["decisions"]
    assert (decision["competence"], decision["authority"]) == ("none", [])
    assert slip["steps"][0]["step"]["result"] == "running"


# --- the words --------------------------------------------------------------------------


def test_every_code_the_ledger_can_hold_has_a_vietnamese_and_an_english_name() -> None:
    fields: dict[str, Any] = {
        "outcome": s.DecisionRecorded.model_fields["outcome"].annotation,
        "capacity": s.DecisionRecorded.model_fields["capacity"].annotation,
        "position": s.ConsultationAnswered.model_fields["position"].annotation,
        "return_reason": s.HandoffReturned.model_fields["reason"].annotation,
        "closed": s.MatterClosed.model_fields["result"].annotation,
        "delegation": s.DelegationGranted.model_fields["kind"].annotation,
        "role": s.TaskAssigned.model_fields["role"].annotation,
        "direction": Direction,
    }
    for group, annotation in fields.items():
        assert set(GROUPS[group]) == set(get_args(annotation)), group
    names = {
        "indicator": NAMES,
        "type": [t for t, kind in s.SUBJECT_KINDS.items() if kind == "matter"],
        "flag": (
            "recorded_late",
            "unanswerable",
            "escalation_within_competence",
            "returned",
            "repeated_extension",
            "outside_competence",
            "capacity_mismatch",
            "retroactive_registry_change",
            "overdue",
            "extension_after_due",
            LATE_ANSWER,
            DEEMED_AGREED,
        ),
        **GROUPS,
    }
    for group, codes in names.items():
        for code in codes:
            vi, en = CATALOGUE[f"{group}.{code}"]
            assert vi.strip(), (group, code)
            assert en.strip(), (group, code)


TEMPLATES = Path(__file__).resolve().parents[2] / "evidence" / "templates"


def test_the_templates_ask_only_for_words_the_catalogue_has() -> None:
    prefixes = {"check", "field", "flag", "indicator", "type", *GROUPS}
    for template in ("bundle_v2.html", "form06.html"):
        text = (TEMPLATES / template).read_text("utf-8")
        literal = re.findall(r"""t\(\s*['"]([^'"]+)['"]\s*\)""", text)
        dynamic = re.findall(r"""t\(\s*['"]([a-z_]+)\.['"]\s*~""", text)
        assert literal, template
        assert dynamic, template
        assert [key for key in literal if key not in CATALOGUE] == [], template
        assert set(dynamic) <= prefixes, template


# --- the page of the in-memory matter ----------------------------------------------------


def page_of(derived: Derived, lang: str) -> str:
    bundle = {
        "bundle_version": 2,
        "kind": "matter",
        "scope": {"matter_id": MATTER},
        "checkpoint": f"{ORIGIN}\n99\nAAAA\n\n— {ORIGIN} xyz\n",
        "exported_at": E.isoformat(),
        "claims": {"vi": ["Điều khẳng định"], "en": ["A claim"]},
        "rendering": json.loads(json.dumps(rendering(derived, [MATTER], E))),
    }
    report = Report(checked={"checkpoint": 1, "inclusion proofs": 22})
    return render_html(bundle, report, lang, strict=True)  # type: ignore[arg-type]


def text_of(html: str) -> str:
    return re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", html, flags=re.S))
    )


def test_the_vietnamese_page_of_every_kind_of_step_has_no_english_word_of_ours(
    derived: Derived,
) -> None:
    text = text_of(page_of(derived, "vi"))
    english = {en for key, (vi, en) in CATALOGUE.items() if en != vi}
    leaked = [en for en in english if re.search(rf"(?<![\w-]){re.escape(en)}(?![\w-])", text)]
    assert leaked == []
    raw = ["approved", "own", "on_behalf", "agree", "no_position", "ky_thay", "Flags", "event"]
    raw += list(NAMES)
    assert [code for code in raw if re.search(rf"(?<![\w.-]){code}(?![\w-])", text)] == []
    assert "quá hạn" in text
    assert "⟨" not in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Mẫu số 06" in text
    assert "ký thay (KT.) — theo văn bản 15/QĐ-UQ của Trần Quốc Cường (tran.quoc.cuong)" in text


def test_the_english_page_is_english(derived: Derived) -> None:
    text = text_of(page_of(derived, "en"))
    assert "DOSSIER PROCESSING CONTROL SLIP" in text
    assert "Form No. 06" in text
    for vi in ("Bên giao", "Hạn của bước", "quá hạn", "trước hạn", "PHIẾU KIỂM SOÁT"):
        assert vi not in text


def test_a_catalogue_gap_fails_in_strict_mode_and_is_marked_otherwise() -> None:
    t = Translator("vi", strict=True)
    with pytest.raises(KeyError):
        t("outcome.abolished")
    assert Translator("vi")("outcome.abolished") == "⟨outcome.abolished⟩"


def test_a_bundle_that_failed_verification_with_a_hostile_rendering_still_gets_its_verdict() -> (
    None
):
    report = Report()
    report.fail("rendering", "rendering.matters", "forged")
    for rendering_ in ({"matters": {"X": {"slip": 5}}}, {"matters": [1]}, "nonsense", None):
        bundle = {"bundle_version": 2, "scope": {"matter_id": "X"}, "rendering": rendering_}
        page = render_html(bundle, report, "vi")
        assert "KHÔNG ĐẠT KIỂM CHỨNG" in page
        assert "rendering.matters: forged" in page
