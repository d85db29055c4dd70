"""The trust registry: who exists, who heads what, which keys are whose, who may decide what.

The registry is built from registry entries in log order and asked questions *at an
instant* (a statement's ``occurred_at``): every fact carries the time it takes effect — its
``valid_from`` where its body has one, else its own ``occurred_at`` (DESIGN §4). Because an
append is judged against the registry built from the entries before it, an entry recorded
later can never change a verdict already given.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from ledger.errors import KeyNotValid
from ledger.journal import Journal

Capacity = Literal["root", "registrar", "official"]
Direction = Literal["up", "down", "lateral", "up_external", "external"]

RETIREMENT_GRACE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A recorded ``key.revoked``."""

    event_id: str
    effective_at: datetime
    reason: Literal["retired", "compromised"]
    recorded_at: datetime


@dataclass(slots=True)
class KeyRecord:
    """A public key and the person and capacity it signs for."""

    key_id: str
    public_key: bytes
    holder: str
    capacity: Capacity
    valid_from: datetime
    agency_id: str | None = None  # the agency a registrar key acts for
    valid_until: datetime | None = None  # a registrar's dismissal (exclusive)
    removed: bool = False  # a root's removal has been recorded
    revocations: list[Revocation] = field(default_factory=list)
    # v4: when a registrar's dismissal was recorded, and whether it says compromised.
    dismissal_recorded_at: datetime | None = None
    dismissal_compromised: bool = False

    def check_valid(self, occurred_at: datetime, recorded_at: datetime, rules: int = 3) -> None:
        """Raise ``KeyNotValid`` unless this key may sign a statement of these times, under
        rules version ``rules``."""
        if occurred_at < self.valid_from:
            raise KeyNotValid(
                f"key {self.key_id} is valid from {self.valid_from.isoformat()}; the statement "
                f"occurred at {occurred_at.isoformat()}"
            )
        if self.removed:
            raise KeyNotValid(
                f"key {self.key_id} belongs to root {self.holder}, whose removal is recorded"
            )
        if self.valid_until is not None and occurred_at >= self.valid_until:
            raise KeyNotValid(
                f"key {self.key_id} of registrar {self.holder} is valid until their dismissal "
                f"at {self.valid_until.isoformat()}"
            )
        dismissed = self.dismissal_recorded_at
        if rules >= 4 and dismissed is not None:
            # A dismissed registrar cannot keep writing by backdating (DESIGN §4 v4).
            if self.dismissal_compromised and recorded_at > dismissed:
                raise KeyNotValid(
                    f"key {self.key_id} of registrar {self.holder} was dismissed as "
                    "compromised; nothing it signs recorded after that is accepted"
                )
            if recorded_at > dismissed + RETIREMENT_GRACE:
                raise KeyNotValid(
                    f"key {self.key_id} of registrar {self.holder}: a statement it signed must "
                    "be recorded at most 7 days after the dismissal is recorded "
                    f"({dismissed.isoformat()})"
                )
        for revocation in self.revocations:
            if revocation.reason == "compromised":
                raise KeyNotValid(
                    f"key {self.key_id} was revoked as compromised (event "
                    f"{revocation.event_id}); nothing signed with it is accepted any more"
                )
            if occurred_at >= revocation.effective_at:
                raise KeyNotValid(
                    f"key {self.key_id} was retired effective "
                    f"{revocation.effective_at.isoformat()}; the statement occurred at "
                    f"{occurred_at.isoformat()}"
                )
            if recorded_at > revocation.effective_at + RETIREMENT_GRACE:
                raise KeyNotValid(
                    f"key {self.key_id} was retired effective "
                    f"{revocation.effective_at.isoformat()}; statements it signed before then "
                    "were accepted only until 7 days after"
                )

    def is_valid_at(self, moment: datetime) -> bool:
        """Whether the key could sign at ``moment`` (for ``unanswerable``)."""
        if moment < self.valid_from or self.removed:
            return False
        if self.valid_until is not None and moment >= self.valid_until:
            return False
        return not any(
            r.reason == "compromised" or moment >= r.effective_at for r in self.revocations
        )


@dataclass(frozen=True, slots=True)
class Posting:
    """Where an official sits from ``since``: agency, unit, position, headship."""

    since: datetime
    agency_id: str
    unit_id: str
    position: str
    is_head: bool


@dataclass(frozen=True, slots=True)
class CompetenceChange:
    at: datetime
    codes: frozenset[str]
    granted: bool


@dataclass(slots=True)
class Official:
    id: str
    full_name: str
    registered_at: datetime
    postings: list[Posting] = field(default_factory=list)
    key_ids: list[str] = field(default_factory=list)
    competence: list[CompetenceChange] = field(default_factory=list)
    release_to: str | None = None  # v4: the agency a pending ``official.released`` names


@dataclass(slots=True)
class Delegation:
    id: str
    grantor: str
    grantee: str
    kind: Literal["uy_quyen", "phan_cap", "ky_thay"]
    codes: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    instrument_no: str
    revoked_at: datetime | None = None

    def is_valid_at(self, moment: datetime) -> bool:
        if not self.valid_from <= moment < self.valid_until:
            return False
        return self.revoked_at is None or moment < self.revoked_at


@dataclass(frozen=True, slots=True)
class Unit:
    unit_id: str
    name: str
    parent_unit: str | None
    registered_at: datetime


@dataclass(slots=True)
class RegistrarTerm:
    official_id: str
    key_id: str
    valid_from: datetime
    dismissed_at: datetime | None = None

    def is_active_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (
            self.dismissed_at is None or moment < self.dismissed_at
        )


@dataclass(slots=True)
class Agency:
    id: str
    name: str
    level: str
    parent_agency: str | None
    registered_at: datetime
    units: dict[str, Unit] = field(default_factory=dict)
    registrars: list[RegistrarTerm] = field(default_factory=list)


@dataclass(slots=True)
class Root:
    id: str
    full_name: str
    key_id: str
    removed: bool = False


@dataclass(frozen=True, slots=True)
class CalendarAdjustment:
    day: date
    kind: Literal["day_off", "working_day"]
    source_document: str
    event_id: str


@dataclass(frozen=True, slots=True)
class CompetenceFinding:
    """Whether someone had the competence for a procedure at an instant, and how."""

    basis: Literal["own", "delegated", "none"]
    delegation_id: str | None = None


NO_COMPETENCE = CompetenceFinding("none")


class Registry:
    """The registry's facts, changed only through the state's journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.origin: str | None = None
        self.log_vkey: str | None = None
        self.roots: dict[str, Root] = {}
        self.agencies: dict[str, Agency] = {}
        self.officials: dict[str, Official] = {}
        self.registrars: dict[str, str] = {}  # registrar id -> agency id
        self.keys: dict[str, KeyRecord] = {}
        self.delegations: dict[str, Delegation] = {}
        self.delegations_to: dict[str, list[str]] = {}
        self.calendar: dict[date, list[CalendarAdjustment]] = {}

    # --- people -------------------------------------------------------------------------

    def person_kind(self, person_id: str) -> Capacity | None:
        """What an id names: a root, a registrar or an official (one namespace, DESIGN §3)."""
        if person_id in self.roots:
            return "root"
        if person_id in self.registrars:
            return "registrar"
        if person_id in self.officials:
            return "official"
        return None

    def posting(self, official_id: str, moment: datetime) -> Posting | None:
        """The official's posting in force at ``moment``; ``None`` before they exist."""
        official = self.officials.get(official_id)
        if official is None:
            return None
        current: Posting | None = None
        for posting in official.postings:
            if posting.since <= moment and (current is None or posting.since >= current.since):
                current = posting
        return current

    def unit_chain(self, agency_id: str, unit_id: str) -> Iterator[str]:
        """The unit and its ancestors, nearest first."""
        units = self.agencies[agency_id].units
        seen: set[str] = set()
        current: str | None = unit_id
        while current is not None and current not in seen and current in units:
            seen.add(current)
            yield current
            current = units[current].parent_unit

    def is_superior(self, superior: str, of: str, moment: datetime) -> bool:
        """X ≠ Y and X heads Y's unit or an ancestor of it, in Y's agency (DESIGN §6)."""
        if superior == of:
            return False
        return self._heads(self.posting(superior, moment), self.posting(of, moment))

    def _heads(self, above: Posting | None, below: Posting | None) -> bool:
        """Whether the holder of posting ``above`` is a superior of the holder of ``below``
        (two different people)."""
        if above is None or below is None or not above.is_head:
            return False
        if above.agency_id != below.agency_id:
            return False
        return above.unit_id in self.unit_chain(below.agency_id, below.unit_id)

    def is_agency_head(self, official_id: str, agency_id: str, moment: datetime) -> bool:
        """Head of one of the agency's root units (units without a parent)."""
        posting = self.posting(official_id, moment)
        if posting is None or not posting.is_head or posting.agency_id != agency_id:
            return False
        unit = self.agencies[agency_id].units.get(posting.unit_id)
        return unit is not None and unit.parent_unit is None

    def agency_ancestors(self, agency_id: str) -> Iterator[str]:
        """The agencies on the ``parent_agency`` chain above ``agency_id``, nearest first."""
        seen = {agency_id}
        parent = self.agencies[agency_id].parent_agency
        while parent is not None and parent not in seen and parent in self.agencies:
            seen.add(parent)
            yield parent
            parent = self.agencies[parent].parent_agency

    def direction(self, actor: str, to: str, moment: datetime) -> Direction:
        """``up``, ``down``, ``lateral``, ``up_external`` or ``external``, checked in that order."""
        mine, theirs = self.posting(actor, moment), self.posting(to, moment)
        if actor != to:
            if self._heads(theirs, mine):
                return "up"
            if self._heads(mine, theirs):
                return "down"
        if mine is None or theirs is None:
            return "external"
        if mine.agency_id == theirs.agency_id:
            return "lateral"
        if theirs.agency_id in self.agency_ancestors(mine.agency_id):
            return "up_external"
        return "external"

    def has_valid_key(self, official_id: str, moment: datetime) -> bool:
        official = self.officials.get(official_id)
        return official is not None and any(
            self.keys[k].is_valid_at(moment) for k in official.key_ids
        )

    # --- competence ---------------------------------------------------------------------

    def holds_competence(self, official_id: str, code: str, moment: datetime) -> bool:
        """By the official's own grants, in effect at ``moment``."""
        official = self.officials.get(official_id)
        if official is None:
            return False
        holds = False
        latest: datetime | None = None
        for change in official.competence:
            if (
                change.at <= moment
                and code in change.codes
                and (latest is None or change.at >= latest)
            ):
                holds, latest = change.granted, change.at
        return holds

    def valid_delegations(self, grantee: str, code: str, moment: datetime) -> Iterator[Delegation]:
        """Delegations to ``grantee`` covering ``code`` and valid at ``moment``, oldest first."""
        for delegation_id in self.delegations_to.get(grantee, ()):
            delegation = self.delegations[delegation_id]
            if code in delegation.codes and delegation.is_valid_at(moment):
                yield delegation

    def competence_finding(
        self,
        official_id: str,
        code: str,
        moment: datetime,
        *,
        ky_thay_only: bool = False,
        preferred_delegation: str | None = None,
    ) -> CompetenceFinding:
        """``own``, ``delegated`` (naming the delegation) or ``none`` (DESIGN §6)."""
        if self.holds_competence(official_id, code, moment):
            return CompetenceFinding("own")
        found: list[str] = [
            d.id
            for d in self.valid_delegations(official_id, code, moment)
            if (not ky_thay_only or d.kind == "ky_thay")
            and self.holds_competence(d.grantor, code, moment)
        ]
        if not found:
            return NO_COMPETENCE
        chosen = preferred_delegation if preferred_delegation in found else found[0]
        return CompetenceFinding("delegated", chosen)

    # --- calendar -----------------------------------------------------------------------

    def calendar_adjustments(self) -> dict[date, CalendarAdjustment]:
        """The latest recorded adjustment of each date."""
        return {day: history[-1] for day, history in self.calendar.items() if history}
