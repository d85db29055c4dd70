"""Random valid histories for property tests: a small province and a model of its matters.

``Province`` registers three agencies (one the parent of another, one unrelated), a
hierarchy of officials, competences, delegations and calendar adjustments, then keeps a
model of every matter — custodian, support, the pending offer, open consultations, the
supplement pause, closing, authors — and of the registry's postings, so that each action it
offers is one the ledger must accept. ``act`` sends it through the real HTTP API and
requires 201: a rejection is a failure of the model or of the ledger, never noise.

Choices come from a ``pick`` callable (in a hypothesis test, ``data.draw`` of
``sampled_from``), so a history shrinks like any other drawn value.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from ledger.crypto import SigningKey
from tests.world import PROCEDURE, REGISTRY_EPOCH, Actor, AgencyHandle, World, instant

T = TypeVar("T")


class Pick(Protocol):
    def __call__(self, options: Sequence[T], /) -> T: ...


# Minutes between statements: from the same minute's work to a long weekend.
GAPS = (1, 7, 45, 240, 1500, 4400)
# Days a calendar adjustment may name (March–May 2026, weekdays and weekends).
CALENDAR_DAYS = ("2026-03-13", "2026-03-14", "2026-03-20", "2026-04-04", "2026-04-17", "2026-05-09")

# A field each matter type lets a correction change, and a value that fits it.
CORRECTABLE: dict[str, tuple[str, Any]] = {
    "matter.opened": ("title", "Cấp giấy chứng nhận (tiêu đề đã sửa)"),
    "task.assigned": ("instructions", "Hướng dẫn đã sửa"),
    "handoff.offered": ("reason", "Lý do đã sửa"),
    "handoff.returned": ("note", "Ghi chú đã sửa"),
    "consultation.requested": ("question", "Câu hỏi đã sửa"),
    "consultation.answered": ("text", "Trả lời đã sửa"),
    "supplement.requested": ("items", ["Bản sao sổ hộ khẩu"]),
    "deadline.extended": ("reason", "Lý do gia hạn đã sửa"),
    "decision.recorded": ("summary", "Tóm tắt đã sửa"),
    "matter.closed": ("result", "completed"),
    "correction.recorded": ("reason", "Đính chính lại"),
}


@dataclass
class Posting:
    agency: str
    unit: str
    is_head: bool


@dataclass
class Matter:
    matter_id: str
    agency: str
    custodian: str
    support: set[str] = field(default_factory=set)
    pending_offer: tuple[str, str, str] | None = None  # (event_id, offerer, to)
    consultations: dict[str, tuple[str, str]] = field(default_factory=dict)  # pending ones
    supplement_pending: bool = False
    closed: bool = False
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (event_id, actor, type)

    @property
    def subject(self) -> str:
        return f"matter:{self.matter_id}"


class Province:
    """The registry of a small province, and a model of what its ledger will accept."""

    MAX_MATTERS = 4

    def __init__(self, world: World) -> None:
        self.world = world
        self.actors: dict[str, Actor] = {}
        self.postings: dict[str, Posting] = {}
        self.units: dict[str, dict[str, str | None]] = {}  # agency -> unit -> parent
        self.agencies: dict[str, AgencyHandle] = {}
        self.competent: set[str] = set()
        self.delegations: list[tuple[str, str, str, str]] = []  # (grantor, grantee, kind, id)
        self.matters: dict[str, Matter] = {}
        self.sent: Counter[str] = Counter()  # statements accepted, by type
        self.heads: dict[str, tuple[int, str | None]] = {}  # subject -> (next seq, prev)

        tinh = self._agency("ubnd-tinh", level="province")
        so = self._agency("so-tnmt", level="province", parent="ubnd-tinh")
        xa = self._agency("xa-an-phu", level="commune")
        self._unit(tinh, "van-phong")
        self._unit(so, "phong-dat")
        self._unit(so, "phong-kh")
        self._official("chu.tich", tinh, "lanh-dao", head=True)
        self._official("cv.vp", tinh, "van-phong")
        self._official("giam.doc", so, "lanh-dao", head=True)
        self._official("tp.dat", so, "phong-dat", head=True)
        self._official("cv.an", so, "phong-dat")
        self._official("cv.binh", so, "phong-dat")
        self._official("cv.cuong", so, "phong-kh")
        self._official("cb.xa", xa, "lanh-dao")
        for official in ("chu.tich", "giam.doc", "tp.dat"):
            self._toggle_competence(official)
        self._delegate("giam.doc", "cv.an", "ky_thay")
        self._delegate("tp.dat", "cv.binh", "uy_quyen")
        self._adjust_calendar("2026-03-20", "day_off")
        self._adjust_calendar("2026-03-28", "working_day")

    # --- registry ---------------------------------------------------------------------

    def _ok(self, type_: str, subject: str, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
        """Send through the HTTP API, chained to the subject's head as this model knows it
        (no round trip to read the head), and require 201."""
        seq, prev = self.heads.get(subject, (0, None))
        receipt = self.world.ok(
            type_, subject, actor, body, seq=seq, prev=prev, event_id=str(uuid.uuid4())
        )
        assert receipt["seq"] == seq, receipt
        self.heads[subject] = (seq + 1, str(receipt["envelope_hash"]))
        self.sent[type_] += 1
        return receipt

    def _agency(self, agency_id: str, *, level: str, parent: str | None = None) -> AgencyHandle:
        subject = f"agency:{agency_id}"
        body: dict[str, Any] = {"name": f"Cơ quan {agency_id}", "level": level}
        if parent:
            body["parent_agency"] = parent
        self._ok("agency.registered", subject, self.world.root, body)
        handle = AgencyHandle(agency_id, Actor(f"reg.{agency_id}", SigningKey.generate()))
        self._ok(
            "registrar.appointed",
            subject,
            self.world.root,
            {
                "official_id": handle.registrar.id,
                "full_name": "Trần Thị Tổ Chức",
                "public_key": handle.registrar.key.public_b64,
                "valid_from": REGISTRY_EPOCH,
            },
        )
        self.agencies[agency_id] = handle
        self.units[agency_id] = {}
        self._unit(handle, handle.root_unit, parent=None)
        return handle

    def _unit(self, agency: AgencyHandle, unit_id: str, *, parent: str | None = "lanh-dao") -> None:
        body: dict[str, Any] = {"unit_id": unit_id, "name": f"Phòng {unit_id}"}
        if parent:
            body["parent_unit"] = parent
        self._ok("unit.registered", f"agency:{agency.id}", agency.registrar, body)
        self.units[agency.id][unit_id] = parent

    def _official(
        self, official_id: str, agency: AgencyHandle, unit: str, *, head: bool = False
    ) -> None:
        actor = Actor(official_id, SigningKey.generate())
        subject = f"official:{official_id}"
        body = {
            "full_name": f"Nguyễn Văn {official_id}",
            "agency_id": agency.id,
            "unit_id": unit,
            "position": "Trưởng phòng" if head else "Chuyên viên",
            "is_head": head,
        }
        self._ok("official.registered", subject, agency.registrar, body)
        key = {"public_key": actor.key.public_b64, "valid_from": REGISTRY_EPOCH}
        self._ok("key.bound", subject, agency.registrar, key)
        self.actors[official_id] = actor
        self.postings[official_id] = Posting(agency.id, unit, head)

    def _toggle_competence(self, official_id: str) -> None:
        registrar = self.agencies[self.postings[official_id].agency].registrar
        kind = "competence.revoked" if official_id in self.competent else "competence.granted"
        body: dict[str, Any] = {"procedure_codes": [PROCEDURE]}
        if kind == "competence.granted":
            body["legal_basis"] = "Quyết định 12/QĐ-UBND"
        self._ok(kind, f"official:{official_id}", registrar, body)
        self.competent ^= {official_id}

    def _delegate(self, grantor: str, grantee: str, kind: str) -> None:
        body = {
            "grantee": grantee,
            "kind": kind,
            "procedure_codes": [PROCEDURE],
            "valid_from": REGISTRY_EPOCH,
            "valid_until": "2030-01-01T00:00:00+07:00",
            "instrument_no": "15/QĐ-UQ",
        }
        receipt = self._ok("delegation.granted", f"official:{grantor}", self.actors[grantor], body)
        self.delegations.append((grantor, grantee, kind, str(receipt["event_id"])))

    def _adjust_calendar(self, day: str, kind: str) -> None:
        body = {"date": day, "kind": kind, "source_document": "Công văn 1234/BNV"}
        self._ok("calendar.adjusted", "calendar:VN", self.world.root, body)

    def _move(self, official_id: str, unit: str) -> None:
        posting = self.postings[official_id]
        agency = self.agencies[posting.agency]
        self._ok(
            "official.moved",
            f"official:{official_id}",
            agency.registrar,
            {"agency_id": agency.id, "unit_id": unit, "position": "Chuyên viên", "is_head": False},
        )
        self.postings[official_id] = Posting(agency.id, unit, False)

    # --- hierarchy (as the registry computes it, on the model's postings) --------------

    def _chain(self, agency: str, unit: str) -> list[str]:
        chain: list[str] = []
        current: str | None = unit
        while current is not None and current not in chain:
            chain.append(current)
            current = self.units[agency].get(current)
        return chain

    def is_superior(self, above: str, below: str) -> bool:
        if above == below:
            return False
        a, b = self.postings[above], self.postings[below]
        return a.is_head and a.agency == b.agency and a.unit in self._chain(b.agency, b.unit)

    def superiors(self, official: str) -> list[str]:
        return [o for o in self.postings if self.is_superior(o, official)]

    def agency_heads(self, agency: str) -> list[str]:
        return [
            o
            for o, p in self.postings.items()
            if p.agency == agency and p.is_head and self.units[agency].get(p.unit, "?") is None
        ]

    def others(self, official: str) -> list[str]:
        return [o for o in self.postings if o != official]

    # --- acting -----------------------------------------------------------------------

    def step(self, pick: Pick) -> str:
        """Take one valid action, chosen by ``pick``; its kind."""
        self.world.at(pick(GAPS) - 1)  # ``ok`` moves the clock one more minute
        live = sorted(m for m, matter in self.matters.items() if not matter.closed)
        if not live and len(self.matters) < self.MAX_MATTERS:
            return self._open(pick)
        kinds = ["matter"] * 4 + ["registry"]
        if not live:
            kinds = ["closed", "registry"]
        elif len(self.matters) < self.MAX_MATTERS:
            kinds.append("open")
        if live and len(live) < len(self.matters):
            kinds.append("closed")
        kind = pick(kinds)
        if kind == "open":
            return self._open(pick)
        if kind == "registry":
            return self._registry(pick)
        if kind == "closed":
            closed = sorted(m for m, matter in self.matters.items() if matter.closed)
            return self._correct(self.matters[pick(closed)], pick)
        return self._matter_action(self.matters[pick(live)], pick)

    def _registry(self, pick: Pick) -> str:
        action = pick(("competence", "move", "calendar"))
        if action == "competence":
            self._toggle_competence(pick(("tp.dat", "cv.an", "cv.cuong", "cv.vp", "giam.doc")))
        elif action == "move":
            unit = self.postings["cv.cuong"].unit
            self._move("cv.cuong", "phong-dat" if unit == "phong-kh" else "phong-kh")
        else:
            self._adjust_calendar(pick(CALENDAR_DAYS), pick(("day_off", "working_day")))
        return action

    def _send(self, matter: Matter, type_: str, actor: str, body: dict[str, Any]) -> dict[str, Any]:
        receipt = self._ok(type_, matter.subject, self.actors[actor], body)
        matter.events.append((str(receipt["event_id"]), actor, type_))
        return receipt

    def _open(self, pick: Pick) -> str:
        opener = pick(sorted(self.postings))
        matter_id = f"HS-{len(self.matters) + 1:04d}"
        matter = Matter(matter_id, self.postings[opener].agency, opener)
        self.matters[matter_id] = matter
        self._send(
            matter,
            "matter.opened",
            opener,
            {
                "title": "Cấp giấy chứng nhận quyền sử dụng đất",
                "procedure_code": PROCEDURE,
                "agency_id": matter.agency,
                "deadline_working_days": pick((1, 3, 5, 15)),
                "applicant_ref": f"HS-{matter_id}",
            },
        )
        return "matter.opened"

    def _matter_action(self, m: Matter, pick: Pick) -> str:
        c = m.custodian
        options: list[tuple[str, Callable[[], None]]] = []
        heads_and_superiors = sorted({*self.superiors(c), *self.agency_heads(m.agency)})

        def offer() -> None:
            to = pick(self.others(c))
            receipt = self._send(m, "handoff.offered", c, {"to": to, "reason": "Đúng chuyên môn"})
            m.pending_offer = (str(receipt["event_id"]), c, to)

        def reply(type_: str) -> Callable[[], None]:
            def run() -> None:
                assert m.pending_offer is not None
                offer_id, offerer, to = m.pending_offer
                body: dict[str, Any] = {"in_reply_to": offer_id}
                if type_ == "handoff.returned":
                    body["reason"] = pick(("not_competent", "incomplete", "other"))
                    body["note"] = "Trả lại hồ sơ"
                self._send(m, type_, offerer if type_ == "handoff.withdrawn" else to, body)
                m.pending_offer = None
                if type_ == "handoff.accepted":
                    m.custodian = to

            return run

        def assign(role: str) -> Callable[[], None]:
            def run() -> None:
                if role == "lead":
                    pairs = [(a, b) for a in heads_and_superiors for b in self.others(a)]
                    pairs += [(c, b) for b in self.postings if self.is_superior(c, b)]
                else:
                    actors = sorted({c, *heads_and_superiors})
                    pairs = [(a, b) for a in actors for b in self.others(a)]
                actor, assignee = pick(sorted(set(pairs)))
                body: dict[str, Any] = {
                    "assignee": assignee,
                    "role": role,
                    "instructions": "Xử lý hồ sơ",
                }
                if pick((False, True)):
                    body["due_at"] = instant(self.world.clock + timedelta(days=pick((1, 4, 9))))
                self._send(m, "task.assigned", actor, body)
                if role == "lead":
                    m.pending_offer = None
                    m.custodian = assignee
                else:
                    m.support.add(assignee)

            return run

        def consult() -> None:
            actor = pick(sorted({c, *m.support}))
            to = pick(self.others(actor))
            body: dict[str, Any] = {"to": to, "question": "Đề nghị cho ý kiến"}
            if pick((False, True)):
                body["proposed_position"] = "Đồng ý cấp"
            if pick((False, True)):
                body["reply_due_at"] = instant(self.world.clock + timedelta(days=pick((1, 3, 8))))
            receipt = self._send(m, "consultation.requested", actor, body)
            m.consultations[str(receipt["event_id"])] = (actor, to)

        def answer() -> None:
            consultation = pick(sorted(m.consultations))
            _, to = m.consultations.pop(consultation)
            position = pick(("agree", "disagree", "conditional", "no_position"))
            body = {"in_reply_to": consultation, "position": position, "text": "Ý kiến"}
            self._send(m, "consultation.answered", to, body)

        def supplement(type_: str) -> Callable[[], None]:
            def run() -> None:
                body: dict[str, Any] = {}
                if type_ == "supplement.requested":
                    body["items"] = ["Bản sao giấy tờ tùy thân"]
                self._send(m, type_, c, body)
                m.supplement_pending = type_ == "supplement.requested"

            return run

        def extend() -> None:
            actor = pick(sorted({c, *self.superiors(c)}))
            new_due = instant(self.world.clock + timedelta(days=pick((2, 6, 20))))
            self._send(m, "deadline.extended", actor, {"new_due_at": new_due, "reason": "Phức tạp"})

        def decide() -> None:
            deciders: list[tuple[str, str | None]] = [(a, None) for a in {c, *self.superiors(c)}]
            deciders += [
                (grantee, delegation_id)
                for grantor, grantee, kind, delegation_id in self.delegations
                if kind in ("ky_thay", "uy_quyen")
                and (grantor == c or self.is_superior(grantor, c))
            ]
            actor, delegation_id = pick(sorted(deciders, key=str))
            body: dict[str, Any] = {
                "outcome": pick(("approved", "rejected", "other")),
                "summary": "Quyết định",
                "legal_basis": "Luật Đất đai 2024",
                "capacity": pick(("own", "delegated", "on_behalf")),
            }
            if delegation_id is not None and pick((False, True)):
                body["delegation_id"] = delegation_id
            self._send(m, "decision.recorded", actor, body)

        def close() -> None:
            result = pick(("completed", "withdrawn", "stopped"))
            self._send(m, "matter.closed", c, {"result": result})
            m.closed = True
            m.pending_offer = None

        # Weighted so that what is pending is usually answered before the matter moves on.
        if m.pending_offer is None:
            options += [("offer", offer)] * 2
        else:
            options += [
                ("withdraw", reply("handoff.withdrawn")),
                ("accept", reply("handoff.accepted")),
                ("return", reply("handoff.returned")),
            ] * 3
        if heads_and_superiors or any(self.is_superior(c, o) for o in self.postings):
            options.append(("lead", assign("lead")))
        options += [("support", assign("support")), ("consult", consult), ("consult", consult)]
        if m.consultations:
            options += [("answer", answer)] * 3
        options.append(("supplement", supplement("supplement.requested")))
        if m.supplement_pending:
            options += [("received", supplement("supplement.received"))] * 2
        options += [("extend", extend), ("decide", decide), ("close", close)]

        def correct() -> None:
            self._correct(m, pick)

        options.append(("correct", correct))
        label, run = pick(options)
        run()
        return label

    def _correct(self, m: Matter, pick: Pick) -> str:
        targets = [e for e in m.events if e[2] in CORRECTABLE]
        event_id, author, type_ = pick(targets)
        actor = pick(sorted({author, *self.superiors(author)}))
        name, value = CORRECTABLE[type_]
        body = {"target_event_id": event_id, "reason": "Sai sót", "corrections": {name: value}}
        self._send(m, "correction.recorded", actor, body)
        return "correct"


__all__ = ["Matter", "Pick", "Province"]
