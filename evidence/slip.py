"""Form 06 as data: the control slip of one matter, and an official's summary.

``build_slip`` turns a ``MatterAnalysis`` and what the registry said (``RegistryFacts``)
into one plain structure — JSON values and language-neutral codes only, never a word of
Vietnamese or English — that reads like the one-stop "phiếu kiểm soát quá trình giải quyết
hồ sơ" (TT 03/2025/TT-VPCP, mẫu số 06; shared/notes/form06.md): a header, one row per
step, the decisions with their authority, and every statement of the matter in a row or
beside one. A bundle stores it, ``bundle verify`` derives it again and compares it value by
value, and the templates (or a console) only translate its codes (``evidence.i18n``).

Rules this module states, each once:

- A **step** belongs to whoever received the file (or the task, or the question): it runs
  from their receipt until they passed it on — the offer that was accepted (the giver's
  "thời gian giao"), a lead assignment to someone else, or the closing. A support step
  runs until the assignee's first statement on the matter after the assignment, else the
  closing. A consultation's step runs until the answer.
- A step's **budget** is its assignment's ``due_at`` where given, a consultation's reply
  window, else the matter's due time (after pauses and extensions).
- Its **result**: ``late`` (quá hạn) when it ended after its budget — or is still running
  past it; ``before`` (trước hạn) when it ended on an earlier working day than the due
  day; ``on_time`` (đúng hạn) when it ended on the due day, by the due time; ``running``
  while it runs within its budget. Late steps carry their overdue working days (the
  working days d with due_day < d ≤ end_day).
- **Competence** appears only on decisions, with the authority that supports the finding:
  the decider's own grant (its legal basis), or the delegation (kind, instrument number,
  grantor by name and position) and the grantor's own grant. Who held the file is never
  judged for competence here.
- **Names** beside every id: the person's name, position, unit and agency as the registry
  said at the statement's ``occurred_at``, from the registry entries recorded before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.times import parse_instant
from ledger.workdays import ict_text, local_day
from projections.analysis import MatterAnalysis, Pause
from projections.custody import Interval
from projections.facts import MatterEventRow
from projections.indicators import NAMES, Period, indicators_for

Json = dict[str, Any]

_OFFER_REPLIES = ("handoff.accepted", "handoff.returned", "handoff.withdrawn")


# --- what the registry said -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostingFact:
    """Where an official sat from ``since``, as registry entry ``idx`` said."""

    official_id: str
    full_name: str
    idx: int
    recorded_at: datetime
    since: datetime
    agency_id: str
    unit_id: str
    position: str
    is_head: bool


@dataclass(frozen=True, slots=True)
class GrantFact:
    """A ``competence.granted`` or ``competence.revoked`` (entry ``idx``), effective ``at``."""

    idx: int
    event_id: str
    at: datetime
    codes: frozenset[str]
    granted: bool
    legal_basis: str | None


@dataclass(frozen=True, slots=True)
class DelegationFact:
    """A ``delegation.granted`` (its event id is the delegation's id)."""

    delegation_id: str
    idx: int
    grantor: str
    grantee: str
    kind: str
    codes: frozenset[str]
    valid_from: str
    valid_until: str
    instrument_no: str


@dataclass
class RegistryFacts:
    """What the registry said, kept with the log index of each fact so that a statement is
    named as the registry stood before it. A bundle builds it from its entries; a console
    can build it from its read models."""

    postings: dict[str, list[PostingFact]] = field(default_factory=dict)
    agencies: dict[str, str] = field(default_factory=dict)  # agency id -> registered name
    units: dict[tuple[str, str], str] = field(default_factory=dict)  # (agency, unit) -> name
    delegations: dict[str, DelegationFact] = field(default_factory=dict)
    grants: dict[str, list[GrantFact]] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)  # event id -> signing key id
    procedure_names: dict[str, str] = field(default_factory=dict)  # none in the log itself

    def posting(
        self,
        official_id: str,
        at: datetime,
        *,
        before_idx: int | None = None,
        recorded_by: datetime | None = None,
    ) -> PostingFact | None:
        """The posting in force at ``at`` among those recorded before entry ``before_idx``
        (or by ``recorded_by``): the latest ``since`` wins, a later entry on a tie."""
        found: PostingFact | None = None
        for p in self.postings.get(official_id, ()):
            if before_idx is not None and p.idx >= before_idx:
                continue
            if recorded_by is not None and p.recorded_at > recorded_by:
                continue
            if p.since <= at and (found is None or p.since >= found.since):
                found = p
        return found

    def party(
        self,
        official_id: str,
        at: datetime,
        *,
        before_idx: int | None = None,
        recorded_by: datetime | None = None,
    ) -> Json:
        """``{id, name, position, unit, agency}`` of a person as the registry said at ``at``."""
        p = self.posting(official_id, at, before_idx=before_idx, recorded_by=recorded_by)
        if p is None:
            known = self.postings.get(official_id)
            return {
                "id": official_id,
                "name": known[0].full_name if known else None,
                "position": None,
                "unit": None,
                "agency": None,
            }
        return {
            "id": official_id,
            "name": p.full_name,
            "position": p.position,
            "unit": {"id": p.unit_id, "name": self.units.get((p.agency_id, p.unit_id))},
            "agency": {"id": p.agency_id, "name": self.agencies.get(p.agency_id)},
        }

    def grant(self, official_id: str, code: str, at: datetime, before_idx: int) -> GrantFact | None:
        """The grant by which ``official_id`` held competence for ``code`` at ``at``, as the
        registry stood before entry ``before_idx``; ``None`` when they held none (the same
        latest-change-wins reading as the registry's own)."""
        latest: GrantFact | None = None
        for g in self.grants.get(official_id, ()):
            if (
                g.idx < before_idx
                and g.at <= at
                and code in g.codes
                and (latest is None or g.at >= latest.at)
            ):
                latest = g
        return latest if latest is not None and latest.granted else None


# --- small helpers --------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else ict_text(moment)


def _at(event: MatterEventRow) -> datetime:
    return parse_instant(event.occurred_at)


def _person(p: Json) -> Json:
    """The id and name of a party, for lists where the full posting would only repeat."""
    return {"id": p["id"], "name": p["name"]}


@dataclass
class _Judge:
    """A step's result against its budget (the rules in the module docstring)."""

    m: MatterAnalysis

    def __call__(self, end: datetime | None, due: datetime | None) -> tuple[str | None, int]:
        if due is None:
            return None, 0
        if end is None:  # still running: judged at the matter's end (E while open)
            if self.m.end > due:
                return "late", self._days(due, self.m.end)
            return "running", 0
        if end > due:
            return "late", self._days(due, end)
        if local_day(end) < local_day(due):
            return "before", 0
        return "on_time", 0

    def _days(self, due: datetime, end: datetime) -> int:
        return self.m.calendar.working_days_between(local_day(due), local_day(end))

    def step(
        self,
        holder: str | None,
        start: datetime,
        end: datetime | None,
        ended_by: str | None,
        due: datetime | None,
        source: str,
    ) -> Json:
        result, days = self(end, due)
        return {
            "holder": holder,
            "from": _iso(start),
            "to": _iso(end),
            "ended_by": ended_by,
            "due_at": _iso(due),
            "due_source": source,
            "result": result,
            "overdue_working_days": days,
        }


# --- the slip -------------------------------------------------------------------------------


class _SlipBuilder:
    def __init__(self, m: MatterAnalysis, registry: RegistryFacts) -> None:
        self.m = m
        self.reg = registry
        self.by_id = {e.event_id: e for e in m.events}
        self.judge = _Judge(m)
        self.rows: list[Json] = []
        self.row_of: dict[str, int] = {}  # event id -> position in rows
        self.decisions: list[Json] = []
        self.body: dict[str, Json] = {e.event_id: e.body_dict() for e in m.events}
        opening = m.events[0] if m.events and m.events[0].type == "matter.opened" else None
        self.opening = opening
        self.applicant = (
            {"applicant": self.body[opening.event_id]["applicant_ref"]} if opening else None
        )

    # -- parties, as the registry stood before the statement --

    def party(self, official_id: str, event: MatterEventRow) -> Json:
        return self.reg.party(official_id, _at(event), before_idx=event.idx)

    # -- steps of custody --

    def _interval(self, official_id: str, role: str, event: MatterEventRow) -> Interval | None:
        """The interval of ``official_id`` in ``role`` that ``event`` started, or that was
        running when it occurred (an assignment to the current holder splits nothing)."""
        for i in self.m.intervals:
            if i.role == role and i.official_id == official_id and i.started_by == event.event_id:
                return i
        for i in self.m.intervals:
            if (
                i.role == role
                and i.official_id == official_id
                and i.started_seq <= event.seq
                and (i.ended_seq is None or event.seq < i.ended_seq)
            ):
                return i
        return None

    def _given_at(self, ended_by: str) -> datetime:
        """When the holder passed the file on: the offer that was accepted, else the event
        that ended their custody."""
        ending = self.by_id[ended_by]
        if ending.type == "handoff.accepted":
            offer = self.by_id.get(str(self.body[ended_by]["in_reply_to"]))
            if offer is not None:
                return _at(offer)
        return _at(ending)

    def custody_step(
        self, official_id: str, role: str, event: MatterEventRow, due: datetime | None, source: str
    ) -> Json | None:
        interval = self._interval(official_id, role, event)
        if interval is None:
            return None
        start = _at(event)
        end: datetime | None = None
        ended_by = interval.ended_by
        if role == "support":
            act = next(
                (
                    e
                    for e in self.m.events
                    if e.actor == official_id
                    and e.seq > event.seq
                    and (interval.ended_seq is None or e.seq <= interval.ended_seq)
                ),
                None,
            )
            if act is not None:
                end, ended_by = _at(act), act.event_id
            elif interval.ended_by is not None:
                end = _at(self.by_id[interval.ended_by])
        elif interval.ended_by is not None:
            end = self._given_at(interval.ended_by)
        return self.judge.step(official_id, start, end, ended_by, due, source)

    # -- rows --

    def add(self, event: MatterEventRow, row: Json) -> None:
        row["no"] = len(self.rows) + 1
        row["event_id"] = event.event_id
        row.setdefault("statements", [event.seq])
        row.setdefault("corrections", [])
        for key in ("giver", "receiver", "given_at", "received_at", "state", "step"):
            row.setdefault(key, None)
        row.setdefault("details", {})
        self.row_of[event.event_id] = len(self.rows)
        self.rows.append(row)

    def attach(self, target: str, event: MatterEventRow) -> Json | None:
        """The row of ``target``; ``event`` is listed among its statements."""
        position = self.row_of.get(target)
        if position is None:
            return None
        row = self.rows[position]
        row["statements"].append(event.seq)
        self.row_of[event.event_id] = position
        return row

    def build(self) -> Json:
        for event in self.m.events:
            handler = getattr(self, "_" + event.type.replace(".", "_"), None)
            if handler is None:
                self.add(event, {"kind": "statement", "giver": self.party(event.actor, event)})
            else:
                handler(event, self.body[event.event_id])
        return {
            "header": self.header(),
            "steps": self.rows,
            "decisions": self.decisions,
            "flags": self.flags(),
            "indicators": applying_indicators(self.m, self.reg),
            "statements": self.statements(),
        }

    def _matter_opened(self, e: MatterEventRow, body: Json) -> None:
        due = self.m.due_at
        self.add(
            e,
            {
                "kind": "opened",
                "giver": self.applicant,
                "receiver": self.party(e.actor, e),
                "given_at": _iso(_at(e)),
                "received_at": _iso(_at(e)),
                "step": self.custody_step(e.actor, "lead", e, due, "matter"),
                "details": {
                    "title": body["title"],
                    "deadline_working_days": body["deadline_working_days"],
                },
            },
        )

    def _task_assigned(self, e: MatterEventRow, body: Json) -> None:
        role = str(body["role"])
        assignee = str(body["assignee"])
        task_due = parse_instant(str(body["due_at"])) if body.get("due_at") else None
        due, source = (task_due, "task") if task_due is not None else (self.m.due_at, "matter")
        self.add(
            e,
            {
                "kind": f"assigned_{role}",
                "giver": self.party(e.actor, e),
                "receiver": self.party(assignee, e),
                "given_at": _iso(_at(e)),
                "received_at": _iso(_at(e)),
                "step": self.custody_step(assignee, role, e, due, source),
                "details": {
                    "role": role,
                    "instructions": body["instructions"],
                    "due_at": _iso(task_due),
                },
            },
        )

    def _handoff_offered(self, e: MatterEventRow, body: Json) -> None:
        offer = self.m.offers.get(e.event_id)
        to = str(body["to"])
        pending = self.m.pending_offer == e.event_id
        self.add(
            e,
            {
                "kind": "handoff",
                "giver": self.party(e.actor, e),
                "receiver": self.party(to, e),
                "given_at": _iso(_at(e)),
                # Not yet answered, and no longer pending: a lead assignment or the
                # closing ended it.
                "state": "pending" if pending else "cancelled",
                "details": {
                    "reason": body["reason"],
                    "direction": offer.direction if offer else e.direction,
                    "return_reason": None,
                    "return_note": None,
                    "answered_at": None,
                },
            },
        )

    def _reply_to_offer(self, e: MatterEventRow, body: Json) -> None:
        row = self.attach(str(body["in_reply_to"]), e)
        if row is None:
            return
        answer = e.type.split(".")[1]
        row["state"] = answer
        row["details"]["answered_at"] = _iso(_at(e))
        if answer == "accepted":
            row["receiver"] = self.party(e.actor, e)
            row["received_at"] = _iso(_at(e))
            row["step"] = self.custody_step(e.actor, "lead", e, self.m.due_at, "matter")
        elif answer == "returned":
            row["receiver"] = self.party(e.actor, e)
            row["details"]["return_reason"] = body["reason"]
            row["details"]["return_note"] = body["note"]

    _handoff_accepted = _reply_to_offer
    _handoff_returned = _reply_to_offer
    _handoff_withdrawn = _reply_to_offer

    def _consultation_requested(self, e: MatterEventRow, body: Json) -> None:
        c = self.m.consultations[e.event_id]
        deemed = c.deemed_agreed(self.m.end, self.m.closed_at)
        if deemed:
            state = "deemed_agreed"
        elif self.m.closed_at is not None and self.m.closed_at < c.reply_due:
            state = "closed_first"
        else:
            state = "awaiting_answer"
        step = None
        if state != "closed_first":
            step = self.judge.step(c.to, c.occurred_at, None, None, c.reply_due, "reply")
        self.add(
            e,
            {
                "kind": "consultation",
                "giver": self.party(e.actor, e),
                "receiver": self.party(c.to, e),
                "given_at": _iso(_at(e)),
                "state": state,
                "step": step,
                "details": {
                    "question": body["question"],
                    "proposed_position": body.get("proposed_position"),
                    "required_by": body.get("required_by"),
                    "reply_due_at": _iso(c.reply_due),
                    "direction": c.direction,
                    "position": None,
                    "answer": None,
                    "late": False,
                },
            },
        )

    def _consultation_answered(self, e: MatterEventRow, body: Json) -> None:
        target = str(body["in_reply_to"])
        row = self.attach(target, e)
        if row is None:
            return
        c = self.m.consultations[target]
        row["state"] = "answered"
        row["receiver"] = self.party(e.actor, e)
        row["received_at"] = _iso(_at(e))
        row["step"] = self.judge.step(c.to, c.occurred_at, _at(e), e.event_id, c.reply_due, "reply")
        row["details"].update(
            {"position": body["position"], "answer": body["text"], "late": c.answered_late}
        )

    def _pause_of(self, event_id: str) -> Pause | None:
        return next((p for p in self.m.pauses if p.requested_by == event_id), None)

    def _supplement_requested(self, e: MatterEventRow, body: Json) -> None:
        pause = self._pause_of(e.event_id)
        if pause is None:
            state = "within_pause"
        else:
            state = "paused" if pause.received_by is None else "received"
        self.add(
            e,
            {
                "kind": "supplement",
                "giver": self.party(e.actor, e),
                "receiver": self.applicant,
                "given_at": _iso(_at(e)),
                "state": state,
                "details": {
                    "items": list(body["items"]),
                    "pause_working_days": None if pause is None else pause.working_days,
                    "pause_until": None if pause is None else _iso(pause.until),
                },
            },
        )

    def _supplement_received(self, e: MatterEventRow, body: Json) -> None:
        pause = next((p for p in self.m.pauses if p.received_by == e.event_id), None)
        row = None if pause is None else self.attach(pause.requested_by, e)
        if row is None:
            self.add(e, {"kind": "supplement", "giver": self.party(e.actor, e)})
            return
        row["received_at"] = _iso(_at(e))

    def _deadline_extended(self, e: MatterEventRow, body: Json) -> None:
        earlier = sum(1 for r in self.rows if r["kind"] == "extension")
        self.add(
            e,
            {
                "kind": "extension",
                "giver": self.party(e.actor, e),
                "receiver": self.applicant,
                "given_at": _iso(_at(e)),
                "details": {
                    "no": earlier + 1,
                    "new_due_at": _iso(parse_instant(str(body["new_due_at"]))),
                    "reason": body["reason"],
                    "apology_document": body.get("apology_document"),
                    "after_due": e.event_id in self.m.late_extensions,
                },
            },
        )

    def _decision_recorded(self, e: MatterEventRow, body: Json) -> None:
        decision = self.decision(e, body)
        self.decisions.append(decision)
        self.add(
            e,
            {
                "kind": "decision",
                "giver": decision["decider"],
                "given_at": decision["at"],
                "details": {
                    "decision": decision["no"],
                    "outcome": decision["outcome"],
                    "capacity": decision["capacity"],
                    "summary": body["summary"],
                },
            },
        )

    def _matter_closed(self, e: MatterEventRow, body: Json) -> None:
        opened = self.m.opened_at or _at(e)
        self.add(
            e,
            {
                "kind": "closed",
                "giver": self.party(e.actor, e),
                "receiver": self.applicant,
                "given_at": _iso(_at(e)),
                # The matter's own result against its due time: the late days show here.
                "step": self.judge.step(None, opened, _at(e), e.event_id, self.m.due_at, "matter"),
                "details": {"result": body["result"]},
            },
        )

    def _correction_recorded(self, e: MatterEventRow, body: Json) -> None:
        target = str(body["target_event_id"])
        row = self.attach(target, e)
        if row is None:
            self.add(e, {"kind": "statement", "giver": self.party(e.actor, e)})
            return
        corrected = self.by_id.get(target)
        row["corrections"].append(
            {
                "event_id": e.event_id,
                "seq": e.seq,
                "by": self.party(e.actor, e),
                "at": _iso(_at(e)),
                "target_event_id": target,
                "target_seq": None if corrected is None else corrected.seq,
                "reason": body["reason"],
                "fields": body["corrections"],
            }
        )

    # -- decisions and their authority --

    def decision(self, e: MatterEventRow, body: Json) -> Json:
        at = _at(e)
        code = self.m.procedure_code
        decider = self.party(e.actor, e)
        authority: list[Json] = []
        if e.competence == "own":
            authority.append(self._competence_link(e.actor, code, e))
        elif e.competence == "delegated" and e.delegation_id is not None:
            d = self.reg.delegations.get(e.delegation_id)
            if d is not None:
                authority.append(
                    {
                        "kind": "delegation",
                        "delegation_id": d.delegation_id,
                        "type": d.kind,
                        "instrument_no": d.instrument_no,
                        "grantor": self.party(d.grantor, e),
                        "valid_from": _iso(parse_instant(d.valid_from)),
                        "valid_until": _iso(parse_instant(d.valid_until)),
                    }
                )
                authority.append(self._competence_link(d.grantor, code, e))
        claimed = body.get("delegation_id")
        cited = None if claimed is None else self.reg.delegations.get(str(claimed))
        return {
            "no": len(self.decisions) + 1,
            "event_id": e.event_id,
            "seq": e.seq,
            "decider": decider,
            "at": _iso(at),
            "outcome": body["outcome"],
            "capacity": body["capacity"],
            "competence": e.competence,
            "capacity_mismatch": "capacity_mismatch" in e.flag_list(),
            "claimed_delegation_id": claimed,
            "claimed_instrument_no": None if cited is None else cited.instrument_no,
            "summary": body["summary"],
            "legal_basis": body["legal_basis"],
            "document_sha256": body.get("document_sha256"),
            "authority": authority,
            "stands": False,  # set for the latest once all are known
        }

    def _competence_link(self, official_id: str, code: str, e: MatterEventRow) -> Json:
        grant = self.reg.grant(official_id, code, _at(e), e.idx)
        return {
            "kind": "competence",
            "holder": self.party(official_id, e),
            "procedure_code": code,
            "legal_basis": None if grant is None else grant.legal_basis,
            "granted_by_event": None if grant is None else grant.event_id,
            "granted_at": None if grant is None else _iso(grant.at),
        }

    # -- header, flags, the register of statements --

    def header(self) -> Json:
        m = self.m
        if self.decisions:
            self.decisions[-1]["stands"] = True
        opening = self.opening
        opened_body = self.body[opening.event_id] if opening else {}
        received_by = self.party(opening.actor, opening) if opening else None
        initial_due = None
        if m.opened_at is not None and opened_body:
            initial_due = m.calendar.deadline(
                m.opened_at, int(opened_body["deadline_working_days"])
            )
        leads = [i for i in m.intervals if i.role == "lead"]
        handler = next((i for i in leads if i.official_id != m.opener), leads[0] if leads else None)
        handling_unit = None
        if handler is not None:
            handling_unit = self.party(handler.official_id, self.by_id[handler.started_by])["unit"]
        cooperating = [
            self.party(i.official_id, self.by_id[i.started_by])
            for i in m.intervals
            if i.role == "support"
        ]
        timeliness, overdue_days = self.judge(m.closed_at, m.due_at)
        closed = m.closed_at is not None
        custodian = m.custodian
        return {
            "agency": {"id": m.agency_id, "name": self.reg.agencies.get(m.agency_id)},
            "dossier_code": m.matter_id,
            "title": opened_body.get("title"),
            "procedure": {
                "code": m.procedure_code,
                "name": self.reg.procedure_names.get(m.procedure_code),
            },
            "applicant_ref": opened_body.get("applicant_ref"),
            "received_at": _iso(m.opened_at),
            "received_by": received_by,
            "deadline_working_days": opened_body.get("deadline_working_days"),
            "due_at_initial": _iso(initial_due),
            "due_at": _iso(m.due_at),
            "extensions": [
                {"row": r["no"], "event_id": r["event_id"], "by": r["giver"], "at": r["given_at"]}
                | r["details"]
                for r in self.rows
                if r["kind"] == "extension"
            ],
            "paused_working_days": sum(p.working_days for p in m.pauses),
            "handling_unit": handling_unit,
            "cooperating": cooperating,
            "status": "closed" if closed else "open",
            "result": m.result,
            "closed_at": _iso(m.closed_at),
            # "Người đang xử lý" only while the matter is open.
            "custodian": None
            if closed or custodian is None
            else self.reg.party(custodian, m.end, recorded_by=m.evaluated_at),
            "pending_offer": None if closed else m.pending_offer,
            "timeliness": timeliness,
            "overdue_working_days": overdue_days,
        }

    def flags(self) -> list[Json]:
        """Each flag once, in order of first appearance, with the statements behind it."""
        m = self.m
        behind: dict[str, list[str]] = {}
        for event in m.events:
            for flag in event.flag_list():
                behind.setdefault(flag, []).append(event.event_id)
        found = {code: list(ids) for code, ids in behind.items()}
        for code in m.flags():
            found.setdefault(code, [])
        consultations = list(m.consultations.values())
        derived: dict[str, list[str]] = {
            "overdue": [self.rows[-1]["event_id"]] if m.closed_at is not None and self.rows else [],
            "extension_after_due": list(m.late_extensions),
            "late_answer": [
                c.answer_event_id for c in consultations if c.answered_late and c.answer_event_id
            ],
            "deemed_agreed": [
                c.event_id for c in consultations if c.deemed_agreed(m.end, m.closed_at)
            ],
        }
        for code, ids in derived.items():
            if code in found and not found[code]:
                found[code] = ids
        seq = {e.event_id: e.seq for e in m.events}
        return [
            {"code": code, "event_ids": ids, "seqs": [seq[i] for i in ids if i in seq]}
            for code, ids in found.items()
        ]

    def statements(self) -> list[Json]:
        return [
            {
                "seq": e.seq,
                "event_id": e.event_id,
                "type": e.type,
                "signer": _person(self.party(e.actor, e)),
                "key_id": self.reg.key_ids.get(e.event_id),
                "occurred_at": _iso(_at(e)),
                "recorded_at": _iso(parse_instant(e.recorded_at)),
                "flags": e.flag_list(),
                "row": self.rows[self.row_of[e.event_id]]["no"]
                if e.event_id in self.row_of
                else None,
            }
            for e in self.m.events
        ]


def build_slip(analysis: MatterAnalysis, registry: RegistryFacts) -> Json:
    """The form-06 view model of one analysed matter (plain JSON, codes not words)."""
    return _SlipBuilder(analysis, registry).build()


# --- indicators -----------------------------------------------------------------------------


def applying_indicators(m: MatterAnalysis, registry: RegistryFacts) -> list[Json]:
    """Who this matter counts against, on which indicators (measures such as indicator 7
    count every handler and say nothing here, so they are left out)."""
    out: list[Json] = []
    for person in sorted(m.parties()):
        found = indicators_for(person, [m], Period(None, None))
        hits = [
            name
            for name in NAMES
            if not getattr(found[name], "is_measure", False)
            and found[name].numerator
            and m.matter_id in found[name].matters
        ]
        if hits:
            who = registry.party(person, m.end, recorded_by=m.evaluated_at)
            out.append({"official": _person(who), "indicators": hits})
    return out


def official_summary(
    official_id: str,
    analyses: Sequence[MatterAnalysis],
    registry: RegistryFacts,
    period: Period,
    evaluated_at: datetime,
) -> Json:
    """The official's page: who they are at E, and their indicators over the bundle's
    matters. Percentiles are not derived: a bundle holds this official's matters only, so a
    province-wide rank could not be derived again offline (docs/evidence.md)."""
    found = indicators_for(official_id, list(analyses), period)
    indicators = []
    for name in NAMES:
        ind = found[name]
        indicators.append(
            {
                "name": name,
                "numerator": ind.numerator,
                "denominator": ind.denominator,
                "value": ind.value,
                "measure": bool(getattr(ind, "is_measure", False)),
                "matters": sorted(ind.matters),
                "extra": dict(ind.extra),
            }
        )
    return {
        "official": registry.party(official_id, evaluated_at, recorded_by=evaluated_at),
        "period": {"from": _iso(period.start), "to": _iso(period.end)},
        "matters": [m.matter_id for m in analyses],
        "indicators": indicators,
        "percentiles": "not_derived",
    }
