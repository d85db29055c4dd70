"""Statements, envelopes and entries: their schema (DESIGN §4 and §6) and canonical bytes.

A statement is validated by a strict pydantic model for its header and one for the body
of its ``type``; unknown fields, ``null`` for an omitted optional field, coercions
(``"1"`` for 1, ``1`` for ``true``) and malformed lexical forms are refused with the field
named. The canonical bytes are JCS of the JSON exactly as received — the models are for
checking and reading, never for re-encoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ledger.canonical import MAX_SAFE_INTEGER, envelope_bytes, jcs
from ledger.crypto import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, b64decode_canonical, sha256_hex
from ledger.errors import InvalidStatement
from ledger.times import parse_date, parse_instant

SPEC = "al/1"

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_ID = re.compile(ID_PATTERN)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
SUBJECT_PATTERN = (
    r"^(ledger|calendar:VN|(agency|official|matter):[A-Za-z0-9][A-Za-z0-9._-]{0,127})$"
)
_SUBJECT = re.compile(SUBJECT_PATTERN)
# C0 controls other than TAB, LF, CR, and DEL: invisible, and a classic way to hide text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile("[\t\n\r]")

# The rules versions this release can judge by (DESIGN §4 v4): 3 (before v4) and 4.
MAX_RULES_VERSION = 4

# Field-length limits (characters). DESIGN is silent; documented in docs/limits.md.
NAME_MAX = 256
TEXT_MAX = 4000
LIST_MAX = 200


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"must be an identifier matching {ID_PATTERN} (ASCII letters, digits, '.', '_', "
            "'-'; 1 to 128 characters)"
        )
    return value


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError("must be a lowercase hyphenated UUID like 4b0c1d2e-…")
    return value


def _hex64(value: str) -> str:
    if not _HEX64.match(value):
        raise ValueError("must be 64 lowercase hex digits (a SHA-256)")
    return value


def _key_id(value: str) -> str:
    if not _HEX32.match(value):
        raise ValueError("must be a key id: the first 32 lowercase hex digits of SHA-256(key)")
    return value


def _instant(value: str) -> str:
    parse_instant(value)
    return value


def _date(value: str) -> str:
    parse_date(value)
    return value


def _public_key(value: str) -> str:
    try:
        b64decode_canonical(value, size=PUBLIC_KEY_SIZE)
    except ValueError as e:
        raise ValueError(
            f"must be canonical padded base64 of a raw 32-byte Ed25519 key: {e}"
        ) from None
    return value


def _text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (only TAB, LF and CR are allowed)")
    return value


def _line(value: str) -> str:
    _text(value)
    if _LINE_BREAKS.search(value):
        raise ValueError("must be one line (no TAB, LF or CR)")
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


def _origin(value: str) -> str:
    if not value or any(ch.isspace() for ch in value) or "+" in value:
        raise ValueError("must be non-empty, with no whitespace and no '+'")
    _text(value)
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]
Uuid = Annotated[str, AfterValidator(_uuid)]
Sha256Hex = Annotated[str, AfterValidator(_hex64)]
KeyId = Annotated[str, AfterValidator(_key_id)]
Instant = Annotated[str, AfterValidator(_instant)]
Day = Annotated[str, AfterValidator(_date)]
PublicKey = Annotated[str, AfterValidator(_public_key)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_line)]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX), AfterValidator(_text)]
ProcedureCodes = Annotated[list[Identifier], Field(min_length=1, max_length=LIST_MAX)]


class StrictModel(BaseModel):
    """Strict, closed, immutable; optional fields are omitted, never ``null``."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [k for k, v in data.items() if v is None and k in cls.model_fields]
            if nulls:
                raise ValueError(
                    f"{', '.join(sorted(nulls))}: null is not allowed; omit an absent "
                    "optional field"
                )
        return data


class Body(StrictModel):
    """Base of every statement body."""

    # Fields naming another official who must be registered (DESIGN §6 addressees).
    addressee_fields: ClassVar[tuple[str, ...]] = ()


# --- Trust chain -------------------------------------------------------------------------


class RootSpec(StrictModel):
    id: Identifier
    full_name: Name
    public_key: PublicKey
    valid_from: Instant | None = None


class TimeRulesSpec(StrictModel):
    """The time windows of DESIGN §4, when a genesis states others than the constants."""

    future_skew_seconds: Annotated[int, Field(ge=0, le=86_400)]
    out_of_order_seconds: Annotated[int, Field(ge=0, le=86_400)]
    recorded_late_seconds: Annotated[int, Field(ge=60, le=366 * 86_400)]


class LedgerGenesis(Body):
    origin: Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_origin)]
    log_vkey: Annotated[str, Field(min_length=1, max_length=1024)]
    roots: Annotated[list[RootSpec], Field(min_length=1, max_length=LIST_MAX)]
    # v4: the rules version the ledger starts with (absent = 3, the rules before v4).
    rules: Annotated[int, Field(ge=3, le=MAX_RULES_VERSION)] | None = None
    # v4: the windows this ledger judges by, for its whole life; absent = the constants.
    time_rules: TimeRulesSpec | None = None


class RulesAdopted(Body):
    """v4: every entry after this one is judged by ``version``."""

    version: Annotated[int, Field(ge=4, le=MAX_RULES_VERSION)]


class RootAdded(Body):
    id: Identifier
    full_name: Name
    public_key: PublicKey
    valid_from: Instant | None = None


class RootRemoved(Body):
    id: Identifier


class AgencyRegistered(Body):
    name: Name
    level: Literal["central", "province", "commune"]
    parent_agency: Identifier | None = None


class RegistrarAppointed(Body):
    official_id: Identifier
    full_name: Name
    public_key: PublicKey
    valid_from: Instant


class RegistrarDismissed(Body):
    official_id: Identifier
    # v4: ``compromised`` refuses everything the registrar's key signs that is recorded after
    # the dismissal; ``ended`` (the default) allows the 7-day grace of DESIGN §4.
    reason: Literal["ended", "compromised"] | None = None


class UnitRegistered(Body):
    unit_id: Identifier
    name: Name
    parent_unit: Identifier | None = None


class OfficialRegistered(Body):
    full_name: Name
    agency_id: Identifier
    unit_id: Identifier
    position: Name
    is_head: bool


class OfficialReleased(Body):
    """v4: the official's current agency lets them go to ``to_agency_id``."""

    to_agency_id: Identifier
    instrument_no: Name | None = None


class OfficialMoved(Body):
    agency_id: Identifier
    unit_id: Identifier
    position: Name
    is_head: bool


class KeyBound(Body):
    public_key: PublicKey
    valid_from: Instant


class KeyRevoked(Body):
    key_id: KeyId
    effective_at: Instant
    reason: Literal["retired", "compromised"]


class CompetenceGranted(Body):
    procedure_codes: ProcedureCodes
    legal_basis: Text


class CompetenceRevoked(Body):
    procedure_codes: ProcedureCodes


class DelegationGranted(Body):
    addressee_fields = ("grantee",)
    grantee: Identifier
    kind: Literal["uy_quyen", "phan_cap", "ky_thay"]
    procedure_codes: ProcedureCodes
    valid_from: Instant
    valid_until: Instant
    instrument_no: Name


class DelegationRevoked(Body):
    delegation_id: Uuid


class CalendarAdjusted(Body):
    date: Day
    kind: Literal["day_off", "working_day"]
    source_document: Text


# --- Matters -----------------------------------------------------------------------------


class MatterOpened(Body):
    title: Name
    procedure_code: Identifier
    agency_id: Identifier
    deadline_working_days: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]
    applicant_ref: Name


class TaskAssigned(Body):
    addressee_fields = ("assignee",)
    assignee: Identifier
    role: Literal["lead", "support"]
    instructions: Text
    due_at: Instant | None = None


class HandoffOffered(Body):
    addressee_fields = ("to",)
    to: Identifier
    reason: Text


class HandoffWithdrawn(Body):
    in_reply_to: Uuid


class HandoffAccepted(Body):
    in_reply_to: Uuid


class HandoffReturned(Body):
    in_reply_to: Uuid
    reason: Literal["not_competent", "incomplete", "other"]
    note: Text


class ConsultationRequested(Body):
    addressee_fields = ("to",)
    to: Identifier
    question: Text
    proposed_position: Text | None = None
    reply_due_at: Instant | None = None
    # v4: the legal basis that obliges this consultation; such a consultation is no
    # escalation (indicator 1 leaves it out).
    required_by: Text | None = None


class ConsultationAnswered(Body):
    in_reply_to: Uuid
    position: Literal["agree", "disagree", "conditional", "no_position"]
    text: Text


class SupplementRequested(Body):
    items: Annotated[list[Text], Field(min_length=1, max_length=LIST_MAX)]


class SupplementReceived(Body):
    pass


class DeadlineExtended(Body):
    new_due_at: Instant
    reason: Text
    apology_document: Name | None = None


class DecisionRecorded(Body):
    outcome: Literal["approved", "rejected", "other"]
    summary: Text
    legal_basis: Text
    capacity: Literal["own", "delegated", "on_behalf"]
    delegation_id: Uuid | None = None
    document_sha256: Sha256Hex | None = None


class MatterClosed(Body):
    result: Literal["completed", "withdrawn", "stopped"]


# Fields a correction may never change: they carry custody and reply structure.
UNCORRECTABLE_FIELDS = frozenset({"to", "assignee", "role", "in_reply_to"})


class CorrectionRecorded(Body):
    target_event_id: Uuid
    reason: Text
    corrections: Annotated[dict[str, Any], Field(min_length=1, max_length=LIST_MAX)]


BODY_MODELS: dict[str, type[Body]] = {
    "ledger.genesis": LedgerGenesis,
    "ledger.rules_adopted": RulesAdopted,
    "root.added": RootAdded,
    "root.removed": RootRemoved,
    "agency.registered": AgencyRegistered,
    "registrar.appointed": RegistrarAppointed,
    "registrar.dismissed": RegistrarDismissed,
    "unit.registered": UnitRegistered,
    "official.registered": OfficialRegistered,
    "official.released": OfficialReleased,
    "official.moved": OfficialMoved,
    "key.bound": KeyBound,
    "key.revoked": KeyRevoked,
    "competence.granted": CompetenceGranted,
    "competence.revoked": CompetenceRevoked,
    "delegation.granted": DelegationGranted,
    "delegation.revoked": DelegationRevoked,
    "calendar.adjusted": CalendarAdjusted,
    "matter.opened": MatterOpened,
    "task.assigned": TaskAssigned,
    "handoff.offered": HandoffOffered,
    "handoff.withdrawn": HandoffWithdrawn,
    "handoff.accepted": HandoffAccepted,
    "handoff.returned": HandoffReturned,
    "consultation.requested": ConsultationRequested,
    "consultation.answered": ConsultationAnswered,
    "supplement.requested": SupplementRequested,
    "supplement.received": SupplementReceived,
    "deadline.extended": DeadlineExtended,
    "decision.recorded": DecisionRecorded,
    "matter.closed": MatterClosed,
    "correction.recorded": CorrectionRecorded,
}

EventType = Literal[
    "ledger.genesis",
    "ledger.rules_adopted",
    "root.added",
    "root.removed",
    "agency.registered",
    "registrar.appointed",
    "registrar.dismissed",
    "unit.registered",
    "official.registered",
    "official.released",
    "official.moved",
    "key.bound",
    "key.revoked",
    "competence.granted",
    "competence.revoked",
    "delegation.granted",
    "delegation.revoked",
    "calendar.adjusted",
    "matter.opened",
    "task.assigned",
    "handoff.offered",
    "handoff.withdrawn",
    "handoff.accepted",
    "handoff.returned",
    "consultation.requested",
    "consultation.answered",
    "supplement.requested",
    "supplement.received",
    "deadline.extended",
    "decision.recorded",
    "matter.closed",
    "correction.recorded",
]
assert set(get_args(EventType)) == set(BODY_MODELS)

# The subject kind each type belongs to, and the type that must open a subject (seq 0).
SUBJECT_KINDS: dict[str, str] = {
    **dict.fromkeys(
        ("ledger.genesis", "ledger.rules_adopted", "root.added", "root.removed"), "ledger"
    ),
    **dict.fromkeys(
        ("agency.registered", "registrar.appointed", "registrar.dismissed", "unit.registered"),
        "agency",
    ),
    **dict.fromkeys(
        (
            "official.registered",
            "official.released",
            "official.moved",
            "key.bound",
            "key.revoked",
            "competence.granted",
            "competence.revoked",
            "delegation.granted",
            "delegation.revoked",
        ),
        "official",
    ),
    "calendar.adjusted": "calendar",
}
SUBJECT_KINDS.update(dict.fromkeys((t for t in BODY_MODELS if t not in SUBJECT_KINDS), "matter"))
assert set(SUBJECT_KINDS) == set(BODY_MODELS)

OPENING_TYPES: dict[str, str | None] = {
    "ledger": "ledger.genesis",
    "agency": "agency.registered",
    "official": "official.registered",
    "matter": "matter.opened",
    "calendar": None,  # the calendar subject has no opening statement
}


def _subject(value: str) -> str:
    if not _SUBJECT.match(value):
        raise ValueError(
            "must be 'ledger', 'calendar:VN', or agency:/official:/matter: followed by an "
            "identifier"
        )
    return value


class StatementHeader(StrictModel):
    """The ten fields every statement carries, with the body still unparsed."""

    spec: Literal["al/1"]
    event_id: Uuid
    type: EventType
    subject: Annotated[str, AfterValidator(_subject)]
    seq: Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
    prev: Sha256Hex | None
    actor: Identifier
    key: KeyId
    occurred_at: Instant
    body: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        # ``prev`` is the one field that is null by design (at seq 0).
        if isinstance(data, dict):
            nulls = [k for k, v in data.items() if v is None and k != "prev"]
            if nulls:
                raise ValueError(f"{', '.join(sorted(nulls))}: null is not allowed")
        return data

    @model_validator(mode="after")
    def _prev_matches_seq(self) -> StatementHeader:
        if self.seq == 0 and self.prev is not None:
            raise ValueError("prev must be null at seq 0")
        if self.seq > 0 and self.prev is None:
            raise ValueError("prev must be the envelope hash of the statement at seq − 1")
        kind = SUBJECT_KINDS[self.type]
        if self.subject.split(":", 1)[0] != kind:
            raise ValueError(f"a {self.type} statement belongs to a {kind} subject")
        return self


@dataclass(frozen=True, slots=True)
class Statement:
    """A validated statement and its canonical (JCS) bytes."""

    event_id: str
    type: str
    subject: str
    seq: int
    prev: str | None
    actor: str
    key: str
    occurred_at: str
    body: Body
    canonical: bytes
    # Derived from the fields above once, when the statement is read (every rule asks):
    occurred: datetime = field(compare=False, repr=False)  # ``occurred_at``, in UTC
    subject_kind: str = field(compare=False, repr=False)  # ``matter`` of ``matter:X``
    # The id after ``kind:`` (``VN`` for the calendar, ``ledger`` for the ledger).
    subject_id: str = field(compare=False, repr=False)


@dataclass(frozen=True)
class Envelope:
    """What a client sends: a statement and its signature."""

    statement: Statement
    signature: str

    @cached_property
    def signature_bytes(self) -> bytes:
        return b64decode_canonical(self.signature, size=SIGNATURE_SIZE)

    @cached_property
    def canonical(self) -> bytes:
        return envelope_bytes(self.statement.canonical, self.signature)

    @cached_property
    def hash(self) -> str:
        """SHA-256 of JCS(envelope), hex: what the next statement's ``prev`` names."""
        return sha256_hex(self.canonical)


def _format_errors(error: ValidationError, prefix: str) -> list[dict[str, str]]:
    out = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(p) for p in (prefix, *item["loc"]) if p != "")
        message = item["msg"].removeprefix("Value error, ")
        out.append({"field": loc, "message": message})
    return out


def _raise_invalid(errors: list[dict[str, str]]) -> None:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    if len(errors) > 5:
        detail += f"; and {len(errors) - 5} more"
    raise InvalidStatement(detail, errors=errors)


def validate_body(type_: str, body: Any, *, prefix: str = "statement.body") -> Body:
    """The typed body of a statement of ``type_``; ``InvalidStatement`` names each bad field."""
    try:
        return BODY_MODELS[type_].model_validate(body)
    except ValidationError as e:
        _raise_invalid(_format_errors(e, prefix))
        raise AssertionError("unreachable") from None


def parse_statement(obj: Any, *, prefix: str = "statement") -> Statement:
    """Validate a decoded statement and compute its canonical bytes."""
    if not isinstance(obj, dict):
        raise InvalidStatement(f"{prefix} must be a JSON object")
    try:
        header = StatementHeader.model_validate(obj)
    except ValidationError as e:
        _raise_invalid(_format_errors(e, prefix))
        raise AssertionError("unreachable") from None
    try:
        occurred = parse_instant(header.occurred_at).astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC year: never storable
        raise InvalidStatement(
            f"{prefix}.occurred_at: {header.occurred_at} is out of range",
            field=f"{prefix}.occurred_at",
        ) from None
    body = validate_body(header.type, header.body, prefix=f"{prefix}.body")
    kind, _, subject_id = header.subject.rpartition(":")
    return Statement(
        event_id=header.event_id,
        type=header.type,
        subject=header.subject,
        seq=header.seq,
        prev=header.prev,
        actor=header.actor,
        key=header.key,
        occurred_at=header.occurred_at,
        body=body,
        canonical=jcs(obj),
        occurred=occurred,
        subject_kind=kind or subject_id,
        subject_id=subject_id,
    )


def _holds_models(annotation: Any) -> bool:
    """Whether a field's type has pydantic models inside (``list[RootSpec]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(arg) for arg in get_args(annotation))


# Bodies that ``model_construct`` would leave with plain dicts where models belong: the
# trusted decode validates these (the genesis, once per log) instead of constructing them.
_NESTED_BODIES = frozenset(
    type_
    for type_, model in BODY_MODELS.items()
    if any(_holds_models(info.annotation) for info in model.model_fields.values())
)


_object_setattr = object.__setattr__


def _trusted_constructor(model: type[Body]) -> Callable[[dict[str, Any]], Body]:
    """What ``model.model_construct(**data)`` builds, for data the model already accepted:
    the same instance state (fields in declaration order, absent optional fields at their
    default, ``model_fields_set`` the fields given), in a third of the time — it is called
    once per entry replayed. A test holds the two equal over varied histories."""
    template = {name: info.default for name, info in model.model_fields.items()}

    def construct(data: dict[str, Any]) -> Body:
        instance = model.__new__(model)
        _object_setattr(instance, "__dict__", {**template, **data})
        _object_setattr(instance, "__pydantic_fields_set__", set(data))
        _object_setattr(instance, "__pydantic_extra__", None)
        _object_setattr(instance, "__pydantic_private__", None)
        return instance

    return construct


def _validated(type_: str) -> Callable[[dict[str, Any]], Body]:
    return lambda data: validate_body(type_, data)


_TRUSTED_BODIES: dict[str, Callable[[dict[str, Any]], Body]] = {
    type_: _validated(type_) if type_ in _NESTED_BODIES else _trusted_constructor(model)
    for type_, model in BODY_MODELS.items()
}


def trusted_statement(obj: dict[str, Any], canonical: bytes) -> Statement:
    """A statement read back from this log's own entries, built without validating it.

    For bytes that ``parse_statement`` accepted when they were appended, and only for them
    (``ledger.entries.decode_trusted`` says when that holds): the header and body are
    taken as they are — the body as ``model_construct`` would build it, which equals the
    validated model for any input ``parse_statement`` accepts — and ``canonical`` is the
    statement's slice of the entry's bytes, not a re-encoding. The audit decodes with
    ``parse_statement``.
    """
    type_, subject, occurred_at = obj["type"], obj["subject"], obj["occurred_at"]
    kind, _, subject_id = subject.rpartition(":")
    return Statement(
        obj["event_id"],
        type_,
        subject,
        obj["seq"],
        obj["prev"],
        obj["actor"],
        obj["key"],
        occurred_at,
        _TRUSTED_BODIES[type_](obj["body"]),
        canonical,
        # ``parse_instant`` less its lexical check (made when the entry was appended).
        datetime.fromisoformat(occurred_at).astimezone(UTC),
        kind or subject_id,
        subject_id,
    )


def parse_envelope(obj: Any) -> Envelope:
    """Validate a decoded envelope ``{"statement": …, "signature": …}``."""
    if not isinstance(obj, dict):
        raise InvalidStatement("the envelope must be a JSON object {statement, signature}")
    extra = sorted(set(obj) - {"statement", "signature"})
    missing = sorted({"statement", "signature"} - set(obj))
    if extra or missing:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unknown {', '.join(extra)}")
        raise InvalidStatement(
            f"the envelope must have exactly statement and signature ({'; '.join(parts)})"
        )
    signature = obj["signature"]
    if not isinstance(signature, str):
        raise InvalidStatement("signature must be a base64 string")
    try:
        b64decode_canonical(signature, size=SIGNATURE_SIZE)
    except ValueError as e:
        raise InvalidStatement(
            f"signature must be canonical padded base64 of 64 bytes: {e}",
            errors=[{"field": "signature", "message": str(e)}],
        ) from None
    return Envelope(statement=parse_statement(obj["statement"]), signature=signature)
