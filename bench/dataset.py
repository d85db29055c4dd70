"""A synthetic province and its work, signed and chained as agencies' systems would send it.

The registry (agencies under a provincial committee, their registrars, units, officials,
keys, competences and a few delegations), then matters interleaved as they are in a real
log: opened at a one-stop desk, handed to a specialist department, assigned, sometimes
paused for a supplement, sent up for an opinion or sideways to another agency and
returned, decided, closed, now and then corrected. Two subjects are there for the read
benchmarks: a desk official party to ``timeline_rows`` timeline rows, and one matter of
``matter_events`` events handed back and forth.

Keys derive from names (``SigningKey.from_seed``), so a stream is reproducible given its
seed and start instant; occurred_at runs on a clock of its own, one ``step`` a statement,
ending before the instant the stream is built (never in the ledger's future).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.client import Chains
from ledger.crypto import SigningKey

ORIGIN = "bench.ledger.example/province"
ROOT_ID = "so-noi-vu"
ROOT_NAME = "Sở Nội vụ"
EPOCH = "2019-01-01T00:00:00Z"
BUSY_OFFICIAL = "mc.busy"  # the desk official with ``timeline_rows`` timeline rows
BIG_MATTER = "BENCH-BIG"  # the matter with ``matter_events`` events
UNITS = {"lanh-dao": "ld", "mot-cua": "mc", "phong-1": "p1", "phong-2": "p2"}  # unit: id prefix


def derived_key(name: str) -> SigningKey:
    """A key that is a function of ``name`` alone: the same province every run."""
    return SigningKey.from_seed(hashlib.sha256(f"bench-key:{name}".encode()).digest())


@dataclass(frozen=True)
class Person:
    id: str
    agency: str
    unit: str
    key: SigningKey
    is_head: bool = False
    competent: bool = False


@dataclass
class Agency:
    id: str
    name: str
    level: str
    parent: str | None
    registrar: Person
    codes: tuple[str, ...]
    people: list[Person] = field(default_factory=list)

    def in_unit(self, unit: str, *, heads: bool | None = None) -> list[Person]:
        return [p for p in self.people if p.unit == unit and (heads is None or p.is_head == heads)]

    def head_of(self, unit: str) -> Person:
        return self.in_unit(unit, heads=True)[0]


class Province:
    """Agencies, units and officials: a provincial committee, departments and communes."""

    def __init__(self, *, agencies: int = 20, staff_per_unit: int = 6) -> None:
        self.root = derived_key(ROOT_ID)
        self.agencies: list[Agency] = []
        for n in range(agencies):
            agency_id = "000.00.00.H10" if n == 0 else f"000.00.{n:02d}.H10"
            level = "province" if n < agencies // 2 else "commune"
            registrar = Person(f"tc.{n:02d}", agency_id, "", derived_key(f"tc.{n:02d}"))
            codes = tuple(f"1.{n:03d}{k:03d}" for k in range(3))
            agency = Agency(
                agency_id,
                "UBND tỉnh" if n == 0 else f"Cơ quan số {n}",
                level,
                None if n == 0 else self.agencies[0].id,
                registrar,
                codes,
            )
            for unit, prefix in UNITS.items():
                size = 1 if unit == "lanh-dao" else staff_per_unit
                for k in range(size + 1):  # the head, then the staff
                    person_id = f"{prefix}{k}.{n:02d}"
                    agency.people.append(
                        Person(
                            person_id,
                            agency_id,
                            unit,
                            derived_key(person_id),
                            is_head=k == 0,
                            # Heads and every other specialist hold the agency's competences.
                            competent=k == 0 or (unit.startswith("phong") and k % 2 == 0),
                        )
                    )
            self.agencies.append(agency)
        first = self.agencies[0]
        self.busy = Person(BUSY_OFFICIAL, first.id, "mot-cua", derived_key(BUSY_OFFICIAL))
        self.big = (
            Person("big.a", first.id, "phong-1", derived_key("big.a"), competent=True),
            Person("big.b", first.id, "phong-1", derived_key("big.b"), competent=True),
        )
        first.people += [self.busy, *self.big]

    @property
    def people(self) -> list[Person]:
        return [p for a in self.agencies for p in a.people]


@dataclass(frozen=True)
class Step:
    """One statement a script wants signed: its type, signer and body."""

    type: str
    actor: Person
    body: dict[str, Any]


# A script yields the steps of one subject and is sent back each statement's event_id.
Script = Generator[Step, str, None]


def registry_script(province: Province) -> Iterator[tuple[str, Step]]:
    """(subject, step) for the whole registry, in an order the ledger accepts."""
    root = Person(ROOT_ID, "", "", province.root)
    for agency in province.agencies:
        body: dict[str, Any] = {"name": agency.name, "level": agency.level}
        if agency.parent:
            body["parent_agency"] = agency.parent
        subject = f"agency:{agency.id}"
        yield subject, Step("agency.registered", root, body)
        yield (
            subject,
            Step(
                "registrar.appointed",
                root,
                {
                    "official_id": agency.registrar.id,
                    "full_name": f"Cán bộ tổ chức {agency.registrar.id}",
                    "public_key": agency.registrar.key.public_b64,
                    "valid_from": EPOCH,
                },
            ),
        )
        for unit in UNITS:
            unit_body = {"unit_id": unit, "name": f"Phòng {unit}"}
            if unit != "lanh-dao":
                unit_body["parent_unit"] = "lanh-dao"
            yield subject, Step("unit.registered", agency.registrar, unit_body)
        for person in agency.people:
            official = f"official:{person.id}"
            yield (
                official,
                Step(
                    "official.registered",
                    agency.registrar,
                    {
                        "full_name": f"Công chức {person.id}",
                        "agency_id": agency.id,
                        "unit_id": person.unit,
                        "position": "Trưởng phòng" if person.is_head else "Chuyên viên",
                        "is_head": person.is_head,
                    },
                ),
            )
            yield (
                official,
                Step(
                    "key.bound",
                    agency.registrar,
                    {"public_key": person.key.public_b64, "valid_from": EPOCH},
                ),
            )
            if person.competent:
                yield (
                    official,
                    Step(
                        "competence.granted",
                        agency.registrar,
                        {
                            "procedure_codes": list(agency.codes),
                            "legal_basis": "Quyết định phân công số 12/QĐ",
                        },
                    ),
                )


def _matter_opened(agency: Agency, rng: random.Random) -> dict[str, Any]:
    return {
        "title": "Hồ sơ đề nghị cấp giấy chứng nhận",
        "procedure_code": rng.choice(agency.codes),
        "agency_id": agency.id,
        "deadline_working_days": rng.choice((5, 10, 15)),
        "applicant_ref": f"CD-{rng.randrange(10**9):09d}",
    }


def matter_script(
    province: Province, rng: random.Random, clock: Callable[[], datetime], external: float = 0.1
) -> Script:
    """One matter's life, opened at the desk of a random agency; ``external`` is the share
    of matters offered to another agency (and returned)."""
    agency = rng.choice(province.agencies)
    desk = rng.choice([p for p in agency.in_unit("mot-cua", heads=False) if p != province.busy])
    yield Step("matter.opened", desk, _matter_opened(agency, rng))
    unit = rng.choice(("phong-1", "phong-2"))
    head = agency.head_of(unit)
    offer = yield Step(
        "handoff.offered", desk, {"to": head.id, "reason": "Chuyển phòng chuyên môn thụ lý"}
    )
    yield Step("handoff.accepted", head, {"in_reply_to": offer})
    specialist = rng.choice(agency.in_unit(unit, heads=False))
    if specialist in province.big:
        specialist = agency.in_unit(unit, heads=False)[0]
    yield Step(
        "task.assigned",
        head,
        {"assignee": specialist.id, "role": "lead", "instructions": "Thẩm định, đề xuất"},
    )
    holder = specialist
    if rng.random() < 0.3:
        yield Step("supplement.requested", holder, {"items": ["Bản sao giấy tờ tùy thân"]})
        yield Step("supplement.received", holder, {})
    if rng.random() < 0.35:
        consultee = rng.choice((head, agency.head_of("lanh-dao")))
        body: dict[str, Any] = {"to": consultee.id, "question": "Xin ý kiến về hồ sơ"}
        if rng.random() < 0.5:
            body["proposed_position"] = "Đề xuất chấp thuận"
        asked = yield Step("consultation.requested", holder, body)
        position = rng.choice(("agree", "agree", "conditional", "no_position"))
        yield Step(
            "consultation.answered",
            consultee,
            {"in_reply_to": asked, "position": position, "text": "Ý kiến của lãnh đạo"},
        )
    if rng.random() < external:
        other = rng.choice([a for a in province.agencies if a.id != agency.id])
        addressee = other.head_of("phong-1")
        offer = yield Step(
            "handoff.offered", holder, {"to": addressee.id, "reason": "Đề nghị phối hợp xử lý"}
        )
        yield Step(
            "handoff.returned",
            addressee,
            {"in_reply_to": offer, "reason": "not_competent", "note": "Không thuộc thẩm quyền"},
        )
    if rng.random() < 0.1:
        due = (clock() + timedelta(days=14)).isoformat().replace("+00:00", "Z")
        yield Step("deadline.extended", holder, {"new_due_at": due, "reason": "Hồ sơ phức tạp"})
    if not holder.competent:
        offer = yield Step("handoff.offered", holder, {"to": head.id, "reason": "Trình ký"})
        yield Step("handoff.accepted", head, {"in_reply_to": offer})
        holder = head
    decision = yield Step(
        "decision.recorded",
        holder,
        {
            "outcome": rng.choice(("approved", "approved", "approved", "rejected")),
            "summary": "Giải quyết hồ sơ",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "own",
        },
    )
    yield Step("matter.closed", holder, {"result": "completed"})
    if rng.random() < 0.03:
        yield Step(
            "correction.recorded",
            holder,
            {
                "target_event_id": decision,
                "reason": "Sai sót khi nhập",
                "corrections": {"summary": "Giải quyết hồ sơ (đính chính)"},
            },
        )


def busy_script(province: Province, rng: random.Random) -> Script:
    """A matter whose desk official is the busy one: three timeline rows for them."""
    agency = province.agencies[0]
    yield Step("matter.opened", province.busy, _matter_opened(agency, rng))
    head = agency.head_of("phong-1")
    offer = yield Step("handoff.offered", province.busy, {"to": head.id, "reason": "Chuyển thụ lý"})
    yield Step("handoff.accepted", head, {"in_reply_to": offer})
    yield Step(
        "decision.recorded",
        head,
        {"outcome": "approved", "summary": "Đồng ý", "legal_basis": "Luật", "capacity": "own"},
    )
    yield Step("matter.closed", head, {"result": "completed"})


def opened_only(province: Province, rng: random.Random) -> Script:
    """A matter the busy official opened and nobody has touched since: one row."""
    yield Step("matter.opened", province.busy, _matter_opened(province.agencies[0], rng))


def big_script(province: Province, rng: random.Random, events: int) -> Script:
    """One matter of exactly ``events`` events, handed back and forth (ping-pong)."""
    a, b = province.big
    yield Step("matter.opened", a, _matter_opened(province.agencies[0], rng))
    pairs = (events - 2) // 2
    holder, other = a, b
    for _ in range(pairs):
        offer = yield Step("handoff.offered", holder, {"to": other.id, "reason": "Chuyển lại"})
        yield Step("handoff.accepted", other, {"in_reply_to": offer})
        holder, other = other, holder
    if events - 1 - 2 * pairs == 2:
        yield Step("supplement.requested", holder, {"items": ["Giấy tờ bổ sung"]})
    yield Step("matter.closed", holder, {"result": "completed"})


class Stream:
    """Signed envelopes of a province's log after its genesis: registry, then matters.

    ``entries`` counts the genesis, so a ledger fed the whole stream holds exactly
    ``entries`` entries (the special subjects finish first; open matters stay open).
    """

    def __init__(
        self,
        entries: int,
        *,
        timeline_rows: int,
        matter_events: int,
        end: datetime | None = None,
        seed: int = 6,
        concurrent_matters: int = 200,
        external: float = 0.1,
        province: Province | None = None,
    ) -> None:
        self.entries = entries
        self.timeline_rows = timeline_rows
        self.matter_events = matter_events
        self.province = province or Province()
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not secrets
        self.concurrent = concurrent_matters
        self.external = external
        self.chains = Chains()
        end = end or datetime.now(UTC) - timedelta(minutes=1)
        # A statement every ``step``; the whole log spans at most 20 hours (under 24 h, so
        # nothing is flagged recorded_late by the ledger that stores it now).
        self.step = min(timedelta(seconds=30), timedelta(hours=20) / max(entries, 1))
        self.start = end - self.step * entries
        self.emitted = 0

    @property
    def special_statements(self) -> int:
        """Statements of the busy official's matters and of the big matter."""
        full, rest = divmod(self.timeline_rows, 3)
        return 5 * full + rest + self.matter_events

    @property
    def registry_size(self) -> int:
        """How many of the stream's first envelopes are the registry's."""
        return sum(1 for _ in registry_script(self.province))

    def agency_of(self) -> dict[str, str]:
        """Person id -> agency id, for every official and registrar of the province."""
        people = {p.id: p.agency for p in self.province.people}
        people.update({a.registrar.id: a.id for a in self.province.agencies})
        return people

    def public_keys(self) -> dict[str, bytes]:
        """Key id -> raw public key of every key the stream signs with."""
        keys = [self.province.root, *(p.key for p in self.province.people)]
        keys += [a.registrar.key for a in self.province.agencies]
        return {key.key_id: key.public_bytes for key in keys}

    @property
    def genesis_at(self) -> str:
        return _instant(self.start - self.step)

    def clock(self) -> datetime:
        return self.start + self.step * self.emitted

    def _sign(self, subject: str, step: Step) -> dict[str, Any]:
        env = self.chains.sign(
            step.type,
            subject,
            actor=step.actor.id,
            key=step.actor.key,
            body=step.body,
            occurred_at=_instant(self.clock()),
            event_id=_uuid(self.rng),
        )
        self.emitted += 1
        return env

    def envelopes(self) -> Iterator[dict[str, Any]]:
        """Every envelope of the stream, in log order."""
        limit = self.entries - 1  # the genesis is entry 0
        if self.registry_size + self.special_statements > limit:
            raise ValueError(
                f"{self.entries} entries cannot hold the registry ({self.registry_size}) and "
                "the special subjects; ask for more entries or a smaller province"
            )
        for subject, step in registry_script(self.province):
            yield self._sign(subject, step)
        yield from self._matters(limit)

    def _matters(self, limit: int) -> Iterator[dict[str, Any]]:
        rng, province = self.rng, self.province
        busy_full, busy_rest = divmod(self.timeline_rows, 3)
        expected_matters = max(1.0, (limit - self.emitted) / 8.5)
        busy_chance = min(1.0, 1.5 * (busy_full + busy_rest) / expected_matters)
        big_chance = min(1.0, self.matter_events / (0.7 * max(1, limit - self.emitted)))
        active: list[tuple[str, Script]] = []
        must: list[tuple[str, Script]] = []  # the special subjects: they finish, always
        if self.matter_events > 0:
            must.append((f"matter:{BIG_MATTER}", big_script(province, rng, self.matter_events)))
        big = must[0] if must else None
        pending: dict[str, str] = {}  # subject -> the event_id to send its script next
        number = 0

        def start(*, busy: bool) -> tuple[str, Script]:
            nonlocal number, busy_full, busy_rest
            number += 1
            subject = f"matter:H10-{number:07d}"
            if busy and busy_full:
                busy_full -= 1
                item = subject, busy_script(province, rng)
            elif busy and busy_rest:
                busy_rest -= 1
                item = subject, opened_only(province, rng)
            else:
                return subject, matter_script(province, rng, self.clock, self.external)
            must.append(item)
            return item

        # Statements the special subjects still owe: once only that many remain to the size,
        # only they go on, so that the stream ends at exactly ``entries`` with them complete.
        owed = self.special_statements
        specials = {s for s, _ in must}
        while True:
            if limit - self.emitted <= owed:
                if owed == 0:
                    return
                item = must[0] if must else start(busy=True)
            elif big is not None and rng.random() < big_chance:
                item = big
            else:
                while len(active) < self.concurrent:
                    busy = bool(busy_full or busy_rest) and rng.random() < busy_chance
                    active.append(start(busy=busy))
                item = active[rng.randrange(len(active))]
            subject, script = item
            if item in must:
                specials.add(subject)
            try:
                sent = pending.pop(subject, None)
                step = next(script) if sent is None else script.send(sent)
            except StopIteration:
                for group in (active, must):
                    if item in group:
                        group.remove(item)
                if item is big:
                    big = None
                continue
            env = self._sign(subject, step)
            pending[subject] = env["statement"]["event_id"]
            if subject in specials:
                owed -= 1
            yield env


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
