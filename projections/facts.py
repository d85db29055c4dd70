"""Facts the read models store, derived from one admitted entry and the state it met.

Each stored row holds only what the log says (and what the registry said at the
statement's ``occurred_at``, as built from the entries before it): never anything that
depends on the clock. Every row carries the log index of the entry it comes from, so a
read can cut the log at any index (``as_of``) by filtering on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from ledger import statements as s
from ledger.canonical import statement_body
from ledger.replay import Verdict
from ledger.state import NO_CUSTODY_CHANGE, LedgerState

# Body fields that name a person other than the actor.
_NAMED = ("to", "assignee", "grantee")
_REPLIES_TO_OFFER = ("handoff.accepted", "handoff.returned", "handoff.withdrawn")
_POSTING_TYPES = ("official.registered", "official.moved")

# Registry entries that change what an official may do, and when the change takes effect.
_RETRO_TYPES = (
    "competence.granted",
    "competence.revoked",
    "official.moved",
    "key.bound",
    "key.revoked",
    "delegation.granted",
    "delegation.revoked",
)


@dataclass(slots=True)
class MatterEventRow:
    """One statement of a matter, as the ``matters`` projection stores it."""

    matter_id: str
    seq: int
    idx: int
    event_id: str
    type: str
    actor: str
    occurred_at: str
    recorded_at: str
    direction: str | None
    flags: str  # JSON array
    competence: str | None  # the finding of a decision or an up/up_external escalation
    delegation_id: str | None
    counterpart: str | None
    holder_competence: str | None  # the new lead holder's competence when custody moves
    body: str  # the statement's body, JCS
    # What the statement did to custody, as the state machine found it (``CustodyChange``).
    lead_to: str | None = None
    support_to: str | None = None
    closes: bool = False
    pending_offer: str | None = None  # the matter's pending offer after this statement

    def body_dict(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.body)
        return value

    def flag_list(self) -> list[str]:
        value: list[str] = orjson.loads(self.flags)
        return value


@dataclass(slots=True)
class TimelineRow:
    """One event an official is party to."""

    official_id: str
    idx: int
    event_id: str
    matter_id: str | None
    type: str
    role: str  # actor, addressee or requester
    counterpart: str | None
    direction: str | None
    flags: str  # JSON array
    occurred_at: str
    recorded_at: str


@dataclass(slots=True)
class PostingRow:
    official_id: str
    idx: int
    since: str
    agency_id: str
    unit_id: str
    position: str
    is_head: bool
    full_name: str


@dataclass(slots=True)
class CalendarRow:
    day: str
    idx: int
    kind: str
    source_document: str
    event_id: str
    recorded_at: str


@dataclass(slots=True)
class RetroRow:
    """A registry change about ``official_id`` taking effect at ``effective_at``."""

    official_id: str
    idx: int
    effective_at: str
    event_id: str
    type: str


@dataclass(slots=True)
class EntryFacts:
    """Everything the read models take from one entry."""

    index: int
    notification_id: int
    matter_event: MatterEventRow | None
    timeline: tuple[TimelineRow, ...]
    postings: tuple[PostingRow, ...]
    calendar: CalendarRow | None
    retro: tuple[RetroRow, ...]


# The parts of ``EntryFacts`` a view may ask for (``ReadModel.facts``).
PARTS = frozenset({"matter_event", "timeline", "postings", "calendar", "retro"})


def facts_of(
    verdict: Verdict, state: LedgerState, notification_id: int, parts: frozenset[str] = PARTS
) -> EntryFacts:
    """The rows one admitted entry contributes (``state`` already includes it); only the
    ``parts`` asked for are built, the others are left empty (a rebuild of one view builds
    only that view's rows)."""
    stored, assessment = verdict.entry, verdict.assessment
    st = stored.envelope.statement
    type_ = st.type
    index = stored.record.index
    recorded_at = stored.recorded_at_text
    body_bytes = statement_body(st.canonical)
    raw_body: dict[str, Any] = orjson.loads(body_bytes)
    flags = _flags_json(assessment.flags)
    direction = assessment.direction
    named = None
    for name in _NAMED:
        if name in raw_body:
            named = raw_body[name]
            break
    requester: str | None = None
    counterpart = named
    matter_id = st.subject_id if st.subject_kind == "matter" else None
    matter_event = None
    if matter_id is not None:
        matter = state.matters[matter_id]
        reply_to = raw_body.get("in_reply_to")
        if type_ in _REPLIES_TO_OFFER and reply_to in matter.offers:
            offer = matter.offers[reply_to]
            counterpart = offer.to if type_ == "handoff.withdrawn" else offer.offerer
            requester = None if type_ == "handoff.withdrawn" else offer.offerer
        elif type_ == "consultation.answered" and reply_to in matter.consultations:
            requester = counterpart = matter.consultations[reply_to].requester
    if matter_id is not None and "matter_event" in parts:
        change = assessment.custody or NO_CUSTODY_CHANGE
        holder_competence: str | None = None
        if change.lead_to is not None:
            holder_competence = state.registry.competence_finding(
                change.lead_to, matter.procedure_code, st.occurred
            ).basis
        competence = assessment.competence
        # Positional: built once per entry replayed, on the rebuild's hot path.
        matter_event = MatterEventRow(
            matter_id,
            st.seq,
            index,
            st.event_id,
            type_,
            st.actor,
            st.occurred_at,
            recorded_at,
            direction,
            flags,
            None if competence is None else competence.basis,
            None if competence is None else competence.delegation_id,
            counterpart,
            holder_competence,
            body_bytes.decode(),
            change.lead_to,
            change.support_to,
            change.closes,
            change.pending_offer,
        )
    timeline: tuple[TimelineRow, ...] = ()
    if "timeline" in parts:
        actor, event_id, occurred_at = st.actor, st.event_id, st.occurred_at
        rows = [
            TimelineRow(
                actor,
                index,
                event_id,
                matter_id,
                type_,
                "actor",
                counterpart,
                direction,
                flags,
                occurred_at,
                recorded_at,
            )
        ]
        for official, role in ((named, "addressee"), (requester, "requester")):
            if official is not None and official != actor:
                rows.append(
                    TimelineRow(
                        official,
                        index,
                        event_id,
                        matter_id,
                        type_,
                        role,
                        actor,
                        direction,
                        flags,
                        occurred_at,
                        recorded_at,
                    )
                )
        timeline = tuple(rows)
    return EntryFacts(
        index,
        notification_id,
        matter_event,
        timeline,
        _postings(st, state, index) if "postings" in parts and type_ in _POSTING_TYPES else (),
        _calendar(st, raw_body, index, recorded_at) if "calendar" in parts else None,
        _retro(st, raw_body, index, state) if "retro" in parts and type_ in _RETRO_TYPES else (),
    )


@lru_cache(maxsize=1024)
def _flags_json(flags: tuple[str, ...]) -> str:
    """A JSON array of flags; the few combinations that occur are each encoded once."""
    return json.dumps(list(flags))


def _postings(st: s.Statement, state: LedgerState, index: int) -> tuple[PostingRow, ...]:
    if st.type not in _POSTING_TYPES:
        return ()
    official = state.registry.officials[st.subject_id]
    posting = official.postings[-1]
    return (
        PostingRow(
            official.id,
            index,
            st.occurred_at,
            posting.agency_id,
            posting.unit_id,
            posting.position,
            posting.is_head,
            official.full_name,
        ),
    )


def _calendar(
    st: s.Statement, body: dict[str, Any], index: int, recorded_at: str
) -> CalendarRow | None:
    if st.type != "calendar.adjusted":
        return None
    return CalendarRow(
        str(body["date"]),
        index,
        str(body["kind"]),
        str(body["source_document"]),
        st.event_id,
        recorded_at,
    )


def _retro(
    st: s.Statement, body: dict[str, Any], index: int, state: LedgerState
) -> tuple[RetroRow, ...]:
    """Registry changes about an official, with the instant they take effect: the grantee
    of a delegation is affected as much as its grantor."""
    if st.type not in _RETRO_TYPES:
        return ()
    effective = str(body.get("valid_from") or body.get("effective_at") or st.occurred_at)
    if st.type == "delegation.revoked":
        effective = st.occurred_at
    rows = [RetroRow(st.subject_id, index, effective, st.event_id, st.type)]
    grantee = None
    if st.type == "delegation.granted":
        grantee = str(body["grantee"])
    elif st.type == "delegation.revoked":
        grantee = state.registry.delegations[str(body["delegation_id"])].grantee
    if grantee is not None and grantee != st.subject_id:
        rows.append(RetroRow(grantee, index, effective, st.event_id, st.type))
    return tuple(rows)
