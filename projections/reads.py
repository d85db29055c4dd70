"""Reading the projections as of any date (DESIGN §7).

A read is cut twice. ``as_of`` (record time) keeps the log prefix recorded by then: every
stored row carries the log index of its entry, and a read keeps rows with index ≤ I, where
I is the last index recorded by ``as_of`` and never beyond what every view has processed —
so a read sees one consistent prefix even while the views advance. ``from``/``to``
(valid time) select by ``occurred_at``; ``to`` cuts each matter's chain at its first event
with ``occurred_at`` ≥ ``to``. Clock-dependent values are computed at the evaluation
instant E = min(``to``, ``as_of``, now), which every response states.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import orjson

from ledger.canonical import statement_body
from ledger.entries import decode_trusted
from ledger.errors import NotFound
from ledger.registry import Registry
from ledger.replay import trust_signature
from ledger.state import LedgerState
from ledger.storage import LedgerRecorder
from ledger.times import format_recorded_at, parse_instant, utc_now
from ledger.workdays import DayKind, WorkCalendar, ict_text
from projections.analysis import (
    DEEMED_AGREED,
    LATE_ANSWER,
    UNEVALUABLE,
    MatterAnalysis,
    analyse,
    cut_at,
    matter_json,
)
from projections.facts import MatterEventRow
from projections.indicators import Indicator, Period, indicators_for, with_percentiles
from projections.store import ProjectionDB, projection_url
from projections.views import (
    CUSTODY_COLUMNS,
    MATTER_EVENT_COLUMNS,
    TIMELINE_COLUMNS,
    VIEWS,
    interval_of,
)

log = logging.getLogger("ledger.reads")


class Unavailable(Exception):
    """One matter's read-time values cannot be computed; ``reason`` says why."""

    def __init__(self, matter_id: str, reason: str) -> None:
        super().__init__(f"{matter_id}: {reason}")
        self.matter_id = matter_id
        self.reason = reason

    def as_json(self) -> dict[str, str]:
        return {"matter_id": self.matter_id, "reason": self.reason}


def _analyse(
    matter_id: str, events: list[MatterEventRow], evaluated_at: datetime, calendar: WorkCalendar
) -> MatterAnalysis:
    """``analyse``, and the overdue count it leaves to be computed on demand; a value that cannot be
    computed is logged with the matter id and raised as ``Unavailable`` for that matter."""
    try:
        analysis = analyse(matter_id, events, evaluated_at, calendar)
        _ = analysis.overdue_working_days  # the one value computed lazily: counted to the end
    except UNEVALUABLE as e:
        log.warning("matter %s cannot be evaluated: %s", matter_id, e)
        raise Unavailable(matter_id, f"a stored value cannot be evaluated: {e}") from None
    return analysis


TIMELINE_FIELDS = (
    "index",
    "event_id",
    "matter_id",
    "type",
    "role",
    "counterpart",
    "direction",
    "flags",
    "occurred_at",
    "recorded_at",
)


@dataclass(frozen=True)
class Cut:
    """Where a read stands: the last log index it sees and its evaluation instant E."""

    index: int
    evaluated_at: datetime
    to: datetime | None
    start: datetime | None

    @property
    def period(self) -> Period:
        return Period(self.start, self.to)

    def period_json(self) -> dict[str, str | None]:
        """``from``, ``to`` and ``evaluated_at`` as an indicators answer states them."""
        return {
            "from": None if self.start is None else ict_text(self.start),
            "to": None if self.to is None else ict_text(self.to),
            "evaluated_at": ict_text(self.evaluated_at),
        }


class ReadModels:
    """The read side: matters, custody, timelines and indicators, as of any date."""

    def __init__(
        self,
        recorder: LedgerRecorder,
        ledger_url: str,
        *,
        databases: dict[str, ProjectionDB] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.recorder = recorder
        self.clock = clock
        self._own = databases is None
        # Opened on first use: a process that never reads pays nothing.
        self.dbs: dict[str, ProjectionDB] = dict(databases or {})
        self.ledger_url = ledger_url
        self._lock = threading.Lock()
        self._registry: tuple[int, Registry, dict[str, str]] | None = None

    def close(self) -> None:
        if self._own:
            for db in self.dbs.values():
                db.close()

    def _db(self, name: str) -> ProjectionDB:
        db = self.dbs.get(name)
        if db is None or db.swapped():  # first use, or a rebuild swapped a new generation in
            with self._lock:
                db = self.dbs.get(name)
                if db is None or db.swapped():
                    if db is not None:
                        db.close()
                    url = db.url if db is not None else projection_url(self.ledger_url, name)
                    db = self.dbs[name] = ProjectionDB(url, VIEWS[name].ddl)
        return db

    # --- cuts ----------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        return {name: self._db(name).position().log_index for name in VIEWS}

    def cut(
        self,
        *,
        as_of: datetime | None = None,
        start: datetime | None = None,
        to: datetime | None = None,
    ) -> Cut:
        index = min(self.positions().values())
        now = self.clock()
        if as_of is not None:
            index = min(index, self.recorder.index_recorded_by(format_recorded_at(as_of)))
        evaluated = min(m for m in (to, as_of, now) if m is not None)
        return Cut(index, evaluated, to, start)

    def calendar(self, cut: Cut) -> WorkCalendar:
        """Adjustments in the read's log prefix — those recorded by min(``as_of``, now) —
        the latest per day. Calendar knowledge goes by record time, never by ``to`` (DESIGN
        §6 v4): a history import recorded today still corrects a January deadline."""
        rows = self._db("matters").read(
            "SELECT day, kind FROM calendar WHERE idx <= ? ORDER BY idx", (cut.index,)
        )
        adjustments: dict[date, DayKind] = {}
        for row in rows:
            adjustments[date.fromisoformat(row["day"])] = cast(DayKind, row["kind"])
        return WorkCalendar(adjustments)

    # --- matters -------------------------------------------------------------------------

    def matter_events(self, matter_id: str, cut: Cut) -> list[MatterEventRow]:
        rows = self._db("matters").read(
            f"SELECT {MATTER_EVENT_COLUMNS} FROM matter_events WHERE matter_id = ? "
            "AND idx <= ? ORDER BY seq",
            (matter_id, cut.index),
        )
        return cut_at([_event(r) for r in rows], cut.to)

    def analysis(self, matter_id: str, cut: Cut, calendar: WorkCalendar) -> MatterAnalysis:
        events = self.matter_events(matter_id, cut)
        if not events:
            raise NotFound(f"no matter {matter_id} in the log as read (as_of and to cut it)")
        return _analyse(matter_id, events, cut.evaluated_at, calendar)

    def matter(self, matter_id: str, cut: Cut) -> dict[str, Any]:
        """The matter read; a matter whose values cannot be computed answers in its place
        with the reason (``unavailable``), never a 5xx."""
        try:
            return matter_json(self.analysis(matter_id, cut, self.calendar(cut)))
        except Unavailable as e:
            return {
                "matter_id": matter_id,
                "unavailable": e.reason,
                "evaluated_at": ict_text(cut.evaluated_at),
            }

    def custody(self, matter_id: str, cut: Cut) -> dict[str, Any]:
        """The stored custody intervals, cut at I and at ``to``."""
        events = self.matter_events(matter_id, cut)
        if not events:
            raise NotFound(f"no matter {matter_id} in the log as read (as_of and to cut it)")
        end_seq = events[-1].seq  # the chain as cut: later events are not seen
        rows = self._db("custody").read(
            f"SELECT {CUSTODY_COLUMNS} FROM custody WHERE matter_id = ? AND started_idx <= ? "
            "AND started_seq <= ? ORDER BY started_seq, role",
            (matter_id, cut.index, end_seq),
        )
        intervals = []
        for row in rows:
            interval = interval_of(row)
            data = interval.as_json()
            if interval.ended_seq is not None and (
                interval.ended_seq > end_seq or (interval.ended_idx or 0) > cut.index
            ):
                data["to"] = data["ended_by"] = None
            intervals.append(data)
        return {
            "matter_id": matter_id,
            "intervals": intervals,
            "evaluated_at": ict_text(cut.evaluated_at),
        }

    # --- timelines -----------------------------------------------------------------------

    def timeline(
        self, official_id: str, cut: Cut, *, after: int | None, limit: int
    ) -> dict[str, Any]:
        """One page of the official's timeline (rows with index > ``after``)."""
        db = self._db("timeline")
        rows: list[dict[str, Any]] = []
        last = -1 if after is None else after
        calendar: WorkCalendar | None = None
        analysed: dict[str, MatterAnalysis] = {}
        unavailable: dict[str, Unavailable] = {}
        retro = self._retro(official_id, cut)
        more = False
        while True:
            chunk = db.read(
                f"SELECT {TIMELINE_COLUMNS} FROM timeline WHERE official_id = ? AND idx > ? "
                "AND idx <= ? ORDER BY idx, role LIMIT ?",
                (official_id, last, cut.index, limit + 1),
            )
            if not chunk:
                break
            for row in chunk:
                last = int(row["idx"])
                occurred = parse_instant(row["occurred_at"])
                if not cut.period.contains(occurred):
                    continue
                if len(rows) == limit:
                    more = True
                    break
                flags: list[str] = json.loads(row["flags"])
                if row["type"] == "consultation.answered" or (
                    row["type"] == "consultation.requested"
                ):
                    calendar = calendar or self.calendar(cut)
                    matter_id = row["matter_id"]
                    if matter_id not in analysed and matter_id not in unavailable:
                        try:
                            analysed[matter_id] = self.analysis(matter_id, cut, calendar)
                        except Unavailable as e:
                            unavailable[matter_id] = e
                    if matter_id in analysed:
                        flags += _consultation_flags(row, analysed[matter_id], cut)
                if row["role"] == "actor" and any(
                    idx > int(row["idx"]) and effective <= occurred for idx, effective in retro
                ):
                    flags.append("retroactive_registry_change")
                rows.append(_timeline_row(row, flags))
            if more or len(chunk) <= limit:
                break
        if not rows and not self._known_official(official_id, cut):
            raise NotFound(f"no official {official_id} in the log as read")
        return {
            "official_id": official_id,
            "rows": rows,
            "next_after": rows[-1]["index"] if more and rows else None,
            "evaluated_at": ict_text(cut.evaluated_at),
            # Matters whose read-time flags could not be computed, with the reason.
            **_unavailable_json(unavailable.values()),
        }

    def _retro(self, official_id: str, cut: Cut) -> list[tuple[int, datetime]]:
        rows = self._db("matters").read(
            "SELECT idx, effective_at FROM retro WHERE official_id = ? AND idx <= ?",
            (official_id, cut.index),
        )
        return [(int(r["idx"]), parse_instant(r["effective_at"])) for r in rows]

    def _known_official(self, official_id: str, cut: Cut) -> bool:
        rows = self._db("matters").read(
            "SELECT 1 FROM postings WHERE official_id = ? AND idx <= ? LIMIT 1",
            (official_id, cut.index),
        )
        return bool(rows)

    # --- indicators ----------------------------------------------------------------------

    def province_officials(self, cut: Cut) -> dict[str, str]:
        """Every official of the ledger at E — the province — with the agency of their
        posting in force at E."""
        rows = self._db("matters").read(
            "SELECT official_id, since, agency_id FROM postings WHERE idx <= ? "
            "ORDER BY official_id, idx",
            (cut.index,),
        )
        current: dict[str, str] = {}
        for row in rows:
            if parse_instant(row["since"]) <= cut.evaluated_at:
                current[row["official_id"]] = str(row["agency_id"])
        return current

    def _all_matter_events(self, cut: Cut) -> dict[str, list[MatterEventRow]]:
        """The events of every matter in the log as read, each matter cut at ``to``."""
        rows = self._db("matters").read(
            f"SELECT {MATTER_EVENT_COLUMNS} FROM matter_events WHERE idx <= ? "
            "ORDER BY matter_id, seq",
            (cut.index,),
        )
        grouped: dict[str, list[MatterEventRow]] = {}
        for row in rows:
            grouped.setdefault(row["matter_id"], []).append(_event(row))
        cut_events = {m: cut_at(events, cut.to) for m, events in grouped.items()}
        return {m: events for m, events in cut_events.items() if events}

    def _province_table(
        self, cut: Cut, agency_of: dict[str, str]
    ) -> tuple[dict[str, dict[str, dict[str, Any]]], list[Unavailable]]:
        """Indicators of every official of the province (``agency_of``), each ranked among
        the province and among their agency (DESIGN §7 v4: province-wide peers); and the
        matters left out because their values cannot be computed (logged, and reported in
        their place: one stored value never fails the province's read)."""
        calendar = self.calendar(cut)
        by_party: dict[str, list[MatterAnalysis]] = {o: [] for o in agency_of}
        unavailable: list[Unavailable] = []
        for matter_id, matter_events in self._all_matter_events(cut).items():
            try:
                analysis = _analyse(matter_id, matter_events, cut.evaluated_at, calendar)
            except Unavailable as e:
                unavailable.append(e)
                continue
            for person in analysis.parties():
                if person in by_party:
                    by_party[person].append(analysis)
        table = {
            o: _indicators_isolated(o, by_party[o], cut.period, unavailable) for o in agency_of
        }
        return with_percentiles(table, agency_of), unavailable

    def official_indicators(self, official_id: str, cut: Cut) -> dict[str, Any]:
        agency_of = self.province_officials(cut)
        if official_id not in agency_of:
            raise NotFound(f"no official {official_id} registered by {ict_text(cut.evaluated_at)}")
        table, unavailable = self._province_table(cut, agency_of)
        return {
            "official_id": official_id,
            **cut.period_json(),
            "indicators": table[official_id],
            **_unavailable_json(unavailable),
        }

    def agency_indicators(self, agency_id: str, cut: Cut) -> dict[str, Any]:
        """The officials posted in ``agency_id`` at E, each ranked as their own read ranks
        them (among the province and among the agency)."""
        agency_of = self.province_officials(cut)
        officials = sorted(o for o, a in agency_of.items() if a == agency_id)
        if not officials and not self._agency_known(agency_id, cut):
            raise NotFound(f"no agency {agency_id} with officials in the log as read")
        table, unavailable = self._province_table(cut, agency_of) if officials else ({}, [])
        return {
            "agency_id": agency_id,
            **cut.period_json(),
            "officials": [{"official_id": o, "indicators": table[o]} for o in officials],
            **_unavailable_json(unavailable),
        }

    # --- the registry and catalogues (DESIGN §8 v4) --------------------------------------

    def registry(self, cut: Cut) -> tuple[Registry, dict[str, str]]:
        """The registry as its entries up to the cut's index built it, and the registrars'
        names (the registry keeps a registrar's key, not their name). Folded from the log's
        registry entries by the ledger's own rules, so it can never disagree with what
        admission checked; the last fold is kept, since reads at one cut come in runs."""
        cached = self._registry
        if cached is not None and cached[0] == cut.index:
            return cached[1], cached[2]
        state = LedgerState()
        registrar_names: dict[str, str] = {}
        for record in self.recorder.registry_records(cut.index + 1):
            stored = decode_trusted(record)
            st = stored.envelope.statement
            state.admit(
                stored.envelope,
                index=record.index,
                recorded_at=stored.recorded_at,
                check_signature=trust_signature,
            )
            if st.type == "registrar.appointed":
                body = orjson.loads(statement_body(st.canonical))
                registrar_names[str(body["official_id"])] = str(body["full_name"])
        self._registry = (cut.index, state.registry, registrar_names)
        return state.registry, registrar_names

    def agencies(self, cut: Cut) -> dict[str, Any]:
        registry, names = self.registry(cut)
        return {
            "agencies": [
                _agency_json(registry, names, a, cut.evaluated_at)
                for a in sorted(registry.agencies)
            ],
            "evaluated_at": ict_text(cut.evaluated_at),
        }

    def agency(self, agency_id: str, cut: Cut) -> dict[str, Any]:
        registry, names = self.registry(cut)
        if agency_id not in registry.agencies:
            raise NotFound(f"no agency {agency_id} in the registry as read (as_of cuts it)")
        return {
            **_agency_json(registry, names, agency_id, cut.evaluated_at),
            "evaluated_at": ict_text(cut.evaluated_at),
        }

    def officials(self, cut: Cut, *, q: str | None, agency_id: str | None) -> dict[str, Any]:
        """Officials whose name or id holds every word of ``q`` (accents and case aside),
        posted in ``agency_id`` at E when it is given."""
        registry, _ = self.registry(cut)
        words = fold(q or "").split()
        found = []
        for official_id in sorted(registry.officials):
            official = registry.officials[official_id]
            posting = registry.posting(official_id, cut.evaluated_at)
            if agency_id is not None and (posting is None or posting.agency_id != agency_id):
                continue
            haystack = f"{fold(official.full_name)} {fold(official_id)}"
            if all(w in haystack for w in words):
                found.append(_official_summary(registry, official_id, cut.evaluated_at))
        return {"officials": found, "evaluated_at": ict_text(cut.evaluated_at)}

    def official(self, official_id: str, cut: Cut) -> dict[str, Any]:
        """An official's identity, postings, keys, competences and delegations over time."""
        registry, _ = self.registry(cut)
        official = registry.officials.get(official_id)
        if official is None:
            raise NotFound(f"no official {official_id} in the registry as read (as_of cuts it)")
        delegations = [
            d for d in registry.delegations.values() if official_id in (d.grantor, d.grantee)
        ]
        return {
            **_official_summary(registry, official_id, cut.evaluated_at),
            "registered_at": ict_text(official.registered_at),
            "postings": [
                {
                    "since": ict_text(p.since),
                    "agency": _agency_ref(registry, p.agency_id),
                    "unit": _unit_ref(registry, p.agency_id, p.unit_id),
                    "position": p.position,
                    "is_head": p.is_head,
                }
                for p in official.postings
            ],
            "keys": [
                {
                    "key_id": k.key_id,
                    "valid_from": ict_text(k.valid_from),
                    "revocations": [
                        {
                            "event_id": r.event_id,
                            "effective_at": ict_text(r.effective_at),
                            "reason": r.reason,
                        }
                        for r in k.revocations
                    ],
                }
                for k in (registry.keys[kid] for kid in official.key_ids if kid in registry.keys)
            ],
            "competences": [
                {"at": ict_text(c.at), "procedure_codes": sorted(c.codes), "granted": c.granted}
                for c in official.competence
            ],
            "delegations": [
                {
                    "delegation_id": d.id,
                    "grantor": _person_ref(registry, d.grantor),
                    "grantee": _person_ref(registry, d.grantee),
                    "kind": d.kind,
                    "procedure_codes": sorted(d.codes),
                    "valid_from": ict_text(d.valid_from),
                    "valid_until": ict_text(d.valid_until),
                    "instrument_no": d.instrument_no,
                    "revoked_at": None if d.revoked_at is None else ict_text(d.revoked_at),
                }
                for d in delegations
            ],
            "evaluated_at": ict_text(cut.evaluated_at),
        }

    def matters(
        self,
        cut: Cut,
        *,
        agency_id: str | None = None,
        procedure: str | None = None,
        status: str | None = None,
        official_id: str | None = None,
        overdue: bool | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Matters in id order with their state at E, a page after the ``after`` id; a
        matter is in the period [from, to) unless it closed before ``from``."""
        registry, _ = self.registry(cut)
        calendar = self.calendar(cut)
        rows: list[dict[str, Any]] = []
        unavailable: list[Unavailable] = []
        more = False
        for matter_id, events in sorted(self._all_matter_events(cut).items()):
            if after is not None and matter_id <= after:
                continue
            try:
                m = _analyse(matter_id, events, cut.evaluated_at, calendar)
            except Unavailable as e:
                unavailable.append(e)
                continue
            status_ = "closed" if m.closed_at is not None else "open"
            if (
                (agency_id is not None and m.agency_id != agency_id)
                or (procedure is not None and m.procedure_code != procedure)
                or (status is not None and status_ != status)
                or (official_id is not None and official_id not in m.parties())
                or (overdue is not None and (m.overdue_working_days > 0) != overdue)
                or (cut.start is not None and m.closed_at is not None and m.closed_at < cut.start)
            ):
                continue
            if len(rows) == limit:
                more = True
                break
            rows.append(
                {
                    "matter_id": matter_id,
                    "procedure_code": m.procedure_code,
                    "agency": _agency_ref(registry, m.agency_id),
                    "status": status_,
                    "custodian": None
                    if m.custodian is None
                    else _person_ref(registry, m.custodian),
                    "opened_at": m.opened_at_text,
                    "due_at": None if m.due_at is None else ict_text(m.due_at),
                    "overdue_working_days": m.overdue_working_days,
                    "closed_at": m.closed_at_text,
                }
            )
        return {
            "matters": rows,
            "next_after": rows[-1]["matter_id"] if more else None,
            "evaluated_at": ict_text(cut.evaluated_at),
            **_unavailable_json(unavailable),
        }

    def matter_statements(self, matter_id: str, cut: Cut) -> dict[str, Any]:
        """The matter's statements in chain order, decoded, with the actor's name and what
        the state machine found; consultations carry their read-time flags at E."""
        events = self.matter_events(matter_id, cut)
        if not events:
            raise NotFound(f"no matter {matter_id} in the log as read (as_of and to cut it)")
        registry, _ = self.registry(cut)
        analysis: MatterAnalysis | None = None
        try:
            analysis = _analyse(matter_id, events, cut.evaluated_at, self.calendar(cut))
        except Unavailable:
            analysis = None
        statements = []
        for e in events:
            flags = e.flag_list()
            if analysis is not None and e.type in (
                "consultation.requested",
                "consultation.answered",
            ):
                row = {"type": e.type, "event_id": e.event_id}
                flags += _consultation_flags(row, analysis, cut)
            statements.append(
                {
                    "type": e.type,
                    "seq": e.seq,
                    "index": e.idx,
                    "event_id": e.event_id,
                    "actor": _person_ref(registry, e.actor),
                    "occurred_at": e.occurred_at,
                    "recorded_at": e.recorded_at,
                    "body": e.body_dict(),
                    "direction": e.direction,
                    "flags": flags,
                    "competence": None
                    if e.competence is None
                    else {"basis": e.competence, "delegation_id": e.delegation_id},
                }
            )
        return {
            "matter_id": matter_id,
            "statements": statements,
            "evaluated_at": ict_text(cut.evaluated_at),
        }

    def _agency_known(self, agency_id: str, cut: Cut) -> bool:
        rows = self._db("matters").read(
            "SELECT 1 FROM postings WHERE agency_id = ? AND idx <= ? LIMIT 1",
            (agency_id, cut.index),
        )
        return bool(rows)


def fold(text: str) -> str:
    """``text`` without accents or case: NFD, combining marks dropped, đ/Đ as d, casefolded
    ("Phạm Đức Tuấn" → "pham duc tuan")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _person_ref(registry: Registry, person_id: str) -> dict[str, Any]:
    """``{id, name}``: an official's or a root's registered name (null for a registrar,
    whom the registry knows by key)."""
    official = registry.officials.get(person_id)
    root = registry.roots.get(person_id)
    name = official.full_name if official else root.full_name if root else None
    return {"id": person_id, "name": name}


def _agency_ref(registry: Registry, agency_id: str) -> dict[str, Any]:
    agency = registry.agencies.get(agency_id)
    return {"id": agency_id, "name": None if agency is None else agency.name}


def _unit_ref(registry: Registry, agency_id: str, unit_id: str) -> dict[str, Any]:
    agency = registry.agencies.get(agency_id)
    unit = None if agency is None else agency.units.get(unit_id)
    return {"id": unit_id, "name": None if unit is None else unit.name}


def _official_summary(registry: Registry, official_id: str, moment: datetime) -> dict[str, Any]:
    official = registry.officials[official_id]
    posting = registry.posting(official_id, moment)
    return {
        "id": official_id,
        "name": official.full_name,
        "position": None if posting is None else posting.position,
        "unit": None
        if posting is None
        else _unit_ref(registry, posting.agency_id, posting.unit_id),
        "agency": None if posting is None else _agency_ref(registry, posting.agency_id),
    }


def _agency_json(
    registry: Registry, registrar_names: dict[str, str], agency_id: str, moment: datetime
) -> dict[str, Any]:
    agency = registry.agencies[agency_id]
    heads = [
        {"id": o, "name": registry.officials[o].full_name}
        for o in sorted(registry.officials)
        if registry.is_agency_head(o, agency_id, moment)
    ]
    terms = [t for t in agency.registrars if t.is_active_at(moment)]
    return {
        "id": agency.id,
        "name": agency.name,
        "level": agency.level,
        "parent": agency.parent_agency,
        "units": [
            {"id": u.unit_id, "name": u.name, "parent": u.parent_unit}
            for u in agency.units.values()
        ],
        "heads": heads,
        "registrar": None
        if not terms
        else {"id": terms[-1].official_id, "name": registrar_names.get(terms[-1].official_id)},
    }


def _indicators_isolated(
    official_id: str,
    matters: list[MatterAnalysis],
    period: Period,
    unavailable: list[Unavailable],
) -> dict[str, Indicator]:
    """``indicators_for``; when one matter's values cannot be computed, that matter is left
    out (and reported) and the official's indicators are computed over the others."""
    try:
        return indicators_for(official_id, matters, period)
    except UNEVALUABLE:
        kept = []
        for m in matters:
            try:
                indicators_for(official_id, [m], period)
            except UNEVALUABLE as e:
                log.warning("matter %s cannot be evaluated for %s: %s", m.matter_id, official_id, e)
                if all(u.matter_id != m.matter_id for u in unavailable):
                    reason = f"a stored value cannot be evaluated: {e}"
                    unavailable.append(Unavailable(m.matter_id, reason))
                continue
            kept.append(m)
        return indicators_for(official_id, kept, period)


def _unavailable_json(unavailable: Any) -> dict[str, Any]:
    """``{"unavailable": [{matter_id, reason}]}`` when a matter could not be evaluated, else
    nothing: the answer's shape is DESIGN §7's whenever every matter could."""
    listed = sorted((u.as_json() for u in unavailable), key=lambda u: u["matter_id"])
    return {"unavailable": listed} if listed else {}


def _event(row: Any) -> MatterEventRow:
    # Columns in MATTER_EVENT_COLUMNS order, which is the row type's field order: by
    # position, a thousand-event matter converts three times faster than by name.
    return MatterEventRow(*(row.values() if isinstance(row, dict) else row))


def _timeline_row(row: Any, flags: list[str]) -> dict[str, Any]:
    return {
        "index": int(row["idx"]),
        "event_id": row["event_id"],
        "matter_id": row["matter_id"],
        "type": row["type"],
        "role": row["role"],
        "counterpart": row["counterpart"],
        "direction": row["direction"],
        "flags": flags,
        "occurred_at": row["occurred_at"],
        "recorded_at": row["recorded_at"],
    }


def _consultation_flags(row: Any, matter: MatterAnalysis, cut: Cut) -> list[str]:
    """``late_answer`` on a late answer; ``deemed_agreed`` on an unanswered request past its
    window at E (the matter not closed first)."""
    if row["type"] == "consultation.answered":
        late = any(
            c.answer_event_id == row["event_id"] and c.answered_late
            for c in matter.consultations.values()
        )
        return [LATE_ANSWER] if late else []
    consultation = matter.consultations.get(row["event_id"])
    if consultation is not None and consultation.deemed_agreed(matter.end, matter.closed_at):
        return [DEEMED_AGREED]
    return []
