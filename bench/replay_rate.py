"""Replay rate: how fast stored entries are admitted again — at start-up
(``Ledger.warm_up``) and when a projection is rebuilt (``projections.runner.rebuild``) —
and the peak memory of each.

    .venv/bin/python -m bench.replay_rate [--entries 100000] [--only warm_up,matters] [--fresh]

The ledger (SQLite) is built once per size and kept in ``bench/.cache/`` (gitignored): a
province of eight agencies and 120 officials with competences, delegations and calendar
days, then matters run through their whole life — offers accepted, returned and withdrawn,
support assignments, consultations and answers, supplements, extensions, decisions,
corrections, closings — 400 of them open at a time, with a registry change now and then.
Each measurement runs in a child process of its own, so the peak RSS it reports is its
own. Issue 6's target: rebuild at ≥ 20,000 entries/s, memory flat in the ledger's size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.canonical import jcs
from ledger.client import Chains, envelope, make_statement
from ledger.crypto import SigningKey
from ledger.note import format_vkey

CACHE = Path(__file__).resolve().parent / ".cache"
FORMAT = 2  # bump when the history below changes, so stale caches are not reused
ORIGIN = "bench.example/replay"
EPOCH = "2020-01-01T00:00:00+07:00"
START = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
ICT = timezone(timedelta(hours=7))
CODES = ("1.004227", "1.001234", "2.000889")
OPEN_MATTERS = 400
BATCH = 1000
PHASES = ("warm_up", "matters", "custody", "timeline")

CORRECTABLE: dict[str, tuple[str, Any]] = {
    "matter.opened": ("title", "Cấp giấy chứng nhận (tiêu đề đã sửa)"),
    "handoff.offered": ("reason", "Lý do đã sửa"),
    "consultation.requested": ("question", "Câu hỏi đã sửa"),
    "decision.recorded": ("summary", "Tóm tắt đã sửa"),
    "deadline.extended": ("reason", "Lý do gia hạn đã sửa"),
}


@dataclass
class Person:
    id: str
    agency: str
    unit: str
    head: bool
    key: SigningKey


@dataclass
class Matter:
    subject: str
    agency: str
    custodian: str
    support: set[str] = field(default_factory=set)
    offer: tuple[str, str, str] | None = None  # event id, offerer, addressee
    consultations: dict[str, str] = field(default_factory=dict)  # event id -> consultee
    paused: bool = False
    decided: bool = False
    events: list[tuple[str, str, str]] = field(default_factory=list)  # id, actor, type
    steps: int = 0


class History:
    """Signs a valid history and stores it a thousand entries per transaction."""

    def __init__(self, ledger: Ledger, root: SigningKey, rng: random.Random) -> None:
        self.ledger = ledger
        self.root = root
        self.rng = rng
        self.chains = Chains()
        self.pending: list[dict[str, Any]] = []
        self.clock = START
        self.people: dict[str, Person] = {}
        self.by_agency: dict[str, list[Person]] = {}
        self.registrars: dict[str, SigningKey] = {}
        self.competent: set[str] = set()
        self.matters: list[Matter] = []
        self.opened = 0
        self.stored = 1  # the genesis

    def now(self) -> datetime:
        """The ledger's clock: just after the last statement signed (none is recorded late)."""
        return self.clock + timedelta(seconds=1)

    def add(self, type_: str, subject: str, actor: str, key: SigningKey, body: Any) -> str:
        self.clock += timedelta(seconds=self.rng.randint(5, 90))
        env = self.chains.sign(
            type_,
            subject,
            actor=actor,
            key=key,
            body=body,
            # Agencies' systems sign in Vietnam's time, as DESIGN's examples do.
            occurred_at=self.clock.astimezone(ICT).isoformat(timespec="seconds"),
        )
        self.pending.append(env)
        if len(self.pending) >= BATCH:
            self.flush()
        return str(env["statement"]["event_id"])

    def flush(self) -> None:
        if self.pending:
            outcomes = self.ledger.append_batch(self.pending)
            failed = [o.problem for o in outcomes if o.problem is not None]
            assert not failed, failed[:3]
            self.stored += len(self.pending)
            self.pending = []

    # --- registry ---------------------------------------------------------------------

    def registry(self) -> None:
        agencies: list[tuple[str, str, str | None]] = [("T", "province", None)]
        agencies += [(f"S{i}", "province", "T") for i in range(1, 5)]
        agencies += [(f"X{i}", "commune", "T") for i in range(1, 4)]
        for agency, level, parent in agencies:
            body: dict[str, Any] = {"name": f"Cơ quan {agency}", "level": level}
            if parent:
                body["parent_agency"] = parent
            self.add("agency.registered", f"agency:{agency}", "root", self.root, body)
            registrar = self.registrars[agency] = SigningKey.generate()
            self.add(
                "registrar.appointed",
                f"agency:{agency}",
                "root",
                self.root,
                {
                    "official_id": f"reg.{agency}",
                    "full_name": "Trần Thị Tổ Chức",
                    "public_key": registrar.public_b64,
                    "valid_from": EPOCH,
                },
            )
            for unit, parent_unit in (("bgd", None), ("p1", "bgd"), ("p2", "bgd")):
                unit_body: dict[str, Any] = {"unit_id": unit, "name": f"Phòng {unit}"}
                if parent_unit:
                    unit_body["parent_unit"] = parent_unit
                self.add(
                    "unit.registered", f"agency:{agency}", f"reg.{agency}", registrar, unit_body
                )
            self.by_agency[agency] = []
            self.official(f"{agency}.gd", agency, "bgd", head=True)
            for unit in ("p1", "p2"):
                self.official(f"{agency}.{unit}.tp", agency, unit, head=True)
                for i in range(6):
                    self.official(f"{agency}.{unit}.cv{i}", agency, unit, head=False)
        for person in self.people.values():
            if person.head or self.rng.random() < 0.5:
                self.toggle_competence(person.id)
        for agency in self.by_agency:
            self.add(
                "delegation.granted",
                f"official:{agency}.gd",
                f"{agency}.gd",
                self.people[f"{agency}.gd"].key,
                {
                    "grantee": f"{agency}.p1.tp",
                    "kind": "ky_thay",
                    "procedure_codes": list(CODES[:2]),
                    "valid_from": EPOCH,
                    "valid_until": "2040-01-01T00:00:00+07:00",
                    "instrument_no": "15/QĐ-UQ",
                },
            )
        for day in ("2024-04-29", "2024-05-04", "2025-04-26", "2025-05-02"):
            kind = "working_day" if day.endswith(("04", "26")) else "day_off"
            self.add(
                "calendar.adjusted",
                "calendar:VN",
                "root",
                self.root,
                {"date": day, "kind": kind, "source_document": "Công văn 1234/BNV"},
            )

    def official(self, official_id: str, agency: str, unit: str, *, head: bool) -> None:
        person = Person(official_id, agency, unit, head, SigningKey.generate())
        registrar = self.registrars[agency]
        subject = f"official:{official_id}"
        body = {
            "full_name": f"Nguyễn Văn {official_id}",
            "agency_id": agency,
            "unit_id": unit,
            "position": "Trưởng phòng" if head else "Chuyên viên",
            "is_head": head,
        }
        self.add("official.registered", subject, f"reg.{agency}", registrar, body)
        key = {"public_key": person.key.public_b64, "valid_from": EPOCH}
        self.add("key.bound", subject, f"reg.{agency}", registrar, key)
        self.people[official_id] = person
        self.by_agency[agency].append(person)

    def toggle_competence(self, official_id: str) -> None:
        agency = self.people[official_id].agency
        body: dict[str, Any] = {"procedure_codes": list(CODES)}
        if official_id in self.competent:
            type_ = "competence.revoked"
        else:
            type_ = "competence.granted"
            body["legal_basis"] = "Quyết định 12/QĐ-UBND"
        self.add(type_, f"official:{official_id}", f"reg.{agency}", self.registrars[agency], body)
        self.competent ^= {official_id}

    # --- matters ----------------------------------------------------------------------

    def superiors(self, person: Person) -> list[Person]:
        heads = [p for p in self.by_agency[person.agency] if p.head and p.id != person.id]
        return [p for p in heads if p.unit in (person.unit, "bgd")]

    def open(self) -> None:
        self.opened += 1
        staff = [p for p in self.people.values() if not p.head]
        opener = self.rng.choice(staff)
        matter = Matter(f"matter:H{self.opened:07d}", opener.agency, opener.id)
        self.matters.append(matter)
        self.send(
            matter,
            "matter.opened",
            opener.id,
            {
                "title": "Cấp giấy chứng nhận quyền sử dụng đất",
                "procedure_code": self.rng.choice(CODES),
                "agency_id": opener.agency,
                "deadline_working_days": self.rng.choice((3, 5, 15)),
                "applicant_ref": f"REF-{self.opened}",
            },
        )

    def send(self, m: Matter, type_: str, actor: str, body: dict[str, Any]) -> str:
        event_id = self.add(type_, m.subject, actor, self.people[actor].key, body)
        m.events.append((event_id, actor, type_))
        m.steps += 1
        return event_id

    def someone_else(self, actor: str, *, anywhere: bool = False) -> str:
        person = self.people[actor]
        pool = list(self.people.values()) if anywhere else self.by_agency[person.agency]
        while True:
            other = self.rng.choice(pool)
            if other.id != actor:
                return other.id

    def act(self, m: Matter) -> bool:
        """One valid action on ``m``; whether the matter is still open afterwards."""
        rng, c = self.rng, m.custodian
        if m.offer is not None and rng.random() < 0.8:
            offer_id, offerer, to = m.offer
            kind = rng.choices(("accepted", "returned", "withdrawn"), (7, 2, 1))[0]
            body: dict[str, Any] = {"in_reply_to": offer_id}
            if kind == "returned":
                body |= {"reason": rng.choice(("not_competent", "incomplete")), "note": "Trả lại"}
            self.send(m, f"handoff.{kind}", offerer if kind == "withdrawn" else to, body)
            m.offer = None
            if kind == "accepted":
                m.custodian = to
            return True
        if m.consultations and rng.random() < 0.6:
            consultation = rng.choice(sorted(m.consultations))
            to = m.consultations.pop(consultation)
            position = rng.choice(("agree", "disagree", "conditional", "no_position"))
            body = {"in_reply_to": consultation, "position": position, "text": "Ý kiến"}
            self.send(m, "consultation.answered", to, body)
            return True
        if m.paused and rng.random() < 0.7:
            self.send(m, "supplement.received", c, {})
            m.paused = False
            return True
        if m.steps > 8 and m.decided and m.offer is None and rng.random() < 0.5:
            self.send(m, "matter.closed", c, {"result": rng.choice(("completed", "stopped"))})
            return False
        roll = rng.random()
        if roll < 0.25 and m.offer is None:
            to = self.someone_else(c, anywhere=rng.random() < 0.2)
            event_id = self.send(m, "handoff.offered", c, {"to": to, "reason": "Đúng chuyên môn"})
            m.offer = (event_id, c, to)
        elif roll < 0.40:
            to = self.someone_else(c, anywhere=rng.random() < 0.3)
            body = {"to": to, "question": "Đề nghị cho ý kiến"}
            if rng.random() < 0.6:
                body["proposed_position"] = "Đồng ý cấp"
            m.consultations[self.send(m, "consultation.requested", c, body)] = to
        elif roll < 0.50:
            assignee = self.someone_else(c)
            body = {"assignee": assignee, "role": "support", "instructions": "Phối hợp xử lý"}
            self.send(m, "task.assigned", c, body)
            m.support.add(assignee)
        elif roll < 0.56:
            director = f"{m.agency}.gd"
            assignee = self.someone_else(director)
            if assignee.endswith("gd") or assignee == director:
                return True
            body = {"assignee": assignee, "role": "lead", "instructions": "Chủ trì xử lý"}
            self.send(m, "task.assigned", director, body)
            m.custodian, m.offer = assignee, None
        elif roll < 0.64 and not m.paused:
            self.send(m, "supplement.requested", c, {"items": ["Bản sao giấy tờ tùy thân"]})
            m.paused = True
        elif roll < 0.69:
            due = (
                (self.clock + timedelta(days=rng.choice((2, 6, 20))))
                .astimezone(ICT)
                .isoformat(timespec="seconds")
            )
            self.send(m, "deadline.extended", c, {"new_due_at": due, "reason": "Phức tạp"})
        elif roll < 0.85:
            superiors = self.superiors(self.people[c])
            actor = rng.choice([c, c, *(p.id for p in superiors)])
            body = {
                "outcome": rng.choice(("approved", "rejected", "other")),
                "summary": "Quyết định",
                "legal_basis": "Luật Đất đai 2024",
                "capacity": rng.choice(("own", "own", "delegated", "on_behalf")),
            }
            self.send(m, "decision.recorded", actor, body)
            m.decided = True
        else:
            targets = [e for e in m.events if e[2] in CORRECTABLE]
            if targets:
                event_id, author, type_ = rng.choice(targets)
                name, value = CORRECTABLE[type_]
                body = {
                    "target_event_id": event_id,
                    "reason": "Sai sót",
                    "corrections": {name: value},
                }
                self.send(m, "correction.recorded", author, body)
        return True

    def run(self, entries: int, progress: Callable[[int], None]) -> None:
        self.registry()
        reported = 0
        while self.stored + len(self.pending) < entries:
            while len(self.matters) < OPEN_MATTERS:
                self.open()
            i = self.rng.randrange(len(self.matters))
            if not self.act(self.matters[i]):
                self.matters[i] = self.matters[-1]
                self.matters.pop()
            if self.rng.random() < 0.0005:
                staff = self.rng.choice(list(self.people))
                self.toggle_competence(staff)
            if self.stored - reported >= 50_000:
                reported = self.stored
                progress(self.stored)
        self.pending = self.pending[: entries - self.stored]
        self.flush()


def build(path: Path, entries: int) -> None:
    """A ledger of exactly ``entries`` entries (the genesis included) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    log_key, root = SigningKey.generate(), SigningKey.generate()
    vkey = format_vkey(ORIGIN, log_key.public_bytes)
    history: History | None = None
    ledger = Ledger(url, log_vkey=vkey, clock=lambda: history.now() if history else START)
    history = History(ledger, root, random.Random(entries))  # noqa: S311 - a reproducible workload
    genesis = make_statement(
        "ledger.genesis",
        "ledger",
        seq=0,
        prev=None,
        actor="root",
        key_id=root.key_id,
        body={
            "origin": ORIGIN,
            "log_vkey": vkey,
            "roots": [{"id": "root", "full_name": "Sở Nội vụ", "public_key": root.public_b64}],
        },
        occurred_at=START.isoformat().replace("+00:00", "Z"),
        event_id="00000000-0000-4000-8000-000000000000",
    )
    ledger.append(jcs(envelope(genesis, root)))
    started = time.perf_counter()

    def progress(done: int) -> None:
        rate = done / (time.perf_counter() - started)
        print(f"  built {done:,} entries ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    history.run(entries, progress)
    assert ledger.size() == entries, ledger.size()
    ledger.close()


def ledger_path(entries: int) -> Path:
    return CACHE / f"replay-{entries}-v{FORMAT}" / "ledger.db"


def measure(path: Path, phase: str) -> dict[str, Any]:
    """One measurement, in this process (the parent runs each in a child of its own)."""
    url = f"sqlite:///{path}"
    ledger = Ledger(url)
    size = ledger.size()
    started, cpu_started = time.perf_counter(), time.process_time()
    if phase == "warm_up":
        ledger.warm_up()
        assert ledger.state.last_index == size - 1
    else:
        from projections.runner import rebuild

        result = rebuild(ledger.recorder, url, phase)
        assert result.entries == size, (result.entries, size)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    ledger.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "phase": phase,
        "entries": size,
        "seconds": round(seconds, 3),
        "rate": round(size / seconds),
        # CPU time of this process: what the rate would be on an idle core (the machine
        # is shared; the wall-clock rate is the one the target is about).
        "cpu_rate": round(size / cpu_seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--only", default=",".join(PHASES), help="phases, comma-separated")
    parser.add_argument("--fresh", action="store_true", help="build the ledger again")
    parser.add_argument("--json", action="store_true", help="one JSON line per phase")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path = ledger_path(args.entries)
    if args.child:
        print(json.dumps(measure(path, args.child)))
        return
    phases = [p for p in args.only.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {sorted(unknown)}; known: {', '.join(PHASES)}")
    if args.fresh or not path.exists():
        print(f"building {args.entries:,} entries in {path} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        build(path, args.entries)
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    for phase in phases:
        command = [sys.executable, "-m", "bench.replay_rate", "--entries", str(args.entries)]
        out = subprocess.run(  # noqa: S603 - our own executable, an argument list
            [*command, "--child", phase],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            what = "warm_up" if phase == "warm_up" else f"rebuild {phase}"
            print(
                f"{what:18} {result['entries']:>9,} entries in {result['seconds']:8.2f} s "
                f"= {result['rate']:>7,}/s (CPU {result['cpu_rate']:>7,}/s)  "
                f"peak RSS {result['peak_rss_mib']:6.1f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
