"""Output schemas of the API (the OpenAPI document's promises)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ledger.errors import PROBLEM_TYPE_PREFIX


class ReceiptOut(BaseModel):
    """The receipt of a stored entry (DESIGN §5)."""

    event_id: str
    subject: str
    seq: int
    index: int
    leaf_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    envelope_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    recorded_at: str
    signed_entry_timestamp: str | None = Field(
        default=None, description="the log's signed promise to include the entry (DESIGN §5)"
    )


class AttestationOut(BaseModel):
    origin: str
    subject: str
    seq: int
    envelope_hash: str
    tree_size: int
    signature: str


class HeadOut(BaseModel):
    """A subject's last statement."""

    seq: int
    envelope_hash: str
    leaf_hash: str
    index: int
    occurred_at: str
    attestation: AttestationOut | None = None


class SubjectEntryOut(BaseModel):
    index: int
    leaf_hash: str
    envelope_hash: str
    entry: dict[str, Any] = Field(description="the stored entry, spliced verbatim")


class SubjectEntriesOut(BaseModel):
    subject: str
    entries: list[SubjectEntryOut]


class LogEntryOut(BaseModel):
    index: int
    leaf_hash: str
    entry: dict[str, Any] = Field(description="the stored entry, spliced verbatim")


class LogEntriesOut(BaseModel):
    entries: list[LogEntryOut]


class LogKeyOut(BaseModel):
    origin: str
    vkey: str
    genesis_leaf_hash: str | None


class InclusionProofOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str] = Field(description="from the leaf up")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    hashes: list[str]


class CosignaturesOut(BaseModel):
    tree_size: int
    accepted: list[str] = Field(description="the witnesses whose cosignatures were kept")


class WaitedReceiptOut(ReceiptOut):
    """A receipt with the checkpoint that includes the entry and the proof against it."""

    checkpoint: str
    inclusion_proof: InclusionProofOut


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[PROBLEM_TYPE_PREFIX + "stale-head"])
    title: str
    status: int
    detail: str
    instance: str | None = None


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid statement",
    429: "Rate limited",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem answers (their schema: api/openapi.py)."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Problem"),
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["statement", "signature"],
    "additionalProperties": False,
    "properties": {
        "signature": {"type": "string", "description": "base64 Ed25519 signature"},
        "statement": {
            "type": "object",
            "required": [
                "spec",
                "event_id",
                "type",
                "subject",
                "seq",
                "prev",
                "actor",
                "key",
                "occurred_at",
                "body",
            ],
            "additionalProperties": False,
            "properties": {
                "spec": {"const": "al/1"},
                "event_id": {"type": "string"},
                "type": {"type": "string"},
                "subject": {"type": "string"},
                "seq": {"type": "integer", "minimum": 0},
                "prev": {"type": ["string", "null"]},
                "actor": {"type": "string"},
                "key": {"type": "string"},
                "occurred_at": {"type": "string"},
                "body": {"type": "object"},
            },
        },
    },
}


# --- catalogues: agencies, officials, matters, a matter's statements (DESIGN §8 v4) -------


class RefOut(BaseModel):
    """An id with the registered name (null when the registry holds none for it)."""

    id: str
    name: str | None


class UnitOut(BaseModel):
    id: str
    name: str
    parent: str | None


class AgencyOut(BaseModel):
    """An agency as the registry stood at the read's cut."""

    id: str
    name: str
    level: str
    parent: str | None
    units: list[UnitOut]
    heads: list[RefOut]
    registrar: RefOut | None


class AgencyReadOut(AgencyOut):
    evaluated_at: str


class AgenciesOut(BaseModel):
    agencies: list[AgencyOut]
    evaluated_at: str


class OfficialSummaryOut(BaseModel):
    """An official with their posting in force at E (null before their first)."""

    id: str
    name: str
    position: str | None
    unit: RefOut | None
    agency: RefOut | None


class OfficialsOut(BaseModel):
    officials: list[OfficialSummaryOut]
    evaluated_at: str


class PostingOut(BaseModel):
    since: str
    agency: RefOut
    unit: RefOut
    position: str
    is_head: bool


class RevocationOut(BaseModel):
    event_id: str
    effective_at: str
    reason: str


class KeyOut(BaseModel):
    key_id: str
    valid_from: str
    revocations: list[RevocationOut]


class CompetenceChangeOut(BaseModel):
    at: str
    procedure_codes: list[str]
    granted: bool


class DelegationOut(BaseModel):
    delegation_id: str
    grantor: RefOut
    grantee: RefOut
    kind: str
    procedure_codes: list[str]
    valid_from: str
    valid_until: str
    instrument_no: str
    revoked_at: str | None


class OfficialOut(OfficialSummaryOut):
    """An official's identity and registry history as of the read's cut."""

    registered_at: str
    postings: list[PostingOut]
    keys: list[KeyOut]
    competences: list[CompetenceChangeOut]
    delegations: list[DelegationOut]
    evaluated_at: str


class UnavailableOut(BaseModel):
    matter_id: str
    reason: str


class MatterRowOut(BaseModel):
    matter_id: str
    procedure_code: str
    agency: RefOut
    status: str
    custodian: RefOut | None
    opened_at: str
    due_at: str | None
    overdue_working_days: int
    closed_at: str | None


class MattersOut(BaseModel):
    matters: list[MatterRowOut]
    next_after: str | None
    evaluated_at: str
    unavailable: list[UnavailableOut] | None = None


class CompetenceFindingOut(BaseModel):
    basis: str
    delegation_id: str | None


class MatterStatementOut(BaseModel):
    type: str
    seq: int
    index: int
    event_id: str
    actor: RefOut
    occurred_at: str
    recorded_at: str
    body: dict[str, Any]
    direction: str | None
    flags: list[str]
    competence: CompetenceFindingOut | None


class MatterStatementsOut(BaseModel):
    matter_id: str
    statements: list[MatterStatementOut]
    evaluated_at: str
