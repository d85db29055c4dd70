"""The demo's history: the registry, then matters flowing through the province's desks.

Every statement is signed by the official who made it (keys from the seed), chained per
subject with ``ledger.client.Chains``, and dated in working hours on Vietnam's working
days. Most officials work by the book; a few carry one avoidance pattern of DESIGN §1 each
(``PLANTED``), so the indicators have something true to find. The history is a function of
the seed and the start date alone: the same statements, event ids and signatures anywhere.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from demo.province import (
    AGENCIES,
    AGRICULTURE,
    AN_PHU,
    ASSOCIATION,
    BIRTH,
    BUILD_ADJUST,
    BUILD_PERMIT,
    CERTIFY,
    COMPANY,
    COMPANY_CHANGE,
    CONSTRUCTION,
    FINANCE,
    HOME_AFFAIRS,
    HOUSE_PERMIT,
    INVESTMENT,
    LAND_CHANGE,
    LAND_COMMUNE,
    LAND_FIRST,
    PROVINCE,
    ROOT_ID,
    TAN_LAP,
    WATER,
    Person,
    Procedure,
    Registry,
)
from ledger.client import Chains
from ledger.workdays import ICT, WORKING_HOURS, WorkCalendar

ROOT = "root"  # the token that submits root registrars' statements
LEGAL_BASIS = "Quyết định 25/2025/QĐ-UBND phân cấp giải quyết thủ tục hành chính"
DECISION_BASIS = "Quyết định 25/2025/QĐ-UBND; quy trình nội bộ giải quyết thủ tục hành chính"

# Calendar changes a province would have recorded: the swap of New Year 2026 (Friday 2/1
# off, worked on Saturday 10/1), which the holidays package does not know. The package
# knows the rest, its own swap included (31/8 off, Saturday 22/8 worked): docs/calendar.md.
NEW_YEAR_2026_NOTICE = (
    "Thông báo 01/TB-UBND của UBND tỉnh Sơn Hà: nghỉ Tết Dương lịch 2026, hoán đổi ngày làm"
    " việc thứ Sáu 02/01/2026 sang thứ Bảy 10/01/2026 (dữ liệu minh họa)"
)
ADJUSTMENTS = (
    ("2026-01-02", "day_off", NEW_YEAR_2026_NOTICE),
    ("2026-01-10", "working_day", NEW_YEAR_2026_NOTICE),
)
# A unit head who assigns a file sets the step's due time, as internal procedures do.
STEP_WORKING_DAYS = 3


def _routes() -> dict[str, tuple[tuple[Procedure, str, int], ...]]:
    """Which unit handles each procedure, and how often each kind arrives (per agency)."""
    return {
        HOME_AFFAIRS: ((ASSOCIATION, "phong-tccb", 1),),
        AGRICULTURE: (
            (LAND_FIRST, "phong-dat-dai", 3),
            (LAND_CHANGE, "vp-dang-ky", 4),
            (WATER, "phong-dat-dai", 1),
        ),
        CONSTRUCTION: ((BUILD_PERMIT, "phong-qlxd", 3), (BUILD_ADJUST, "phong-qlxd", 1)),
        FINANCE: (
            (COMPANY, "phong-dkkd", 4),
            (COMPANY_CHANGE, "phong-dkkd", 3),
            (INVESTMENT, "phong-dau-tu", 1),
        ),
        AN_PHU: (
            (BIRTH, "van-phong", 4),
            (CERTIFY, "van-phong", 3),
            (HOUSE_PERMIT, "phong-kinh-te", 2),
            (LAND_COMMUNE, "phong-kinh-te", 2),
        ),
        TAN_LAP: (
            (BIRTH, "van-phong", 4),
            (CERTIFY, "van-phong", 3),
            (HOUSE_PERMIT, "phong-kinh-te", 2),
            (LAND_COMMUNE, "phong-kinh-te", 2),
        ),
    }


AGENCY_WEIGHTS = (
    (HOME_AFFAIRS, 1),
    (AGRICULTURE, 5),
    (CONSTRUCTION, 4),
    (FINANCE, 5),
    (AN_PHU, 3),
    (TAN_LAP, 3),
)


@dataclass(frozen=True)
class Planted:
    """An official who carries one avoidance pattern, and the indicator meant to find it."""

    official_id: str
    full_name: str
    agency_id: str
    pattern: str
    indicator: str
    description_vi: str


@dataclass(frozen=True)
class Submission:
    """A signed envelope and the token that may submit it (an agency id, or ``ROOT``)."""

    token: str
    envelope: dict[str, Any]


@dataclass
class WorkClock:
    """Working time on Vietnam's calendar: hours advance only 07:30–11:30 and 13:00–17:00."""

    calendar: WorkCalendar

    def advance(self, moment: datetime, hours: float) -> datetime:
        remaining = timedelta(hours=max(hours, 0.0))
        current = moment.astimezone(ICT)
        while True:
            day = current.date()
            if self.calendar.is_working_day(day):
                for opens, closes in WORKING_HOURS:
                    start = datetime.combine(day, opens, ICT)
                    end = datetime.combine(day, closes, ICT)
                    current = max(current, start)
                    if current < end:
                        if current + remaining <= end:
                            return current + remaining
                        remaining -= end - current
                        current = end
            current = datetime.combine(day + timedelta(days=1), time(0), ICT)

    def morning(self, day: date, minutes: int) -> datetime:
        """``minutes`` working minutes into ``day`` (or the next working day)."""
        return self.advance(datetime.combine(day, time(0), ICT), minutes / 60)


def text(moment: datetime) -> str:
    return moment.astimezone(ICT).isoformat(timespec="seconds")


@dataclass
class Story:
    """Signs the demo's statements in an order the ledger accepts."""

    registry: Registry
    start: date
    chains: Chains = field(default_factory=Chains)
    out: list[Submission] = field(default_factory=list)
    rng: random.Random = field(init=False)
    clock: WorkClock = field(init=False)
    planted: dict[str, Planted] = field(default_factory=dict)
    matters_opened: int = 0
    rota: dict[tuple[str, str], int] = field(default_factory=dict)  # next turn per unit
    registry_end: int = 0  # out[:registry_end] is the registry, in the order it must go

    def __post_init__(self) -> None:
        self.rng = random.Random(f"al-demo-story/{self.registry.seed}/{self.start}")
        adjustments = {date.fromisoformat(d): kind for d, kind, _ in ADJUSTMENTS}
        self.clock = WorkClock(WorkCalendar(adjustments))  # type: ignore[arg-type]
        self.routes = _routes()

    # --- signing -------------------------------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def sign(
        self,
        token: str,
        type_: str,
        subject: str,
        actor: Person | None,
        body: dict[str, Any],
        occurred_at: datetime,
    ) -> str:
        key = self.registry.root_key if actor is None else actor.key
        event_id = self.new_id()
        env = self.chains.sign(
            type_,
            subject,
            actor=ROOT_ID if actor is None else actor.id,
            key=key,
            body=body,
            occurred_at=text(occurred_at),
            event_id=event_id,
        )
        self.out.append(Submission(token, env))
        return event_id

    # --- the registry --------------------------------------------------------------------

    def write_registry(self) -> None:
        r = self.registry
        at = datetime.combine(self.start - timedelta(days=30), time(8, 0), ICT)
        valid_from = text(datetime.combine(self.start - timedelta(days=365), time(0), ICT))

        def tick() -> datetime:
            nonlocal at
            at += timedelta(minutes=1)
            return at

        for day, kind, source in ADJUSTMENTS:
            body = {"date": day, "kind": kind, "source_document": source}
            self.sign(ROOT, "calendar.adjusted", "calendar:VN", None, body, tick())
        for agency in AGENCIES:
            subject = f"agency:{agency.agency_id}"
            registered: dict[str, Any] = {"name": agency.name, "level": agency.level}
            if agency.parent:
                registered["parent_agency"] = agency.parent
            self.sign(ROOT, "agency.registered", subject, None, registered, tick())
            registrar = r.registrars[agency.agency_id]
            appointed = {
                "official_id": registrar.id,
                "full_name": registrar.full_name,
                "public_key": registrar.key.public_b64,
                "valid_from": valid_from,
            }
            self.sign(ROOT, "registrar.appointed", subject, None, appointed, tick())
            for unit in agency.units:
                unit_body = {"unit_id": unit.unit_id, "name": unit.name}
                if unit.parent:
                    unit_body["parent_unit"] = unit.parent
                self.sign(
                    agency.agency_id, "unit.registered", subject, registrar, unit_body, tick()
                )
        for person in r.people.values():
            registrar = r.registrars[person.agency_id]
            posting = {
                "full_name": person.full_name,
                "agency_id": person.agency_id,
                "unit_id": person.unit_id,
                "position": person.position,
                "is_head": person.is_head,
            }
            token = person.agency_id
            self.sign(token, "official.registered", person.subject, registrar, posting, tick())
            key = {"public_key": person.key.public_b64, "valid_from": valid_from}
            self.sign(token, "key.bound", person.subject, registrar, key, tick())
            competences = r.competences.get(person.id)
            if competences:
                grant = {"procedure_codes": sorted(competences), "legal_basis": LEGAL_BASIS}
                self.sign(token, "competence.granted", person.subject, registrar, grant, tick())
        until = text(datetime.combine(self.start + timedelta(days=730), time(0), ICT))
        for n, (grantor_id, grantee_id, kind, codes) in enumerate(r.delegations, start=1):
            grantor = r.people[grantor_id]
            short = next(a.short for a in AGENCIES if a.agency_id == grantor.agency_id)
            delegation = {
                "grantee": grantee_id,
                "kind": kind,
                "procedure_codes": list(codes),
                "valid_from": valid_from,
                "valid_until": until,
                "instrument_no": f"{n:02d}/QĐ-{short.upper()}",
            }
            r.delegation_ids[(grantor_id, grantee_id)] = self.sign(
                grantor.agency_id,
                "delegation.granted",
                grantor.subject,
                grantor,
                delegation,
                tick(),
            )
        self.registry_end = len(self.out)

    # --- who carries which pattern --------------------------------------------------------

    def plant(self) -> None:
        r = self.registry
        marks = (
            (
                r.one(FINANCE, "head:phong-dkkd"),
                "escalation",
                "escalation_within_competence",
                "Đẩy hồ sơ thuộc thẩm quyền của mình lên Giám đốc Sở, xin ý kiến chỉ đạo",
            ),
            (
                r.one(TAN_LAP, "head"),
                "escalation",
                "escalation_within_competence",
                "Xin ý kiến UBND tỉnh về giấy phép xây dựng nhà ở thuộc thẩm quyền cấp xã",
            ),
            (
                r.all(CONSTRUCTION, "officer:phong-qlxd")[0],
                "ping_pong",
                "ping_pong",
                "Chuyển hồ sơ qua lại giữa các phòng",
            ),
            (
                r.one(AN_PHU, "head:phong-kinh-te"),
                "shift_sideways",
                "returned_handoffs",
                "Chuyển hồ sơ thuộc cấp xã sang Sở, bị trả lại vì không đúng thẩm quyền",
            ),
            (
                r.all(AGRICULTURE, "officer:phong-dat-dai")[1],
                "positionless",
                "positionless_consultation",
                "Xin ý kiến nhưng không nêu quan điểm đề xuất",
            ),
            (
                r.one(CONSTRUCTION, "head:phong-qhkt"),
                "late_consultee",
                "unresponsive_consultee",
                "Trả lời xin ý kiến chậm, không nêu quan điểm hoặc không trả lời",
            ),
            (
                r.all(AGRICULTURE, "officer:vp-dang-ky")[0],
                "sitting",
                "overdue",
                "Để hồ sơ quá hạn, kể cả hồ sơ nhận trước Tết Bính Ngọ",
            ),
            (
                r.one(CONSTRUCTION, "vice:phong-qlxd"),
                "overreach",
                "decisions_outside_competence",
                "Ký quyết định không có thẩm quyền",
            ),
            (
                r.all(AN_PHU, "officer:phong-kinh-te")[0],
                "repeat_supplements",
                "repeated_supplement_requests",
                "Yêu cầu bổ sung hồ sơ nhiều lần",
            ),
            (
                r.one(AGRICULTURE, "head:vp-dang-ky"),
                "passes_up",
                "competence_unused",
                "Được phân cấp giải quyết đăng ký biến động nhưng trình Giám đốc Sở ký mọi hồ sơ",
            ),
            (
                r.all(CONSTRUCTION, "officer:phong-qlxd")[1],
                "late_steps",
                "missed_step_deadlines",
                "Không xử lý hồ sơ trong thời hạn của bước thẩm định được giao",
            ),
            (
                r.one(AGRICULTURE, "head:phong-dat-dai"),
                "idle",
                "idle_custody",
                "Để hồ sơ nằm trên bàn hơn một tuần làm việc rồi mới phân công",
            ),
        )
        for person, pattern, indicator, description in marks:
            self.planted[person.id] = Planted(
                person.id, person.full_name, person.agency_id, pattern, indicator, description
            )

    def pattern(self, person: Person) -> str | None:
        planted = self.planted.get(person.id)
        return planted.pattern if planted else None

    def next_on_rota(self, agency: str, unit: str) -> Person:
        """The unit's staff take files in turn (officers, then the deputy head)."""
        r = self.registry
        staff = r.all(agency, f"officer:{unit}") + r.all(agency, f"vice:{unit}")
        turn = self.rota.get((agency, unit), 0)
        self.rota[(agency, unit)] = turn + 1
        return staff[turn % len(staff)]

    # --- matters ---------------------------------------------------------------------------

    def write_matters(self, count: int, *, working_days: int = 180) -> None:
        """``count`` matters opened over ``working_days`` working days from the start."""
        days: list[date] = []
        day = self.start
        while len(days) < working_days:
            if self.clock.calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        tet_eve = date(2026, 2, 16)
        before_tet = [d for d in days if tet_eve - timedelta(days=21) <= d < tet_eve]
        agencies = [a for a, _ in AGENCY_WEIGHTS]
        weights = [w for _, w in AGENCY_WEIGHTS]
        for n in range(count):
            opened_day = days[n * len(days) // count]
            agency = self.rng.choices(agencies, weights)[0]
            routes = self.routes[agency]
            procedure, unit, _ = self.rng.choices(routes, [w for *_, w in routes])[0]
            # The sitter's registration office gets its share of files just before Tết.
            if before_tet and agency == AGRICULTURE and n % 9 == 0:
                opened_day = self.rng.choice(before_tet)
                procedure, unit = LAND_CHANGE, "vp-dang-ky"
            opened = self.clock.morning(opened_day, self.rng.randrange(0, 420))
            Matter(self, agency, procedure, unit, opened).run()
            self.matters_opened += 1


class Matter:
    """One dossier's path through an agency, signed step by step."""

    def __init__(
        self, story: Story, agency: str, procedure: Procedure, unit: str, opened: datetime
    ) -> None:
        self.story = story
        self.r = story.registry
        self.rng = story.rng
        self.agency = agency
        self.procedure = procedure
        self.unit = unit
        self.t = opened
        # Dossier codes as the one-stop systems write them: agency, receiving day, number.
        prefix = f"H99.{agency.split('.')[2]}" if agency.startswith("000.") else agency
        self.matter_id = f"{prefix}-{opened:%y%m%d}-{story.matters_opened + 1:04d}"
        self.subject = f"matter:{self.matter_id}"
        self.custodian: Person | None = None
        self.step_due: datetime | None = None  # the due time of the latest assignment
        self.decided = False
        self.events: list[tuple[str, Person, str]] = []

    def later(self, hours: float) -> datetime:
        self.t = self.story.clock.advance(self.t, hours)
        return self.t

    def emit(self, actor: Person, type_: str, body: dict[str, Any], hours: float = 0.25) -> str:
        event_id = self.story.sign(
            actor.agency_id, type_, self.subject, actor, body, self.later(hours)
        )
        self.events.append((event_id, actor, type_))
        return event_id

    def pick(self, people: list[Person]) -> Person:
        return self.rng.choice(people)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # --- steps -------------------------------------------------------------------------

    def handoff(self, frm: Person, to: Person, reason: str, *, accept_after: float) -> None:
        """An offer and its acceptance: custody moves to ``to``."""
        offer = self.emit(frm, "handoff.offered", {"to": to.id, "reason": reason})
        self.emit(to, "handoff.accepted", {"in_reply_to": offer}, accept_after)
        self.custodian = to

    def returned(self, frm: Person, to: Person, reason: str, why: str, note: str) -> None:
        offer = self.emit(frm, "handoff.offered", {"to": to.id, "reason": reason})
        body = {"in_reply_to": offer, "reason": why, "note": note}
        self.emit(to, "handoff.returned", body, self.rng.uniform(2, 16))

    def assign(self, by: Person, to: Person, instructions: str) -> None:
        """A lead assignment with the step's due time (``STEP_WORKING_DAYS``)."""
        self.later(self.rng.uniform(0.2, 3))
        at = self.later(0)  # the instant ``emit`` will sign at (17:00 rolls to the morning)
        days = min(STEP_WORKING_DAYS, self.procedure.deadline_working_days)
        self.step_due = self.story.clock.calendar.deadline(at, days)
        body = {
            "assignee": to.id,
            "role": "lead",
            "instructions": instructions,
            "due_at": text(self.step_due),
        }
        self.emit(by, "task.assigned", body, 0)
        self.custodian = to

    def consult(
        self,
        asker: Person,
        consultee: Person,
        question: str,
        *,
        positioned: bool,
        reply_hours: tuple[float, float] = (2, 24),
    ) -> None:
        body: dict[str, Any] = {"to": consultee.id, "question": question}
        if positioned:
            body["proposed_position"] = (
                "Đề xuất chấp thuận hồ sơ; đề nghị cho ý kiến về nội dung nêu trên"
            )
        request = self.emit(asker, "consultation.requested", body, self.rng.uniform(1, 6))
        reply_window = self.story.clock.calendar.deadline(self.t, 5)
        if self.story.pattern(consultee) == "late_consultee":
            roll = self.rng.random()
            if roll < 0.2:  # never answers: deemed to agree once the window ends
                self.t = max(self.t, reply_window + timedelta(minutes=30))
                return
            if roll < 0.4:
                answer = {
                    "in_reply_to": request,
                    "position": "no_position",
                    "text": "Đề nghị đơn vị chủ trì căn cứ quy định để giải quyết",
                }
                self.emit(consultee, "consultation.answered", answer, self.rng.uniform(20, 60))
                return
            if roll < 0.7:
                self.t = max(self.t, reply_window)
            answer = {
                "in_reply_to": request,
                "position": "agree",
                "text": "Thống nhất với đề xuất (trả lời chậm)",
            }
            self.emit(consultee, "consultation.answered", answer, self.rng.uniform(4, 30))
            return
        position = "conditional" if self.chance(0.2) else "agree"
        answer = {
            "in_reply_to": request,
            "position": position,
            "text": "Thống nhất với đề xuất"
            if position == "agree"
            else "Thống nhất, đề nghị bổ sung ý kiến thẩm định về quy hoạch",
        }
        self.emit(consultee, "consultation.answered", answer, self.rng.uniform(*reply_hours))

    def supplement(self, holder: Person, items: list[str]) -> None:
        self.emit(holder, "supplement.requested", {"items": items}, self.rng.uniform(1, 8))
        self.emit(holder, "supplement.received", {}, self.rng.uniform(8, 40))

    def decide(self, decider: Person, capacity: str, *, delegation_id: str | None = None) -> str:
        outcome = "rejected" if self.chance(0.08) else "approved"
        verdict = "Chấp thuận" if outcome == "approved" else "Từ chối"
        body: dict[str, Any] = {
            "outcome": outcome,
            "summary": f"{verdict}: {self.procedure.name}",
            "legal_basis": DECISION_BASIS,
            "capacity": capacity,
        }
        if delegation_id is not None:
            body["delegation_id"] = delegation_id
        self.decided = True
        return self.emit(decider, "decision.recorded", body, self.rng.uniform(1, 6))

    def decide_by_the_book(self) -> str:
        """The custodian decides when competent; else the unit's head when the competence is
        his (phân cấp); else the agency head, or a deputy signing ký thay. The one who leaves
        his competence unused passes even his own files up."""
        holder = self.custodian
        assert holder is not None
        code = self.procedure.code
        if self.r.holds(holder.id, code) and self.story.pattern(holder) != "passes_up":
            return self.decide(holder, "own")
        unit_heads = self.r.all(holder.agency_id, f"head:{holder.unit_id}")
        if (
            unit_heads
            and unit_heads[0] != holder
            and self.r.holds(unit_heads[0].id, code)
            and self.story.pattern(unit_heads[0]) != "passes_up"
        ):
            return self.decide(unit_heads[0], "own")
        head = self.r.one(holder.agency_id, "head")
        deputies = self.r.all(holder.agency_id, "deputy")
        if deputies and self.chance(0.5):
            deputy = self.pick(deputies)
            return self.decide(
                deputy, "on_behalf", delegation_id=self.r.delegation_ids[(head.id, deputy.id)]
            )
        return self.decide(head, "own")

    def close(self, result: str = "completed") -> None:
        assert self.custodian is not None
        self.emit(self.custodian, "matter.closed", {"result": result}, self.rng.uniform(0.5, 6))

    # --- the path ------------------------------------------------------------------------

    def run(self) -> None:
        r, agency = self.r, self.agency
        clerk = self.pick(r.all(agency, "clerk"))
        self.custodian = clerk
        applicant = f"HS-{self.rng.randrange(10**9):09d}"  # an opaque reference, no personal data
        self.emit(
            clerk,
            "matter.opened",
            {
                "title": self.procedure.name,
                "procedure_code": self.procedure.code,
                "agency_id": agency,
                "deadline_working_days": self.procedure.deadline_working_days,
                "applicant_ref": applicant,
            },
            0,
        )
        due = self.story.clock.calendar.deadline(self.t, self.procedure.deadline_working_days)
        if self.unit == "van-phong":  # civil status and certification: the clerk prepares
            self.counter_service(clerk)
            return
        head = r.one(agency, "head")
        if self.procedure is HOUSE_PERMIT and self.story.pattern(head) == "escalation":
            self.escalating_chairman(clerk, head)
            return
        unit_head = r.one(agency, f"head:{self.unit}")
        self.handoff(
            clerk,
            unit_head,
            "Chuyển phòng chuyên môn thụ lý",
            accept_after=self.rng.uniform(0.3, 4),
        )
        holder = unit_head
        if self.story.pattern(unit_head) == "idle":
            # The file lies on the head's desk for six to nine working days, unsigned.
            self.later(self.rng.uniform(50, 72))
        if self.story.pattern(unit_head) == "escalation":
            self.escalating_head(unit_head, head)
            return
        if (
            self.story.pattern(unit_head) == "shift_sideways"
            and self.procedure in (LAND_COMMUNE, HOUSE_PERMIT)
            and self.chance(0.7)
        ):
            # Both are the commune's own since 2025; the department sends each file back.
            if self.procedure is LAND_COMMUNE:
                target = r.one(AGRICULTURE, "head:phong-dat-dai")
                ask = "Đề nghị Sở Nông nghiệp và Môi trường xác nhận"
                note = "Việc xác nhận nguồn gốc sử dụng đất thuộc thẩm quyền UBND cấp xã"
            else:
                target = r.one(CONSTRUCTION, "head:phong-qlxd")
                ask = "Đề nghị Sở Xây dựng thẩm định, cấp phép"
                note = "Cấp giấy phép xây dựng nhà ở riêng lẻ thuộc thẩm quyền UBND cấp xã"
            self.returned(unit_head, target, ask, "not_competent", note)
        # The head with phân cấp handles some files himself; the one who leaves it unused
        # hands every file on, and has the director sign it.
        if (
            not r.holds(unit_head.id, self.procedure.code)
            or self.story.pattern(unit_head) == "passes_up"
            or self.chance(0.6)
        ):
            holder = self.story.next_on_rota(agency, self.unit)
            self.assign(unit_head, holder, "Thẩm định hồ sơ, dự thảo kết quả giải quyết")
        self.work(holder, due)

    def work(self, holder: Person, due: datetime) -> None:
        """The holder's part: examine, ask, decide (or have it decided), close."""
        pattern = self.story.pattern(holder)
        # First act: within hours, or days for the one who sits on files.
        self.later(self.rng.uniform(24, 60) if pattern == "sitting" else self.rng.uniform(0.5, 6))
        if pattern == "late_steps" and self.step_due is not None:
            # Past the step's due time by a few hours: the step is missed, the matter is not.
            self.t = max(self.t, self.story.clock.advance(self.step_due, self.rng.uniform(0.5, 4)))
        if pattern == "repeat_supplements":
            for _ in range(self.rng.choice((2, 3))):
                self.supplement(holder, ["Bản vẽ thiết kế có chữ ký của chủ đầu tư"])
        elif self.chance(0.12):
            self.supplement(holder, ["Bản sao có chứng thực giấy tờ liên quan"])
        if pattern == "ping_pong" and self.chance(0.6):
            other = self.r.one(holder.agency_id, "head:phong-qhkt")
            self.handoff(
                holder,
                other,
                "Đề nghị phòng Quy hoạch – Kiến trúc xem xét phần quy hoạch",
                accept_after=self.rng.uniform(1, 8),
            )
            self.later(self.rng.uniform(4, 16))
            self.handoff(
                other,
                holder,
                "Phần quy hoạch thuộc phòng Quản lý xây dựng xử lý, trả lại",
                accept_after=self.rng.uniform(1, 8),
            )
        consultee = self.consultee(holder)
        if consultee is not None:
            self.consult(
                holder,
                consultee,
                "Đề nghị cho ý kiến về hồ sơ",
                positioned=pattern != "positionless" and self.chance(0.9),
            )
        if self.procedure is INVESTMENT:  # the province decides investment policy
            self.investment(holder)
            return
        if pattern == "sitting":
            self.t = max(self.t, due + timedelta(hours=self.rng.uniform(20, 200)))
            if self.chance(0.25):
                return  # still on the desk
            if self.chance(0.4):
                new_due = self.story.clock.calendar.shift(due, 10)
                self.emit(
                    holder,
                    "deadline.extended",
                    {"new_due_at": text(new_due), "reason": "Hồ sơ phức tạp, cần xác minh thêm"},
                )
                # Extended after the fact, and the new date slips by too.
                self.t = max(self.t, self.story.clock.advance(new_due, self.rng.uniform(2, 24)))
        elif self.chance(0.07):
            self.t = max(self.t, due + timedelta(hours=self.rng.uniform(2, 60)))
        if pattern == "overreach" and self.chance(0.7):
            self.decide(holder, "own")
        else:
            self.decide_by_the_book()
        self.close()
        if self.chance(0.03):
            decision = next(e for e in reversed(self.events) if e[2] == "decision.recorded")
            body = {
                "target_event_id": decision[0],
                "reason": "Đính chính lỗi đánh máy trong trích yếu",
                "corrections": {"summary": f"Chấp thuận (đã đính chính): {self.procedure.name}"},
            }
            self.emit(decision[1], "correction.recorded", body, self.rng.uniform(4, 40))

    def consultee(self, holder: Person) -> Person | None:
        r = self.r
        if self.procedure in (BUILD_PERMIT, BUILD_ADJUST) and self.chance(0.35):
            return r.one(CONSTRUCTION, "head:phong-qhkt")
        if self.procedure is INVESTMENT:
            return r.one(CONSTRUCTION, "head:phong-qhkt")
        if self.procedure is LAND_FIRST and self.chance(0.4):
            return r.one(CONSTRUCTION, "head:phong-qhkt")
        if self.procedure is HOUSE_PERMIT and self.chance(0.3):
            return r.one(CONSTRUCTION, "head:phong-qlxd")
        if self.story.pattern(holder) == "positionless" and self.chance(0.8):
            return r.one(AGRICULTURE, "head:vp-dang-ky")
        if self.chance(0.2):  # a colleague of another unit, or a deputy director
            colleagues = [
                p
                for p in r.people.values()
                if p.agency_id == holder.agency_id
                and p.unit_id != holder.unit_id
                and (p.is_head or p.position.startswith("Phó"))
                and p.unit_id != "mot-cua"
            ]
            if colleagues:
                return self.pick(sorted(colleagues, key=lambda p: p.id))
        return None

    def counter_service(self, clerk: Person) -> None:
        """Same-day procedures: the clerk prepares, the chairman or a deputy signs."""
        self.later(self.rng.uniform(0.2, 2))
        self.decide_by_the_book()
        self.close()

    def escalating_head(self, unit_head: Person, director: Person) -> None:
        """Within his own competence, the head asks the director first, or pushes it up."""
        if self.chance(0.5):
            # Business registration runs on three days: the director answers the same day.
            self.consult(
                unit_head,
                director,
                "Kính đề nghị Giám đốc cho ý kiến chỉ đạo",
                positioned=self.chance(0.9),
                reply_hours=(1, 6),
            )
        elif self.chance(0.6):
            self.returned(
                unit_head,
                director,
                "Kính trình Giám đốc xem xét, quyết định",
                "other",
                "Hồ sơ thuộc thẩm quyền giải quyết của Trưởng phòng Đăng ký kinh doanh",
            )
        self.later(self.rng.uniform(1, 4))
        self.decide(unit_head, "own")
        self.close()

    def escalating_chairman(self, clerk: Person, chairman: Person) -> None:
        """A commune chairman who asks the province about house permits that are his."""
        self.handoff(
            clerk, chairman, "Trình Chủ tịch xem xét hồ sơ", accept_after=self.rng.uniform(0.5, 4)
        )
        if self.chance(0.7):
            vice_governor = self.pick(self.r.all(PROVINCE, "deputy"))
            self.consult(
                chairman,
                vice_governor,
                "Kính xin ý kiến UBND tỉnh về việc cấp phép",
                positioned=self.chance(0.8),
            )
        officer = self.pick(self.r.all(self.agency, "officer:phong-kinh-te"))
        self.assign(chairman, officer, "Dự thảo giấy phép theo ý kiến chỉ đạo")
        self.later(self.rng.uniform(2, 10))
        self.decide(chairman, "own")
        self.close()

    def investment(self, holder: Person) -> None:
        """Investment policy: the department appraises, the province decides."""
        deputy = self.pick(self.r.all(PROVINCE, "deputy"))
        self.handoff(
            holder,
            deputy,
            "Trình UBND tỉnh xem xét chấp thuận chủ trương đầu tư",
            accept_after=self.rng.uniform(4, 24),
        )
        governor = self.r.one(PROVINCE, "head")
        self.later(self.rng.uniform(8, 40))
        self.decide(
            deputy, "on_behalf", delegation_id=self.r.delegation_ids[(governor.id, deputy.id)]
        )
        self.close()


__all__ = ["ROOT", "Planted", "Story", "Submission", "WorkClock"]
