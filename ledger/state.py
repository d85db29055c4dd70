"""The ledger's state machine: the checks of DESIGN §4 (steps 5–12) and the rules of §6.

``LedgerState.admit`` judges one envelope against the state built from every entry before
it, in the order DESIGN §4 fixes (the first failure answers), and applies its effects. The
same function serves the append path (under the storage lock), catch-up of entries other
processes wrote, and the whole-ledger audit — so a verdict can always be re-derived from
the log alone. Every change goes through the journal, so a failure leaves no trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from sys import intern
from typing import Annotated, Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from ledger import statements as s
from ledger.crypto import b64decode_canonical, key_id
from ledger.errors import (
    ActorMismatch,
    ClockSkew,
    InvalidStatement,
    MatterClosed,
    NotPending,
    NotPermitted,
    OfferPending,
    OutOfOrder,
    StaleHead,
    UnknownKey,
    UnknownOfficial,
)
from ledger.journal import Journal
from ledger.note import parse_vkey
from ledger.registry import (
    Agency,
    CalendarAdjustment,
    CompetenceChange,
    CompetenceFinding,
    Delegation,
    Direction,
    KeyRecord,
    Official,
    Posting,
    RegistrarTerm,
    Registry,
    Revocation,
    Root,
    Unit,
)
from ledger.rules import RULES_BEFORE_V4, check_statement
from ledger.statements import Envelope, Statement
from ledger.times import parse_date, parse_instant


@dataclass(frozen=True)
class TimeRules:
    """The time windows of DESIGN §4: protocol constants, unless the genesis states others.

    They are read from the genesis entry alone (``of_genesis``) — never from a setting, an
    environment variable or an unsigned field of a bundle — so the append path, catch-up,
    the audit, the read models and a bundle's verifier always judge alike.
    """

    future_skew: timedelta = timedelta(minutes=5)
    out_of_order: timedelta = timedelta(minutes=15)
    recorded_late: timedelta = timedelta(hours=24)

    @classmethod
    def of_genesis(cls, body: s.LedgerGenesis) -> TimeRules:
        spec = body.time_rules
        if spec is None:
            return PROTOCOL_TIME_RULES
        return cls(
            timedelta(seconds=spec.future_skew_seconds),
            timedelta(seconds=spec.out_of_order_seconds),
            timedelta(seconds=spec.recorded_late_seconds),
        )

    def as_json(self) -> dict[str, int]:
        """The windows as a genesis states them (and a bundle repeats them)."""
        return {
            "future_skew_seconds": int(self.future_skew.total_seconds()),
            "out_of_order_seconds": int(self.out_of_order.total_seconds()),
            "recorded_late_seconds": int(self.recorded_late.total_seconds()),
        }


PROTOCOL_TIME_RULES = TimeRules()


@dataclass(frozen=True, slots=True)
class Head:
    """A subject's last statement."""

    seq: int
    envelope_hash: str
    occurred_at: datetime
    index: int


@dataclass(frozen=True, slots=True)
class CustodyChange:
    """What a matter statement did to custody (DESIGN §6), stated once, here.

    Lead custody moves at the opening, a lead assignment to someone other than the holder
    and an accepted handoff; a support assignment adds a support role; the closing ends
    every interval. ``pending_offer`` is the matter's pending offer once the statement is
    applied (an offer opens one; an answer, a withdrawal, a lead assignment and the closing
    end it). The read models, the evidence and the indicators read this; none decides it
    again.
    """

    lead_to: str | None = None
    support_to: str | None = None
    closes: bool = False
    pending_offer: str | None = None


@dataclass(frozen=True)
class Assessment:
    """What admitting a statement found: its direction, flags and competence finding, and
    for a matter statement what it did to custody."""

    direction: Direction | None = None
    flags: tuple[str, ...] = ()
    competence: CompetenceFinding | None = None
    custody: CustodyChange | None = None


NOTHING_FOUND = Assessment()  # immutable: shared by every statement with no findings
NO_CUSTODY_CHANGE = CustodyChange()


@dataclass(slots=True)
class Offer:
    event_id: str
    offerer: str
    to: str
    direction: Direction
    pending: bool = True


@dataclass(slots=True)
class Consultation:
    event_id: str
    requester: str
    to: str
    direction: Direction
    pending: bool = True


# What the state keeps of every matter statement, for as long as the process runs: the
# names in it (officials, types, agencies, procedure codes) are few and repeated, so they
# are kept once each (``sys.intern``) rather than once per statement.
@dataclass(slots=True)
class MatterState:
    matter_id: str
    agency_id: str
    procedure_code: str
    custodian: str
    support: frozenset[str] = frozenset()
    pending_offer: str | None = None
    offers: dict[str, Offer] = field(default_factory=dict)
    consultations: dict[str, Consultation] = field(default_factory=dict)
    supplement_pending: bool = False
    extensions: int = 0
    closed: bool = False
    # event_id -> (actor, type) of every statement of the matter, for replies and corrections
    events: dict[str, tuple[str, str]] = field(default_factory=dict)


Authorizer = Callable[[Registry, Statement], None]
SignatureCheck = Callable[[KeyRecord, Envelope], None]


@dataclass(slots=True)
class _Context:  # one per statement admitted, never kept: plain slots build fastest
    statement: Statement
    key: KeyRecord
    at: datetime
    recorded_at: datetime
    index: int


class LedgerState:
    """Subject heads, the trust registry and every matter, as of ``last_index``."""

    def __init__(self, *, expected_log_vkey: str | None = None) -> None:
        self.journal = Journal()
        self.registry = Registry(self.journal)
        self.heads: dict[str, Head] = {}
        self.matters: dict[str, MatterState] = {}
        self.last_index = -1
        self.last_recorded_at: datetime | None = None
        self.expected_log_vkey = expected_log_vkey
        # The constants until the genesis is admitted; then what the genesis states.
        self.time_rules = PROTOCOL_TIME_RULES
        # The rules version in force (DESIGN §4 v4): the genesis's, then each adoption's.
        self.rules_version = RULES_BEFORE_V4

    # --- the pipeline --------------------------------------------------------------------

    def admit(
        self,
        envelope: Envelope,
        *,
        index: int,
        recorded_at: datetime,
        check_signature: SignatureCheck,
        authorize: Authorizer | None = None,
        check_lexical: bool = True,
    ) -> Assessment:
        """Judge ``envelope`` as entry ``index`` recorded at ``recorded_at``; apply it.

        Raises the first failing check's problem (DESIGN §4 steps 5–12) and leaves the
        state unchanged; on success the changes stay in the journal until ``commit``.
        ``check_lexical`` false skips the lexical rules of the version in force (a schema
        check: only the trusted replay of entries this log stored leaves it out).
        """
        mark = self.journal.mark()
        try:
            return self._admit(
                envelope, index, recorded_at, check_signature, authorize, check_lexical
            )
        except BaseException:
            self.journal.rollback(mark)
            raise

    def commit(self) -> None:
        self.journal.commit()

    def rollback(self, mark: int = 0) -> None:
        self.journal.rollback(mark)

    def _admit(
        self,
        envelope: Envelope,
        index: int,
        recorded_at: datetime,
        check_signature: SignatureCheck,
        authorize: Authorizer | None,
        check_lexical: bool = True,
    ) -> Assessment:
        st = envelope.statement
        at = st.occurred
        # 3. (the part that depends on the rules in force) the lexical rules of the version
        # in force at this index; a genesis is judged by the version it states.
        rules = self.rules_version
        if st.type == "ledger.genesis":
            assert isinstance(st.body, s.LedgerGenesis)
            rules = st.body.rules or RULES_BEFORE_V4
        if check_lexical:
            check_statement(rules, st)
        # 5. token scope
        if authorize is not None:
            authorize(self.registry, st)
        # 6. key known
        key = self._genesis_key(st) if st.type == "ledger.genesis" else None
        key = key or self.registry.keys.get(st.key)
        if key is None:
            raise UnknownKey(
                f"key {st.key} is not registered; bind it (key.bound) or use the actor's "
                "registered key",
                key=st.key,
            )
        # 7. signature
        check_signature(key, envelope)
        # 8. key belongs to actor
        if key.holder != st.actor:
            raise ActorMismatch(
                f"key {st.key} belongs to {key.holder}, not to actor {st.actor}",
                key=st.key,
            )
        # 9. key valid at occurred_at
        key.check_valid(at, recorded_at, rules)
        # 10. seq / prev
        head = self.heads.get(st.subject)
        expected_seq = 0 if head is None else head.seq + 1
        expected_prev = None if head is None else head.envelope_hash
        if st.seq != expected_seq or st.prev != expected_prev:
            raise StaleHead(
                f"{st.subject} expects seq {expected_seq} with prev "
                f"{expected_prev if expected_prev else 'null'}; the statement has seq "
                f"{st.seq} with prev {st.prev if st.prev else 'null'}. Read the head, "
                "re-sign against it and send again",
                head=None
                if head is None
                else {"seq": head.seq, "envelope_hash": head.envelope_hash},
            )
        # 11. time rules
        if at > recorded_at + self.time_rules.future_skew:
            raise ClockSkew(
                f"occurred_at {st.occurred_at} is more than "
                f"{_minutes(self.time_rules.future_skew)} minutes after the ledger's clock "
                f"({recorded_at.isoformat()}); check the signing system's clock"
            )
        if head is not None and at < head.occurred_at - self.time_rules.out_of_order:
            raise OutOfOrder(
                f"occurred_at {st.occurred_at} is more than "
                f"{_minutes(self.time_rules.out_of_order)} minutes before the subject's "
                f"previous statement ({head.occurred_at.isoformat()})"
            )
        # 12. the type's own rules
        self._check_opening(st)
        ctx = _Context(st, key, at, recorded_at, index)
        assessment = _RULES[st.type](self, ctx)
        if recorded_at - at > self.time_rules.recorded_late:
            assessment = Assessment(
                assessment.direction,
                (*assessment.flags, "recorded_late"),
                assessment.competence,
                assessment.custody,
            )
        self.journal.set_item(self.heads, st.subject, Head(st.seq, envelope.hash, at, index))
        self.journal.set_attr(self, "last_index", index)
        self.journal.set_attr(self, "last_recorded_at", recorded_at)
        return assessment

    def _genesis_key(self, st: Statement) -> KeyRecord | None:
        body = st.body
        assert isinstance(body, s.LedgerGenesis)
        for root in body.roots:
            public_key = b64decode_canonical(root.public_key)
            if key_id(public_key) == st.key:
                return KeyRecord(
                    key_id=st.key,
                    public_key=public_key,
                    holder=root.id,
                    capacity="root",
                    valid_from=_instant(root.valid_from) if root.valid_from else st.occurred,
                )
        return None

    def _check_opening(self, st: Statement) -> None:
        opening = _OPENING_TYPES[st.type]
        if st.seq == 0 and opening is not None and st.type != opening:
            raise InvalidStatement(
                f"{st.subject} has no statements yet; its first statement must be {opening}"
            )
        if st.seq > 0 and st.type == opening:
            raise InvalidStatement(f"{opening} opens a subject and can only be at seq 0")

    # --- shared checks -------------------------------------------------------------------

    def _addressees(self, ctx: _Context) -> None:
        """Every addressee registered at ``occurred_at`` (422) and not the actor (422)."""
        st = ctx.statement
        for name in st.body.addressee_fields:
            who = getattr(st.body, name)
            if self.registry.posting(who, ctx.at) is None:
                raise UnknownOfficial(
                    f"statement.body.{name}: {who} is not a registered official at "
                    f"{st.occurred_at}",
                    field=f"statement.body.{name}",
                )
            if who == st.actor:
                raise InvalidStatement(
                    f"statement.body.{name}: the addressee must be someone other than the "
                    f"actor {st.actor}",
                    field=f"statement.body.{name}",
                )

    def _require_unused_key(self, public_key_b64: str, field_name: str) -> bytes:
        public_key = b64decode_canonical(public_key_b64)
        existing = self.registry.keys.get(key_id(public_key))
        if existing is not None:
            raise InvalidStatement(
                f"statement.body.{field_name}: key {existing.key_id} is already registered "
                f"to {existing.holder}; every key is registered once",
                field=f"statement.body.{field_name}",
            )
        return public_key

    def _require_new_person(self, person_id: str, where: str, *, allow: str = "") -> None:
        kind = self.registry.person_kind(person_id)
        if kind is not None and kind != allow:
            raise InvalidStatement(
                f"{where}: {person_id} already names a {kind}; one id names one person in "
                "one role (DESIGN §3)",
                field=where,
            )

    def _require_agency(self, agency_id: str, field_name: str) -> Agency:
        agency = self.registry.agencies.get(agency_id)
        if agency is None:
            raise InvalidStatement(
                f"statement.body.{field_name}: agency {agency_id} is not registered",
                field=f"statement.body.{field_name}",
            )
        return agency

    def _require_unit(self, agency: Agency, unit_id: str, field_name: str) -> None:
        if unit_id not in agency.units:
            raise InvalidStatement(
                f"statement.body.{field_name}: unit {unit_id} is not registered in agency "
                f"{agency.id}",
                field=f"statement.body.{field_name}",
            )

    def _is_root(self, ctx: _Context) -> bool:
        return ctx.key.capacity == "root"

    def _is_registrar_of(self, ctx: _Context, agency_id: str | None) -> bool:
        return ctx.key.capacity == "registrar" and ctx.key.agency_id == agency_id

    def _official_posting(self, ctx: _Context) -> Posting | None:
        """The actor's posting when signing as an official, else ``None``."""
        if ctx.key.capacity != "official":
            return None
        return self.registry.posting(ctx.statement.actor, ctx.at)

    def _agency_of(self, official_id: str, at: datetime) -> str | None:
        posting = self.registry.posting(official_id, at)
        return None if posting is None else posting.agency_id

    def _official(self, st: Statement) -> Official:
        return self.registry.officials[st.subject_id]

    # --- trust chain ---------------------------------------------------------------------

    def _on_genesis(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.LedgerGenesis)
        if ctx.index != 0:
            raise InvalidStatement("ledger.genesis must be the log's first entry (index 0)")
        try:
            name, _ = parse_vkey(body.log_vkey)
        except ValueError as e:
            raise InvalidStatement(f"statement.body.log_vkey: {e}") from None
        if name != body.origin:
            raise InvalidStatement(
                f"statement.body.log_vkey: its key name {name!r} must be the origin {body.origin!r}"
            )
        if self.expected_log_vkey is not None and body.log_vkey != self.expected_log_vkey:
            raise InvalidStatement(
                f"statement.body.log_vkey must be this log's verifier key {self.expected_log_vkey}"
            )
        ids = [r.id for r in body.roots]
        if len(set(ids)) != len(ids):
            raise InvalidStatement("statement.body.roots: root ids must be distinct")
        keys = {key_id(b64decode_canonical(r.public_key)) for r in body.roots}
        if len(keys) != len(ids):
            raise InvalidStatement("statement.body.roots: root public keys must be distinct")
        if body.roots[0].id != st.actor:
            raise NotPermitted(
                f"the genesis is self-signed by the first root ({body.roots[0].id}), "
                f"not by {st.actor}"
            )
        reg = self.registry
        self.journal.set_attr(reg, "origin", body.origin)
        self.journal.set_attr(reg, "log_vkey", body.log_vkey)
        self.journal.set_attr(self, "time_rules", TimeRules.of_genesis(body))
        self.journal.set_attr(self, "rules_version", body.rules or RULES_BEFORE_V4)
        for root in body.roots:
            self._add_root(root.id, root.full_name, root.public_key, root.valid_from, ctx)
        return NOTHING_FOUND

    def _add_root(
        self,
        root_id: str,
        full_name: str,
        public_key_b64: str,
        valid_from: str | None,
        ctx: _Context,
    ) -> None:
        public_key = b64decode_canonical(public_key_b64)
        kid = key_id(public_key)
        start = _instant(valid_from) if valid_from else ctx.at
        self.journal.set_item(self.registry.roots, root_id, Root(root_id, full_name, kid))
        self.journal.set_item(
            self.registry.keys,
            kid,
            KeyRecord(kid, public_key, root_id, "root", valid_from=start),
        )

    def _on_rules_adopted(self, ctx: _Context) -> Assessment:
        body = ctx.statement.body
        assert isinstance(body, s.RulesAdopted)
        if body.version <= self.rules_version:
            raise InvalidStatement(
                f"statement.body.version: rules version {self.rules_version} is in force; "
                "adopt a greater one",
                field="statement.body.version",
            )
        if not self._is_root(ctx):
            raise NotPermitted("ledger.rules_adopted must be signed by a current root")
        self.journal.set_attr(self, "rules_version", body.version)
        return NOTHING_FOUND

    def _on_root_added(self, ctx: _Context) -> Assessment:
        body = ctx.statement.body
        assert isinstance(body, s.RootAdded)
        self._require_new_person(body.id, "statement.body.id")
        self._require_unused_key(body.public_key, "public_key")
        if not self._is_root(ctx):
            raise NotPermitted("root.added must be signed by a current root")
        self._add_root(body.id, body.full_name, body.public_key, body.valid_from, ctx)
        return NOTHING_FOUND

    def _on_root_removed(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.RootRemoved)
        root = self.registry.roots.get(body.id)
        if root is None or root.removed:
            raise InvalidStatement(f"statement.body.id: {body.id} is not a current root")
        if not self._is_root(ctx):
            raise NotPermitted("root.removed must be signed by a current root")
        if body.id == st.actor:
            raise NotPermitted("a root cannot remove itself; another root must sign")
        if sum(1 for r in self.registry.roots.values() if not r.removed) <= 1:
            raise InvalidStatement("the last root cannot be removed")
        self.journal.set_attr(root, "removed", True)
        self.journal.set_attr(self.registry.keys[root.key_id], "removed", True)
        return NOTHING_FOUND

    def _on_agency_registered(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.AgencyRegistered)
        if body.parent_agency is not None:
            self._require_agency(body.parent_agency, "parent_agency")
        if not self._is_root(ctx):
            raise NotPermitted("agency.registered must be signed by a root")
        agency = Agency(st.subject_id, body.name, body.level, body.parent_agency, ctx.at)
        self.journal.set_item(self.registry.agencies, st.subject_id, agency)
        return NOTHING_FOUND

    def _on_registrar_appointed(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.RegistrarAppointed)
        reg = self.registry
        agency = reg.agencies[st.subject_id]
        self._require_new_person(body.official_id, "statement.body.official_id", allow="registrar")
        current = reg.registrars.get(body.official_id)
        if current is not None and any(
            t.official_id == body.official_id and t.dismissed_at is None
            for t in reg.agencies[current].registrars
        ):
            raise InvalidStatement(
                f"statement.body.official_id: {body.official_id} is already registrar of "
                f"{current}; dismiss them there first"
            )
        public_key = self._require_unused_key(body.public_key, "public_key")
        if not self._is_root(ctx):
            raise NotPermitted("registrar.appointed must be signed by a root")
        kid = key_id(public_key)
        start = _instant(body.valid_from)
        self.journal.set_item(
            reg.keys,
            kid,
            KeyRecord(kid, public_key, body.official_id, "registrar", start, agency.id),
        )
        self.journal.append(agency.registrars, RegistrarTerm(body.official_id, kid, start))
        self.journal.set_item(reg.registrars, body.official_id, agency.id)
        return NOTHING_FOUND

    def _on_registrar_dismissed(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.RegistrarDismissed)
        agency = self.registry.agencies[st.subject_id]
        terms = [
            t
            for t in agency.registrars
            if t.official_id == body.official_id and t.dismissed_at is None
        ]
        if not terms:
            raise InvalidStatement(
                f"statement.body.official_id: {body.official_id} is not a serving registrar "
                f"of {agency.id}"
            )
        if not self._is_root(ctx):
            raise NotPermitted("registrar.dismissed must be signed by a root")
        for term in terms:
            key = self.registry.keys[term.key_id]
            self.journal.set_attr(term, "dismissed_at", ctx.at)
            self.journal.set_attr(key, "valid_until", ctx.at)
            self.journal.set_attr(key, "dismissal_recorded_at", ctx.recorded_at)
            self.journal.set_attr(key, "dismissal_compromised", body.reason == "compromised")
        return NOTHING_FOUND

    def _on_unit_registered(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.UnitRegistered)
        agency = self.registry.agencies[st.subject_id]
        if body.unit_id in agency.units:
            raise InvalidStatement(
                f"statement.body.unit_id: unit {body.unit_id} is already registered in {agency.id}"
            )
        if body.parent_unit is not None:
            self._require_unit(agency, body.parent_unit, "parent_unit")
        if not self._is_registrar_of(ctx, agency.id):
            raise NotPermitted(f"unit.registered must be signed by a registrar of {agency.id}")
        unit = Unit(body.unit_id, body.name, body.parent_unit, ctx.at)
        self.journal.set_item(agency.units, body.unit_id, unit)
        return NOTHING_FOUND

    def _on_official_registered(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.OfficialRegistered)
        agency = self._require_agency(body.agency_id, "agency_id")
        self._require_unit(agency, body.unit_id, "unit_id")
        self._require_new_person(st.subject_id, "statement.subject")
        if not self._is_registrar_of(ctx, agency.id):
            raise NotPermitted(f"official.registered must be signed by a registrar of {agency.id}")
        posting = Posting(ctx.at, agency.id, body.unit_id, body.position, body.is_head)
        official = Official(st.subject_id, body.full_name, ctx.at, postings=[posting])
        self.journal.set_item(self.registry.officials, st.subject_id, official)
        return NOTHING_FOUND

    def _on_official_released(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.OfficialReleased)
        self._require_agency(body.to_agency_id, "to_agency_id")
        if body.to_agency_id == self._agency_of(st.subject_id, ctx.at):
            raise InvalidStatement(
                f"statement.body.to_agency_id: {st.subject_id} already serves in "
                f"{body.to_agency_id}; a release names another agency",
                field="statement.body.to_agency_id",
            )
        self._require_registrar_of_officials_agency(ctx)
        self.journal.set_attr(self._official(st), "release_to", body.to_agency_id)
        return NOTHING_FOUND

    def _on_official_moved(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.OfficialMoved)
        agency = self._require_agency(body.agency_id, "agency_id")
        self._require_unit(agency, body.unit_id, "unit_id")
        official = self._official(st)
        if self.rules_version >= 4:
            # v4: a registrar moves its own people; another agency's only while their
            # agency's release to it is pending; a root moves anyone (DESIGN §6 v4).
            current = self._agency_of(st.subject_id, ctx.at)
            across = current != agency.id
            allowed = self._is_root(ctx) or (
                self._is_registrar_of(ctx, agency.id)
                and (not across or official.release_to == agency.id)
            )
            if not allowed:
                raise NotPermitted(
                    f"official.moved must be signed by a registrar of {agency.id}"
                    + (
                        f" while {current}'s release of {st.subject_id} to {agency.id} is "
                        "pending (official.released), or by a root"
                        if across
                        else " or a root"
                    )
                )
        elif not self._is_registrar_of(ctx, agency.id):
            raise NotPermitted(
                f"official.moved must be signed by a registrar of the destination {agency.id}"
            )
        posting = Posting(ctx.at, agency.id, body.unit_id, body.position, body.is_head)
        self.journal.append(official.postings, posting)
        if official.release_to is not None:
            self.journal.set_attr(official, "release_to", None)
        return NOTHING_FOUND

    def _require_registrar_of_officials_agency(self, ctx: _Context) -> None:
        st = ctx.statement
        agency_id = self._agency_of(st.subject_id, ctx.at)
        if agency_id is None or not self._is_registrar_of(ctx, agency_id):
            raise NotPermitted(
                f"{st.type} must be signed by a registrar of {st.subject_id}'s agency at "
                f"{st.occurred_at}"
                + ("" if agency_id else f" ({st.subject_id} is not registered then)")
            )

    def _on_key_bound(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.KeyBound)
        public_key = self._require_unused_key(body.public_key, "public_key")
        self._require_registrar_of_officials_agency(ctx)
        kid = key_id(public_key)
        record = KeyRecord(kid, public_key, st.subject_id, "official", _instant(body.valid_from))
        self.journal.set_item(self.registry.keys, kid, record)
        self.journal.append(self._official(st).key_ids, kid)
        return NOTHING_FOUND

    def _on_key_revoked(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.KeyRevoked)
        official = self._official(st)
        if body.key_id not in official.key_ids:
            raise InvalidStatement(
                f"statement.body.key_id: {body.key_id} is not a key bound to {official.id}"
            )
        is_self = ctx.key.capacity == "official" and st.actor == official.id
        if not is_self:
            self._require_registrar_of_officials_agency(ctx)
        revocation = Revocation(
            st.event_id, _instant(body.effective_at), body.reason, ctx.recorded_at
        )
        self.journal.append(self.registry.keys[body.key_id].revocations, revocation)
        return NOTHING_FOUND

    def _on_competence(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, (s.CompetenceGranted, s.CompetenceRevoked))
        self._require_registrar_of_officials_agency(ctx)
        change = CompetenceChange(
            ctx.at, frozenset(body.procedure_codes), st.type == "competence.granted"
        )
        self.journal.append(self._official(st).competence, change)
        return NOTHING_FOUND

    def _require_grantor(self, ctx: _Context) -> None:
        st = ctx.statement
        if ctx.key.capacity != "official" or st.actor != st.subject_id:
            raise NotPermitted(f"{st.type} must be signed by the grantor {st.subject_id}")

    def _on_delegation_granted(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.DelegationGranted)
        self._addressees(ctx)
        if _instant(body.valid_until) <= _instant(body.valid_from):
            raise InvalidStatement("statement.body.valid_until must be after valid_from")
        self._require_grantor(ctx)
        delegation = Delegation(
            st.event_id,
            st.subject_id,
            body.grantee,
            body.kind,
            frozenset(body.procedure_codes),
            _instant(body.valid_from),
            _instant(body.valid_until),
            body.instrument_no,
        )
        reg = self.registry
        self.journal.set_item(reg.delegations, st.event_id, delegation)
        existing = reg.delegations_to.get(body.grantee)
        if existing is None:
            self.journal.set_item(reg.delegations_to, body.grantee, [st.event_id])
        else:
            self.journal.append(existing, st.event_id)
        flags = self._unanswerable(body.grantee, ctx)
        return Assessment(flags=flags) if flags else NOTHING_FOUND

    def _on_delegation_revoked(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.DelegationRevoked)
        delegation = self.registry.delegations.get(body.delegation_id)
        if delegation is None or delegation.grantor != st.subject_id:
            raise InvalidStatement(
                f"statement.body.delegation_id: {body.delegation_id} is not a delegation "
                f"granted by {st.subject_id}"
            )
        if delegation.revoked_at is not None:
            raise InvalidStatement(
                f"statement.body.delegation_id: {body.delegation_id} is already revoked"
            )
        self._require_grantor(ctx)
        self.journal.set_attr(delegation, "revoked_at", ctx.at)
        return NOTHING_FOUND

    def _on_calendar_adjusted(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.CalendarAdjusted)
        if not self._is_root(ctx):
            raise NotPermitted("calendar.adjusted must be signed by a root")
        day = parse_date(body.date)
        adjustment = CalendarAdjustment(day, body.kind, body.source_document, st.event_id)
        history = self.registry.calendar.get(day)
        if history is None:
            self.journal.set_item(self.registry.calendar, day, [adjustment])
        else:
            self.journal.append(history, adjustment)
        return NOTHING_FOUND

    # --- matters -------------------------------------------------------------------------

    def _matter(self, ctx: _Context) -> MatterState:
        st = ctx.statement
        matter = self.matters[st.subject_id]
        if matter.closed and st.type != "correction.recorded":
            raise MatterClosed(
                f"matter {matter.matter_id} is closed; only correction.recorded may follow"
            )
        return matter

    def _record_event(
        self,
        matter: MatterState,
        ctx: _Context,
        *,
        lead_to: str | None = None,
        support_to: str | None = None,
        closes: bool = False,
    ) -> CustodyChange:
        """Keep the statement for replies and corrections; say what it did to custody."""
        st = ctx.statement
        self.journal.set_item(matter.events, st.event_id, (intern(st.actor), intern(st.type)))
        if lead_to is None and support_to is None and not closes and matter.pending_offer is None:
            return NO_CUSTODY_CHANGE
        return CustodyChange(lead_to, support_to, closes, matter.pending_offer)

    def _move_lead(self, matter: MatterState, to: str) -> str | None:
        """Lead custody to ``to``; the new holder, or ``None`` when ``to`` already holds it
        (a lead assignment to the holder does not split their interval)."""
        if to == matter.custodian:
            return None
        self.journal.set_attr(matter, "custodian", intern(to))
        return matter.custodian

    def _escalation_flags(
        self, matter: MatterState, ctx: _Context, direction: Direction | None, to: str
    ) -> tuple[tuple[str, ...], CompetenceFinding | None]:
        flags: list[str] = []
        if not self.registry.has_valid_key(to, ctx.at):
            flags.append("unanswerable")
        finding = None
        if direction in ("up", "up_external"):
            finding = self.registry.competence_finding(
                ctx.statement.actor, matter.procedure_code, ctx.at
            )
            if finding.basis != "none":
                flags.append("escalation_within_competence")
        return tuple(flags), finding

    def _on_matter_opened(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.MatterOpened)
        self._require_agency(body.agency_id, "agency_id")
        posting = self._official_posting(ctx)
        if posting is None or posting.agency_id != body.agency_id:
            raise NotPermitted(
                f"matter.opened must be signed by an official of {body.agency_id} at "
                f"{st.occurred_at}"
            )
        matter = MatterState(
            st.subject_id, intern(body.agency_id), intern(body.procedure_code), intern(st.actor)
        )
        self.journal.set_item(self.matters, st.subject_id, matter)
        change = self._record_event(matter, ctx, lead_to=matter.custodian)
        return Assessment(custody=change)

    def _on_task_assigned(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.TaskAssigned)
        matter = self._matter(ctx)
        self._addressees(ctx)
        reg, actor, at = self.registry, st.actor, ctx.at
        is_official = ctx.key.capacity == "official"
        above_custodian = reg.is_superior(actor, matter.custodian, at)
        agency_head = reg.is_agency_head(actor, matter.agency_id, at)
        if body.role == "lead":
            allowed = (
                (actor == matter.custodian and reg.is_superior(actor, body.assignee, at))
                or above_custodian
                or agency_head
            )
        else:
            allowed = actor == matter.custodian or above_custodian or agency_head
        if not (is_official and allowed):
            raise NotPermitted(
                f"a {body.role} task.assigned on {matter.matter_id} must be signed by "
                + (
                    "the custodian when they are a superior of the assignee, "
                    if body.role == "lead"
                    else "the custodian, "
                )
                + f"a superior of the custodian ({matter.custodian}), or an agency head of "
                f"{matter.agency_id}"
            )
        lead_to = support_to = None
        if body.role == "lead":
            self._cancel_pending_offer(matter)
            lead_to = self._move_lead(matter, body.assignee)
        elif body.assignee not in matter.support:
            self.journal.set_attr(matter, "support", matter.support | {intern(body.assignee)})
            support_to = body.assignee
        change = self._record_event(matter, ctx, lead_to=lead_to, support_to=support_to)
        return Assessment(
            direction=reg.direction(actor, body.assignee, at),
            flags=self._unanswerable(body.assignee, ctx),
            custody=change,
        )

    def _unanswerable(self, addressee: str, ctx: _Context) -> tuple[str, ...]:
        """v4: an assignee or grantee without a valid key is marked, as ``to`` always was."""
        if self.rules_version < 4 or self.registry.has_valid_key(addressee, ctx.at):
            return ()
        return ("unanswerable",)

    def _cancel_pending_offer(self, matter: MatterState) -> None:
        if matter.pending_offer is not None:
            self.journal.set_attr(matter.offers[matter.pending_offer], "pending", False)
            self.journal.set_attr(matter, "pending_offer", None)

    def _require_custodian(
        self,
        matter: MatterState,
        ctx: _Context,
        *,
        or_superior: bool = False,
        or_support: bool = False,
    ) -> None:
        actor = ctx.statement.actor
        allowed = ctx.key.capacity == "official" and (
            actor == matter.custodian
            or (or_superior and self.registry.is_superior(actor, matter.custodian, ctx.at))
            or (or_support and actor in matter.support)
        )
        if not allowed:
            who = "the custodian"
            if or_superior:
                who += " or a superior of the custodian"
            if or_support:
                who += " or a support assignee"
            raise NotPermitted(
                f"{ctx.statement.type} on {matter.matter_id} must be signed by {who} "
                f"({matter.custodian} holds it)"
            )

    def _on_handoff_offered(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.HandoffOffered)
        matter = self._matter(ctx)
        self._addressees(ctx)
        self._require_custodian(matter, ctx)
        if matter.pending_offer is not None:
            pending = matter.offers[matter.pending_offer]
            raise OfferPending(
                f"matter {matter.matter_id} already has a pending offer "
                f"{pending.event_id} to {pending.to}; withdraw it or wait for the answer",
                pending_offer=pending.event_id,
            )
        direction = self.registry.direction(st.actor, body.to, ctx.at)
        flags, finding = self._escalation_flags(matter, ctx, direction, body.to)
        offer = Offer(st.event_id, intern(st.actor), intern(body.to), direction)
        self.journal.set_item(matter.offers, st.event_id, offer)
        self.journal.set_attr(matter, "pending_offer", st.event_id)
        change = self._record_event(matter, ctx)
        return Assessment(direction, flags, finding, change)

    def _offer_replied(self, matter: MatterState, ctx: _Context, in_reply_to: str) -> Offer:
        offer = matter.offers.get(in_reply_to)
        if offer is None:
            raise InvalidStatement(
                f"statement.body.in_reply_to: {in_reply_to} is not a handoff.offered of "
                f"matter {matter.matter_id}",
                field="statement.body.in_reply_to",
            )
        return offer

    def _require_pending(self, pending: bool, what: str, event_id: str) -> None:
        if not pending:
            raise NotPending(f"{what} {event_id} is no longer pending")

    def _on_handoff_reply(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, (s.HandoffWithdrawn, s.HandoffAccepted, s.HandoffReturned))
        matter = self._matter(ctx)
        offer = self._offer_replied(matter, ctx, body.in_reply_to)
        signer = offer.offerer if st.type == "handoff.withdrawn" else offer.to
        if ctx.key.capacity != "official" or st.actor != signer:
            role = "offerer" if st.type == "handoff.withdrawn" else "addressee"
            raise NotPermitted(f"{st.type} must be signed by the offer's {role} {signer}")
        self._require_pending(offer.pending, "handoff offer", offer.event_id)
        self.journal.set_attr(offer, "pending", False)
        self.journal.set_attr(matter, "pending_offer", None)
        flags: tuple[str, ...] = ()
        lead_to = None
        if st.type == "handoff.accepted":
            lead_to = self._move_lead(matter, offer.to)
        elif st.type == "handoff.returned":
            flags = ("returned",)
        change = self._record_event(matter, ctx, lead_to=lead_to)
        return Assessment(offer.direction, flags, custody=change)

    def _on_consultation_requested(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.ConsultationRequested)
        matter = self._matter(ctx)
        self._addressees(ctx)
        self._require_custodian(matter, ctx, or_support=True)
        direction = self.registry.direction(st.actor, body.to, ctx.at)
        # A consultation the law obliges (``required_by``, v4) is no escalation.
        escalation = None if body.required_by is not None else direction
        flags, finding = self._escalation_flags(matter, ctx, escalation, body.to)
        consultation = Consultation(st.event_id, intern(st.actor), intern(body.to), direction)
        self.journal.set_item(matter.consultations, st.event_id, consultation)
        change = self._record_event(matter, ctx)
        return Assessment(direction, flags, finding, change)

    def _on_consultation_answered(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.ConsultationAnswered)
        matter = self._matter(ctx)
        consultation = matter.consultations.get(body.in_reply_to)
        if consultation is None:
            raise InvalidStatement(
                f"statement.body.in_reply_to: {body.in_reply_to} is not a "
                f"consultation.requested of matter {matter.matter_id}",
                field="statement.body.in_reply_to",
            )
        if ctx.key.capacity != "official" or st.actor != consultation.to:
            raise NotPermitted(
                f"consultation.answered must be signed by the consultee {consultation.to}"
            )
        self._require_pending(consultation.pending, "consultation", consultation.event_id)
        self.journal.set_attr(consultation, "pending", False)
        change = self._record_event(matter, ctx)
        return Assessment(consultation.direction, custody=change)

    def _on_supplement_requested(self, ctx: _Context) -> Assessment:
        matter = self._matter(ctx)
        self._require_custodian(matter, ctx)
        # A second request while paused starts no new pause (DESIGN §6).
        if not matter.supplement_pending:
            self.journal.set_attr(matter, "supplement_pending", True)
        return Assessment(custody=self._record_event(matter, ctx))

    def _on_supplement_received(self, ctx: _Context) -> Assessment:
        matter = self._matter(ctx)
        self._require_custodian(matter, ctx)
        if not matter.supplement_pending:
            raise InvalidStatement(
                f"matter {matter.matter_id} has no pending supplement.requested to receive"
            )
        self.journal.set_attr(matter, "supplement_pending", False)
        return Assessment(custody=self._record_event(matter, ctx))

    def _on_deadline_extended(self, ctx: _Context) -> Assessment:
        matter = self._matter(ctx)
        self._require_custodian(matter, ctx, or_superior=True)
        flags = ("repeated_extension",) if matter.extensions else ()
        self.journal.set_attr(matter, "extensions", matter.extensions + 1)
        change = self._record_event(matter, ctx)
        return Assessment(flags=flags, custody=change)

    def _on_decision_recorded(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.DecisionRecorded)
        matter = self._matter(ctx)
        reg, actor, at = self.registry, st.actor, ctx.at
        custodian = matter.custodian

        def may_delegate(grantor: str) -> bool:
            return grantor == custodian or reg.is_superior(grantor, custodian, at)

        allowed = ctx.key.capacity == "official" and (
            actor == custodian
            or reg.is_superior(actor, custodian, at)
            or any(
                d.kind in ("ky_thay", "uy_quyen") and may_delegate(d.grantor)
                for d in reg.valid_delegations(actor, matter.procedure_code, at)
            )
        )
        if not allowed:
            raise NotPermitted(
                f"decision.recorded on {matter.matter_id} must be signed by the custodian "
                f"({custodian}), a superior of the custodian, or the grantee of a valid "
                f"ky_thay/uy_quyen delegation from either covering {matter.procedure_code}"
            )
        finding = reg.competence_finding(
            actor,
            matter.procedure_code,
            at,
            ky_thay_only=body.capacity == "on_behalf",
            preferred_delegation=body.delegation_id,
        )
        flags: list[str] = []
        if finding.basis == "none":
            flags.append("outside_competence")
        claimed = "own" if body.capacity == "own" else "delegated"
        if claimed != finding.basis:
            flags.append("capacity_mismatch")
        change = self._record_event(matter, ctx)
        return Assessment(flags=tuple(flags), competence=finding, custody=change)

    def _on_matter_closed(self, ctx: _Context) -> Assessment:
        matter = self._matter(ctx)
        self._require_custodian(matter, ctx)
        self._cancel_pending_offer(matter)
        self.journal.set_attr(matter, "closed", True)
        return Assessment(custody=self._record_event(matter, ctx, closes=True))

    def _on_correction_recorded(self, ctx: _Context) -> Assessment:
        st, body = ctx.statement, ctx.statement.body
        assert isinstance(body, s.CorrectionRecorded)
        matter = self._matter(ctx)
        target = matter.events.get(body.target_event_id)
        if target is None:
            raise InvalidStatement(
                f"statement.body.target_event_id: {body.target_event_id} is not a statement "
                f"of matter {matter.matter_id}",
                field="statement.body.target_event_id",
            )
        author, target_type = target
        _check_corrections(target_type, body.corrections)
        actor = st.actor
        if ctx.key.capacity != "official" or not (
            actor == author or self.registry.is_superior(actor, author, ctx.at)
        ):
            raise NotPermitted(
                f"correction.recorded must be signed by the target's author ({author}) or a "
                "superior of the author"
            )
        return Assessment(custody=self._record_event(matter, ctx))


# The type that opens the subject each type belongs to (its kind is checked with the header).
_OPENING_TYPES = {type_: s.OPENING_TYPES[kind] for type_, kind in s.SUBJECT_KINDS.items()}

# Fields a correction may never change: they carry custody, reply structure and targets.
_UNCORRECTABLE = s.UNCORRECTABLE_FIELDS | {"target_event_id", "corrections"}


@cache
def _field_adapter(type_: str, name: str) -> TypeAdapter[Any]:
    info = s.BODY_MODELS[type_].model_fields[name]
    annotation: Any = info.annotation
    for meta in info.metadata:
        annotation = _annotated(annotation, meta)
    return TypeAdapter(annotation, config=ConfigDict(strict=True))


def _annotated(annotation: Any, meta: Any) -> Any:
    return Annotated[annotation, meta]


def _check_corrections(target_type: str, corrections: dict[str, Any]) -> None:
    """Each corrected field exists on the target's type, may be corrected, and fits."""
    fields = s.BODY_MODELS[target_type].model_fields
    for name, value in corrections.items():
        where = f"statement.body.corrections.{name}"
        if name in _UNCORRECTABLE:
            raise InvalidStatement(f"{where}: {name} cannot be corrected", field=where)
        if name not in fields:
            raise InvalidStatement(
                f"{where}: a {target_type} has no field {name} (fields: "
                f"{', '.join(sorted(set(fields) - _UNCORRECTABLE)) or 'none'})",
                field=where,
            )
        if value is None:
            raise InvalidStatement(f"{where}: null is not allowed", field=where)
        try:
            _field_adapter(target_type, name).validate_python(value)
        except ValidationError as e:
            message = e.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise InvalidStatement(f"{where}: {message}", field=where) from None


def _instant(text: str) -> datetime:
    """An instant of a statement's body, in UTC like every instant the state keeps: aware
    datetimes compare ~15 times faster when they share their ``tzinfo`` (and +07:00 parsed
    twice is two ``tzinfo`` objects), and the rules compare instants all the time."""
    return parse_instant(text).astimezone(UTC)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


_RULES: dict[str, Callable[[LedgerState, _Context], Assessment]] = {
    "ledger.genesis": LedgerState._on_genesis,
    "ledger.rules_adopted": LedgerState._on_rules_adopted,
    "root.added": LedgerState._on_root_added,
    "root.removed": LedgerState._on_root_removed,
    "agency.registered": LedgerState._on_agency_registered,
    "registrar.appointed": LedgerState._on_registrar_appointed,
    "registrar.dismissed": LedgerState._on_registrar_dismissed,
    "unit.registered": LedgerState._on_unit_registered,
    "official.registered": LedgerState._on_official_registered,
    "official.released": LedgerState._on_official_released,
    "official.moved": LedgerState._on_official_moved,
    "key.bound": LedgerState._on_key_bound,
    "key.revoked": LedgerState._on_key_revoked,
    "competence.granted": LedgerState._on_competence,
    "competence.revoked": LedgerState._on_competence,
    "delegation.granted": LedgerState._on_delegation_granted,
    "delegation.revoked": LedgerState._on_delegation_revoked,
    "calendar.adjusted": LedgerState._on_calendar_adjusted,
    "matter.opened": LedgerState._on_matter_opened,
    "task.assigned": LedgerState._on_task_assigned,
    "handoff.offered": LedgerState._on_handoff_offered,
    "handoff.withdrawn": LedgerState._on_handoff_reply,
    "handoff.accepted": LedgerState._on_handoff_reply,
    "handoff.returned": LedgerState._on_handoff_reply,
    "consultation.requested": LedgerState._on_consultation_requested,
    "consultation.answered": LedgerState._on_consultation_answered,
    "supplement.requested": LedgerState._on_supplement_requested,
    "supplement.received": LedgerState._on_supplement_received,
    "deadline.extended": LedgerState._on_deadline_extended,
    "decision.recorded": LedgerState._on_decision_recorded,
    "matter.closed": LedgerState._on_matter_closed,
    "correction.recorded": LedgerState._on_correction_recorded,
}
assert set(_RULES) == set(s.BODY_MODELS)
